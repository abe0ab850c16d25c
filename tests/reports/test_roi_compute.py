"""ROI net of compute: a codec that saves bytes but decodes far slower shows what is left."""

from __future__ import annotations

import json
import math

import pytest

from licbench.cli import main
from licbench.reports.roi_compute import break_even_month
from licbench.results.curve import Curve
from licbench.results.summary import BDTable, Latency, RunSummary


def run_with(folder, decode_s: dict[str, float], device: dict[str, str]) -> None:
    results = {"bpp": [0.25, 0.5, 1.0, 2.0], "psnr-rgb": [30.0, 33.0, 36.0, 39.0]}
    cheaper = {"bpp": [b / 2 for b in results["bpp"]], "psnr-rgb": results["psnr-rgb"]}
    summary = RunSummary(
        "folder:x",
        24,
        96,
        0,
        0,
        {"cpu": "test cpu"},
        {"jpeg": Curve("jpeg", "", results), "slow": Curve("slow", "", cheaper)},
        BDTable("jpeg", "pchip", {"psnr-rgb": {"slow": -50.0}}),
        latency={
            name: Latency(1, 0.01, 0.0, seconds, 0.0, device[name], device[name] != "cpu")
            for name, seconds in decode_s.items()
        },
    )
    folder.mkdir()
    summary.write(folder / "summary.json")


def roi(tmp_path, *extra: str) -> dict:
    argv = ["roi", "--run", str(tmp_path / "run"), "--images-per-month", "1000000"]
    argv += ["--mean-image-mb", "0.5", "--storage-cost-per-gb-month", "0.02"]
    argv += ["--egress-cost-per-gb", "0.05", "--out", str(tmp_path / "roi"), *extra]
    assert main(argv) == 0
    return json.loads((tmp_path / "roi" / "roi.json").read_text())


def test_a_hundred_times_slower_decoder_on_a_gpu_loses_money(tmp_path):
    run_with(tmp_path / "run", {"jpeg": 0.01, "slow": 1.0}, {"jpeg": "cpu", "slow": "cuda:0"})
    result = roi(tmp_path, "--gpu-hour-cost", "0.5", "--cpu-hour-cost", "0.05")
    entry = result["codecs"]["slow"]
    assert entry["bd_rate_percent"] == -50.0
    compute = entry["compute"]
    # 1e6 images x (0.01 s encode + 1 delivery x 1 s decode) / 3600 x 0.5 per GPU-hour
    assert compute["compute_per_month"] == pytest.approx(1e6 * 1.01 / 3600 * 0.5)
    assert compute["anchor_compute_per_month"] == pytest.approx(1e6 * 0.02 / 3600 * 0.05)
    extra = compute["compute_per_month"] - compute["anchor_compute_per_month"]
    assert compute["net_saving_year_1"] == pytest.approx(entry["total_saving_year_1"] - 12 * extra)
    assert compute["net_saving_year_1"] < 0 < entry["total_saving_year_1"]
    # storage savings grow each month: it pays for itself once enough is stored
    month = compute["break_even_month"]
    assert month is not None and month > 12
    assert month * entry["storage_saving_month_1"] + entry["egress_saving_per_month"] >= extra
    assert result["chart"].startswith("data:image/png;base64,")
    html = (tmp_path / "roi" / "roi.html").read_text()
    assert 'id="compute-table"' in html and "lost" in html


def test_free_client_side_decoding_keeps_the_whole_saving(tmp_path):
    run_with(tmp_path / "run", {"jpeg": 0.01, "slow": 1.0}, {"jpeg": "cpu", "slow": "cpu"})
    result = roi(tmp_path, "--cpu-hour-cost", "0", "--gpu-hour-cost", "0")
    entry = result["codecs"]["slow"]
    assert entry["compute"]["net_saving_year_1"] == pytest.approx(entry["total_saving_year_1"])
    assert entry["compute"]["break_even_month"] == 1


def test_break_even_month():
    assert break_even_month(10.0, 5.0, 4.0) == 1
    assert break_even_month(10.0, 0.0, 35.0) == 4
    assert break_even_month(0.0, 1.0, 2.0) is None
    assert math.isfinite(break_even_month(1e-3, 0.0, 0.1))
