"""Datasets described by data: one TOML manifest per set, one class that reads any of them.

Why manifests and not a class per dataset: what distinguishes Kodak from CLIC is facts (URLs,
sums, counts, sizes, license), not behaviour; facts kept as data can be reviewed, diffed and
extended (a third party can ship a manifest) without writing code. The schema is checked strictly
so that a typo in a manifest is an error, not a silently skipped check.

Where files come from, in order: the cache (``data_dir(name)``, verified on every use), then a
mirror (``$LICBENCH_MIRROR/NAME`` or an alias folder; verified, then copied into the cache), then
the network (per-file URLs, or one archive that is verified and safely extracted). Files that
fail a check are never used and never silently replaced: the error names them.
"""

from __future__ import annotations

import re
import shutil
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from licbench.core.files import file_sha256
from licbench.datasets import download as _download
from licbench.datasets.archive import (
    DEFAULT_MAX_SIDE,
    ArchiveLimits,
    member_selector,
    safe_extract,
    unsafe_reason,
)
from licbench.datasets.base import Dataset, DatasetError, ImageRef
from licbench.datasets.paths import DATA_ENV, MIRROR_ENV, data_dir, mirror_dir
from licbench.datasets.paths import MANIFEST_DIR as MANIFEST_DIR  # (defined there, kept here)
from licbench.datasets.verify import image_size, sha256_mismatch

#: verification levels a manifest may declare (see each manifest's ``verification_note``)
VERIFICATIONS = ("sha256", "count+dimensions")
LOCATIONS = ("download", "package")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_TOP_KEYS = {
    "schema",
    "name",
    "description",
    "license",
    "homepage",
    "citation",
    "verification",
    "verification_note",
    "count",
    "location",
    "package_dir",
    "mirror_aliases",
    "pattern",
    "dimensions",
    "archive",
    "files",
}
_FILE_KEYS = {"name", "url", "sha256", "size", "width", "height"}
_ARCHIVE_KEYS = {
    "url",
    "format",
    "sha256",
    "size",
    "member_prefix",
    "member_pattern",
    "exclude",
    "note",
}
_DIMENSION_KEYS = {"sizes", "min_side", "max_side"}


class ManifestError(DatasetError):
    """A manifest that does not follow the schema; the message names the file and the key."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a manifest; every field but ``name`` is optional."""

    name: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ArchiveSpec:
    """An archive holding the set; members under ``member_prefix`` matching the pattern."""

    url: str
    format: str = "zip"
    sha256: str | None = None
    size: int | None = None
    member_prefix: str = ""
    member_pattern: str = "*"
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class DimensionRule:
    """Allowed image sizes when a file has no width/height of its own in the manifest."""

    sizes: tuple[tuple[int, int], ...] = ()
    min_side: int | None = None
    max_side: int | None = None

    def problem(self, width: int, height: int) -> str | None:
        """Why (width, height) breaks the rule, or None if it fits."""
        if self.sizes and (width, height) not in self.sizes:
            allowed = ", ".join(f"{w}x{h}" for w, h in self.sizes)
            return f"is {width}x{height}, expected {allowed}"
        if self.min_side is not None and min(width, height) < self.min_side:
            return f"is {width}x{height}, smaller than {self.min_side} px on a side"
        if self.max_side is not None and max(width, height) > self.max_side:
            return f"is {width}x{height}, larger than {self.max_side} px on a side"
        return None


