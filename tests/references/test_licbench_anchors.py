"""licbench's own anchor curves (bpg, vtm on Kodak): provenance, and what they reproduce.

The files come from ``benchmarks/anchor_references.py`` over full ``licbench run``s; these tests
check that each says how it was made (tool versions, commands, QPs, the very images) and hold the
comparisons the README states, so a regenerated file that moved is noticed.
"""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest

import licbench
from licbench.metrics.bdrate import BDRateWarning

KODAK = tomllib.loads(
    (Path(licbench.__file__).parent / "datasets" / "manifests" / "kodak.toml").read_text()
)


def _bd(anchor: str, test: str, metric: str = "psnr-rgb") -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BDRateWarning)
        return licbench.bd_rate(
            licbench.load_reference(anchor), licbench.load_reference(test), metric=metric
        )


@pytest.mark.parametrize(
    ("name", "tools", "qps"),
    [
        (
            "licbench-kodak-bpg",
            {"bpgenc": "0.9.8", "bpgdec": "0.9.8"},
            [47, 42, 37, 32, 27, 22, 17, 12],
        )
    ],
)
def test_each_curve_says_how_it_was_made(name, tools, qps):
    curve = licbench.load_reference(name)
    made = curve["licbench"]
    assert made["qp"] == qps and made["images_per_point"] == [24] * len(qps)
    for tool, version in tools.items():
        assert made["tool_versions"][tool] == version
        assert len(made["tool_versions"][f"{tool}.sha256"]) == 16
    assert made["commands"]["encode"] and made["commands"]["decode"]
    assert made["image_sha256"] == {f["name"]: f["sha256"] for f in KODAK["files"]}
    assert made["licbench_commit"] and made["command"].startswith("nice -n 10 python -m licbench")
    assert curve["provenance"]["dataset"] == "kodak"
    results = curve["results"]
    assert results["bpp"] == sorted(results["bpp"]) and len(results["psnr-rgb"]) == len(qps)


def test_licbench_bpg_is_compressais_bpg():
    ours = licbench.load_reference("licbench-kodak-bpg")["results"]
    theirs = licbench.load_reference("compressai-kodak-bpg")["results"]
    # the same tool and commands: the same bytes, so the same mean bpp; PSNR to float rounding
    assert ours["bpp"] == pytest.approx(theirs["bpp"], rel=1e-12)
    assert ours["psnr-rgb"] == pytest.approx(theirs["psnr-rgb"], abs=1e-6)
    assert ours["ms-ssim-rgb"] == pytest.approx(theirs["ms-ssim-rgb"], abs=1e-5)
    assert abs(_bd("compressai-kodak-bpg", "licbench-kodak-bpg")) < 1e-4
    assert abs(_bd("compressai-kodak-bpg", "licbench-kodak-bpg", "ms-ssim-rgb")) < 0.01
