"""The batched PCHIP BD-rates against the single-pair path they replace for per-image curves.

Tolerance: 1e-9 percentage points. The batch does the single-pair path's floating-point
operations in the same order, so on one machine the values are equal to the last bit (measured:
0 difference on 20,000 random pairs and on the 15,969 per-image BD-rates of a 16,000-image
run); the margin covers a numpy whose log10 rounds a 2-D array's elements differently from a
5-element one's (vector units differ across CPUs), a few ulps of log-rate (1e-16) divided by
the narrowest overlap these tests draw (1e-3 dB) and scaled to percent: ~1e-11.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from licbench.metrics.bdrate import bd_rate_curves
from licbench.results.batch_bd import pchip_bd_rates
from licbench.results.compare import compare
from licbench.results.curve import Curve
from licbench.results.statistics import pareto_front, per_image_bd

TOLERANCE = 1e-9


def _random_curve(rng: np.random.Generator, points: int) -> tuple[np.ndarray, np.ndarray]:
    rates = np.sort(rng.uniform(0.05, 3.0, points))
    if rng.random() < 0.5:  # evenly spread qualities
        qualities = np.sort(rng.uniform(20.0, 45.0, points))
    else:  # bunched: slopes that change sign in their harmonic means, steep ends
        qualities = 25.0 + np.cumsum(rng.exponential(1.0, points))
    return rates, qualities


def _single(anchor, test, higher_is_better: bool = True) -> float:
    """bd_rate_curves on the curves as a metric gives them (not oriented)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bd_rate_curves(
            anchor[0], anchor[1], test[0], test[1], "pchip", higher_is_better=higher_is_better
        )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_pairs_equal_the_single_pair_path(seed):
    rng = np.random.default_rng(seed)
    anchors, tests = [], []
    for _ in range(3000):
        a, t = rng.integers(2, 8, 2)  # two points (a straight line) up to seven
        anchors.append(_random_curve(rng, int(a)))
        tests.append(_random_curve(rng, int(t)))
    batch = pchip_bd_rates(anchors, tests)
    expected = [_single(a, t) for a, t in zip(anchors, tests, strict=True)]
    assert sum(math.isnan(v) for v in expected) > 10  # some pairs share no quality range
    for got, want in zip(batch, expected, strict=True):
        assert math.isnan(got) == math.isnan(want)
        if not math.isnan(want):
            assert got == pytest.approx(want, abs=TOLERANCE, rel=0)


def test_narrow_overlap_and_lower_is_better():
    """A pair sharing a thousandth of a dB, and a metric where lower is better (oriented by
    negating, as bd_rate_curves does)."""
    anchor = (np.array([0.2, 0.5, 1.0, 2.0]), np.array([28.0, 31.0, 34.0, 37.0]))
    test = (np.array([0.1, 0.3, 0.6]), np.array([36.999, 39.0, 41.0]))
    (narrow,) = pchip_bd_rates([anchor], [test])
    assert narrow == pytest.approx(_single(anchor, test), abs=TOLERANCE, rel=0)
    lpips_a = (anchor[0], -np.array([0.4, 0.3, 0.2, 0.1]))
    lpips_t = (anchor[0] * 0.8, -np.array([0.41, 0.29, 0.22, 0.09]))
    (value,) = pchip_bd_rates([lpips_a], [lpips_t])
    assert value == pytest.approx(
        _single((lpips_a[0], -lpips_a[1]), (lpips_t[0], -lpips_t[1]), False),
        abs=TOLERANCE,
        rel=0,
    )


def _curve(rates, psnr) -> Curve:
    return Curve("x", results={"bpp": list(rates), "psnr-rgb": list(psnr)})


def test_per_image_bd_gives_what_compare_gives_image_by_image():
    """Every image's number or reason equals compare() on its optimal points: batched ones,
    and those left to compare (no shared range, a zero rate, a point without a rate)."""
    rng = np.random.default_rng(7)
    anchors, tests = {}, {}
    for i in range(200):
        a, t = (_random_curve(rng, int(n)) for n in rng.integers(2, 6, 2))
        anchors[f"img{i:03d}"], tests[f"img{i:03d}"] = _curve(*a), _curve(*t)
    tests["zero"] = _curve([0.0, 0.5, 1.0], [30.0, 33.0, 36.0])
    anchors["zero"] = _curve([0.2, 0.6, 1.2], [29.0, 33.0, 37.0])
    tests["no-rate"] = _curve([None, 0.5, 1.0], [30.0, 33.0, 36.0])
    anchors["no-rate"] = _curve([0.2, 0.6, 1.2], [29.0, 33.0, 37.0])
    stats = per_image_bd(anchors, tests, "psnr-rgb", "pchip")
    assert len(stats.left_out) > 5 and len(stats.values) > 150
    assert "zero" in stats.left_out and "rate <= 0" in stats.left_out["zero"]
    assert "no-rate" in stats.values  # the point without a rate dropped, as bd_rate drops it
    for image in anchors:
        pair = [pareto_front(c, "psnr-rgb")[0] for c in (anchors[image], tests[image])]
        bd = compare(*pair, "psnr-rgb", "pchip")
        if bd.ok:
            assert stats.values[image] == pytest.approx(bd.value, abs=TOLERANCE, rel=0)
        else:
            assert stats.left_out[image] == (bd.error or "; ".join(bd.warnings))
    assert list(stats.values) == sorted(stats.values)  # in image order, as before
    assert list(stats.left_out) == sorted(stats.left_out)


def test_other_methods_are_not_batched():
    rng = np.random.default_rng(3)
    anchors = {f"i{k}": _curve(*_random_curve(rng, 5)) for k in range(20)}
    tests = {f"i{k}": _curve(*_random_curve(rng, 5)) for k in range(20)}
    for method in ("akima", "cubic"):
        stats = per_image_bd(anchors, tests, "psnr-rgb", method)
        for image, value in stats.values.items():
            assert value == compare(anchors[image], tests[image], "psnr-rgb", method).value


def test_mismatched_lists_are_refused():
    with pytest.raises(ValueError, match="2 anchor curves but 1 test"):
        pchip_bd_rates([(np.ones(2), np.ones(2))] * 2, [(np.ones(2), np.ones(2))])
