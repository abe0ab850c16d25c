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
        ),
        (
            "licbench-kodak-vtm-18.0",
            {"encoder": "18.0", "decoder": "18.0"},
            [47, 42, 37, 32, 27, 22],
        ),
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


def test_licbench_vtm_codes_as_compressais_and_scores_against_the_original():
    curve = licbench.load_reference("licbench-kodak-vtm-18.0")
    ours, theirs = curve["results"], licbench.load_reference("compressai-kodak-vtm")["results"]
    made = curve["licbench"]
    assert made["tool_versions"]["chroma"] == "444"
    assert made["tool_versions"]["config"] == "encoder_intra_vtm.cfg"
    # the same QPs give the same rates (within 0.35%: VTM 18.0 against an older VTM)
    for mine, published in zip(ours["bpp"], theirs["bpp"][:6], strict=True):
        assert mine == pytest.approx(published, rel=4e-3)
    # a lower PSNR, by more at high rates: the published curve leaves the 8-bit YCbCr
    # conversion's loss out (its PSNR scores VTM's decode against its YCbCr input) ...
    gaps = [t - m for m, t in zip(ours["psnr-rgb"], theirs["psnr-rgb"][:6], strict=True)]
    assert 0 < gaps[0] < 0.1 and 0.9 < gaps[-1] < 1.2 and gaps == sorted(gaps)
    # ... which these decodes reproduce when scored that way (QP 27, all 24 images)
    check = made["psnr_protocols"]
    assert check["images"] == 24 and check["qp"] == 27
    assert abs(check["psnr_rgb_against_ycbcr_input"] - theirs["psnr-rgb"][4]) < 0.05
    assert abs(check["psnr_rgb_licbench"] - ours["psnr-rgb"][4]) < 1e-3
    assert _bd("compressai-kodak-vtm", "licbench-kodak-vtm-18.0") == pytest.approx(5.69, abs=0.01)
    # CCA against it: more than against CompressAI's curve (-13.73%)
    assert _bd("licbench-kodak-vtm-18.0", "cca-kodak") == pytest.approx(-18.19, abs=0.01)
    assert _bd("licbench-kodak-bpg", "licbench-kodak-vtm-18.0") == pytest.approx(-17.12, abs=0.01)
