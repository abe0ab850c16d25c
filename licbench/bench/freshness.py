"""Knowing when a run's outputs are already current, so a finished run re-runs in a blink.

A re-run of a finished run computes nothing (every job is in the store), and rebuilding its
outputs would be most of its time: pandas, matplotlib and the plots. So the outputs are stamped
with a fingerprint of everything they are made from:

* the run manifest (``run.json``) except its creation time,
* the stored rows of the run's jobs (which exist, when each was written, whether it failed),
* the licbench code that builds outputs (path, size and mtime of every source file: cheap, and
  a changed template or analysis rebuilds).

When the fingerprint matches the stamp and every output file is there, nothing is rewritten and
the summary comes from the stamp. ``licbench report DIR`` always rebuilds. The manifest itself
is rewritten only when it changed, keeping its first ``created`` time.

This module imports nothing heavy: it is on the path of every re-run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from licbench.bench.manifest import MANIFEST_NAME, RunManifest
from licbench.bench.store import Store
from licbench.core.files import atomic_write

#: the stamp file in a run's output folder
STAMP_NAME = ".licbench-outputs.json"
#: the files a run writes (all must exist for the outputs to count as current)
OUTPUT_FILES = ("per_image.csv", "bd_per_image.csv", "summary.json", "report.html")
_PACKAGE = Path(__file__).resolve().parents[1]
_SOURCE_SUFFIXES = {".py", ".j2", ".toml", ".json", ".csv", ".css", ".js"}


def _comparable(data: dict[str, Any], *ignored: str) -> dict[str, Any]:
    """The manifest as JSON would store it, without its creation time (and ``ignored``)."""
    normal = json.loads(json.dumps(data, default=str))
    for name in ("created", *ignored):
        normal.pop(name, None)
    return normal


def save_manifest(
    manifest: RunManifest,
    folder: Path,
    environment: Callable[[], dict[str, Any]] | None = None,
) -> bool:
    """Write ``run.json`` unless the same run is already there; True if it was written.

    "The same run": equal but for ``created`` (and, when ``environment`` is given, for the
    environment). Then the stored file is kept and ``manifest`` takes its ``created`` (and
    environment), so a re-run keeps the date and the place its results were made. Otherwise
    ``environment()``, when given, fills ``manifest.environment`` before the file is written:
    collecting it (git, package versions) is skipped on a re-run.
    """
    # the crops the report shows are chosen after the jobs ran: not part of what the run is
    derived = ("visual", "complexity", "decode_check")  # worked out after the jobs ran
    ignored = (*derived, "environment") if environment is not None else derived
    path = folder / MANIFEST_NAME
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError):
            old = None
        if isinstance(old, dict) and _comparable(old, *ignored) == _comparable(
            manifest.as_dict(), *ignored
        ):
            manifest.created = old.get("created", manifest.created)
            manifest.visual = old.get("visual") or {}
            manifest.complexity = old.get("complexity") or {}
            manifest.decode_check = old.get("decode_check") or {}
            if environment is not None:
                manifest.environment = old.get("environment") or {}
            return False
    if environment is not None:
        manifest.environment = environment()
    manifest.save(folder)
    return True


def _job_keys(manifest: RunManifest) -> list[str]:
    """Every job key the outputs read: the run's jobs and any recorded under ``job_key``."""
    keys = list(manifest.jobs)

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "job_key" and isinstance(item, str):
                    yield item
                else:
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    extra = manifest.as_dict()
    extra.pop("jobs", None)
    keys.extend(walk(extra))
    return keys


def code_stamp() -> str:
    """Size and mtime of every licbench source file: changes when any code or template does."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*")):
        if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts:
            try:
                stat = path.stat()
            except OSError:
                continue
            digest.update(
                f"{path.relative_to(_PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()


def outputs_fingerprint(manifest: RunManifest, store: Store) -> str:
    """The fingerprint of everything a run's outputs are built from (see the module doc)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(_comparable(manifest.as_dict()), sort_keys=True).encode())
    digest.update(str(store.path.resolve()).encode())
    digest.update(store.fingerprint(_job_keys(manifest)).encode())
    digest.update(code_stamp().encode())
    return digest.hexdigest()


def current_summary(folder: Path, fingerprint: str) -> dict[str, Any] | None:
    """The stamped summary if the outputs in ``folder`` are current, else None."""
    if not all((folder / name).is_file() for name in OUTPUT_FILES):
        return None
    try:
        stamp = json.loads((folder / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("fingerprint") != fingerprint:
        return None
    summary = stamp.get("summary")
    return summary if isinstance(summary, dict) else None


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def remember_outputs(folder: Path, fingerprint: str, summary: dict[str, Any]) -> None:
    """Stamp freshly written outputs (a summary that is not JSON leaves them unstamped)."""
    try:
        # NaN and infinity are kept (Python's JSON extension): the summary must round-trip
        text = json.dumps({"fingerprint": fingerprint, "summary": summary}, default=_plain)
    except (TypeError, ValueError):
        (folder / STAMP_NAME).unlink(missing_ok=True)
        return
    atomic_write(folder / STAMP_NAME, text)  # never a truncated stamp (disk full, Ctrl-C)


def forget_outputs(folder: Path) -> None:
    """Drop the stamp (before outputs are rewritten, so a crash half-way cannot look current)."""
    (folder / STAMP_NAME).unlink(missing_ok=True)


__all__ = [
    "OUTPUT_FILES",
    "STAMP_NAME",
    "code_stamp",
    "current_summary",
    "forget_outputs",
    "outputs_fingerprint",
    "remember_outputs",
    "save_manifest",
]
