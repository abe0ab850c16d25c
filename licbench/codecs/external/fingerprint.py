"""The sha256 of each tool file a command-line codec runs, so a rebuilt tool is measured again.

A tool's ``--version`` output does not change when it is rebuilt from a changed source, when a
wrapper script is edited, or when a local build replaces the installed one; its bytes do. So
an external codec's ``version()`` (hence its codec key, hence every job key) carries the sha256
of each tool file (the resolved path: a symlink's target), and results of the old build are
never served for the new one.

Hashing a large encoder (VTM's is a few MB, a static build tens) on every ``version()`` call
would make listing codecs and every job slow, so a digest is cached by the file's identity:
resolved path, size, mtime, ctime and inode. A changed file changes its ctime whatever it does
to mtime (``cp -p`` and ``tar -x`` restore mtime; ctime cannot be set), so a stale digest
cannot be served while the file is the same. The cache is kept in memory and in
``$LICBENCH_HOME/cache/tool-sha256.json`` (one entry per path, the latest identity), so a fresh
process (a worker, the next command) pays one ``stat`` per tool, not a hash. A cache that cannot
be read or written is ignored: the digest is then computed, never guessed.

What is not covered: the files a tool runs in turn (a shell wrapper's real encoder, a script's
interpreter, shared libraries). Name such a file as a tool or as a ``kind = "file"`` parameter
of the definition to have it hashed too.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from licbench.core.files import atomic_write, file_sha256

#: the on-disk cache, under ``$LICBENCH_HOME``
CACHE_NAME = Path("cache") / "tool-sha256.json"

_memory: dict[tuple[str, int, int, int, int], str] = {}


def _identity(path: str) -> tuple[str, int, int, int, int]:
    real = os.path.realpath(path)
    st = os.stat(real)
    return real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def cache_file() -> Path:
    from licbench.paths import home

    return home() / CACHE_NAME


def _read_disk() -> dict[str, list]:
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_disk(identity: tuple[str, int, int, int, int], digest: str) -> None:
    entries = _read_disk()
    entries[identity[0]] = [*identity[1:], digest]
    with contextlib.suppress(OSError):  # a read-only home: the memory cache still holds
        atomic_write(cache_file(), json.dumps(entries, sort_keys=True, indent=0))


def tool_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the file ``path`` resolves to; hashed only when its identity changed."""
    identity = _identity(os.fspath(path))
    if identity in _memory:
        return _memory[identity]
    stored = _read_disk().get(identity[0])
    if (
        isinstance(stored, list)
        and len(stored) == 5
        and tuple(stored[:4]) == identity[1:]
        and isinstance(stored[4], str)
    ):
        _memory[identity] = stored[4]
        return stored[4]
    digest = file_sha256(identity[0])
    if _identity(identity[0]) == identity:  # unchanged while it was read: safe to keep
        _memory[identity] = digest
        _write_disk(identity, digest)
    return digest


def forget() -> None:
    """Empty the in-memory cache (tests; the disk cache is checked against each file anyway)."""
    _memory.clear()


__all__ = ["CACHE_NAME", "cache_file", "forget", "tool_sha256"]