@dataclass(frozen=True)
class Manifest:
    """The parsed contents of one manifest TOML (see ``manifests/*.toml`` for examples)."""

    path: Path
    name: str
    description: str
    license: str
    verification: str
    verification_note: str
    count: int
    homepage: str = ""
    citation: str = ""
    location: str = "download"
    package_dir: str | None = None
    mirror_aliases: tuple[str, ...] = ()
    pattern: str = "*.png"
    dimensions: DimensionRule = field(default_factory=DimensionRule)
    archive: ArchiveSpec | None = None
    files: tuple[FileEntry, ...] = ()

    def largest_side(self) -> int:
        """The largest side, in px, any of the set's images may have: from its sizes, its
        ``max_side`` or its files' own dimensions (else :data:`DEFAULT_MAX_SIDE`)."""
        rule = self.dimensions
        sides = [max(size) for size in rule.sizes]
        sides += [max(f.width or 0, f.height or 0) for f in self.files if f.width and f.height]
        if rule.max_side is not None and not rule.sizes:
            sides.append(rule.max_side)
        return max(sides) if sides else DEFAULT_MAX_SIDE

    def archive_limits(self) -> ArchiveLimits:
        """What extracting the set may write: ``count`` images of at most
        :meth:`largest_side` px (:meth:`ArchiveLimits.for_images` says how many bytes)."""
        return ArchiveLimits.for_images(self.count, self.largest_side())

    def archive_download_limit(self) -> int:
        """The most an archive of unknown size may take to download: four times what may be
        extracted from it (an archive can hold more than the set: Tecnick's, with four other
        sizes and a grey set, is 511 MB against a 2.4 GB bound for its 100 RGB images)."""
        return 4 * self.archive_limits().total_bytes

    @property
    def names_known(self) -> bool:
        """True when the manifest lists every file by name (else only a count and a pattern)."""
        return bool(self.files) and len(self.files) == self.count

    @property
    def source(self) -> str:
        """Where the files come from, in words, derived from the data (never a second copy)."""
        if self.location == "package":
            return f"package data (licbench/datasets/{self.package_dir}/), no download"
        if self.archive is not None:
            members = f"{self.archive.member_prefix}{self.archive.member_pattern}"
            return f"{self.archive.url} ({self.archive.format}, members {members})"
        folders = sorted({f.url.rsplit("/", 1)[0] + "/" for f in self.files if f.url})
        return "per-file download from " + ", ".join(folders)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read and check a manifest TOML file."""
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ManifestError(f"{path}: cannot read manifest: {exc}") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> Manifest:
        """Build a manifest from parsed TOML, refusing unknown keys and inconsistent facts."""

        def fail(message: str) -> ManifestError:
            return ManifestError(f"{path}: {message}")

        _no_unknown_keys(data, _TOP_KEYS, fail, "top level")
        if data.get("schema", 1) != 1:
            raise fail(f"schema {data['schema']!r} is not supported (this licbench reads 1)")
        for key in ("name", "description", "license", "verification", "verification_note"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise fail(f"'{key}' must be a non-empty string")
        count = data.get("count")
        if not isinstance(count, int) or count < 1:
            raise fail("'count' must be a positive integer")
        if data["verification"] not in VERIFICATIONS:
            raise fail(f"'verification' must be one of {VERIFICATIONS}")
        location = data.get("location", "download")
        if location not in LOCATIONS:
            raise fail(f"'location' must be one of {LOCATIONS}")

        files = tuple(_parse_file(f, fail) for f in data.get("files", []))
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise fail("file names are not unique")
        if files and len(files) != count:
            raise fail(f"lists {len(files)} files but 'count' is {count}")
        archive = _parse_archive(data["archive"], fail) if "archive" in data else None
        manifest = cls(
            path=path,
            name=data["name"],
            description=data["description"].strip(),
            license=data["license"],
            verification=data["verification"],
            verification_note=" ".join(data["verification_note"].split()),
            count=count,
            homepage=data.get("homepage", ""),
            citation=data.get("citation", ""),
            location=location,
            package_dir=data.get("package_dir"),
            mirror_aliases=tuple(data.get("mirror_aliases", ())),
            pattern=data.get("pattern", "*.png"),
            dimensions=_parse_dimensions(data.get("dimensions", {}), fail),
            archive=archive,
            files=files,
        )
        if manifest.verification == "sha256" and (
            not manifest.names_known or any(f.sha256 is None for f in files)
        ):
            raise fail("verification 'sha256' needs every file listed with its sha256")
        if location == "package":
            if not manifest.package_dir or not manifest.names_known:
                raise fail("location 'package' needs 'package_dir' and every file listed")
        elif archive is None and not (manifest.names_known and all(f.url for f in files)):
            raise fail("needs an [archive] or a 'url' for every file")
        return manifest


def _no_unknown_keys(table: dict[str, Any], allowed: set[str], fail, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)} at {where}")


def _optional_int(value: Any, key: str, fail) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise fail(f"'{key}' must be a positive integer")
    return value


def _optional_sha(value: Any, fail) -> str | None:
    if value is not None and (not isinstance(value, str) or not _SHA256.match(value)):
        raise fail(f"sha256 {value!r} is not 64 lower-case hex digits")
    return value


def _parse_file(entry: Any, fail) -> FileEntry:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise fail(f"file entry {entry!r} needs a 'name'")
    _no_unknown_keys(entry, _FILE_KEYS, fail, f"file {entry['name']!r}")
    reason = unsafe_reason(entry["name"])
    if reason:
        raise fail(f"file name {entry['name']!r} is unsafe ({reason})")
    return FileEntry(
        name=entry["name"],
        url=entry.get("url"),
        sha256=_optional_sha(entry.get("sha256"), fail),
        size=_optional_int(entry.get("size"), "size", fail),
        width=_optional_int(entry.get("width"), "width", fail),
        height=_optional_int(entry.get("height"), "height", fail),
    )


def _parse_archive(table: Any, fail) -> ArchiveSpec:
    if not isinstance(table, dict) or not isinstance(table.get("url"), str):
        raise fail("[archive] needs a 'url'")
    _no_unknown_keys(table, _ARCHIVE_KEYS, fail, "[archive]")
    fmt = table.get("format", "zip")
    if fmt not in ("zip", "tar"):
        raise fail("[archive] 'format' must be 'zip' or 'tar'")
    return ArchiveSpec(
        url=table["url"],
        format=fmt,
        sha256=_optional_sha(table.get("sha256"), fail),
        size=_optional_int(table.get("size"), "size", fail),
        member_prefix=table.get("member_prefix", ""),
        member_pattern=table.get("member_pattern", "*"),
        exclude=tuple(table.get("exclude", ())),
    )


def _parse_dimensions(table: Any, fail) -> DimensionRule:
    if not isinstance(table, dict):
        raise fail("[dimensions] must be a table")
    _no_unknown_keys(table, _DIMENSION_KEYS, fail, "[dimensions]")
    sizes = []
    for text in table.get("sizes", []):
        match = _SIZE.match(text) if isinstance(text, str) else None
        if not match:
            raise fail(f"[dimensions] size {text!r} is not WIDTHxHEIGHT")
        sizes.append((int(match[1]), int(match[2])))
    return DimensionRule(
        tuple(sizes),
        _optional_int(table.get("min_side"), "min_side", fail),
        _optional_int(table.get("max_side"), "max_side", fail),
    )


class ManifestDataset(Dataset):
    """A dataset whose facts come from a manifest; the same code serves every manifest."""

    def __init__(self, manifest: Manifest | str | Path) -> None:
        self.manifest = manifest if isinstance(manifest, Manifest) else Manifest.load(manifest)
        m = self.manifest
        self.name = m.name
        self.description = m.description
        self.verification = m.verification
        self.verification_note = m.verification_note
        self.license = m.license
        self.source = m.source
        self.count = m.count

    def __repr__(self) -> str:
        return f"ManifestDataset({str(self.manifest.path)!r})"

    # -- where files are ---------------------------------------------------------------------

    def cache_dir(self) -> Path:
        """The folder files are verified in and returned from (package data or the cache)."""
        if self.manifest.location == "package":
            return Path(__file__).parent / str(self.manifest.package_dir)
        return data_dir(self.name)

    def mirror_dirs(self) -> list[Path]:
        """Mirror folders to read, own name first, then ``mirror_aliases``; [] if no mirror."""
        dirs = [mirror_dir(n) for n in (self.name, *self.manifest.mirror_aliases)]
        return [d for d in dirs if d is not None]

    def present(self) -> int:
        """How many of the set's files are in the cache now (present, not re-verified)."""
        return len(self._candidates(self.cache_dir()))

    # -- verification ------------------------------------------------------------------------

    def _entry(self, name: str) -> FileEntry | None:
        return next((f for f in self.manifest.files if f.name == name), None)

    def _candidates(self, folder: Path) -> dict[str, Path]:
        """The set's files in ``folder`` by name: the listed names, or those matching the pattern.

        Hidden files (our own ``.part`` files, macOS ``._`` forks) are never candidates.
        """
        if not folder.is_dir():
            return {}
        if self.manifest.names_known:
            paths = {f.name: folder / f.name for f in self.manifest.files}
            return {name: p for name, p in paths.items() if p.is_file()}
        return {
            p.name: p
            for p in sorted(folder.glob(self.manifest.pattern))
            if p.is_file() and not p.name.startswith(".")
        }

    def _verify(self, name: str, path: Path, *, where: str) -> ImageRef:
        """Check one file as the manifest says, returning its ImageRef or raising DatasetError."""
        entry = self._entry(name)
        subject = f"{self.name}/{name} ({where} {path})"
        actual = file_sha256(path)
        if entry is not None and entry.sha256 is not None and actual != entry.sha256:
            raise sha256_mismatch(subject, entry.sha256, actual)
        if self.verification == "count+dimensions":
            width, height = image_size(path)
            if entry is not None and entry.width and entry.height:
                expected = (entry.width, entry.height)
                problem = (
                    None
                    if (width, height) == expected
                    else f"is {width}x{height}, expected {expected[0]}x{expected[1]}"
                )
            else:
                problem = self.manifest.dimensions.problem(width, height)
            if problem:
                raise DatasetError(f"{subject}: image {problem}; it was not used")
        return ImageRef(name, path, actual)

    def _too_many(self, found: dict[str, ImageRef], folder: Path) -> None:
        """With unnamed files, a surplus means a wrong or mixed set: refuse it."""
        if len(found) > self.count:
            raise DatasetError(
                f"{self.name}: {len(found)} files match {self.manifest.pattern!r} in {folder}, "
                f"but the set has {self.count}; remove the extra files (or the folder to fetch "
                "it again)"
            )

    # -- getting files -----------------------------------------------------------------------

    def images(
        self, *, download: bool = True, allow_partial: bool = False, progress: bool = False
    ) -> list[ImageRef]:
        """The verified images: cache, then mirror (copied into the cache), then the network.

        ``download=False`` never touches the network. ``allow_partial=True`` returns the verified
        subset with a warning instead of failing when files are missing (a partial mirror);
        a file that fails its check is an error either way.
        """
        cache = self.cache_dir()
        looked: list[str] = []
        if self.manifest.location == "package":
            looked.append(f"package data {cache} (reinstall licbench if files are missing)")
            found = {
                n: self._verify(n, p, where="package") for n, p in self._candidates(cache).items()
            }
            return self._result(found, looked, allow_partial)

        looked.append(f"cache {cache} (${DATA_ENV} sets its root)")
        found = {n: self._verify(n, p, where="cache") for n, p in self._candidates(cache).items()}
        self._too_many(found, cache)
        if not self._complete(found):
            self._from_mirrors(found, cache, looked)
        if not self._complete(found):
            if download:
                self._from_network(found, cache, looked, progress)
            else:
                looked.append("network: not tried (download=False)")
        return self._result(found, looked, allow_partial)

    def _complete(self, found: dict[str, ImageRef]) -> bool:
        return len(found) >= self.count

    def _from_mirrors(self, found: dict[str, ImageRef], cache: Path, looked: list[str]) -> None:
        dirs = self.mirror_dirs()
        if not dirs:
            looked.append(f"mirror: none (${MIRROR_ENV} is not set)")
        for folder in dirs:
            if not folder.is_dir():
                looked.append(f"mirror {folder} (${MIRROR_ENV}; no such folder)")
                continue
            looked.append(f"mirror {folder} (${MIRROR_ENV})")
            candidates = self._candidates(folder)
            if not self.manifest.names_known and len(candidates) > self.count:
                # without names, a surplus means another set or a mixed folder: taking
                # "the first N" would benchmark an arbitrary subset under this set's name
                raise DatasetError(
                    f"{self.name}: mirror {folder} has {len(candidates)} files matching "
                    f"{self.manifest.pattern!r}, but the set has {self.count}; it was not used"
                )
            for name, src in candidates.items():
                if name in found:
                    continue
                ref = self._verify(name, src, where="mirror")
                dest = cache / name
                _download.copy_file(src, dest, sha256=ref.sha256, label=f"{self.name}/{name}")
                found[name] = ImageRef(name, dest, ref.sha256)
                if self._complete(found):
                    return

    def _from_network(
        self, found: dict[str, ImageRef], cache: Path, looked: list[str], progress: bool
    ) -> None:
        if self.manifest.archive is not None:
            self._from_archive(found, cache, looked, progress)
            return
        for entry in self.manifest.files:
            if entry.name in found:
                continue
            dest = cache / entry.name
            assert entry.url is not None  # the schema check guarantees it
            try:
                _download.download_file(
                    entry.url,
                    dest,
                    sha256=entry.sha256,
                    size=entry.size,
                    label=f"{self.name}/{entry.name} from {entry.url}",
                    progress=progress,
                    # an image's bound when the manifest does not know the file's size
                    max_bytes=None if entry.size else self.manifest.archive_limits().member_bytes,
                )
            except _download.DownloadError as exc:
                # one failure is enough to know the network is not there: do not wait
                # out a timeout for each of the remaining files
                looked.append(f"network: {exc}")
                return
            found[entry.name] = self._verify_new(entry.name, dest)
        looked.append("network: downloaded what was missing")

    def _from_archive(
        self, found: dict[str, ImageRef], cache: Path, looked: list[str], progress: bool
    ) -> None:
        spec = self.manifest.archive
        assert spec is not None
        archive_name = spec.url.rstrip("/").split("/")[-1]
        if archive_name in ("download", "") or "." not in archive_name:  # sourceforge style
            archive_name = f"{self.name}.{spec.format}"
        staging = cache / ".download"
        archive = staging / archive_name
        try:
            try:
                _download.download_file(
                    spec.url,
                    archive,
                    sha256=spec.sha256,
                    size=spec.size,
                    label=f"{self.name} archive from {spec.url}",
                    progress=progress,
                    max_bytes=None if spec.size else self.manifest.archive_download_limit(),
                )
            except _download.DownloadError as exc:
                looked.append(f"network: {exc}")
                return
            chosen = member_selector(spec.member_prefix, spec.member_pattern, spec.exclude)

            def select(member: str) -> str | None:
                # only the files the set wants are written (each held to the set's limits)
                name = chosen(member)
                return name if name is not None and self._wanted(name, found) else None

            extracted = safe_extract(
                archive,
                staging / "extracted",
                select=select,
                limits=self.manifest.archive_limits(),
                label=f"{self.name} archive from {spec.url}",
            )
            for path in extracted:
                name = path.relative_to(staging / "extracted").as_posix()
                if not self._wanted(name, found):  # (the same name twice in the archive)
                    continue
                ref = self._verify(name, path, where="archive member")
                dest = cache / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                path.replace(dest)
                found[name] = ImageRef(name, dest, ref.sha256)
            self._too_many(found, cache)
        finally:
            # the archive can be large (Tecnick's is ~511 MB) and is not needed once extracted
            shutil.rmtree(staging, ignore_errors=True)
        looked.append(f"network: {spec.url} (extracted {spec.member_prefix}{spec.member_pattern})")

    def _wanted(self, name: str, found: dict[str, ImageRef]) -> bool:
        """Whether an archive member called ``name`` is one of the set's missing files."""
        if name in found:
            return False
        return self._entry(name) is not None if self.manifest.names_known else "/" not in name

    def _verify_new(self, name: str, path: Path) -> ImageRef:
        """Verify a freshly downloaded file; a failure removes it so the cache stays clean."""
        try:
            return self._verify(name, path, where="download")
        except DatasetError:
            path.unlink(missing_ok=True)
            raise

    def _result(
        self, found: dict[str, ImageRef], looked: list[str], allow_partial: bool
    ) -> list[ImageRef]:
        if self.manifest.names_known:
            refs = [found[f.name] for f in self.manifest.files if f.name in found]
            missing = [f.name for f in self.manifest.files if f.name not in found]
        else:
            refs = [found[n] for n in sorted(found)]
            missing = []
        n_missing = self.count - len(refs)
        if n_missing <= 0:
            return refs
        message = self._missing_message(n_missing, missing, looked)
        if allow_partial and refs:
            warnings.warn(
                f"{self.name}: using {len(refs)} of {self.count} images "
                f"({n_missing} missing); results are not comparable to the full set",
                stacklevel=3,
            )
            return refs
        raise DatasetError(message)

    def _missing_message(self, n_missing: int, missing: list[str], looked: list[str]) -> str:
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            what = f"{n_missing} of {self.count} files missing ({shown})"
            if n_missing == 1:
                what = f"file {missing[0]} is missing"
        else:
            what = f"{n_missing} of {self.count} files missing (file names are not known ahead)"
        places = "\n".join(f"  - {line}" for line in looked)
        return (
            f"{self.name}: {what}. Looked in:\n{places}\n"
            f"Fix: allow downloads (licbench datasets fetch {self.name}), or set ${MIRROR_ENV} "
            f"to a folder holding a '{self.name}/' subfolder with the files; ${DATA_ENV} moves "
            "the cache. Pass allow_partial=True to use the files that are there."
        )
