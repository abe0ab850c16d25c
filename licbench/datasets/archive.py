"""Extracting dataset archives without trusting their member names.

Why not ``ZipFile.extractall`` / ``TarFile.extractall``: an archive is data from the internet and
its member names decide where files are written. A member called ``../x`` or ``/etc/x`` (the
"zip slip" family), or a symlink/hardlink member that a later member writes through, would write
outside the target folder. So every member is checked first and the whole archive is refused if
any member is unsafe, before a single byte is written; members are then copied as plain byte
streams (never through the library's own extraction, which would honour modes, owners and links).
"""

from __future__ import annotations

import fnmatch
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from licbench.datasets.base import DatasetError
from licbench.datasets.download import store_stream

if TYPE_CHECKING:  # imported in safe_extract: reading a manifest (unsafe_reason) needs no tarfile
    import tarfile

#: maps a member name to the relative output path, or None to skip the member
Selector = Callable[[str], str | None]

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchiveError(DatasetError):
    """An archive holding a member that could write outside the extraction folder."""


@dataclass(frozen=True)
class _Member:
    name: str
    is_dir: bool
    is_file: bool
    kind: str  # for messages: "file", "directory", "symlink", "hardlink", "device", ...
    open: Callable[[], BinaryIO]


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

        yield _Member(info.name, kind == "directory", kind == "file", kind, opener)


def safe_extract(archive: Path, dest: Path, *, select: Selector | None = None) -> list[Path]:
    """Extract the selected regular files of a zip or tar archive into ``dest``; return them.

    Every member (selected or not) is checked first; the archive is refused with
    :class:`UnsafeArchiveError` if any has an absolute path, a ``..`` component, or is a symlink,
    hardlink or device. Directories are created as needed, nothing else about members (modes,
    owners, times) is applied. Each file is written atomically (``.part`` then rename).
    """
    import tarfile

    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return _extract(list(_zip_members(zf)), archive, dest, select)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            return _extract(list(_tar_members(tf)), archive, dest, select)
    raise DatasetError(f"{archive}: not a zip or tar archive")


def _extract(
    members: list[_Member], archive: Path, dest: Path, select: Selector | None
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
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written: list[Path] = []
    for m in members:
        if not m.is_file:
            continue
        name = m.name.replace("\\", "/")
        out_name = select(name) if select else name
        if out_name is None:
            continue
        reason = unsafe_reason(out_name)
        target = dest / PurePosixPath(out_name)
        if reason or not target.resolve().is_relative_to(root):
            raise UnsafeArchiveError(
                f"{archive}: refusing to extract {m.name!r} to {out_name!r} (outside {dest})"
            )
        with m.open() as stream:
            store_stream(stream, target, label=f"{archive}:{m.name}")
        written.append(target)
    return written
