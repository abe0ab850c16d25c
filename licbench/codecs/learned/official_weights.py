"""The official CCA checkpoints: fetched once into a cache, verified, then used by ``cca``.

Why a cache of our own: the four published models (Han et al., NeurIPS 2024; the Google Drive
links of LabShuHangGU/CCA's README, λ = 0.3, 0.85, 1.8, 3.5) are 260 MB each and live on Google
Drive, which serves large files only after a "can't scan for viruses" confirmation page. They are
fetched once by ``licbench fetch-weights cca`` (through ``gdown``, which handles that page) into
``$LICBENCH_HOME/weights/cca/`` and never downloaded during a benchmark.

Where the bytes come from, first match wins:

1. the cache itself, when a file is there and matches its record;
2. ``$LICBENCH_WEIGHTS_MIRROR/cca/<file>``: a folder somebody filled on a connected machine (the
   weights counterpart of the dataset mirror ``$LICBENCH_MIRROR``), for air-gapped machines;
3. ``$LICBENCH_WEIGHTS_URL/cca/<file>`` (any ``http(s)://`` or ``file://`` base, read with
   urllib): an internal server; tests point it at a folder;
4. Google Drive by file id, through gdown.

Integrity: the Drive files publish no checksum, so :data:`CCA_OFFICIAL` has ``sha256=None`` and
the sum is *recorded at the first fetch* in ``weights.json`` beside the files (with the size,
source and time); every later fetch or copy of the same file must give the same sum, and the
cache is trusted only while a file's size and modification time match its record (a changed
file is hashed again and refused if its sum moved). A pinned ``sha256`` in the manifest, when
one is known, is checked first. Before a file is accepted it must also *be* an official CCA
checkpoint (a torch file whose state dict has :data:`SIGNATURE_KEYS` with their shapes): an HTML
page saved by a failed Drive download is refused instead of being recorded.

Rate order: CCA's λ weights the rate (loss 0.05·255²·MSE + λ·R), so a larger λ means fewer
bits. The files are named ``cca-q<N>-lambda<λ>.pth.tar`` with q1 the lowest rate (λ = 3.5), so
the codec's natural name order of a folder is the rate order.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from licbench.core.availability import Availability
from licbench.core.files import atomic_writer, file_sha256
from licbench.paths import home

#: a folder holding ``cca/<file>`` for every file of :data:`CCA_OFFICIAL`, read before the network
MIRROR_ENV = "LICBENCH_WEIGHTS_MIRROR"
#: a base URL (http, https or file) serving ``cca/<file>``; used instead of Google Drive
URL_ENV = "LICBENCH_WEIGHTS_URL"
FETCH_COMMAND = "licbench fetch-weights cca"
RECORD_FILE = "weights.json"
RECORD_FORMAT = "licbench.weights-record"
_CHUNK = 1 << 20

#: (official key, shape) pairs every official CCA checkpoint has: a cheap check of what a
#: download holds, read from the file without loading its tensors (``mmap``)
SIGNATURE_KEYS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("g_a.down.0.weight", (192, 3, 5, 5)),
    ("g_a.down.3.weight", (320, 256, 5, 5)),
    ("g_s.up.3.weight", (192, 3, 5, 5)),
    ("h_a.4.weight", (192, 256, 5, 5)),
    ("z_entropy_bottleneck.quantiles", (192, 1, 3)),
)


class OfficialWeightsError(RuntimeError):
    """Official weights that cannot be fetched, are not the expected files, or are damaged."""


@dataclass(frozen=True)
class OfficialWeight:
    """One published checkpoint: its rate weight, where Drive keeps it, our file name."""

    quality: int
    #: CCA's own λ (``--beta`` of its train.py): loss = 0.05·255²·MSE + λ·R, larger = fewer bits
    paper_lambda: float
    drive_id: str
    file: str
    #: pinned sum, when one is published; None: recorded at first fetch (see module docstring)
    sha256: str | None = None

    @property
    def lmbda(self) -> float:
        """The same trade-off in CompressAI's convention (R + λ·255²·MSE): 0.05 / λ_CCA."""
        return 0.05 / self.paper_lambda

    @property
    def drive_url(self) -> str:
        return f"https://drive.google.com/file/d/{self.drive_id}/view"


