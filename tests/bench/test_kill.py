"""kill -9 of a real run part-way, then the same command again: nothing lost, nothing twice.

The run is a real ``licbench run`` subprocess; it is killed with SIGKILL once some rows are
committed. The store must pass SQLite's integrity check, keep every committed row, and the
re-run must compute exactly the missing jobs. The killed run's workers must not outlive it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

QUALITIES = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]


def _images(folder: Path, count: int = 8) -> None:
    """Images large enough (~0.5 s of work each) that the run is still going some seconds
    after its first grouped commit (every half second)."""
    folder.mkdir()
    y, x = np.mgrid[0:512, 0:528].astype(np.float64)
    rng = np.random.default_rng(5)
    for index in range(count):
        channels = [
            128 + 100 * np.sin(x * rng.uniform(0.02, 0.1) + c) * np.cos(y * rng.uniform(0.02, 0.1))
            for c in range(3)
        ]
        noisy = np.stack(channels, axis=-1) + rng.normal(0, 6, (512, 528, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(folder / f"{index}.png")


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _leftovers(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if any(marker in part for part in cmdline) and process.info["status"] != "zombie":
            found.append(process)
    return found


def test_sigkill_then_rerun_loses_and_duplicates_nothing(tmp_path):
    folder = tmp_path / "images"
    _images(folder)
    store = tmp_path / "kill-test-store.sqlite"
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "licbench.cli",
        "run",
        "--dataset",
        f"folder:{folder}",
        "--codecs",
        "jpeg,webp",
        "--qualities",
        ",".join(map(str, QUALITIES)),
        "--workers",
        "2",
        "--store",
        str(store),
        "--out",
        str(out),
        "--no-progress",
    ]
    total = 8 * 2 * len(QUALITIES)
    env = {**os.environ, "LICBENCH_HOME": str(tmp_path / "home")}
    run = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        while _rows(store) < 6 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.poll() is None, f"the run ended before it could be killed: {run.stderr.read()}"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert run.returncode == -signal.SIGKILL

        # the workers die with their parent
        deadline = time.monotonic() + 15
        while _leftovers(str(store)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _leftovers(str(store))
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        run.stdout.close()
        run.stderr.close()

    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        committed = connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert 6 <= committed < total

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    summary_line = next(line for line in again.stdout.splitlines() if " jobs: " in line)
    assert summary_line == (
        f"{total} jobs: {committed} from the store, {total - committed} computed, 0 failed"
    )

    jobs = json.loads((out / "run.json").read_text())["jobs"]
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute("SELECT job_key, error, bytes, bpp, width, height FROM results")
        rows = rows.fetchall()
    keys = [row[0] for row in rows]
    assert len(keys) == len(set(keys)) == total  # none duplicated
    assert set(keys) == set(jobs)  # none lost
    for _, error, size, bpp, width, height in rows:
        assert error is None
        assert bpp == 8 * size / (width * height)

    third = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert f"{total} jobs: {total} from the store, 0 computed, 0 failed" in third.stdout
