"""The checkpoints shipped in the package: present, small, documented, and working codecs."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from PIL import Image

from licbench.api import default_codecs
from licbench.codecs import create_codec
from licbench.codecs.learned.bundled import (
    WEIGHTS_DIR,
    bundled_checkpoints,
    total_training_seconds,
    training_lineage,
)
from licbench.metrics.psnr import psnr_rgb

BUNDLES = ("cca-tiny", "convnext-charm-tiny")
#: the issue's budget for every bundled checkpoint together
BUDGET_BYTES = 20 * 1024 * 1024


def kodim03_crop() -> np.ndarray:
    """A 128×192 crop of the bundled kodim03 (a real photo; never used for training)."""
    path = resources.files("licbench.datasets") / "sample" / "kodim03.png"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))[200:328, 300:492].copy()


def test_bundles_fit_the_size_budget():
    files = [p for p in WEIGHTS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= BUDGET_BYTES


@pytest.mark.parametrize("name", BUNDLES)
def test_each_bundle_records_how_it_was_trained(name):
    record = json.loads((WEIGHTS_DIR / name / "training.json").read_text())
    points = record["rate_points"]
    assert len(points) >= 4
    assert [p["file"] for p in points] == [p.name for p in bundled_checkpoints(name)]
    lmbdas = [p["lmbda"] for p in points]
    assert lmbdas == sorted(lmbdas) and len(set(lmbdas)) == len(lmbdas)
    for point in points:
        runs = list(training_lineage(point))
        for run in runs:  # the point's own run and every run it was warm-started from
            assert run["step"] > 0 and run["wall_seconds"] > 0
            assert "cid22" in run["data"].lower()
            assert not any(s in run["data"].lower() for s in ("kodak", "clic", "tecnick"))
        assert runs[-1]["step"] >= 4000  # the chain starts from a real base training
    assert record["total_training_wall_seconds"] == pytest.approx(
        total_training_seconds(points), abs=0.1
    )


def test_bundled_codecs_are_in_the_default_run():
    names = {spec.name for spec in default_codecs()}
    assert set(BUNDLES) <= names


@pytest.mark.parametrize("name", BUNDLES)
def test_rate_points_trade_bits_for_quality_on_a_real_photo(name):
    codec = create_codec(name)
    image = kodim03_crop()
    pixels = image.shape[0] * image.shape[1]
    points = []
    for quality in codec.qualities:
        data = codec.encode(image, quality)
        decoded = codec.decode(data)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        points.append((8 * len(data) / pixels, psnr_rgb(image, decoded)))
    bpps, psnrs = zip(*points, strict=True)
    assert list(bpps) == sorted(bpps), points
    assert list(psnrs) == sorted(psnrs), points
    # a trained model, not noise: well above what a flat grey image would score here
    flat = np.full_like(image, int(image.mean().round()))
    assert psnrs[0] > psnr_rgb(image, flat) + 5, points