#: the four models of LabShuHangGU/CCA's README (commit c7088d2, "Pretrained Models"), q1 = the
#: lowest rate; λ 7 and 15 are announced there but not released
CCA_OFFICIAL: tuple[OfficialWeight, ...] = (
    OfficialWeight(1, 3.5, "1gION784PtjcxAzIgdb-eSjhuZkeG9z_l", "cca-q1-lambda3.5.pth.tar"),
    OfficialWeight(2, 1.8, "17KRA3NYxuNyszhIIR9HGC0ODPx9HcDyB", "cca-q2-lambda1.8.pth.tar"),
    OfficialWeight(3, 0.85, "1K3veWSXFtANS71LY-ksiMXiNjIqL_mL1", "cca-q3-lambda0.85.pth.tar"),
    OfficialWeight(4, 0.3, "1gAUvZKKzlh0Tuo22kTMIxNmUZlXogpRO", "cca-q4-lambda0.3.pth.tar"),
)


# ---------------------------------------------------------------------------- places


def cca_weights_dir() -> Path:
    """``$LICBENCH_HOME/weights/cca``: the cache the ``cca`` codec reads (created by fetching)."""
    return home() / "weights" / "cca"


def weights_mirror_dir() -> Path | None:
    """``$LICBENCH_WEIGHTS_MIRROR/cca`` when the variable is set, else None."""
    root = os.environ.get(MIRROR_ENV)
    return Path(root).expanduser() / "cca" if root else None


def _copy_instruction(folder: Path | None = None) -> str:
    folder = folder or cca_weights_dir()
    links = ", ".join(f"{w.file} = {w.drive_url}" for w in CCA_OFFICIAL)
    return (
        f"download the four files on a connected machine ({links}) and copy them into "
        f"${MIRROR_ENV}/cca/ (then run `{FETCH_COMMAND}` here) or straight into {folder}"
    )


# ---------------------------------------------------------------------------- record


def _record_path(folder: Path) -> Path:
    return folder / RECORD_FILE


