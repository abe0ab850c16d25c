"""Extracting dataset archives without trusting their member names.

Why not ``ZipFile.extractall`` / ``TarFile.extractall``: an archive is data from the internet and
its member names decide where files are written. A member called ``../x`` or ``/etc/x`` (the
"zip slip" family), or a symlink/hardlink member that a later member writes through, would write
outside the target folder. So every member is checked first and the whole archive is refused if
any member is unsafe, before a single byte is written; members are then copied as plain byte
streams (never through the library's own extraction, which would honour modes, owners and links).

Sizes are data too: a 2 MB zip can hold a 2 GiB member (a "zip bomb"), and an archive without a
published checksum (Tecnick's) or a tampered download is checked by nothing else before it is
extracted. So :class:`ArchiveLimits` bounds each member, the whole extraction and the
compression ratio; what the headers say is checked before a byte is written, and what is
actually decompressed is counted while it is written (headers can lie). Everything is
extracted into a private folder beside the target and moved in only when all of it passed:
a refused archive leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from licbench.datasets.base import DatasetError
from licbench.datasets.download import SizeLimitError, store_stream

if TYPE_CHECKING:  # imported in safe_extract: reading a manifest (unsafe_reason) needs no tarfile
    import tarfile

#: maps a member name to the relative output path, or None to skip the member
Selector = Callable[[str], str | None]

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchiveError(DatasetError):
    """An archive holding a member that could write outside the extraction folder."""


class ArchiveLimitError(DatasetError):
    """An archive whose members are larger, or expand more, than :class:`ArchiveLimits`
    allows; nothing of it was kept."""


#: bytes a stored picture may take per pixel, at most: 4 channels (RGBA) × 2 bytes (16-bit
#: samples) × 2 for its container. The container costs far less: an uncompressed PNG (deflate
#: "stored" blocks, 5 bytes per 65,535) adds one filter byte per row and 12 bytes per chunk,
#: a PPM or BMP a few bytes per row; the factor 2 leaves room for any of them.
BYTES_PER_PIXEL = 4 * 2 * 2
#: and whatever it carries besides its pixels: ICC profile, EXIF, text chunks (1 MiB)
METADATA_BYTES = 1 << 20
#: the largest side assumed when a manifest bounds none: 10,000 px, a square of the 100 MP
#: that ``licbench run`` refuses above by default (``--max-pixels``)
DEFAULT_MAX_SIDE = 10_000
#: a member may expand at most this much (Apache POI's ZipSecureFile refuses an inflate ratio
#: below 1%): PNG barely compresses again (about 1:1), photographs as PPM about 2–3:1 ...
MAX_RATIO = 100.0
#: ... except within its first MiB: a small file of one colour compresses far more, harmlessly
RATIO_GRACE = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an extraction may write: each member, all of them, and how much a member (or
    a compressed tar's stream) may expand; ``basis`` says where the bounds come from."""

    member_bytes: int
    total_bytes: int
    max_ratio: float = MAX_RATIO
    ratio_grace: int = RATIO_GRACE
    basis: str = ""

    @classmethod
    def for_images(cls, count: int, max_side: int | None = None) -> ArchiveLimits:
        """The bounds for ``count`` images of at most ``max_side`` px a side (each
        ``max_side² × BYTES_PER_PIXEL + METADATA_BYTES``: a 1200×1200 image 24 MB, a
        4096×4096 one 269 MB)."""
        side = max_side or DEFAULT_MAX_SIDE
        member = side * side * BYTES_PER_PIXEL + METADATA_BYTES
        count = max(1, count)
        basis = f"{count} image(s) of at most {side}x{side} px"
        return cls(member_bytes=member, total_bytes=member * count, basis=basis)


#: when the caller gives none: 1,000 images of the default largest side
DEFAULT_LIMITS = ArchiveLimits.for_images(1000)


@dataclass(frozen=True)
class _Member:
    name: str
    is_dir: bool
    is_file: bool
    kind: str  # for messages: "file", "directory", "symlink", "hardlink", "device", ...
    open: Callable[[], BinaryIO]
    #: decompressed size as the header says it (counted again while writing)
    size: int = 0
    #: compressed size as the header says it (zip); None: not per member (tar)
    compressed: int | None = None


def unsafe_reason(name: str) -> str | None:
    """Why a member name is unsafe to extract, or None if it is a plain relative path."""
    if not name or "\x00" in name:
        return "empty name or NUL byte"
    posix = name.replace("\\", "/")  # zips made on Windows may use backslashes
    if posix.startswith("/") or _DRIVE.match(posix):
        return "absolute path"
    if ".." in posix.split("/"):
        return "'..' path component"
    return None


def member_selector(
    prefix: str = "", pattern: str = "*", exclude: tuple[str, ...] | list[str] = ()
) -> Selector:
    """A selector taking files under ``prefix`` whose remaining path matches ``pattern``.

    The output name is the path below ``prefix``; ``exclude`` globs are matched against the full
    member name (e.g. ``"__MACOSX/*"``, the resource forks macOS zips carry).
    """
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def select(name: str) -> str | None:
        if any(fnmatch.fnmatchcase(name, pat) for pat in exclude):
            return None
        if not name.startswith(prefix):
            return None
        rest = name[len(prefix) :]
        if not rest or not fnmatch.fnmatchcase(rest, pattern):
            return None
        return rest

    return select


