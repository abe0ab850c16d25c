"""The O(n·B) BCa bootstrap against its reference, ``scipy.stats.bootstrap(method="BCa")``.

Tolerances, measured (scipy 1.17.1, numpy 1.26.4): the resamples, the bootstrap distributions
and every median interval are bit-identical to scipy's. The mean's intervals differ by at most
4.4e-16 relative on the data sets here and 5.8e-15 in a wider sweep (n = 2 to 2,000, skewed,
tied, three-valued and narrow data, two seeds; 1.9e-14 of the interval's width at 8,000 images
in ``benchmarks/bootstrap_cost.py``): the analytic leave-one-out means (Σx − xᵢ)/(n − 1) round
differently from scipy's summed ones (≤ 4.4e-16 relative), which moves â in its last bits. The
mean is held to 1e-12 relative: over a hundred times the largest difference seen, and far below
the two decimals a BD-rate is shown with.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from licbench.results.bootstrap import (
    bca_intervals,
    bootstrap_distributions,
    jackknife_mean,
    jackknife_median,
    quantiles,
)
from licbench.results.statistics import bootstrap_interval, bootstrap_intervals

MEAN_REL = 1e-12  # measured ≤ 5.8e-15 relative


def scipy_interval(values, statistic: str, *, resamples=2000, seed=0, confidence=0.95):
    """The reference: scipy's BCa, else (non-finite bounds) its percentile interval, with
    ``np.random.default_rng(seed)`` — what ``bootstrap_interval`` called before."""
    data = np.asarray(values, dtype=float)
    function = np.mean if statistic == "mean" else np.median
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap(
                (data,),
                function,
                n_resamples=resamples,
                confidence_level=confidence,
                method=method,
                random_state=np.random.default_rng(seed),
            )
        low, high = (float(v) for v in result.confidence_interval)
        if math.isfinite(low) and math.isfinite(high):
            return (low, high), method
    return (math.nan, math.nan), "percentile"


def data_set(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(1000 * n + len(kind))
    if kind == "skewed":  # per-image BD-rates with a tail of hard images
        return -25.0 + 3.0 * rng.lognormal(0.5, 1.0, n) + rng.normal(0.0, 2.0, n)
    if kind == "ties":  # BD-rates rounded to whole percents: many ties
        return np.round(rng.normal(-10.0, 5.0, n))
    if kind == "few-values":  # three distinct values only
        return rng.integers(-1, 2, n).astype(float)
    return rng.normal(-12.3, 0.01, n)  # "narrow": large mean, little spread (cancellation)


def assert_same(values, statistic: str, **kwargs) -> None:
    (low, high), method = scipy_interval(values, statistic, **kwargs)
    interval, used = bootstrap_interval(values, statistic, **kwargs)
    assert used == method
    if statistic == "median" or not math.isfinite(low):
        assert (interval.low, interval.high) == pytest.approx(
            (low, high), rel=0, abs=0, nan_ok=True
        )
    else:
        assert interval.low == pytest.approx(low, rel=MEAN_REL, abs=0)
        assert interval.high == pytest.approx(high, rel=MEAN_REL, abs=0)


@pytest.mark.parametrize("n", [5, 37, 500, 2000])
@pytest.mark.parametrize("kind", ["skewed", "ties", "few-values", "narrow"])
@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_interval_equals_scipy_bca(n, kind, statistic):
    assert_same(data_set(kind, n), statistic)


@pytest.mark.parametrize("n", [2, 3, 4, 6, 7])
@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_tiny_samples_equal_scipy(n, statistic):
    for seed in range(4):
        assert_same(data_set("ties", n) + np.arange(n) * 0.25, statistic, seed=seed)


def test_seed_resamples_and_confidence_equal_scipy():
    data = data_set("skewed", 37)
    for statistic in ("mean", "median"):
        assert_same(data, statistic, seed=11, resamples=999, confidence=0.9)
        assert_same(data, statistic, seed=3, resamples=1, confidence=0.95)


def test_undefined_bca_falls_back_to_percentile_as_scipy():
    # the two middle values equal: every leave-one-out median is the same, â = 0/0
    flat_middle = [1.0, 2.0, 2.0, 2.0, 2.0, 3.0]
    assert scipy_interval(flat_middle, "median")[1] == "percentile"
    assert_same(flat_middle, "median")
    assert bootstrap_interval(flat_middle, "median")[1] == "percentile"
    assert_same(flat_middle, "mean")
    for odd in ([1.0, 5.0, 5.0, 5.0, 9.0], [0.0, 1.0, 1.0]):
        assert_same(odd, "median")


def test_non_finite_values_give_what_scipy_gives():
    for values in ([1.0, 2.0, math.nan, 3.0], [1.0, 2.0, math.inf, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]):
        for statistic in ("mean", "median"):
            assert_same(values, statistic)


def test_degenerate_cases_are_kept():
    interval, method = bootstrap_interval([-5.0] * 6, "median")
    assert (interval.low, interval.high, method) == (-5.0, -5.0, "percentile")
    interval, method = bootstrap_interval([-5.0], "mean")
    assert not interval.ok and method == "BCa"
    with pytest.raises(ValueError, match="unknown bootstrap statistic"):
        bootstrap_interval([1.0, 2.0], "mode")


@pytest.mark.parametrize("batch_elements", [1, 37 * 3 + 1, 37 * 2000])
def test_batched_resamples_are_scipys(batch_elements):
    data = data_set("skewed", 37)
    ours = bootstrap_distributions(
        data, ("median", "mean"), 2000, np.random.default_rng(5), batch_elements
    )
    for statistic, function in (("mean", np.mean), ("median", np.median)):
        reference = stats.bootstrap(
            (data,), function, n_resamples=2000, random_state=np.random.default_rng(5)
        ).bootstrap_distribution
        np.testing.assert_array_equal(ours[statistic], reference)


def test_small_batches_give_the_same_interval():
    data = data_set("ties", 500)
    whole = bca_intervals(data, ("mean", "median"), resamples=2000, seed=0, confidence=0.95)
    rows = bca_intervals(
        data, ("mean", "median"), resamples=2000, seed=0, confidence=0.95, batch_elements=1
    )
    assert rows == whole


def test_both_statistics_in_one_pass_equal_each_alone():
    data = data_set("skewed", 500)
    both = bootstrap_intervals(data, ("median", "mean"), seed=4)
    for statistic in ("mean", "median"):
        interval, method = bootstrap_interval(data, statistic, seed=4)
        assert both[statistic][1] == method
        assert (both[statistic][0].low, both[statistic][0].high) == (interval.low, interval.high)


def brute_force_jackknife(data: np.ndarray, function) -> np.ndarray:
    return np.array([function(np.delete(data, i)) for i in range(data.size)])


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9, 37, 200, 201])
@pytest.mark.parametrize("kind", ["skewed", "ties", "few-values", "narrow"])
def test_analytic_jackknife_equals_brute_force(n, kind):
    data = data_set(kind, n)
    median = brute_force_jackknife(data, np.median)
    np.testing.assert_array_equal(jackknife_median(data), median)  # bit for bit
    mean = brute_force_jackknife(data, np.mean)
    np.testing.assert_allclose(jackknife_mean(data), mean, rtol=1e-14, atol=0)
    # the median's three values (n odd) or two (n even), by the rank of the removed value
    s = np.sort(data)
    if n % 2 and n > 2:
        m = n // 2
        expected = {(s[m - 1] + s[m]) / 2, (s[m - 1] + s[m + 1]) / 2, (s[m] + s[m + 1]) / 2}
    else:
        expected = {s[n // 2 - 1], s[n // 2]}
    assert set(median) <= expected


def test_quantiles_equal_scipy_linear():
    values = data_set("ties", 2000)
    p = [0.0, 1e-9, 0.025, 0.3, 0.5, 0.975, 1 - 1e-12, 1.0]
    np.testing.assert_array_equal(quantiles(values, p), stats.quantile(values, np.asarray(p)))
    assert np.isnan(quantiles(values, [math.nan, -0.1, 1.1])).all()
