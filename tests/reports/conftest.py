"""One real run over tiny synthetic images, shared by the report, ROI and CI-gate tests.

The run is made once per session (jpeg and webp, four qualities, two rate targets, two images
of about 180×190 pixels, one of them named ``<script>alert(1)</script>.png``) because every test
here only reads its outputs; tests that change something work on a copy. MS-SSIM (the slow
metric) is part of the run, as in a user's run.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.cli import main
from licbench.reports.outputs import write_outputs

XSS_NAME = "<script>alert(1)</script>.png"
QUALITIES = "10,40,70,90"
TARGETS = "0.5,1.0"


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth gradients, edges and mild noise: compresses like a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for c in range(3):
        fx, fy = rng.uniform(0.01, 0.08, 2)
        base = 128 + 90 * np.sin(fx * x + rng.uniform(0, 6.28)) * np.cos(fy * y + c)
        base += np.where((x // 37 + y // 29) % 2 == 0, 25, -25)
        channels.append(base + rng.normal(0, 4, (height, width)))
    return np.clip(np.stack(channels, axis=-1), 0, 255).round().astype(np.uint8)


def make_images(folder: Path, names=("a.png", XSS_NAME)) -> Path:
    sizes = [(176, 192), (192, 176), (168, 200)]
    for seed, (name, (h, w)) in enumerate(zip(names, sizes, strict=False)):
        path = folder / name  # the XSS name has a '/', so it lands in a subfolder
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo_like(h, w, seed)).save(path)
    return folder


def run_cli(*args: str) -> int:
    return main([*args])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run folder (report.html, summary.json, run.json) on tiny images."""
    root = tmp_path_factory.mktemp("tiny-run")
    images = make_images(root / "images")
    out = root / "run"
    status = run_cli(
        "run",
        "--dataset",
        f"folder:{images}",
        "--codecs",
        "jpeg,webp",
        "--qualities",
        QUALITIES,
        "--target-bpp",
        TARGETS,
        "--out",
        str(out),
        "--store",
        str(root / "store.sqlite"),
        "--workers",
        "2",
        "--no-progress",
    )
    assert status == 0
    return out


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the shared run folder (same store), for tests that change it."""
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


@pytest.fixture(scope="session")
def images_maker():
    """``make_images(folder)`` for tests that need their own images (module-scoped runs)."""
    return make_images


#: images of the synthetic large run: above the report's full-table threshold (200)
LARGE_IMAGES = 300


def report_size_benchmark():
    """benchmarks/report_size.py as a module: the synthetic run it measures is the one tested."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "report_size.py"
    spec = importlib.util.spec_from_file_location("report_size", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def large_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of 300 synthetic images × jpeg, webp × 5 qualities written straight into a store
    (as benchmarks/report_size.py does: computing 3,000 real jobs would take a minute), with
    failures: every 20th image fails for webp, every 150th cannot be read; outputs written."""
    folder = tmp_path_factory.mktemp("large-run") / "run"
    report_size_benchmark().build_run(
        folder, LARGE_IMAGES, webp_fails_every=20, unreadable_every=150
    )
    write_outputs(folder)
    return folder


@pytest.fixture(scope="session")
def second_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A later run on the tiny run's images (made again, the same bytes): other qualities
    (another build, as CI sees it), the same codecs; no viewer pictures."""
    root = tmp_path_factory.mktemp("second-run")
    out = root / "run"
    images = make_images(root / "images")  # the same pictures (other tests delete the first's)
    status = run_cli(
        "run",
        "--dataset",
        f"folder:{images}",
        "--codecs",
        "jpeg,webp",
        "--qualities",
        "15,45,75,95",
        "--out",
        str(out),
        "--store",
        str(root / "store.sqlite"),
        "--workers",
        "2",
        "--viewer-images",
        "0",
        "--no-progress",
    )
    assert status == 0
    return out


@pytest.fixture(scope="session")
def compared(tiny_run: Path, second_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """``licbench compare`` of the two runs: (its folder, compare.json)."""
    import json

    out = tmp_path_factory.mktemp("compared")
    assert run_cli("compare", str(tiny_run), str(second_run), "--out", str(out)) == 0
    return out, json.loads((out / "compare.json").read_text())
