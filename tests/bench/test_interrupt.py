"""Ctrl-C, SIGTERM and a full disk: one line, the right exit status, nothing half-written.

The interrupted run is a real ``licbench run`` subprocess with a slow codec (JPEG that sleeps)
registered by a small driver script; SIGINT or SIGTERM arrives once some rows are committed.
The run must say how many jobs are stored (and that many rows are), exit 130 or 143 with no
traceback, leave no worker behind, and the same command must compute only what is missing.
A full disk while the outputs are written leaves the previous outputs whole.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from licbench.bench.store import Store
from licbench.cli import main

DRIVER = """
import io, sys, time
import numpy as np
from PIL import Image
from licbench.codecs import CODECS, Codec

class SlowJPEG(Codec):
    description = "test codec: JPEG that takes its time"
    qualities = (10, 30, 50, 70, 90)

    def version(self):
        return "slow-1"

    def encode(self, image, quality):
        time.sleep(0.3)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        return buffer.getvalue()

    def decode(self, data):
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))

CODECS.register("test-slow", SlowJPEG, origin="tests/bench/test_interrupt.py")
from licbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def _leftovers(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if any(marker in part for part in cmdline) and process.info["status"] != "zombie":
            found.append(process)
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupted_run_says_what_is_stored_and_resumes(tmp_path, signum):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for index in range(4):
        pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.png")
    driver = tmp_path / "slow_driver.py"
    driver.write_text(DRIVER)
    store = tmp_path / "store.sqlite"
    command = [
        sys.executable,
        str(driver),
        "run",
        "--dataset",
        f"folder:{folder}",
        "--codecs",
        "test-slow",
        "--anchor",
        "test-slow",
        "--metrics",
        "psnr-rgb",
        "--workers",
        "2",
        "--no-progress",
        "--out",
        str(tmp_path / "out"),
        "--store",
        str(store),
    ]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _rows(store) < 3 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be interrupted"
    run.send_signal(signum)
    _, err = run.communicate(timeout=60)

    assert run.returncode == 128 + signum
    assert "Traceback" not in err
    found = re.fullmatch(
        r"licbench run: interrupted: (\d+) of 20 jobs stored; the same command resumes\n", err
    )
    assert found, err
    stored = int(found.group(1))
    assert 3 <= stored < 20 and stored == _rows(store)
    time.sleep(0.5)
    assert _leftovers(str(driver)) == []
    with Store(store) as result_store:
        assert result_store.integrity_ok()

    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"20 jobs: {stored} from the store, {20 - stored} computed, 0 failed" in again.stdout


def _finished(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(folder / "a.png")
    out = tmp_path / "out"
    args = ["run", "--dataset", f"folder:{folder}", "--codecs", "jpeg", "--qualities", "40,80"]
    args += ["--metrics", "psnr-rgb", "--workers", "1", "--no-progress", "--out", str(out)]
    assert main([*args, "--store", str(tmp_path / "store.sqlite")]) == 0
    return out


def _digests(folder: Path) -> dict[str, str]:
    # every file, the viewer's pictures in viewer/ too
    files = (p for p in sorted(folder.rglob("*")) if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_a_full_disk_while_writing_outputs_is_one_line_and_leaves_them_whole(
    tmp_path, capsys, monkeypatch
):
    out = _finished(tmp_path)
    before = _digests(out)
    capsys.readouterr()
    real_fsync = os.fsync
    written: list[str] = []

    def full(fd: int) -> None:  # the disk fills up while report.html is being written
        name = os.readlink(f"/proc/self/fd/{fd}")
        written.append(Path(name).name)
        if "report.html" in name:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    assert main(["report", str(out)]) == 2

    err = capsys.readouterr().err
    assert err == (
        "licbench report: disk full (No space left on device); every finished job is in the "
        "store and no output is left half-written: free some space and run the same command "
        "again\n"
    )
    assert any("report.html" in name for name in written)
    after = _digests(out)
    assert after.keys() <= before.keys()  # no temporary file left behind
    for name in ("report.html", "run.json"):  # untouched: the old, whole file
        assert after[name] == before[name]
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert main(["report", str(out)]) == 0
