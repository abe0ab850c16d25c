"""One owner per folder (issue 20, item 1): what the lock file promises, process by process.

Each case runs a second, real process (a POSIX record lock is per process: two threads of one
process would share it), which takes the lock and then waits for a file the test makes.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from licbench.core import lock
from licbench.core.lock import LOCK_NAME, FolderBusy, Holder, holder, owning, sharing, writing

REPO = Path(__file__).resolve().parents[2]


def _holding(folder: Path, go: Path, *, what: str = "owning", fork: bool = False):
    """A process that takes ``what`` of ``folder``, prints "held" (and, with ``fork``, the pid
    of a forked child that sleeps on) and holds it until ``go`` exists (then exits 0)."""
    command = ", command='test holder --codecs x'" if what != "writing" else ""
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from licbench.core.lock import {what}
        with {what}({str(folder)!r}{command}):
            child = os.fork() if {fork} else 1
            if child == 0:
                time.sleep(60)
                os._exit(0)
            print("held", child if {fork} else "", flush=True)
            deadline = time.time() + 60
            while not os.path.exists({str(go)!r}) and time.time() < deadline:
                time.sleep(0.02)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().split()
    assert line and line[0] == "held", line
    return process, (int(line[1]) if fork else None)


def test_a_second_process_is_refused_with_who_holds_the_folder(tmp_path):
    folder, go = tmp_path / "out", tmp_path / "go"
    process, _ = _holding(folder, go)
    try:
        with pytest.raises(FolderBusy) as info:
            with owning(folder):
                pass
        found = info.value.holder
        assert found is not None and found.pid == process.pid
        assert found.command == "test holder --codecs x"
        assert str(info.value).startswith(
            f"{folder.absolute()} is being written by another licbench process (pid "
            f"{process.pid} on "
        )
        assert holder(folder) == found  # read without locking
        with sharing(folder) as other:  # `licbench report` goes on beside it
            assert other == found
    finally:
        go.touch()
        assert process.wait(30) == 0
    assert holder(folder) is None  # released: the file says no one
    assert (folder / LOCK_NAME).read_text() == ""
    with owning(folder):
        assert holder(folder).pid == os.getpid()


def test_ownership_is_counted_within_a_process(tmp_path):
    folder = tmp_path / "out"
    with owning(folder, command="outer"):
        with owning(folder, command="inner"), sharing(folder) as other:
            assert other is None
        assert holder(folder).command == "outer"  # still held: the inner block let go only once
        process = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from licbench.core.lock import owning\nwith owning({str(folder)!r}): pass",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert process.returncode == 1 and "FolderBusy" in process.stderr
    assert holder(folder) is None


def test_a_dead_owner_is_taken_over(tmp_path, caplog):
    """kill -9 leaves the lock file naming a dead pid; the kernel has dropped its lock."""
    folder, go = tmp_path / "out", tmp_path / "go"
    process, _ = _holding(folder, go)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    stale = Holder.parse((folder / LOCK_NAME).read_text())
    assert stale is not None and stale.pid == process.pid and not stale.running()
    assert holder(folder) is None
    with caplog.at_level("INFO", logger="licbench.core.lock"), owning(folder, command="me"):
        assert holder(folder) == Holder.parse((folder / LOCK_NAME).read_text())
        assert holder(folder).command == "me"
    assert f"taking over from pid {process.pid}" in caplog.text


def test_forked_workers_do_not_keep_the_folder(tmp_path):
    """A run killed while its forked workers live on: the workers hold nothing."""
    folder, go = tmp_path / "out", tmp_path / "go"
    process, child = _holding(folder, go, fork=True)
    try:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        os.kill(child, 0)  # the worker is still there ...
        with owning(folder):  # ... and the folder is free
            pass
    finally:
        os.kill(child, signal.SIGKILL)


def test_writing_waits_for_the_other_writer(tmp_path):
    folder, go = tmp_path / "out", tmp_path / "go"
    process, _ = _holding(folder, go, what="writing")
    entered = threading.Event()

    def write() -> None:
        with writing(folder):
            entered.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert not entered.wait(0.5)  # the other process writes: this one waits
    finally:
        go.touch()
    assert entered.wait(30)
    thread.join(30)
    assert process.wait(30) == 0


def test_without_record_locks_the_file_is_the_lock(tmp_path, monkeypatch):
    """A file system without POSIX record locks (ENOLCK): a file naming a running process is
    busy; one naming a dead process, or no one, is taken over."""

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock.fcntl, "lockf", no_locks)
    folder = tmp_path / "out"
    folder.mkdir()
    parent = Holder(os.getppid(), Holder.this_process().host, "licbench run", "2025-01-01")
    (folder / LOCK_NAME).write_text(parent.to_text())
    with pytest.raises(FolderBusy) as info:
        with owning(folder):
            pass
    assert info.value.holder == parent
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = Holder(int(dead.stdout), parent.host, "licbench run", "2025-01-01")
    (folder / LOCK_NAME).write_text(gone.to_text())
    with owning(folder, command="mine"):
        assert json.loads((folder / LOCK_NAME).read_text())["command"] == "mine"
    assert (folder / LOCK_NAME).read_text() == ""


def test_a_long_or_hostile_command_stays_one_readable_record():
    long = Holder.this_process("licbench run --codecs " + "x" * 5000 + "\n\x1b[2J")
    assert len(long.command) == 2000 and long.command.endswith("...")
    assert Holder.parse(long.to_text()) == long
    assert Holder.parse("") is None and Holder.parse("{") is None and Holder.parse("[1]") is None
    assert str(Holder(0, "", "", "")) == "a process that left no details"
