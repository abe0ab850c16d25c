"""Re-running a finished run: nothing computed, nothing heavy imported, no output rewritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

# numpy too: a re-run computes no pixel, so nothing on its path may import numpy at module level
# (codecs, metrics and the image loader import it inside the functions that compute)
HEAVY = ("numpy", "torch", "pandas", "matplotlib", "scipy", "jinja2", "distributed", "dask")

PROBE = """
import json, sys
import licbench.api as api
result = api.run({dataset!r}, ["jpeg"], qualities=[40, 80], out={out!r}, store={store!r},
                 workers=2, progress=False)
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"counts": result.counts, "heavy": heavy,
                   "failed": result.summary.jobs_failed}}))
"""

# the same re-run as the command line makes it (what benchmarks/harness_vs_compressai.py times)
CLI_PROBE = """
import json, sys
from licbench.cli import main
status = main(["run", "--dataset", {dataset!r}, "--codecs", "jpeg", "--qualities", "40,80",
               "--out", {out!r}, "--store", {store!r}, "--workers", "2", "--no-progress"])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"status": status, "heavy": heavy}}))
"""


def test_rerun_of_a_finished_run_is_light(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(folder / name)
    out, store = tmp_path / "out", tmp_path / "store.sqlite"
    fields = {"dataset": f"folder:{folder}", "out": str(out), "store": str(store), "heavy": HEAVY}
    env = {**os.environ, "LICBENCH_HOME": str(tmp_path / "home")}

    def probe(template=PROBE):
        done = subprocess.run(
            [sys.executable, "-c", template.format(**fields)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = probe()
    assert first["counts"]["computed"] == 4 and first["failed"] == 0
    files = ("run.json", "per_image.csv", "summary.json", "report.html")
    stamps = {name: (out / name).stat().st_mtime_ns for name in files}
    summary = json.loads((out / "summary.json").read_text())

    second = probe()
    assert second["counts"] == {
        "total": 4,
        "cached": 4,
        "computed": 0,
        "same_bytes": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert second["heavy"] == [], f"a finished re-run imported {second['heavy']}"
    assert {name: (out / name).stat().st_mtime_ns for name in files} == stamps

    third = probe(CLI_PROBE)
    assert third == {"status": 0, "heavy": []}, f"a finished re-run (CLI) imported {third['heavy']}"
    assert {name: (out / name).stat().st_mtime_ns for name in files} == stamps

    # outputs removed or the store changed: rebuilt
    (out / "report.html").unlink()
    probe()
    assert (out / "report.html").is_file()
    assert json.loads((out / "summary.json").read_text())["codecs"] == summary["codecs"]
