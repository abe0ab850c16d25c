"""Finding, checking and running the executables of a command-line codec.

Every process is started with an argument list (never ``shell=True``), with no standard input,
a timeout and captured output, so a hanging or chatty tool cannot stall or flood a run:

* each tool runs in a session (process group) of its own, and when it ends, fails or times out
  the whole group is killed, so the children and grandchildren of a shell-script wrapper (its
  ``sleep``, a forked encoder) never outlive it, hold its pipes open, or keep writing into the
  temporary folder that is about to be removed;
* of its stdout and stderr only the last :data:`CAPTURE_LIMIT` bytes each are kept (the rest is
  read and dropped), so a tool printing gigabytes costs no memory.

Looking a tool up never raises: a missing tool, a failing capability check or an unusable
``locate`` hook becomes a reason why the codec is unavailable.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from licbench.codecs.external.definition import Tool
from licbench.registry import import_object

#: seconds allowed for a version or capability query
QUERY_TIMEOUT = 60.0
#: characters of a failing tool's output quoted in the error
OUTPUT_TAIL = 1500
#: bytes kept of each of a tool's stdout and stderr (the end of it, where errors are)
CAPTURE_LIMIT = 64 * 1024
#: the same for version and capability queries, whose pattern may be anywhere in a long listing
QUERY_CAPTURE_LIMIT = 1024 * 1024
#: seconds to wait for a killed tool's processes to release its pipes
_REAP_SECONDS = 5.0


class ExternalToolError(RuntimeError):
    """A tool that failed, timed out or wrote nothing: says which command and why."""


@dataclass(frozen=True)
class Located:
    path: str | None
    reason: str = ""


def locate(tool: Tool) -> Located:
    """Where the tool is: its ``env`` variable, then its ``locate`` hook, then ``command``."""
    if tool.env and os.environ.get(tool.env):
        candidate = os.environ[tool.env]
        found = shutil.which(candidate)
        if found:
            return Located(found)
        return Located(None, f"{tool.env}={candidate} is not an executable file")
    hook_reason = ""
    if tool.locate:
        try:
            found = str(import_object(tool.locate)())
        except Exception as exc:  # an optional package that is missing or has no binary
            hook_reason = f" ({tool.locate} failed: {type(exc).__name__}: {exc})"
        else:
            if found and shutil.which(found):
                return Located(found)
            hook_reason = f" ({tool.locate} returned {found!r}, not an executable)"
    found = shutil.which(tool.command)
    if found:
        return Located(found)
    where = f"set {tool.env} or " if tool.env else ""
    return Located(None, f"{tool.command} not found ({where}put it on PATH){hook_reason}".strip())


def format_argv(template: Sequence[str], values: Mapping[str, object]) -> list[str]:
    """Fill each argument's placeholders; the result is an argument vector for ``run``."""
    return [item.format_map(values) for item in template]


class _Tail(threading.Thread):
    """Reads a pipe to its end, keeping only its last ``limit`` bytes."""

    def __init__(self, pipe: int, limit: int) -> None:
        super().__init__(daemon=True)  # a stray that left the group must not block exit
        self.pipe = pipe
        self.limit = limit
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while chunk := os.read(self.pipe, 65536):
                self.total += len(chunk)
                self.kept += chunk
                if len(self.kept) > 2 * self.limit:
                    del self.kept[: -self.limit]
        finally:
            os.close(self.pipe)

    def text(self) -> bytes:
        return bytes(self.kept[-self.limit :])


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _wait_unreaped(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def _waiter(process: subprocess.Popen[bytes]) -> threading.Thread:
    """A thread that ends when the tool exits, *without reaping it*: while it is a zombie its
    process-group id cannot be reused, so killing the group afterwards can only hit the tool's
    own processes."""
    if hasattr(os, "waitid"):
        return threading.Thread(target=_wait_unreaped, args=(process.pid,), daemon=True)
    return threading.Thread(target=process.wait, daemon=True)  # (macOS) reaps: kill at once


def execute(
    argv: Sequence[str],
    *,
    timeout: float | None,
    cwd: str | Path | None = None,
    limit: int = CAPTURE_LIMIT,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` in its own process group; kill the group when the tool ends or times out.

    Returns the exit status and the last ``limit`` bytes of stdout and stderr; raises
    :class:`subprocess.TimeoutExpired` (the group killed) or :class:`OSError` (not started).
    """
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout_w,
            stderr=stderr_w,
            cwd=cwd,
            start_new_session=True,
        )
    except BaseException:
        for fd in (stdout_r, stderr_r):
            os.close(fd)
        raise
    finally:
        os.close(stdout_w)
        os.close(stderr_w)
    readers = [_Tail(stdout_r, limit), _Tail(stderr_r, limit)]
    for reader in readers:
        reader.start()
    waiter = _waiter(process)
    waiter.start()
    exited = False
    try:
        waiter.join(timeout)
        exited = not waiter.is_alive()
    finally:
        # the group id is the tool's pid; anything still in it is the tool's (or its strays')
        _kill_group(process.pid)
        if not exited:
            waiter.join()  # it sees the kill before the tool is reaped below
        process.wait()
        deadline = time.monotonic() + _REAP_SECONDS
        for reader in readers:  # EOF on both pipes: every process that held them is gone
            reader.join(max(0.0, deadline - time.monotonic()))
    stdout, stderr = (reader.text() for reader in readers)
    if not exited:
        raise subprocess.TimeoutExpired(list(argv), timeout or 0.0, stdout, stderr)
    return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)


def run(argv: Sequence[str], *, timeout: float, cwd: str | Path | None = None) -> str:
    """Run ``argv``; return stdout + stderr as text; raise ExternalToolError on any failure."""
    try:
        done = execute(argv, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise ExternalToolError(
            f"{_show(argv)} did not finish within {timeout:g} s and was stopped"
        ) from None
    except OSError as exc:
        raise ExternalToolError(f"{_show(argv)} could not be started: {exc}") from None
    output = _text(done.stdout) + _text(done.stderr)
    if done.returncode != 0:
        raise ExternalToolError(
            f"{_show(argv)} exited with status {done.returncode}: {output[-OUTPUT_TAIL:].strip()}"
        )
    return output


def query(argv: Sequence[str], returncodes: Sequence[int] = (0,)) -> tuple[bool, str]:
    """Run a version or capability query; (accepted, output). Never raises."""
    try:
        done = execute(argv, timeout=QUERY_TIMEOUT, limit=QUERY_CAPTURE_LIMIT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return done.returncode in returncodes, _text(done.stdout) + _text(done.stderr)


def version_text(tool: Tool, argv: Sequence[str]) -> str:
    """The tool's version: ``version_pattern``'s group 1 (or match), else the first line."""
    ok, output = query(argv, tool.version_returncodes)
    if not ok:
        raise ExternalToolError(
            f"{_show(argv)} (the version query of {tool.key}) failed: "
            f"{output[-OUTPUT_TAIL:].strip()}"
        )
    if tool.version_pattern:
        match = re.search(tool.version_pattern, output, re.MULTILINE)
        if not match:
            raise ExternalToolError(
                f"{_show(argv)}: no match for {tool.version_pattern!r} in its output "
                f"{output[:300].strip()!r}"
            )
        return (match.group(1) if match.groups() else match.group(0)).strip()
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        raise ExternalToolError(f"{_show(argv)} printed nothing; cannot tell the version")
    return lines[0]


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _show(argv: Sequence[str]) -> str:
    shown = " ".join(str(a) for a in argv)
    return f"`{shown[:300]}`"
