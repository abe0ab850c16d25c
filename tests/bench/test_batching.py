"""How jobs travel: image-major plans, batches that finish their image, records in lists, and
the parent's knowledge of which job a worker is running (shared memory, no message per job).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque

import numpy as np
from PIL import Image

from licbench.bench.executors.base import take_batch
from licbench.bench.executors.local import LocalExecutor, _needs_torch
from licbench.bench.jobs import plan_jobs
from licbench.codecs import create_codec
from licbench.datasets import load_dataset


def _folder(tmp_path, count=6):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for index in range(count):
        pixels = rng.integers(0, 255, (16, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index}.png")
    return folder


def _jobs(folder, metrics=("psnr-rgb",)):
    images = load_dataset(f"folder:{folder}").images()
    codecs = [create_codec("jpeg"), create_codec("webp")]
    return plan_jobs(codecs, images, list(metrics), {"jpeg": [20, 50, 80], "webp": [20, 50, 80]})


def test_jobs_are_planned_image_by_image_across_codecs(tmp_path):
    jobs = _jobs(_folder(tmp_path, 2))
    images = [job.image.name for job in jobs]
    assert images == ["0.png"] * 6 + ["1.png"] * 6
    assert [(job.codec, job.quality) for job in jobs[:6]] == [
        ("jpeg", 20.0), ("jpeg", 50.0), ("jpeg", 80.0), ("webp", 20.0), ("webp", 50.0),
        ("webp", 80.0),
    ]  # fmt: skip


def test_a_batch_finishes_its_last_image_except_at_the_tail(tmp_path):
    jobs = _jobs(_folder(tmp_path, 6))  # 36 jobs, 6 per image
    queue = deque(jobs)
    first = take_batch(queue, workers=1, largest=4)  # 4 asked, the image's other 2 taken too
    assert len(first) == 6 and {job.image.name for job in first} == {"0.png"}
    queue = deque(jobs[:5])
    assert len(take_batch(queue, workers=2, largest=4)) == 1  # the tail: single jobs


def test_records_come_back_once_each_and_in_lists(tmp_path):
    jobs = _jobs(_folder(tmp_path, 4))
    executor = LocalExecutor(2)
    with executor:
        records = list(executor.run(jobs))
    assert sorted(r.job_key for r in records) == sorted(j.key for j in jobs)
    assert all(r.ok for r in records)


def test_which_metrics_need_torch(tmp_path):
    folder = _folder(tmp_path, 1)
    assert not _needs_torch(_jobs(folder, ["psnr-rgb", "psnr-y"]))
    assert _needs_torch(_jobs(folder, ["psnr-rgb", "ms-ssim-rgb"]))


CHILD = r"""
import json, sys
from licbench import api
result = api.run(
    dataset="folder:" + sys.argv[1], codecs=["jpeg", "webp"], qualities=[30, 70],
    metrics=["psnr-rgb"], out=sys.argv[2], store=sys.argv[3], workers=2, progress=False,
)
print(json.dumps({"torch": "torch" in sys.modules, "computed": result.counts["computed"]}))
"""


def test_a_classical_run_with_psnr_imports_no_torch(tmp_path):
    folder = _folder(tmp_path, 3)
    arguments = [str(folder), str(tmp_path / "out"), str(tmp_path / "store.sqlite")]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"torch": False, "computed": 12}
