"""Bjøntegaard-delta (BD) rate and quality between two rate-distortion curves.

BD-rate answers "how many more (or fewer) bits does the test codec need than the anchor for the
same quality, averaged over the quality range both curves cover?". Each curve is turned into a
continuous function of log10(rate) against distortion, both functions are integrated over the
overlapping distortion interval, and the difference of the averages is turned back from a log
ratio into a percentage. BD-quality (BD-PSNR when the metric is PSNR) swaps the axes: the average
quality difference over the overlapping log10(rate) interval.

Three ways to make a curve continuous are offered:

``"pchip"`` (default)
    Piecewise cubic Hermite interpolation with shape-preserving slopes (Fritsch-Carlson). It is
    what the JCT-VC/JVET common-test-condition spreadsheets use, so numbers are directly
    comparable with published CTC tables, and it never overshoots: monotone RD points give a
    monotone curve, and each piece only depends on its neighbouring points.
``"akima"``
    Akima's piecewise cubic: also local and rarely overshoots, but not shape preserving. Useful to
    see how much a BD number depends on the interpolation choice.
``"cubic"``
    The original VCEG-M33 method: one least-squares cubic polynomial through all points. With
    exactly four well spread points it behaves; with more points, or points bunched together, it
    is a fit rather than an interpolation and can wiggle between points. Kept for comparison with
    older papers.

The results agree with FAU's ``bjontegaard`` package (1.3.0) to within floating-point rounding
for every input that package accepts, with the differences listed in :func:`bd_rate_curves`.
Always report the method and the anchor next to a BD number: the interpolation choice alone can
move BD-rate by a few tenths of a percent (more with sparse curves).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from scipy.interpolate import Akima1DInterpolator, PchipInterpolator

from licbench.metrics.bd_methods import METHODS
from licbench.metrics.derived import transform_of
from licbench.metrics.ms_ssim import to_decibels

__all__ = [
    "METHODS",
    "BDRateWarning",
    "bd_quality",
    "bd_quality_curves",
    "bd_rate",
    "bd_rate_curves",
    "ms_ssim_to_db",
]

Method = Literal["pchip", "akima", "cubic"]
ArrayLike = Sequence[float] | np.ndarray


# Fewest points per curve each method can work with. The piecewise methods need two points (the
# straight line through them); a cubic polynomial needs four, otherwise the least-squares fit is
# underdetermined and numpy would silently pick one of infinitely many cubics.
_MIN_POINTS: dict[str, int] = {"pchip": 2, "akima": 2, "cubic": 4}

#: Default for ``min_overlap``: a warning is emitted when the anchor covers less than this fraction
#: of the test curve's range (FAU's threshold, taken of the test curve rather than of the union:
#: see :func:`_mean_difference`).
DEFAULT_MIN_OVERLAP = 0.75


class BDRateWarning(UserWarning):
    """A BD value could not be computed (NaN returned) or rests on a small shared range."""


# --------------------------------------------------------------------------------------------
# core computation
# --------------------------------------------------------------------------------------------


def _check_method(method: str) -> None:
    if method not in _MIN_POINTS:
        raise ValueError(f"unknown BD interpolation method {method!r}; choose one of {METHODS}")


def _prepare_curve(
    rate: ArrayLike,
    dist: ArrayLike,
    which: str,
    method: str,
    higher_is_better: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one curve; return (log10 rate, oriented distortion), sorted by rate.

    "Oriented" means negated for lower-is-better metrics, so that along a valid curve both arrays
    strictly increase. Rejecting anything else here gives one clear error instead of a scipy
    message about ``x`` several calls deeper (or, for the cubic method, a silently wrong number).
    """
    r = np.asarray(rate, dtype=float)
    d = np.asarray(dist, dtype=float)
    if r.ndim != 1 or d.ndim != 1:
        raise ValueError(f"{which} rates and distortions must be one-dimensional sequences")
    if r.size != d.size:
        raise ValueError(f"{which} curve has {r.size} rate values but {d.size} distortion values")
    need = _MIN_POINTS[method]
    if r.size < need:
        why = " (a cubic fit through fewer points is underdetermined)" if method == "cubic" else ""
        raise ValueError(
            f"{which} curve has {r.size} point(s); method {method!r} needs at least {need}{why}"
        )
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(d))):
        raise ValueError(f"{which} curve contains NaN or infinite values; drop those points first")
    if np.any(r <= 0):
        raise ValueError(f"{which} curve has a rate <= 0; BD works on log10(rate)")

    order = np.argsort(r, kind="stable")
    r, d = r[order], d[order]
    if np.any(np.diff(r) == 0):
        dup = r[:-1][np.diff(r) == 0][0]
        raise ValueError(f"{which} curve has two points with the same rate {dup:g}")
    oriented = d if higher_is_better else -d
    steps = np.diff(oriented)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        word = "increase" if higher_is_better else "decrease"
        raise ValueError(
            f"{which} curve is not monotonic: quality must strictly {word} with rate "
            f"(higher_is_better={higher_is_better}), but rate {r[i]:g} -> {r[i + 1]:g} goes "
            f"with distortion {d[i]:g} -> {d[i + 1]:g}. BD values are only defined for "
            "monotonic RD curves; check that point or the metric's direction."
        )
    return np.log10(r), oriented


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Integral over [lo, hi] of the curve through the points (x, y), x strictly increasing."""
    if method == "cubic":
        antiderivative = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(antiderivative, hi) - np.polyval(antiderivative, lo))
    if x.size == 2:
        # Both piecewise methods reduce to the straight line through two points.
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return float((hi - lo) * (y[0] + slope * (0.5 * (lo + hi) - x[0])))
    if method == "pchip":
        return float(PchipInterpolator(x, y).integrate(lo, hi))
    # scipy's default variant is Akima's original 1970 one (not "makima").
    return float(Akima1DInterpolator(x, y).integrate(lo, hi))


def _mean_difference(
    x_anchor: np.ndarray,
    y_anchor: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    method: str,
    min_overlap: float,
    axis: str,
    describe: Callable[[np.ndarray], str],
) -> float:
    """Average of (test - anchor) over the shared x interval; NaN with a warning if none.

    The small-overlap warning asks whether the value describes the codec under test: it fires
    when the shared interval is less than ``min_overlap`` of the *test* curve's range, i.e. when
    part of the test curve has no anchor to compare with. FAU's package divides by the union of
    both ranges instead, which also fires whenever the anchor reaches further than the test
    curve: a JPEG sweep over 25-40 dB against a learned codec's six or seven points, webp
    against jpeg, CCA's published Kodak curve against VTM's. A warning that fires on every
    ordinary comparison is noise; the shared interval itself comes with every BD value
    (:class:`licbench.results.compare.BDComparison`'s ``overlap``; the run report shows it as
    "over", summary.json as ``bd_rate.ranges``), so a narrow comparison shows how narrow it is.
    """
    lo = max(x_anchor[0], x_test[0])
    hi = min(x_anchor[-1], x_test[-1])
    if hi <= lo:
        warnings.warn(
            f"the anchor and test curves do not overlap in {axis} (anchor {describe(x_anchor)}, "
            f"test {describe(x_test)}), so there is no common range to average over; "
            "returning NaN",
            BDRateWarning,
            stacklevel=3,
        )
        return math.nan
    fraction = (hi - lo) / (x_test[-1] - x_test[0])
    if fraction < min_overlap:
        warnings.warn(
            f"the anchor covers only {fraction:.1%} of the test curve's {axis} range (below "
            f"{min_overlap:.0%}): the BD value describes that part of the test curve only",
            BDRateWarning,
            stacklevel=3,
        )
    area_anchor = _integral(x_anchor, y_anchor, lo, hi, method)
    area_test = _integral(x_test, y_test, lo, hi, method)
    return (area_test - area_anchor) / (hi - lo)


def _range_text(sign: float) -> Callable[[np.ndarray], str]:
    def describe(x: np.ndarray) -> str:
        a, b = sorted((sign * x[0], sign * x[-1]))
        return f"[{a:.4g}, {b:.4g}]"

    return describe


def _rate_range_text(log_rate: np.ndarray) -> str:
    return f"[{10 ** log_rate[0]:.4g}, {10 ** log_rate[-1]:.4g}]"


def bd_rate_curves(
    rate_anchor: ArrayLike,
    dist_anchor: ArrayLike,
    rate_test: ArrayLike,
    dist_test: ArrayLike,
    method: Method | str = "pchip",
    *,
    higher_is_better: bool = True,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> float:
    """Bjøntegaard-delta rate of the test curve against the anchor, in percent.

    Negative means the test codec needs fewer bits than the anchor for the same quality (better);
    -10.0 means 10 % fewer bits on average over the shared quality range. The value is
    ``(10 ** mean(log10 R_test(D) - log10 R_anchor(D)) - 1) * 100`` with D running over the
    overlap of both curves' distortion ranges and ``log10 R(D)`` interpolated with ``method``
    (see the module docstring for why ``"pchip"`` is the default).

    Args:
        rate_anchor, dist_anchor: the anchor's rates (bpp, kbit/s, ... any positive unit, the same
            for both curves) and qualities, one value per RD point.
        rate_test, dist_test: the same for the codec under test. The two curves may have
            different numbers of points; points may come in any order (they are sorted by rate).
        method: ``"pchip"``, ``"akima"`` or ``"cubic"``.
        higher_is_better: False for metrics where lower is better (LPIPS, MSE, ...). The
            distortion axis is then negated, which does not change BD-rate but lets the
            monotonicity check and interpolation see an increasing curve.
        min_overlap: warn (:class:`BDRateWarning`) when the shared distortion range is smaller
            than this fraction of the test curve's range. 0 silences it.

    Returns:
        BD-rate in percent, or NaN (with a :class:`BDRateWarning` saying why) when the two curves
        share no distortion range at all.

    Raises:
        ValueError: unknown method; too few points (2 for pchip/akima, 4 for cubic); NaN,
            infinite or non-positive rates; duplicate rates; or a curve that is not strictly
            monotonic (quality must strictly improve as rate grows).

    Differences from FAU ``bjontegaard.bd_rate`` (1.3.0), which is otherwise matched to
    floating-point rounding:

    * Curves with different numbers of points are accepted (FAU needs
      ``require_matching_points=False``).
    * Points are sorted by rate; FAU accepts only ascending or descending order and fails on
      shuffled points.
    * Non-monotonic curves raise a ValueError naming the offending points. FAU fails with a
      scipy error (pchip, akima) or an ``AssertionError``, except for the cubic method, where it
      silently fits a polynomial to data that has no rate-of-quality function.
    * The cubic method needs four points; FAU fits an underdetermined cubic to fewer.
    * Warnings are :class:`BDRateWarning` instead of plain ``UserWarning``, and the small-overlap
      one measures the shared range against the test curve's range, not the union of both (see
      :func:`_mean_difference`). The value is the same.
    """
    _check_method(method)
    log_ra, da = _prepare_curve(rate_anchor, dist_anchor, "anchor", method, higher_is_better)
    log_rt, dt = _prepare_curve(rate_test, dist_test, "test", method, higher_is_better)
    sign = 1.0 if higher_is_better else -1.0
    mean_log_ratio = _mean_difference(
        da, log_ra, dt, log_rt, method, min_overlap, "distortion", _range_text(sign)
    )
    if math.isnan(mean_log_ratio):
        return math.nan
    return (10.0**mean_log_ratio - 1.0) * 100.0


def bd_quality_curves(
    rate_anchor: ArrayLike,
    dist_anchor: ArrayLike,
    rate_test: ArrayLike,
    dist_test: ArrayLike,
    method: Method | str = "pchip",
    *,
    higher_is_better: bool = True,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> float:
    """Bjøntegaard-delta quality (BD-PSNR for PSNR): mean quality difference, test - anchor.

    The difference is averaged over the overlap of both curves' log10(rate) ranges and given in
    the metric's own unit (dB for PSNR). For a higher-is-better metric a positive value means the
    test codec is better; for a lower-is-better one (``higher_is_better=False``) a negative value
    means better, i.e. the sign is that of the metric itself, not of "improvement".

    Arguments, NaN/warning behaviour, errors and the differences from FAU
    (``bjontegaard.bd_psnr``) are as in :func:`bd_rate_curves`; the overlap is checked along the
    rate axis here. One more difference: quality as a function of rate is defined even for a
    non-monotonic curve, and FAU's ``bd_psnr`` computes a value for one with every method. This
    function raises ValueError instead, on purpose: a curve whose quality drops as rate grows
    points at a broken run or a wrong ``higher_is_better``, and BD-rate and BD-quality should
    accept or reject the same pair of curves.
    """
    _check_method(method)
    log_ra, da = _prepare_curve(rate_anchor, dist_anchor, "anchor", method, higher_is_better)
    log_rt, dt = _prepare_curve(rate_test, dist_test, "test", method, higher_is_better)
    delta = _mean_difference(log_ra, da, log_rt, dt, method, min_overlap, "rate", _rate_range_text)
    if math.isnan(delta):
        return math.nan
    return delta if higher_is_better else -delta


# --------------------------------------------------------------------------------------------
# CompressAI-format result dicts
# --------------------------------------------------------------------------------------------


def ms_ssim_to_db(value: float) -> float:
    """MS-SSIM in [0, 1] to decibels, ``-10 * log10(1 - value)``.

    The dB scale spreads out the region near 1 where modern codecs live, which is how MS-SSIM
    RD curves are usually plotted and BD-rated. A value of exactly 1 (lossless) maps to the
    declared ceiling, 60 dB (:data:`licbench.metrics.ms_ssim.DECIBELS_CEILING`), not +inf.
    """
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"MS-SSIM must lie in [0, 1] to convert to dB, got {value!r}")
    return to_decibels(value)


def _as_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _curve_from_results(
    results: Mapping[str, Any], metric: str, which: str
) -> tuple[list[float], list[float]]:
    """(bpp, metric) lists from a CompressAI result dict, with unusable points dropped."""
    if not isinstance(results, Mapping):
        raise TypeError(f"{which} must be a dict, got {type(results).__name__}")
    inner = results.get("results")
    if isinstance(inner, Mapping):
        results = inner
    if "bpp" not in results:
        raise ValueError(f"{which} results have no 'bpp' key (keys: {sorted(results)})")

    convert: Callable[[float], float] | None = None
    derived = transform_of(metric)
    if metric in results:
        source = metric
    elif derived is not None and derived[0] in results:
        source, convert = derived
    else:
        raise ValueError(f"{which} results have no {metric!r} values (keys: {sorted(results)})")

    bpp = [_as_float(v) for v in results["bpp"]]
    values = [_as_float(v) for v in results[source]]
    if len(bpp) != len(values):
        raise ValueError(
            f"{which} results have {len(bpp)} 'bpp' values but {len(values)} {source!r} values"
        )
    rates: list[float] = []
    dists: list[float] = []
    for r, v in zip(bpp, values, strict=True):
        if math.isnan(r) or math.isnan(v):
            continue  # a failed or missing measurement: drop the point
        if convert is not None:
            v = convert(v)
            if math.isinf(v):
                continue  # lossless point: no finite position on the dB axis
        rates.append(r)
        dists.append(v)
    return rates, dists


def bd_rate(
    anchor: Mapping[str, Any],
    test: Mapping[str, Any],
    metric: str = "psnr-rgb",
    method: Method | str = "pchip",
    *,
    higher_is_better: bool = True,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> float:
    """BD-rate in percent of ``test`` against ``anchor`` given as CompressAI-format results.

    Each of ``anchor`` and ``test`` is either a whole result file
    ``{"name": ..., "results": {"bpp": [...], "psnr-rgb": [...], ...}}`` or just its inner
    ``results`` dict. Points whose bpp or metric value is None or NaN are dropped first, so a
    partially failed run still yields a number from the points that exist.

    ``metric`` names the key to use. A derived series (:mod:`licbench.metrics.derived`, e.g.
    ``"ms-ssim-rgb-db"``) is computed from its source when the dict does not carry it (points
    with MS-SSIM exactly 1 are dropped). Pass ``higher_is_better=False`` for metrics where lower
    is better; see :func:`bd_rate_curves` for the maths, the NaN/warning behaviour and the errors.
    """
    ra, da = _curve_from_results(anchor, metric, "anchor")
    rt, dt = _curve_from_results(test, metric, "test")
    return bd_rate_curves(
        ra, da, rt, dt, method, higher_is_better=higher_is_better, min_overlap=min_overlap
    )


def bd_quality(
    anchor: Mapping[str, Any],
    test: Mapping[str, Any],
    metric: str = "psnr-rgb",
    method: Method | str = "pchip",
    *,
    higher_is_better: bool = True,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> float:
    """BD-quality (BD-PSNR for ``"psnr-rgb"``) of ``test`` against ``anchor``, metric units.

    Takes the same inputs as :func:`bd_rate`; the result is explained in
    :func:`bd_quality_curves`.
    """
    ra, da = _curve_from_results(anchor, metric, "anchor")
    rt, dt = _curve_from_results(test, metric, "test")
    return bd_quality_curves(
        ra, da, rt, dt, method, higher_is_better=higher_is_better, min_overlap=min_overlap
    )