def _zip_members(zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        fmt = stat.S_IFMT(mode)
        if fmt == stat.S_IFLNK:
            kind = "symlink"
        elif info.is_dir() or fmt == stat.S_IFDIR:
            kind = "directory"
        elif fmt in (0, stat.S_IFREG):  # 0: made by a tool that stores no Unix mode
            kind = "file"
        else:
            kind = "special file"
        yield _Member(
            info.filename,
            kind == "directory",
            kind == "file",
            kind,
            lambda info=info: zf.open(info),
            info.file_size,
            info.compress_size,
        )


def _tar_members(tf: tarfile.TarFile) -> Iterator[_Member]:
    for info in tf.getmembers():
        if info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        elif info.isdir():
            kind = "directory"
        elif info.isfile():
            kind = "file"
        else:
            kind = "device or fifo"

        def opener(info: tarfile.TarInfo = info) -> BinaryIO:
            stream = tf.extractfile(info)
            if stream is None:  # pragma: no cover - only for non-files, which never get here
                raise DatasetError(f"cannot read member {info.name!r}")
            return stream  # type: ignore[return-value]

        yield _Member(info.name, kind == "directory", kind == "file", kind, opener, info.size)


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    select: Selector | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    label: str | None = None,
) -> list[Path]:
    """Extract the selected regular files of a zip or tar archive into ``dest``; return them.

    Every member (selected or not) is checked first; the archive is refused with
    :class:`UnsafeArchiveError` if any has an absolute path, a ``..`` component, or is a symlink,
    hardlink or device. The selected members are then held to ``limits``
    (:class:`ArchiveLimitError`): each member's size, their total and each zip member's
    compression ratio as the headers say, before anything is written; what is decompressed,
    counted while it is written; a compressed tar's stream as it is read. Directories are
    created as needed, nothing else about members (modes, owners, times) is applied. The files
    are written into a private folder beside ``dest`` and moved into ``dest`` when all passed.
    Messages name the archive as ``label`` (default: its path).
    """
    import tarfile

    archive = Path(archive)
    shown = label or str(archive)
    if zipfile.is_zipfile(archive):
        with _reading(shown), zipfile.ZipFile(archive) as zf:
            return _extract(list(_zip_members(zf)), shown, dest, select, limits)
    if tarfile.is_tarfile(archive):
        with _reading(shown), _open_tar(archive, limits, shown) as (tf, stream):
            try:
                members = list(_tar_members(tf))
            except _Expanded:  # seeking over a member: the last one listed
                if stream is None or not tf.members:
                    raise
                stream.member = tf.members[-1].name
                raise stream.refused() from None
            return _extract(members, shown, dest, select, limits, stream)
    raise DatasetError(f"{shown}: not a zip or tar archive")


class _Expanded(ArchiveLimitError):
    """A compressed tar stream that decompressed past its bound (see :class:`_Bounded`)."""


class _Bounded:
    """A decompressed stream that refuses to be read or sought past ``limit`` bytes.

    tarfile seeks over members it skips, and a seek in a gzip, bzip2 or xz stream decompresses
    up to there: so the target of a seek is checked before the seek happens, and a read never
    asks for more than one byte past the limit.
    """

    def __init__(self, inner: Any, limit: int, archive: str, what: str) -> None:
        self.inner, self.limit, self.archive, self.what = inner, limit, archive, what
        self.member = ""  # the member being read (for the message), set by the caller

    def refused(self) -> _Expanded:
        at = f" at member {self.member!r}" if self.member else ""
        return _Expanded(
            f"{self.archive}: decompresses to more than {self.limit} bytes{at} ({self.what}); "
            "refused, nothing kept"
        )

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.inner.tell()
        wanted = room + 1 if size is None or size < 0 else min(size, room + 1)
        data = self.inner.read(max(wanted, 0))
        if len(data) > room:
            raise self.refused()
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self.inner.tell() + offset
        if whence == os.SEEK_END or target > self.limit:
            raise self.refused()
        return self.inner.seek(target)

    def tell(self) -> int:
        return self.inner.tell()

    def close(self) -> None:
        self.inner.close()


#: the first bytes of each compressed stream tar archives come in, and its module
_COMPRESSED_TAR = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))


@contextlib.contextmanager
def _open_tar(
    archive: Path, limits: ArchiveLimits, shown: str
) -> Iterator[tuple[tarfile.TarFile, _Bounded | None]]:
    """The archive as a TarFile, and its decompressed stream (None for a plain tar): a
    compressed one is decompressed here, through :class:`_Bounded`, which lets it expand
    ``limits.max_ratio`` times the archive's size (plus the grace) and no more."""
    import importlib
    import tarfile

    with open(archive, "rb") as raw:
        head = raw.read(6)
    module = next((name for magic, name in _COMPRESSED_TAR if head.startswith(magic)), None)
    if module is None:  # a plain tar: its members cannot be larger than the file
        with tarfile.open(archive, "r:") as tf:
            yield tf, None
        return
    size = archive.stat().st_size
    limit = int(limits.max_ratio * size) + limits.ratio_grace
    what = f"{limits.max_ratio:g} times its {size} bytes"
    stream = _Bounded(importlib.import_module(module).open(archive, "rb"), limit, shown, what)
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tf:  # type: ignore[arg-type]
            yield tf, stream
    finally:
        stream.close()


