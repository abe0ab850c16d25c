"""The ``licbench`` command ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: the command as its entry point runs it, with an atexit handler registered before it (as a
#: library's would be): it must still run
PROBE = """
import atexit, sys
atexit.register(lambda: open({marker!r}, "w").write("ran"))
sys.argv = ["licbench", *{args!r}]
from licbench.cli import console, main
if {fast!r}:
    console()
    print("not reached")
sys.exit(main())
"""


def command(
    tmp_path: Path, *args: str, fast: bool = True
) -> tuple[subprocess.CompletedProcess, bool]:
    """The command in a fresh process: through ``console`` (fast) or as ``sys.exit(main())``."""
    marker = tmp_path / "atexit-ran"
    marker.unlink(missing_ok=True)
    code = PROBE.format(marker=str(marker), args=list(args), fast=fast)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return done, marker.is_file()


def test_the_output_the_status_and_atexit_handlers_are_kept(tmp_path):
    done, ran = command(tmp_path, "codecs")
    assert done.returncode == 0 and ran
    slow, _ = command(tmp_path, "codecs", fast=False)  # the interpreter's own exit
    assert done.stdout == slow.stdout and slow.returncode == 0  # every line, flushed
    assert "not reached" not in done.stdout


@pytest.mark.parametrize(
    "args", [["run", "--dataset", "no-such-set"], ["report", "/no/such/folder"]]
)
def test_a_usage_error_keeps_its_status_and_its_line(tmp_path, args):
    done, ran = command(tmp_path, *args)
    assert done.returncode == 2 and ran
    assert done.stderr.startswith(f"licbench {args[0]}: ") and done.stderr.count("\n") == 1