def read_record(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """The files recorded in ``weights.json`` (file name → sha256, size, mtime_ns, source...)."""
    path = _record_path(folder or cca_weights_dir())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise OfficialWeightsError(
            f"{path}: unreadable record ({exc}); delete it and fetch again"
        ) from exc
    files = data.get("files") if isinstance(data, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def _write_record(folder: Path, files: Mapping[str, Mapping[str, Any]]) -> None:
    payload = {"format": RECORD_FORMAT, "format_version": 1, "files": dict(sorted(files.items()))}
    with atomic_writer(_record_path(folder), "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=2)
        out.write("\n")


def _stat_matches(path: Path, entry: Mapping[str, Any]) -> bool:
    stat = path.stat()
    return stat.st_size == entry.get("size") and stat.st_mtime_ns == entry.get("mtime_ns")


# ---------------------------------------------------------------------------- checking


def check_official_layout(path: Path) -> None:
    """Raise unless ``path`` is a torch checkpoint with the official CCA :data:`SIGNATURE_KEYS`.

    Reads the file memory-mapped (``weights_only``): cheap even for 260 MB, and a pickle that
    would run code is refused, never executed.
    """
    from licbench.codecs.learned.checkpoints import (
        CheckpointError,
        extract_state_dict,
        read_checkpoint,
    )

    try:
        state_dict = extract_state_dict(read_checkpoint(path, mmap=True))
    except CheckpointError as exc:
        raise OfficialWeightsError(
            f"{path.name} is not an official CCA checkpoint: {str(exc).splitlines()[0]}"
        ) from exc
    for key, shape in SIGNATURE_KEYS:
        tensor = state_dict.get(key)
        if tensor is None or tuple(tensor.shape) != shape:
            found = "absent" if tensor is None else str(tuple(tensor.shape))
            raise OfficialWeightsError(
                f"{path.name} is not an official CCA checkpoint: {key} should be {shape}, "
                f"is {found}"
            )


def _expected_sum(weight: OfficialWeight, record: Mapping[str, Mapping[str, Any]]) -> str | None:
    return weight.sha256 or (record.get(weight.file) or {}).get("sha256")


def _verified(path: Path, weight: OfficialWeight, record: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the cached ``path`` is the recorded file: by stat when unchanged, else by sum."""
    entry = record.get(weight.file)
    if entry is None or not path.is_file():
        return False
    if _stat_matches(path, entry) and (weight.sha256 in (None, entry.get("sha256"))):
        return True
    return file_sha256(path) == _expected_sum(weight, record)


# ---------------------------------------------------------------------------- sources


def _open_url(url: str, timeout: float) -> IO[bytes]:
    """Open an http(s):// or file:// URL (urllib; the one non-Drive network entry point)."""
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "licbench-weights"})
    return urllib.request.urlopen(request, timeout=timeout)


def _copy_stream(source: IO[bytes], out: IO[bytes]) -> None:
    for block in iter(lambda: source.read(_CHUNK), b""):
        out.write(block)


def _download_drive(weight: OfficialWeight, out: IO[bytes], quiet: bool) -> None:
    """Google Drive by id through gdown, which answers the large-file confirmation page."""
    import gdown

    gdown.download(id=weight.drive_id, output=out, quiet=quiet)


def _source(weight: OfficialWeight, mirror: Path | None, base_url: str | None) -> str:
    """Where ``weight`` comes from: a mirror file, a URL under ``base_url``, or Drive."""
    if mirror is not None and (mirror / weight.file).is_file():
        return str(mirror / weight.file)
    if base_url:
        return f"{base_url.rstrip('/')}/cca/{weight.file}"
    return f"gdrive:{weight.drive_id}"


def _fetch_one(
    weight: OfficialWeight,
    folder: Path,
    record: Mapping[str, Mapping[str, Any]],
    source: str,
    *,
    timeout: float,
    quiet: bool,
) -> str:
    """Bring ``weight`` from ``source`` to ``folder``, checked before it takes its final name.

    The bytes land in a staging file of this process (whole, by :func:`atomic_writer`), are
    checked there, and only then renamed to the cache name; any failure removes the staging file.
    """
    target = folder / weight.file
    staging = folder / f".{weight.file}.{os.getpid()}.check"
    try:
        with atomic_writer(staging) as out:
            if source.startswith("gdrive:"):
                _download_drive(weight, out, quiet)
            elif "://" in source:
                with _open_url(source, timeout) as stream:
                    _copy_stream(stream, out)
            else:
                with open(source, "rb") as stream:
                    _copy_stream(stream, out)
        sha256 = _accept(staging, weight, record)
        os.replace(staging, target)
    except OfficialWeightsError:
        raise
    except Exception as exc:  # network, Drive refusal, disk: one message that says what to do
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise OfficialWeightsError(
            f"cannot fetch {weight.file} from {source} ({type(exc).__name__}: {first_line}); "
            + _copy_instruction(folder)
        ) from exc
    finally:
        staging.unlink(missing_ok=True)
    return sha256


def _accept(part: Path, weight: OfficialWeight, record: Mapping[str, Mapping[str, Any]]) -> str:
    """The sha256 of ``part``; raises unless it is an official checkpoint with the known sum."""
    if part.stat().st_size == 0:
        raise OfficialWeightsError(f"{weight.file}: the source delivered no bytes")
    check_official_layout(part)
    expected = _expected_sum(weight, record)
    actual = file_sha256(part)
    if expected is not None and actual != expected:
        raise OfficialWeightsError(
            f"{weight.file}: sha256 {actual[:16]}... differs from the recorded {expected[:16]}... "
            f"(the published file changed, or this is another file); not kept. If the new file "
            f"is right, delete {RECORD_FILE} in the cache and fetch again"
        )
    return actual


# ---------------------------------------------------------------------------- public API


def fetch_cca_weights(
    report: Callable[[str], None] | None = print,
    *,
    folder: str | os.PathLike[str] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch the four official CCA checkpoints into the cache; the paths, lowest rate first.

    ``folder`` defaults to :func:`cca_weights_dir`, ``mirror`` to ``$LICBENCH_WEIGHTS_MIRROR/cca``
    and ``base_url`` to ``$LICBENCH_WEIGHTS_URL`` (without either: Google Drive). Files already
    cached and matching their record are kept. Each new file is written beside its final name
    and renamed into place only once it is checked; its sha256 is recorded in ``weights.json``.
    Raises :class:`OfficialWeightsError` with one line naming what to copy where on failure.
    """
    say = report or (lambda _message: None)
    target_dir = Path(folder) if folder is not None else cca_weights_dir()
    mirror_dir = Path(mirror) if mirror is not None else weights_mirror_dir()
    url = base_url if base_url is not None else os.environ.get(URL_ENV) or None
    record = read_record(target_dir)
    paths = []
    for weight in CCA_OFFICIAL:
        target = target_dir / weight.file
        if target.is_file() and weight.file not in record:
            # copied into the cache by hand: check it and record it as if fetched
            try:
                sha256 = _accept(target, weight, record)
            except OfficialWeightsError as exc:
                say(f"{exc}; fetching it again")
            else:
                record[weight.file] = _entry(target, weight, f"found in {target_dir}", sha256)
                _write_record(target_dir, record)
        if _verified(target, weight, record):
            entry = record[weight.file]
            if not _stat_matches(target, entry):  # same bytes, new time (a copy): stat it again
                stat = target.stat()
                record[weight.file] = {**entry, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                _write_record(target_dir, record)
            say(f"{weight.file}: already cached (sha256 {entry['sha256'][:16]}...)")
        else:
            if target.is_file():
                say(f"{weight.file}: cached file does not match its record; fetching it again")
            source = _source(weight, mirror_dir, url)
            say(f"{weight.file} (λ={weight.paper_lambda}): from {source}")
            sha256 = _fetch_one(
                weight, target_dir, record, source, timeout=timeout, quiet=report is None
            )
            record[weight.file] = _entry(target, weight, source, sha256)
            _write_record(target_dir, record)
            say(f"{weight.file}: saved, sha256 {record[weight.file]['sha256']}")
        paths.append(target)
    return paths


def _entry(path: Path, weight: OfficialWeight, source: str, sha256: str) -> dict[str, Any]:
    stat = path.stat()
    return {
        "sha256": sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "quality": weight.quality,
        "paper_lambda": weight.paper_lambda,
        "lmbda": weight.lmbda,
        "drive_id": weight.drive_id,
        "source": source,
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _problems(folder: Path) -> list[str]:
    try:
        record = read_record(folder)
    except OfficialWeightsError as exc:
        return [str(exc)]
    problems = []
    for weight in CCA_OFFICIAL:
        path = folder / weight.file
        if not path.is_file():
            problems.append(f"{weight.file} missing")
        elif weight.file not in record:
            problems.append(f"{weight.file} not recorded")
        elif not _verified(path, weight, record):
            problems.append(f"{weight.file} does not match its recorded sha256")
    return problems


def cached_cca_checkpoints(folder: str | os.PathLike[str] | None = None) -> list[Path] | None:
    """The four cached official checkpoints, lowest rate first; None unless all are verified.

    Cheap when nothing changed (a stat per file against ``weights.json``); a file whose size or
    time changed is hashed again. Files copied in by hand are not recorded here: that is
    :func:`fetch_cca_weights`' job (it checks and records them without the network).
    """
    root = Path(folder) if folder is not None else cca_weights_dir()
    if _problems(root):
        return None
    return [root / w.file for w in CCA_OFFICIAL]


def cca_weights_availability(folder: str | os.PathLike[str] | None = None) -> Availability:
    """Whether ``cca`` can run without ``ckpt=``: the official weights are cached and verified."""
    root = Path(folder) if folder is not None else cca_weights_dir()
    problems = _problems(root)
    if not problems:
        return Availability.yes()
    reason = f"official CCA weights not in {root} ({'; '.join(problems)})"
    return Availability(
        False,
        reason,
        f"run `{FETCH_COMMAND}` (needs internet, or ${MIRROR_ENV} with cca/<file>); or "
        + _copy_instruction(root),
    )


def official_cca_ckpt(folder: str | os.PathLike[str] | None = None) -> str:
    """The ``ckpt=`` value for ``cca`` without one: the cache folder, once verified.

    Raises :class:`OfficialWeightsError` saying how to get the weights otherwise.
    """
    root = Path(folder) if folder is not None else cca_weights_dir()
    if cached_cca_checkpoints(root) is None:
        availability = cca_weights_availability(root)
        raise OfficialWeightsError(
            f"{availability.reason}: run `{FETCH_COMMAND}`, give ckpt=FILE_OR_DIR, or "
            "weights=random"
        )
    return str(root)
