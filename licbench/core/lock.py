"""Owning a folder while writing it: one lock file, one owner at a time.

Why: two ``licbench run`` writing one ``--out`` at once each printed and wrote the other's
codecs (the folder's run.json is the last writer's). A run owns its output folder from the
first byte it writes there to its last; another process that wants to own it is refused at
once with who holds it (:class:`FolderBusy`), never left to wait without bound.

How: ``DIR/.licbench.lock``, locked with POSIX record locks (:func:`fcntl.lockf`):

* the kernel drops a process's locks when it ends, however it ends (kill -9, a crash): a lock
  whose holder is gone is taken over as if free, and the pid written in the file serves only
  the message;
* they are not inherited by forked worker processes, so a worker that outlives its run holds
  nothing; and network file systems with a lock manager (NFS) lock across machines.

Byte 0 is the owner's (:func:`owning`: a run; :func:`sharing`: ``licbench report`` when no run
owns the folder). Byte 1 is held while outputs are written (:func:`writing`, which waits), so
that a report rebuilt while a run computes and the run's own outputs are never written at the
same time, file by file mixed. The file stays, empty when no one owns the folder; the owner
writes its pid, host, command and start time into it.

A POSIX lock belongs to the process, and closing *any* descriptor of the file drops all of
them; so each process opens the file once per folder and counts what it holds (the locks are
re-entrant: ``run`` owns the folder across ``execute`` and ``write``, which each own it when
called alone). Where the file system has no record locks (ENOLCK), the file's content is the
lock, as a pid file: one naming a process that still runs is busy, one naming no running
process (or none) is taken over; there two processes starting in the same instant could both
pass, and outputs are not serialised (byte 1).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shlex
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: the O_EXCL file alone
    fcntl = None  # type: ignore[assignment]

#: the lock file in a folder a licbench process writes
LOCK_NAME = ".licbench.lock"
_OWNER, _WRITER = 0, 1
#: what lockf raises where the file system keeps no record locks
_NO_RECORD_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}
#: the longest command a lock file keeps (the file is read in one 64 KiB piece)
_LONGEST_COMMAND = 2000
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """Who owns a folder, as its lock file says."""

    pid: int
    host: str
    command: str
    started: str

    def __str__(self) -> str:
        if not self.pid:
            return "a process that left no details"
        return f"pid {self.pid} on {self.host}, since {self.started}: {self.command}"

    def to_text(self) -> str:
        return json.dumps(
            {"pid": self.pid, "host": self.host, "command": self.command, "started": self.started}
        )

    @classmethod
    def parse(cls, text: bytes | str) -> Holder | None:
        """The holder a lock file names; None when it is empty or not one (never raises)."""
        try:
            data = json.loads(text)
            return cls(
                int(data["pid"]), str(data["host"]), str(data["command"]), str(data["started"])
            )
        except (ValueError, TypeError, KeyError):
            return None

    @classmethod
    def this_process(cls, command: str | None = None) -> Holder:
        """This process, doing ``command`` (default: its program's name and arguments)."""
        if command is None:
            command = shlex.join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])
        if len(command) > _LONGEST_COMMAND:
            command = command[: _LONGEST_COMMAND - 3] + "..."
        return cls(
            os.getpid(),
            socket.gethostname(),
            command,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def running(self) -> bool:
        """Whether the holder still runs; a holder on another host is taken to."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process
            return True
        return True


#: an owner whose lock file could not be read
_UNKNOWN = Holder(0, "", "", "")


class FolderBusy(RuntimeError):
    """Another process owns the folder (its lock file names it, when it could be read)."""

    def __init__(self, folder: Path, holder: Holder | None) -> None:
        self.folder, self.holder = folder, holder
        who = f"another licbench process ({holder})" if holder else "another licbench process"
        super().__init__(f"{folder} is being written by {who}")


class _Handle:
    """This process's one descriptor of a lock file, and how many times it holds each byte."""

    def __init__(self, path: Path, fd: int, record_locks: bool) -> None:
        self.path, self.fd, self.record_locks = path, fd, record_locks
        self.counts = {_OWNER: 0, _WRITER: 0}

    def content(self) -> bytes:
        return os.pread(self.fd, 1 << 16, 0)

    def write(self, text: str) -> None:
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text.encode(), 0)


_handles: dict[Path, _Handle] = {}
_guard = threading.RLock()


def _open(path: Path) -> _Handle:
    handle = _handles.get(path)
    if handle is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        handle = _handles[path] = _Handle(path, fd, fcntl is not None)
    return handle


