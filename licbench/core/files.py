"""A file's sha256, and writing a file so that its name never points at a partial one.

Why here: checkpoints, dataset files, LPIPS weights and external codecs' parameter files are all
identified by the sha256 of their bytes, and every download, checkpoint and cache file must be
either whole under its final name or absent. Each was written separately before; one version
of each means one chunk size, one temporary-file naming and one cleanup path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_CHUNK = 1 << 20
#: how a temporary file beside ``NAME`` is called: ``.NAME.<random>.part``
TEMPORARY_SUFFIX = ".part"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks so large files stay out of memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _create_beside(target: Path) -> tuple[int, Path]:
    """A new, uniquely named empty file in ``target``'s folder: (descriptor, path).

    Created like ``open(..., "w")`` would (mode 0o666 less the umask), not 0o600 as
    :func:`tempfile.mkstemp` does, so a file written atomically looks like any other file.
    """
    for _ in range(100):
        candidate = target.with_name(f".{target.name}.{os.urandom(4).hex()}{TEMPORARY_SUFFIX}")
        try:
            return os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; a clean exit from the block renames it to ``path``.

    The temporary file sits in the same folder (so :func:`os.replace` is an atomic rename on
    one file system), has a name of its own (two processes writing the same target never mix
    their bytes), and is flushed and fsynced before the rename (a crash cannot leave the final
    name on unwritten blocks). If the block raises, whatever it raises (a failed checksum, an
    interrupt), the temporary file is removed and ``path`` is untouched. Missing parent folders
    are created. ``mode`` is ``"wb"`` or ``"w"`` (then ``encoding`` applies).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = _create_beside(target)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` (bytes, or text in ``encoding``) to ``path`` atomically; returns the path."""
    mode = "w" if isinstance(data, str) else "wb"
    with atomic_writer(path, mode, encoding=encoding) as handle:
        handle.write(data)
    return Path(path)