@contextlib.contextmanager
def _reading(archive: str) -> Iterator[None]:
    """A damaged archive (bad CRC, truncated stream, broken header) as one line."""
    import lzma
    import tarfile
    import zlib

    try:
        yield
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError) as exc:
        raise DatasetError(f"{archive}: damaged archive ({exc}); nothing kept") from None


def _extract(
    members: list[_Member],
    archive: str | Path,
    dest: Path,
    select: Selector | None,
    limits: ArchiveLimits,
    stream: _Bounded | None = None,
) -> list[Path]:
    for m in members:
        reason = unsafe_reason(m.name)
        if reason is None and not (m.is_dir or m.is_file):
            reason = f"{m.kind} member"
        if reason:
            raise UnsafeArchiveError(
                f"{archive}: refusing to extract, member {m.name!r} is unsafe ({reason})"
            )
    dest = Path(dest)
    chosen = _chosen(members, archive, dest, select)
    _check_headers(chosen, archive, limits)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{os.urandom(4).hex()}.extracting"
    staging.mkdir()
    try:
        _write_members(chosen, archive, staging, limits, stream)
        return _move_into(staging, dest, [name for _, name in chosen])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _chosen(
    members: list[_Member], archive: str | Path, dest: Path, select: Selector | None
) -> list[tuple[_Member, str]]:
    """The members to write, each with its output name (checked to stay inside ``dest``)."""
    root = dest.resolve()
    chosen = []
    for m in members:
        if not m.is_file:
            continue
        name = m.name.replace("\\", "/")
        out_name = select(name) if select else name
        if out_name is None:
            continue
        reason = unsafe_reason(out_name)
        if reason or not (dest / PurePosixPath(out_name)).resolve().is_relative_to(root):
            raise UnsafeArchiveError(
                f"{archive}: refusing to extract {m.name!r} to {out_name!r} (outside {dest})"
            )
        chosen.append((m, out_name))
    return chosen


def _check_headers(
    chosen: list[tuple[_Member, str]], archive: str | Path, limits: ArchiveLimits
) -> None:
    """What the headers say, held to ``limits`` before anything is written."""
    basis = f" ({limits.basis})" if limits.basis else ""
    total = 0
    for m, _ in chosen:
        if m.size > limits.member_bytes:
            raise ArchiveLimitError(
                f"{archive}: member {m.name!r} is {m.size} bytes, more than the "
                f"{limits.member_bytes} an image may take{basis}; refused, nothing written"
            )
        if m.compressed is not None and m.size > limits.ratio_grace:
            if m.size > limits.max_ratio * max(m.compressed, 1):
                raise ArchiveLimitError(
                    f"{archive}: member {m.name!r} expands {m.size / max(m.compressed, 1):.0f} "
                    f"times ({m.compressed} to {m.size} bytes), more than the "
                    f"{limits.max_ratio:g} an image does; refused, nothing written"
                )
        total += m.size
        if total > limits.total_bytes:
            raise ArchiveLimitError(
                f"{archive}: the members taken hold more than {limits.total_bytes} bytes by "
                f"member {m.name!r}{basis}; refused, nothing written"
            )


def _write_members(
    chosen: list[tuple[_Member, str]],
    archive: str | Path,
    staging: Path,
    limits: ArchiveLimits,
    stream: _Bounded | None,
) -> None:
    """Each member copied as a byte stream, counted: never past its own bound nor the
    total, whatever its header said."""
    total = 0
    for m, out_name in chosen:
        room = min(limits.member_bytes, limits.total_bytes - total)
        if stream is not None:
            stream.member = m.name
        try:
            with m.open() as member:
                store_stream(
                    member,
                    staging / PurePosixPath(out_name),
                    label=f"{archive}:{m.name}",
                    max_bytes=room,
                )
        except SizeLimitError:
            which = (
                f"the {limits.member_bytes} an image may take"
                if room == limits.member_bytes
                else f"the {limits.total_bytes} all members may take together"
            )
            raise ArchiveLimitError(
                f"{archive}: member {m.name!r} decompresses to more than {which} (more than "
                f"its header's {m.size}); stopped there, nothing kept"
            ) from None
        total += (staging / PurePosixPath(out_name)).stat().st_size


def _move_into(staging: Path, dest: Path, names: list[str]) -> list[Path]:
    """The extracted files moved from ``staging`` into ``dest`` (renames: no byte written)."""
    if not dest.exists():
        staging.rename(dest)
        return [dest / PurePosixPath(name) for name in names]
    written = []
    for name in names:
        target = dest / PurePosixPath(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / PurePosixPath(name), target)
        written.append(target)
    return written