def _close_if_unused(handle: _Handle) -> None:
    if not any(handle.counts.values()):
        _handles.pop(handle.path, None)
        os.close(handle.fd)  # (drops every record lock this process has on the file)


def _lock(handle: _Handle, byte: int, wait: bool) -> bool:
    """Take ``byte`` of the file; False when another process holds it (and ``wait`` is
    False). A file system without record locks switches the handle to the O_EXCL file."""
    if not handle.record_locks:
        return True
    try:
        fcntl.lockf(handle.fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB), 1, byte)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        if exc.errno not in _NO_RECORD_LOCKS:
            raise
        handle.record_locks = False
    return True


def _unlock(handle: _Handle, byte: int) -> None:
    if handle.record_locks:
        fcntl.lockf(handle.fd, fcntl.LOCK_UN, 1, byte)


def _acquire_owner(folder: Path, command: str | None, *, refuse: bool) -> Holder | None:
    """Own ``folder`` (byte 0): None when this process owns it now; the other owner when it
    is busy and ``refuse`` is False (with ``refuse``, :class:`FolderBusy`)."""
    path = folder / LOCK_NAME
    with _guard:
        handle = _open(path)
        if handle.counts[_OWNER]:
            handle.counts[_OWNER] += 1
            return None
        if _lock(handle, _OWNER, wait=False) and _claim(handle, command):
            handle.counts[_OWNER] = 1
            return None
        other = Holder.parse(handle.content())
        _close_if_unused(handle)
    if refuse:
        raise FolderBusy(folder, other)
    return other or _UNKNOWN


def _claim(handle: _Handle, command: str | None) -> bool:
    """Write this process into the lock file it holds. Without record locks the content is
    the lock: a file naming a process that still runs is busy."""
    found = Holder.parse(handle.content())
    if not handle.record_locks and found is not None and found.running():
        return False
    if found is not None:
        _log.info(f"{handle.path}: taking over from {found} (no longer running)")
    handle.write(Holder.this_process(command).to_text())
    return True


def _release_owner(folder: Path) -> None:
    path = folder / LOCK_NAME
    with _guard:
        handle = _handles[path]
        handle.counts[_OWNER] -= 1
        if handle.counts[_OWNER]:
            return
        handle.write("")  # no owner: the file says so too
        _unlock(handle, _OWNER)
        _close_if_unused(handle)


@contextlib.contextmanager
def owning(folder: str | os.PathLike[str], command: str | None = None) -> Iterator[None]:
    """Own ``folder`` for the block (created if missing); :class:`FolderBusy` at once when
    another process owns it. ``command`` (default: this process's arguments) is what the lock
    file says the owner is doing."""
    folder = Path(folder).absolute()
    _acquire_owner(folder, command, refuse=True)
    try:
        yield
    finally:
        _release_owner(folder)


@contextlib.contextmanager
def sharing(folder: str | os.PathLike[str], command: str | None = None) -> Iterator[Holder | None]:
    """Own ``folder`` for the block when no one else does (yields None), else yield the other
    owner and go on beside it: ``licbench report`` of a run still writing its folder."""
    folder = Path(folder).absolute()
    other = _acquire_owner(folder, command, refuse=False)
    try:
        yield other
    finally:
        if other is None:
            _release_owner(folder)


@contextlib.contextmanager
def writing(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the folder's output lock for the block, waiting while another process writes its
    outputs there (seconds: a report's files)."""
    path = Path(folder).absolute() / LOCK_NAME
    with _guard:
        handle = _open(path)
        if not handle.counts[_WRITER]:
            _lock(handle, _WRITER, wait=True)
        handle.counts[_WRITER] += 1
    try:
        yield
    finally:
        with _guard:
            handle.counts[_WRITER] -= 1
            if not handle.counts[_WRITER]:
                _unlock(handle, _WRITER)
            _close_if_unused(handle)


def holder(folder: str | os.PathLike[str]) -> Holder | None:
    """Who owns ``folder`` now, as its lock file says (this process included); None when no
    running process does. Only reads: it takes no lock, so it can never refuse a run."""
    path = Path(folder).absolute() / LOCK_NAME
    with _guard:
        handle = _handles.get(path)
        if handle is not None:  # (another descriptor, closed, would drop this process's locks)
            found = Holder.parse(handle.content())
        else:
            try:
                found = Holder.parse(path.read_bytes())
            except OSError:
                return None
    return found if found is not None and found.running() else None


__all__ = ["LOCK_NAME", "FolderBusy", "Holder", "holder", "owning", "sharing", "writing"]
