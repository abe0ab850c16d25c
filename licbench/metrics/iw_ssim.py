"""IW-SSIM (Wang & Li 2011), written here with separable windows and a centred last scale.

The definition is the one of the authors' MATLAB code, which piq's ``information_weighted_ssim``
and JPEG AI's ``IW_SSIM_PyTorch.py`` both follow: a five-level Laplacian pyramid (binomial
[1 4 6 4 1]/16 · √2 per pass, reflected borders), SSIM's contrast-structure map per band over an
11-tap Gaussian window (σ = 1.5), the full SSIM map on the last (low-pass) level, each band's map
weighted by its information content (Gaussian scale mixture over 3×3 neighbourhoods plus the
parent band, σ_n² = 0.4), and the weighted means combined with the weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333).

Written here rather than called from piq for speed: piq filters with 2-D k×k kernels (an 11×11
Gaussian: 121 multiply-adds per pixel instead of 22 separable) and builds each band's 10-column
neighbourhood matrix by concatenating shifted copies; together that was the JPEG AI set's
costliest metric. Values are those of JPEG AI's float64 code to ~1e-6 (tested), closer than
piq's float32 run because the low-pass level's statistics are taken about the image mean
(variances are shift-invariant; E[x²] − μ² on values near 4000 cancels most float32 digits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from licbench.metrics.separable import (
    filter_reflected,
    filter_valid,
    gaussian_taps,
    local_moments,
)

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2 = 0.01, 0.03
PEAK = 255.0
WINDOW, WINDOW_SIGMA = 11, 1.5
SIGMA_NSQ = 0.4
#: float32's machine epsilon: the reference code's guard for flat neighbourhoods
EPS = 1.1920928955078125e-07
#: half the Gaussian window less half the 3×3 block: what the information map loses to the SSIM
#: map's narrower 'valid' region, per side
CROP = WINDOW // 2 - 1


#: the pyramid's binomial [1 4 6 4 1]/16, times √2 per pass (the reference's 'binom5' scaling)
BINOMIAL = tuple(t / 16.0 * math.sqrt(2.0) for t in (1.0, 4.0, 6.0, 4.0, 1.0))
BOX3 = (1.0 / 3.0,) * 3


def _pyramid_step(image: Any) -> tuple[Any, Any]:
    """(low-pass decimated by 2, band = image − its re-expanded low-pass), reflected borders.

    The expansion puts the low-pass samples on the even rows and columns of a zero plane and
    filters it in one separable call: the reference zero-fills and filters one axis at a time,
    which gives the same samples (zero rows stay zero under a row filter, and the two reflected
    borders commute)."""
    import torch

    height, width = image.shape[-2:]
    low = filter_reflected(image, BINOMIAL, stride=2)
    spread = torch.zeros((*low.shape[:-2], 2 * low.shape[-2], 2 * low.shape[-1]), dtype=low.dtype)
    spread[..., ::2, ::2] = low
    expanded = filter_reflected(spread, BINOMIAL)[..., :height, :width]
    return low, image - expanded


def _pyramid(image: Any) -> list[Any]:
    """The five levels: four Laplacian bands, finest first, and the low-pass residual."""
    low, band = _pyramid_step(image)
    levels = [band]
    for _ in range(len(WEIGHTS) - 2):
        low, band = _pyramid_step(low)
        levels.append(band)
    return [*levels, low]


def _enlarge_taps(size: int) -> tuple[Any, Any, Any]:
    """For one axis of :func:`_enlarge`: per output sample its two source indices and weights.

    The reference resizes ``size`` samples to 4·size − 3 (bilinear, pixel centres aligned:
    source = (j + ½)·size / (4·size − 3) − ½, clamped at 0), extrapolates one sample at each end
    and keeps every second sample. Only the kept samples are interpolated here: samples 0, 1, 3,
    …, 4·size − 5, 4·size − 4 of the resized axis (the two end ones feed the extrapolation).
    """
    import numpy as np

    kept = np.concatenate([[0], np.arange(1, 4 * size - 4, 2), [4 * size - 4]])
    source = np.maximum((kept + 0.5) * (size / (4 * size - 3)) - 0.5, 0.0)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    weight = source - low
    return low, high, weight


def _enlarge(band: Any) -> Any:
    """The parent band brought to twice its size: bilinear to 4n − 3, extrapolated linearly by
    one sample at each border, every second sample (the reference's ``imenlarge2``), computed
    only at the samples kept (a quarter of the resized picture), along the width first.

    The samples are gathered with NumPy's ``take``: along the last axis 3.6× faster than torch's
    ``index_select`` (0.5 against 1.8 ms for a 512×384 plane).
    """
    import numpy as np
    import torch

    out = band.numpy()
    for axis in (-1, -2):
        low, high, weight = _enlarge_taps(out.shape[axis])
        shape = [1] * out.ndim
        shape[axis] = -1
        lower = torch.from_numpy(np.take(out, low, axis=axis))
        upper = torch.from_numpy(np.take(out, high, axis=axis))
        weight = torch.from_numpy(weight.astype(out.dtype).reshape(shape))
        enlarged = torch.lerp(lower, upper, weight)  # lower + w·(upper − lower)
        first, second = enlarged.narrow(axis, 0, 1), enlarged.narrow(axis, 1, 1)
        last, before = enlarged.narrow(axis, -1, 1), enlarged.narrow(axis, -2, 1)
        first.copy_(2 * first - second)  # extrapolated ends: 2·edge − neighbour
        last.copy_(2 * last - before)
        out = enlarged.numpy()
    return torch.from_numpy(out)


def _gsm(ref: Any, parent: Any | None) -> tuple[Any, tuple[float, ...]]:
    """The reference band's Gaussian scale mixture over 3×3 neighbourhoods (plus the parent
    band): (the multiplier vᵀ C⁻¹ v / N of each block, the covariance's rescaled eigenvalues)."""
    import torch

    height, width = ref.shape[-2:]
    rows, cols = height - 2, width - 2
    plane = ref[0, 0]
    neighbours = [
        plane[1 - dy : 1 - dy + rows, 1 - dx : 1 - dx + cols]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    ]
    if parent is not None:
        neighbours.append(_enlarge(parent)[0, 0, 1 : 1 + rows, 1 : 1 + cols])
    # stacked straight into one N × rows × cols block (reshaping each strided slice first
    # copied every neighbourhood twice)
    vectors = torch.stack(neighbours).reshape(len(neighbours), -1)  # N × blocks
    count = vectors.shape[0]
    covariance = vectors @ vectors.T / vectors.shape[1]
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
    positive = eigenvalues * (eigenvalues > 0)
    kept = positive.sum()
    scaled = positive * eigenvalues.sum() / (kept + (kept == 0))
    # the GSM multiplier per block, vᵀ C⁻¹ v / N, with C = Q·diag(λ)·Qᵀ (the rescaled covariance
    # the reference inverts): Σ_k (q_kᵀ v)² / λ_k, one N×N by N×blocks product instead of
    # C⁻¹·V followed by an elementwise product and a sum over the strided first axis (6× slower)
    projected = (eigenvectors.T @ vectors).square_()
    # a zero eigenvalue (a band without variance along it, as a 1-pixel-wide image gives) adds
    # nothing: its direction carries no coefficient energy (0 · 1/0 would be NaN)
    inverse = torch.where(scaled > 0, scaled.reciprocal(), torch.zeros_like(scaled))
    multiplier = (inverse @ projected).view(rows, cols) / count
    return multiplier, tuple(scaled.tolist())


@dataclass(frozen=True)
class ReferenceFeatures:
    """What IW-SSIM takes from the reference alone, computed once per reference image.

    ``levels`` are the pyramid's five levels on the 0–255 scale; ``windowed`` per level the
    local (mean, variance) over the 11-tap window (the last level's about ``centre``, its mean);
    ``blocks`` per band the (mean, variance) over the 3×3 blocks; ``gsm`` per band what
    :func:`_gsm` gives. A sweep measures many decoded versions of one original: with these kept
    (:attr:`licbench.metrics.yuv10.Planes.features`), each job computes the distorted side only.
    """

    levels: tuple[Any, ...]
    centre: float
    windowed: tuple[tuple[Any, Any], ...]
    blocks: tuple[tuple[Any, Any], ...]
    gsm: tuple[tuple[Any, tuple[float, ...]], ...]


def reference_features(reference: Any) -> ReferenceFeatures:
    """:class:`ReferenceFeatures` of ``reference`` (1×1×H×W in [0, 1], sides ≥ 161)."""
    levels = _pyramid(reference * PEAK)
    bands, low = levels[:-1], levels[-1]
    # the low-pass level (1/256 of the samples) in float64: its values are near 4000, and in
    # float32 E[x²] − μ² there loses enough digits that one ulp of the centre moved IW-SSIM by
    # 2e-5 on Kodak's flat skies
    low = low.double()
    centre = float(low.mean())
    window = gaussian_taps(WINDOW, WINDOW_SIGMA)
    windowed = [local_moments(level, window) for level in (*bands, low - centre)]
    parents = [*bands[1:], None]  # the coarsest band has none: the low-pass level is no band
    return ReferenceFeatures(
        levels=(*bands, low),
        centre=centre,
        windowed=tuple(windowed),
        blocks=tuple(local_moments(band, BOX3) for band in bands),
        gsm=tuple(_gsm(band, parent) for band, parent in zip(bands, parents, strict=True)),
    )


def _information(dist: Any, ref: Any, blocks: tuple[Any, Any], gsm: tuple[Any, tuple]) -> Any:
    """The information-content weight map of one band, on the 3×3 blocks' 'valid' region."""
    import torch

    mu_r, var_r = blocks
    mu_d, var_d = local_moments(dist, BOX3)
    cov = filter_valid(dist * ref, BOX3) - mu_d * mu_r
    gain = cov / (var_r + EPS)
    noise = var_d - gain * cov
    flat_ref = var_r < EPS
    gain = gain.masked_fill(flat_ref, 0.0)
    noise = torch.where(flat_ref, var_d, noise)
    flat_dist = var_d < EPS
    gain = gain.masked_fill(flat_dist, 0.0)
    noise = noise.masked_fill(flat_dist, 0.0)

    multiplier, scaled = gsm
    # Σ_k log2(1 + (base·λ_k + offset) / σ⁴) = Σ_k log2(one + base'·λ_k): the logarithm of the
    # product of each two factors (one logarithm per two eigenvalues: ~1.8× faster, the
    # logarithms are most of this loop); a product beyond the float range (factors above ~1e19,
    # which no natural image gives) is summed factor by factor instead
    base = (noise + (1.0 + gain * gain) * SIGMA_NSQ) * multiplier / (SIGMA_NSQ * SIGMA_NSQ)
    one = noise / SIGMA_NSQ + 1.0
    information = torch.zeros_like(base)
    values = list(scaled)
    for first, second in zip(values[0::2], values[1::2], strict=False):
        factor = torch.add(one, base, alpha=first)
        information += factor.mul_(torch.add(one, base, alpha=second)).log2_()
    if len(values) % 2:
        information += torch.add(one, base, alpha=values[-1]).log2_()
    if not bool(torch.isfinite(information).all()):
        information.zero_()
        for value in values:
            information += torch.add(one - 1.0, base, alpha=value).log1p_() / math.log(2.0)
    return information.masked_fill(information < EPS, 0.0)


def _quality(dist: Any, ref: Any, windowed: tuple[Any, Any], centre: float | None) -> Any:
    """SSIM's contrast-structure map of one level; with ``centre`` (the last level, whose
    statistics are about the reference's mean) times the luminance map."""
    c1, c2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2
    mu_r, var_r = windowed
    if centre is not None:
        dist, ref = dist - centre, ref - centre
    window = gaussian_taps(WINDOW, WINDOW_SIGMA)
    mu_d, var_d = local_moments(dist, window)
    cov = filter_valid(dist * ref, window) - mu_d * mu_r
    cs = (2.0 * cov + c2) / (var_d + var_r + c2)
    if centre is None:
        return cs
    mu_d, mu_r = mu_d + centre, mu_r + centre
    return (2.0 * mu_d * mu_r + c1) / (mu_d * mu_d + mu_r * mu_r + c1) * cs


def iw_ssim_against(features: ReferenceFeatures, distorted: Any) -> float:
    """IW-SSIM of ``distorted`` (1×1×H×W in [0, 1]) against the reference of ``features``."""
    levels = _pyramid(distorted * PEAK)
    last = len(levels) - 1
    pooled = []
    for level, (dist, ref) in enumerate(zip(levels, features.levels, strict=True)):
        if level == last:  # in float64, as the reference's low-pass level
            quality = _quality(dist.double(), ref, features.windowed[level], features.centre)
            pooled.append(quality.double().mean())
            continue
        quality = _quality(dist, ref, features.windowed[level], None)
        information = _information(dist, ref, features.blocks[level], features.gsm[level])
        weight = information[..., CROP:-CROP, CROP:-CROP].double()
        pooled.append((quality.double() * weight).sum() / weight.sum())
    total = sum(WEIGHTS)
    score = 1.0
    for value, weight in zip(pooled, WEIGHTS, strict=True):
        score *= abs(float(value)) ** (weight / total)
    return score


def iw_ssim(reference: Any, distorted: Any) -> float:
    """IW-SSIM of ``distorted`` against ``reference`` (1×1×H×W in [0, 1], sides ≥ 161)."""
    return iw_ssim_against(reference_features(reference), distorted)
