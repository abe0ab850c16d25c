"""Per-image BD-rates and their bootstrap intervals, on hand-made curves and on a real tiny run."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from licbench.cli import main
from licbench.results.curve import Curve
from licbench.results.statistics import bootstrap_interval, per_image_bd

bjontegaard = pytest.importorskip("bjontegaard")

RATES = [0.25, 0.5, 1.0, 2.0]


def curve(rates, psnr) -> Curve:
    return Curve("x", results={"bpp": list(rates), "psnr-rgb": list(psnr)})


def images(n: int, seed: int, advantage: float = 0.1, losers: int = 0):
    """n anchor/test curve pairs; the test needs ``advantage`` fewer log-bits on all but
    ``losers`` images, where it needs more."""
    rng = np.random.default_rng(seed)
    anchor, test = {}, {}
    for i in range(n):
        psnr = 30 + 4 * np.log2(np.asarray(RATES) / 0.25) + rng.normal(0, 0.3)
        shift = advantage * (1 + rng.uniform(-0.5, 0.5)) * (-1 if i < losers else 1)
        anchor[f"img{i:02d}.png"] = curve(RATES, psnr)
        test[f"img{i:02d}.png"] = curve([r * 10 ** (-shift) for r in RATES], psnr + 0.0)
    return anchor, test


def test_each_image_equals_fau_bjontegaard():
    anchor, test = images(6, seed=1)
    result = per_image_bd(anchor, test, "psnr-rgb", "pchip")
    assert len(result.values) == 6 and not result.left_out
    for image, value in result.values.items():
        a, t = anchor[image].results, test[image].results
        expected = bjontegaard.bd_rate(
            a["bpp"], a["psnr-rgb"], t["bpp"], t["psnr-rgb"], "pchip",
            require_matching_points=False, min_overlap=0,
        )  # fmt: skip
        assert value == pytest.approx(expected, abs=1e-9)
    values = list(result.values.values())
    assert result.mean == pytest.approx(np.mean(values))
    assert result.median == pytest.approx(np.median(values))
    assert result.mean_ci.low < result.mean < result.mean_ci.high


def test_nine_of_ten_better_is_a_ninety_percent_win_share():
    anchor, test = images(10, seed=2, losers=1)
    result = per_image_bd(anchor, test, "psnr-rgb")
    assert result.win_share == pytest.approx(0.9)
    assert sum(v > 0 for v in result.values.values()) == 1


def test_interval_is_reproducible_and_shrinks_with_more_images():
    rng = np.random.default_rng(3)
    population = rng.normal(-10.0, 6.0, 400)
    widths = []
    for n in (8, 32, 128):
        first, method = bootstrap_interval(population[:n], "mean", seed=7)
        again, _ = bootstrap_interval(population[:n], "mean", seed=7)
        assert (first.low, first.high) == (again.low, again.high)  # same seed, same interval
        assert method == "BCa"
        widths.append(first.high - first.low)
    assert widths[0] > widths[1] > widths[2]
    seven, _ = bootstrap_interval(population[:32], "mean", seed=7)
    eight, _ = bootstrap_interval(population[:32], "mean", seed=8)
    assert (seven.low, seven.high) != (eight.low, eight.high)  # another seed resamples anew


def test_images_without_overlap_are_named_and_left_out():
    anchor, test = images(4, seed=4)
    anchor["far.png"] = curve(RATES, [60, 61, 62, 63])  # no PSNR in common with the test
    test["far.png"] = curve(RATES, [20, 21, 22, 23])
    test["only-test.png"] = curve(RATES, [30, 32, 34, 36])
    result = per_image_bd(anchor, test, "psnr-rgb")
    assert set(result.left_out) == {"far.png", "only-test.png"}
    assert "far.png" not in result.values and len(result.values) == 4
    assert "anchor" in result.left_out["only-test.png"]


def test_equal_values_give_a_point_interval():
    interval, method = bootstrap_interval([-5.0] * 6, "median")
    assert (interval.low, interval.high) == (-5.0, -5.0) and method == "percentile"
    assert not bootstrap_interval([-5.0], "mean")[0].ok  # one image: no interval


def test_a_real_run_writes_per_image_bd_rates(tmp_path, image_folder):
    out = tmp_path / "run"
    argv = ["run", "--dataset", f"folder:{image_folder}", "--codecs", "jpeg,webp"]
    argv += ["--qualities", "20,40,60,80", "--out", str(out), "--store", str(tmp_path / "s.db")]
    assert main([*argv, "--no-progress", "--bd-aggregate", "median"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    stats = summary["bd_rate"]["per_image"]["psnr-rgb"]["webp"]
    assert summary["bd_rate"]["headline"] == "median"
    assert stats["images"] == 3 and stats["resamples"] == 2000 and stats["interval"]
    with open(out / "bd_per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "psnr-rgb"]
    assert {r["image"] for r in rows} == {"a.png", "b.png", "sub/c.png"}
    # each image's number is the BD-rate of that image's own points in per_image.csv
    with open(out / "per_image.csv", newline="") as f:
        jobs = list(csv.DictReader(f))
    for row in rows:
        points = {
            codec: sorted(
                (float(j["bpp"]), float(j["psnr_rgb"]))
                for j in jobs
                if j["codec"] == codec and j["image"] == row["image"]
            )
            for codec in ("jpeg", "webp")
        }
        expected = bjontegaard.bd_rate(
            *zip(*points["jpeg"], strict=True), *zip(*points["webp"], strict=True), "pchip",
            require_matching_points=False, min_overlap=0,
        )  # fmt: skip
        assert float(row["bd_rate"]) == pytest.approx(expected, abs=1e-5)
    assert math.isclose(
        stats["median"], float(np.median([float(r["bd_rate"]) for r in rows])), abs_tol=1e-5
    )
    html = (out / "report.html").read_text()
    assert "median of the per-image BD-rates" in html and 'id="bd-per-image-table"' in html


def test_an_images_mean_over_metrics_is_the_mean_of_its_bd_rates():
    from licbench.results.statistics import PerImageBD, mean_over_metrics, summarise

    first = summarise(PerImageBD(values={"a": -10.0, "b": -20.0, "c": 5.0}))
    second = summarise(PerImageBD(values={"a": -30.0, "b": -10.0}, left_out={"c": "no overlap"}))
    both = mean_over_metrics([first, second], mean_curve=-15.0)
    assert both.values == {"a": -20.0, "b": -15.0}
    assert "c" in both.left_out and "1 of the 2 metrics" in both.left_out["c"]
    assert both.mean == pytest.approx(-17.5) and both.win_share == 1.0
    assert both.mean_curve == -15.0 and both.mean_ci.low <= both.mean <= both.mean_ci.high


def test_a_non_monotonic_image_curve_is_measured_on_its_optimal_points():
    """Small images and close qualities give curves BD cannot interpolate (a point that costs
    more and looks worse, a repeated rate); their rate-distortion-optimal points can be."""
    from licbench.results.curve import Curve
    from licbench.results.statistics import pareto_front, per_image_bd

    anchor = Curve("a", results={"bpp": [0.5, 1.0, 2.0], "psnr-rgb": [30.0, 33.0, 36.0]})
    bumpy = Curve(
        "a",
        results={
            "bpp": [0.5, 0.7, 0.7, 1.0, 2.0],
            "psnr-rgb": [31.0, 30.5, 32.0, 34.0, 37.0],  # 0.7 twice; (0.7, 30.5) dominated
            "quality": [10, 20, 25, 30, 40],
        },
    )
    front, kept = pareto_front(bumpy, "psnr-rgb")
    assert kept == 4 and front.results["bpp"] == [0.5, 0.7, 1.0, 2.0]
    assert front.results["quality"] == [10, 25, 30, 40]
    stats = per_image_bd({"a": anchor}, {"a": bumpy}, "psnr-rgb")
    assert stats.left_out == {} and stats.values["a"] < 0
    flat = Curve("a", results={"bpp": [0.5, 1.0], "psnr-rgb": [40.0, 40.0]})
    stats = per_image_bd({"a": anchor, "b": anchor}, {"a": flat, "b": flat}, "psnr-rgb")
    assert stats.left_out_by_reason() == {
        "this codec: fewer than two rate-distortion-optimal points": 2
    }
