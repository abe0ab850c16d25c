"""PCHIP BD-rates of many pairs of curves at once: the per-image BD-rates of a large run.

:func:`licbench.metrics.bdrate.bd_rate_curves` computes one pair at a time through scipy's
``PchipInterpolator``: right, but each call checks its input, builds two interpolators and
catches warnings, about 0.3 ms a pair. A run of 16,000 images and two codecs asks for 16,000
pairs per metric: 5 s of its outputs, the largest single part. This module gives the same
numbers from numpy arrays, for pairs of curves already known to be valid (at least two points,
positive rates, both coordinates strictly increasing, overlapping quality ranges), a batch per
point count:

* the slopes are scipy's ``PchipInterpolator._find_derivatives``: Fritsch-Carlson's weighted
  harmonic mean inside, zero at a local extremum, Moler's one-sided three-point estimate at the
  ends (``pchiptx.m``, ``PchipInterpolator._edge_case``);
* the pieces are ``CubicHermiteSpline``'s coefficients, integrated as ``PPoly.integrate`` does:
  the antiderivative of each piece between the bounds, summed piece by piece from the lower
  bound's piece up;
* two points are the straight line :func:`licbench.metrics.bdrate._integral` uses.

Each step is the same floating-point operations in the same order as the single-pair path, so
the values agree to the last digits (``tests/results/test_batch_bd.py`` holds them within
1e-9 percentage points of :func:`~licbench.metrics.bdrate.bd_rate_curves`). Pairs that are not
valid are the caller's to send through ``bd_rate_curves``, which says why they have no number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: one curve: (rates, qualities oriented so that higher is better), both strictly increasing
Points = tuple[Sequence[float], Sequence[float]]


def _edge(h0: np.ndarray, h1: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """The end slope: scipy's ``PchipInterpolator._edge_case`` on arrays of curves (on strictly
    increasing curves every segment slope is positive, so only its first rule can apply; the
    second is kept so that the two stay the same code)."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    mask = np.sign(d) != np.sign(m0)
    mask2 = (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3.0 * np.abs(m0))
    d = np.where(mask, 0.0, d)
    return np.where(~mask & mask2, 3.0 * m0, d)


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP's slope at every point of each row (``PchipInterpolator._find_derivatives``)."""
    h = x[:, 1:] - x[:, :-1]
    m = (y[:, 1:] - y[:, :-1]) / h
    sm = np.sign(m)
    flat = (sm[:, 1:] != sm[:, :-1]) | (m[:, 1:] == 0) | (m[:, :-1] == 0)
    w1 = 2 * h[:, 1:] + h[:, :-1]
    w2 = h[:, 1:] + 2 * h[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        whmean = (w1 / m[:, :-1] + w2 / m[:, 1:]) / (w1 + w2)
        inner = np.where(flat, 0.0, 1.0 / whmean)
    d = np.zeros_like(y)
    d[:, 1:-1] = inner
    d[:, 0] = _edge(h[:, 0], h[:, 1], m[:, 0], m[:, 1])
    d[:, -1] = _edge(h[:, -1], h[:, -2], m[:, -1], m[:, -2])
    return d


def _antiderivative(c: Sequence[np.ndarray], s: np.ndarray) -> np.ndarray:
    """∫₀ˢ of one piece ``c[0]s³ + c[1]s² + c[2]s + c[3]``, summed as scipy's
    ``evaluate_poly1`` does (lowest power first)."""
    z = s
    total = 0.0 + c[3] * z * 1.0
    for power, coefficient in ((2, c[2]), (3, c[1]), (4, c[0])):
        z = z * s
        total = total + coefficient * z * (1.0 / power)
    return total


def _integrals(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """∫ from ``lo`` to ``hi`` (within each row's x range) of each row's PCHIP through (x, y)."""
    if x.shape[1] == 2:  # the straight line, as bdrate._integral takes it
        slope = (y[:, 1] - y[:, 0]) / (x[:, 1] - x[:, 0])
        return (hi - lo) * (y[:, 0] + slope * (0.5 * (lo + hi) - x[:, 0]))
    d = _slopes(x, y)
    h = x[:, 1:] - x[:, :-1]  # CubicHermiteSpline's coefficients of each piece
    slope = (y[:, 1:] - y[:, :-1]) / h
    t = (d[:, :-1] + d[:, 1:] - 2 * slope) / h
    c = (t / h, (slope - d[:, :-1]) / h - t, d[:, :-1], y[:, :-1])
    # the piece each bound lies in, as scipy's find_interval: x[i] <= bound < x[i+1], the last
    # piece for the right end
    first = np.sum(x[:, 1:-1] <= lo[:, None], axis=1)
    last = np.sum(x[:, 1:-1] <= hi[:, None], axis=1)
    total = np.zeros_like(lo)
    for piece in range(x.shape[1] - 1):
        coefficients = [part[:, piece] for part in c]
        end = np.where(piece == last, hi - x[:, piece], h[:, piece])
        upper = _antiderivative(coefficients, end)
        lower = np.where(piece == first, _antiderivative(coefficients, lo - x[:, piece]), 0.0)
        inside = (piece >= first) & (piece <= last)
        total = np.where(inside, total + (upper - lower), total)
    return total


def pchip_bd_rates(anchors: Sequence[Points], tests: Sequence[Points]) -> list[float]:
    """BD-rate (%) of each ``tests[i]`` against ``anchors[i]`` with PCHIP, as
    :func:`~licbench.metrics.bdrate.bd_rate_curves` gives it (``method="pchip"``).

    Each curve is ``(rates, oriented qualities)``, both strictly increasing, at least two
    points, rates positive; the pair's quality ranges must overlap. A pair that does not is NaN
    (the caller sends it through ``bd_rate_curves`` for its reason). Pairs are batched by their
    point counts.
    """
    count = len(anchors)
    if len(tests) != count:
        raise ValueError(f"{count} anchor curves but {len(tests)} test curves")
    # mean log-rate difference of each pair over its shared quality range
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (anchor, test) in enumerate(zip(anchors, tests, strict=True)):
        groups.setdefault((len(anchor[0]), len(test[0])), []).append(i)
    ratios = np.full(count, np.nan)
    for members in groups.values():
        # x: the oriented quality, y: log10 of the rate (BD-rate integrates rate over quality)
        xa = np.array([anchors[i][1] for i in members], dtype=float)
        ya = np.log10(np.array([anchors[i][0] for i in members], dtype=float))
        xt = np.array([tests[i][1] for i in members], dtype=float)
        yt = np.log10(np.array([tests[i][0] for i in members], dtype=float))
        lo = np.maximum(xa[:, 0], xt[:, 0])
        hi = np.minimum(xa[:, -1], xt[:, -1])
        shared = hi > lo
        if not shared.any():
            continue
        rows = np.flatnonzero(shared)
        xa, ya, xt, yt, lo, hi = (a[rows] for a in (xa, ya, xt, yt, lo, hi))
        difference = (_integrals(xt, yt, lo, hi) - _integrals(xa, ya, lo, hi)) / (hi - lo)
        ratios[np.asarray(members)[rows]] = difference
    # the last step in Python floats, as bd_rate_curves takes it (numpy's power may round
    # differently on another CPU's vector unit)
    return [(10.0**r - 1.0) * 100.0 if r == r else float("nan") for r in ratios.tolist()]


__all__ = ["pchip_bd_rates"]
