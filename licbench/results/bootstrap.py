"""BCa bootstrap intervals of the mean and the median in O(n·B) time and bounded memory.

``scipy.stats.bootstrap(method="BCa")`` is the reference, and this module reproduces it: the
same resamples, the same bias correction, the same acceleration, the same quantile rule. What it
changes is the cost. scipy draws all B resamples at once (B × n indices and as many values) and
gets the jackknife for the acceleration by evaluating the statistic on n leave-one-out copies of
the data (an n × (n−1) array): O(n²) time and memory, 1.2–1.6 GB more and 2–4 s per statistic
at 8,000 images, 4.4–6.3 GB at 16,000 (``benchmarks/bootstrap_cost.py``). Here:

* **the jackknife is analytic** (Efron & Tibshirani 1993, eq. 14.15 needs only the n
  leave-one-out values θ₍ᵢ₎). The mean's is θ₍ᵢ₎ = (Σx − xᵢ)/(n−1). The median's takes two or
  three values, chosen by the rank r of xᵢ in the sorted data s₀ ≤ … ≤ sₙ₋₁ (see
  :func:`jackknife_median`); O(n log n) for the sort. Tied values give the same leave-one-out
  multiset whichever copy is removed, so any ranking of ties gives the same values;
* **the bootstrap distribution is drawn in batches** of at most :data:`BATCH_ELEMENTS` indices
  (16 MiB of int64, and as many float64 values), each batch's rows reduced by ``np.mean`` /
  ``np.median`` along the row, as scipy reduces its single B × n array. The draws are
  ``rng.integers(0, n, (rows, n))`` from ``np.random.default_rng(seed)``: scipy's
  ``_bootstrap_resample`` makes one such call for all B rows, and numpy's Generator yields the
  same stream in row batches (its 32-bit bounded draws keep their spare half-word in the bit
  generator's state, not in the call), so every resample, and so every θ*_b, is scipy's;
* **z₀, the acceleration and the adjusted levels** follow scipy 1.17's ``_bca_interval``
  operation for operation (ties count half in z₀: ``(#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B``), and the
  bounds are the bootstrap distribution's quantiles by scipy's ``stats.quantile`` default, Hyndman
  & Fan's type 7 (``linear``), written out as scipy writes it.

So the median's interval is scipy's bit for bit, and the mean's differs only by the rounding of
the analytic leave-one-out means against scipy's summed ones (measured ≤ 5.8e-15 relative, and
1.9e-14 of the interval's width at 8,000 images; see ``tests/results/test_bootstrap_fast.py``).
Time grows as n·B, memory stays at one batch (~48 MB at 2,000–16,000 images).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

#: indices drawn per batch (16 MiB of int64; the gathered values take as much again)
BATCH_ELEMENTS = 1 << 21

#: the statistics this module knows, as scipy's reference evaluates them (along the last axis)
STATISTICS: dict[str, Callable[..., np.ndarray]] = {"mean": np.mean, "median": np.median}


def jackknife_mean(data: np.ndarray) -> np.ndarray:
    """The n leave-one-out means: θ₍ᵢ₎ = (Σx − xᵢ)/(n − 1). O(n)."""
    return (np.sum(data) - data) / (data.size - 1)


def jackknife_median(data: np.ndarray) -> np.ndarray:
    """The n leave-one-out medians, from the sorted data s₀ ≤ … ≤ sₙ₋₁. O(n log n).

    Removing the value of rank r leaves t with tₖ = sₖ for k < r and tₖ = sₖ₊₁ for k ≥ r.

    * n even (n = 2h): n − 1 is odd and the median is t_{h−1}: s_{h−1} when r ≥ h, else s_h.
    * n odd (n = 2m + 1): n − 1 = 2m is even and the median is (t_{m−1} + t_m)/2:
      (s_{m−1} + s_m)/2 when r > m, (s_{m−1} + s_{m+1})/2 when r = m, and
      (s_m + s_{m+1})/2 when r < m.

    Each is computed as ``np.median`` computes it (the middle value, or the sum of the two
    middle values halved), so the values equal a brute-force jackknife's bit for bit.
    """
    n = data.size
    order = np.argsort(data, kind="stable")
    s = data[order]
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    if n % 2 == 0:
        h = n // 2
        return np.where(rank >= h, s[h - 1], s[h])
    m = n // 2
    above = (s[m - 1] + s[m]) / 2
    at = (s[m - 1] + s[m + 1]) / 2
    below = (s[m] + s[m + 1]) / 2
    return np.select([rank > m, rank == m], [above, at], below)


JACKKNIFE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": jackknife_mean,
    "median": jackknife_median,
}


def bootstrap_distributions(
    data: np.ndarray,
    statistics: Sequence[str],
    resamples: int,
    rng: np.random.Generator,
    batch_elements: int = BATCH_ELEMENTS,
) -> dict[str, np.ndarray]:
    """θ*_b for b = 1..``resamples`` of each statistic, on the same resamples (scipy's draws
    for a fresh ``rng``), drawn ``batch_elements // n`` rows at a time."""
    n = data.size
    rows = max(1, batch_elements // n)
    out = {name: np.empty(resamples) for name in statistics}
    # the median partitions the batch in place (no copy of it), so it comes last
    ordered = sorted(statistics, key=lambda name: name == "median")
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        sample = data[rng.integers(0, n, (stop - start, n))]
        for name in ordered:
            if name == "median":
                out[name][start:stop] = np.median(sample, axis=-1, overwrite_input=True)
            else:
                out[name][start:stop] = STATISTICS[name](sample, axis=-1)
    return out


def bca_levels(
    data: np.ndarray, statistic: str, theta_b: np.ndarray, alpha: float
) -> tuple[np.float64, np.float64, np.float64]:
    """BCa's adjusted levels (α₁, α₂) and the acceleration â (eq. 14.10, 14.14, 14.15), as
    scipy's ``_bca_interval`` computes them. NaN levels mean BCa is undefined (â = 0/0 when
    every leave-one-out value is the same)."""
    with np.errstate(all="ignore"):
        theta_hat = STATISTICS[statistic](data, axis=-1)
        below = np.count_nonzero(theta_b < theta_hat) + np.count_nonzero(theta_b <= theta_hat)
        z0 = ndtri(np.float64(below) / (2 * theta_b.size))

        theta_i = JACKKNIFE[statistic](data)
        n = float(theta_i.size)
        u = (n - 1) * (np.mean(theta_i) - theta_i)
        a_hat = 1 / 6 * (np.sum(u**3) / n**3) / (np.sum(u**2) / n**2) ** (3 / 2)

        z_alpha = float(ndtri(alpha))
        num1 = z0 + z_alpha
        alpha_1 = ndtr(z0 + num1 / (1 - a_hat * num1))
        num2 = z0 + -z_alpha
        alpha_2 = ndtr(z0 + num2 / (1 - a_hat * num2))
    return alpha_1, alpha_2, a_hat


def quantiles(values: np.ndarray, p: Sequence[float]) -> np.ndarray:
    """Quantiles ``p`` of ``values`` by Hyndman & Fan's type 7, written as scipy 1.17's
    ``stats.quantile(method="linear")`` computes it; NaN for a ``p`` outside [0, 1] or NaN."""
    y = np.sort(values)
    n = float(y.size)
    p = np.asarray(p, dtype=float)
    invalid = (p > 1) | (p < 0) | np.isnan(p)
    p = np.where(invalid, 0.5, p)
    jg = p * n + (1 - p)
    jp1 = jg // 1
    j = jp1 - 1
    g = np.where(j < 0, 0.0, jg % 1)
    j = np.clip(j, 0.0, n - 1).astype(np.int64)
    jp1 = np.clip(jp1, 0.0, n - 1).astype(np.int64)
    result = (1 - g) * y[j] + g * y[jp1]
    return np.where(invalid, np.nan, result)


def bca_intervals(
    data: np.ndarray,
    statistics: Sequence[str],
    *,
    resamples: int,
    seed: int,
    confidence: float,
    batch_elements: int = BATCH_ELEMENTS,
) -> dict[str, tuple[float, float, str]]:
    """Per statistic ``(low, high, method)``: the BCa interval, else (BCa bounds not finite)
    the percentile interval of the same resamples, with "BCa" or "percentile". ``data`` must
    have at least two values and some spread (the caller's cases)."""
    thetas = bootstrap_distributions(
        data, statistics, resamples, np.random.default_rng(seed), batch_elements
    )
    alpha = (1 - confidence) / 2
    out: dict[str, tuple[float, float, str]] = {}
    for name in statistics:
        alpha_1, alpha_2, _ = bca_levels(data, name, thetas[name], alpha)
        low, high = (float(v) for v in quantiles(thetas[name], [alpha_1, alpha_2]))
        if np.isfinite(low) and np.isfinite(high):
            out[name] = (low, high, "BCa")
            continue
        low, high = (float(v) for v in quantiles(thetas[name], [alpha, 1 - alpha]))
        out[name] = (low, high, "percentile")
    return out


__all__ = [
    "BATCH_ELEMENTS",
    "JACKKNIFE",
    "STATISTICS",
    "bca_intervals",
    "bca_levels",
    "bootstrap_distributions",
    "jackknife_mean",
    "jackknife_median",
    "quantiles",
]
