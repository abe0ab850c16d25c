"""A flat image (JPEG and WebP code it losslessly) keeps every headline finite.

Before PSNR had a ceiling, such an image's infinite PSNR turned the mean curve's points null, the
BD-rate "+nan%" and ``check`` of a run against itself a failure. Now a lossless point is 60 dB
(libvmaf's 6·bitdepth + 12), counted in summary.json's ``capped`` and said in the report.
"""

from __future__ import annotations

import json
import math

import numpy as np
from PIL import Image

from licbench.api import run
from licbench.reports.check import compare
from tests.conftest import synthetic_image


def test_a_flat_image_keeps_curves_and_bd_rates_finite(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.full((176, 192, 3), 128, np.uint8)).save(images / "flat.png")
    for seed in (1, 2):
        Image.fromarray(synthetic_image(176, 192, seed)).save(images / f"photo{seed}.png")
    result = run(
        f"folder:{images}",
        ["jpeg", "webp"],
        qualities=[30, 60, 90],
        out=tmp_path / "run",
        store=tmp_path / "store.sqlite",
        workers=1,
        progress=False,
    )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for codec in ("jpeg", "webp"):
        for series in ("psnr-rgb", "ms-ssim-rgb", "ms-ssim-rgb-db"):
            values = summary["codecs"][codec]["results"][series]
            assert len(values) == 3 and all(math.isfinite(v) for v in values), (codec, series)
    flat = [
        row for row in (tmp_path / "run" / "per_image.csv").read_text().splitlines()
        if ",flat.png," in row and ",jpeg," in row
    ]  # fmt: skip
    assert len(flat) == 3 and all(",60.0," in row for row in flat)  # lossless: the ceiling
    assert summary["capped"]["psnr-rgb"]["ceiling"] == 60.0
    assert summary["capped"]["psnr-rgb"]["codecs"] == {"jpeg": 3, "webp": 3}
    assert "libvmaf" in summary["capped"]["psnr-rgb"]["convention"]
    headline = result.summary.bd_rate.get("psnr-rgb")["webp"]
    assert math.isfinite(headline) and headline < 0
    report = (tmp_path / "run" / "report.html").read_text()
    assert "6·bitdepth + 12 dB" in report and "psnr-rgb (60 dB): jpeg 3, webp 3" in report
    assert compare(tmp_path / "run", tmp_path / "run").passed


def test_the_terminal_line_carries_the_caveats(tmp_path, capsys):
    from licbench.cli import main

    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(images / "flat.png")
    Image.fromarray(synthetic_image(48, 64, 1)).save(images / "photo.png")
    argv = ["run", "--dataset", f"folder:{images}", "--codecs", "jpeg", "webp", "--no-progress"]
    argv += ["--qualities", "10,90", "--metrics", "psnr-rgb", "--out", str(tmp_path / "run")]
    assert main([*argv, "--store", str(tmp_path / "store.sqlite"), "--workers", "1"]) == 0
    line = [t for t in capsys.readouterr().out.splitlines() if "BD-rate (PSNR) of webp" in t][0]
    assert "[jpeg: 2 lossless point(s) at the 60 dB ceiling]" in line  # flat: q10 and q90
    assert "[webp: 1 lossless point(s) at the 60 dB ceiling]" in line  # flat at q90 only
    # the report's caveat too
    assert "the BD value describes that part of the test curve only" in line
