"""The CI gate with per-image intervals: fail on a regression the images agree on, not on noise."""

from __future__ import annotations

import json

import numpy as np

from licbench.cli import main
from licbench.results.curve import Curve
from licbench.results.summary import BDTable, RunSummary

RATES = np.array([0.25, 0.5, 1.0, 2.0])


def write_run(folder, shifts: list[float]) -> None:
    """A run of one codec on len(shifts) images; image i needs 10**shift_i times the rate."""
    rng = np.random.default_rng(0)
    images = {}
    for i, shift in enumerate(shifts):
        psnr = 30 + 4 * np.log2(RATES / 0.25) + rng.normal(0, 0.2)
        images[f"img{i}.png"] = Curve(
            f"img{i}.png",
            results={
                "quality": [10.0, 30.0, 50.0, 70.0],
                "bpp": list(RATES * 10**shift),
                "psnr-rgb": list(psnr),
            },
        )
    mean = Curve(
        "jpeg",
        "",
        {
            "quality": [10.0, 30.0, 50.0, 70.0],
            "bpp": list(np.mean([c.results["bpp"] for c in images.values()], axis=0)),
            "psnr-rgb": list(np.mean([c.results["psnr-rgb"] for c in images.values()], axis=0)),
        },
        version="1",
    )
    summary = RunSummary(
        "folder:x", len(shifts), 4 * len(shifts), 0, 0, {}, {"jpeg": mean}, BDTable("jpeg", "pchip")
    )
    summary.image_curves = {"jpeg": images}
    folder.mkdir()
    summary.write(folder / "summary.json")


def check(tmp_path, *extra: str) -> tuple[int, dict]:
    report = tmp_path / "check.json"
    argv = ["check", "--baseline", str(tmp_path / "base"), "--candidate", str(tmp_path / "cand")]
    argv += ["--max-bd-rate", "0.5", "--max-bpp-increase", "100", "--json", str(report)]
    status = main([*argv, *extra])
    return status, json.loads(report.read_text())["codecs"]["jpeg"]


def test_noise_fails_the_point_gate_but_not_the_interval_gate(tmp_path):
    write_run(tmp_path / "base", [0.0] * 8)
    # a mean +1% with images spread from about -9% to +12%: not a regression the images agree on
    write_run(tmp_path / "cand", [0.05, -0.04, 0.03, -0.03, 0.04, -0.02, 0.02, -0.01])
    status, entry = check(tmp_path)
    assert status == 1 and entry["bd_rate"] > 0.5
    low, high = entry["bd_rate_interval"]
    assert low < 0.5 < high
    status, entry = check(tmp_path, "--gate-on-interval")
    assert status == 0, entry["failures"]


def test_a_consistent_regression_fails_both_gates(tmp_path, capsys):
    write_run(tmp_path / "base", [0.0] * 8)
    write_run(tmp_path / "cand", [0.02, 0.025, 0.03, 0.02, 0.022, 0.028, 0.03, 0.021])
    for extra in ((), ("--gate-on-interval",)):
        status, entry = check(tmp_path, *extra)
        assert status == 1
        assert entry["bd_rate_interval"][0] > 0.5
    out = capsys.readouterr().out
    assert "95% CI (per image)" in out and "lies above" in out
