"""MS-SSIM of one plane (Wang et al. 2003) with separable windows (OpenCV's filters).

The definition is pytorch-msssim's ``ms_ssim`` (the JPEG AI framework's ``msssim_torch``): an
11-tap Gaussian window (σ = 1.5) over the 'valid' region, five scales weighted (0.0448, 0.2856,
0.3001, 0.2363, 0.1333), the contrast-structure means of the first four and the SSIM mean of the
last (each clipped at 0), 2×2 average pooling between scales with one sample of zero padding on
each side of an odd dimension. Written here because pytorch-msssim's depthwise ``conv2d`` passes
cost 4–20 ms each on a one-channel plane with one thread, where :mod:`licbench.metrics.separable`
needs ~1 ms, and because the luminance term is needed at the last scale only (the library
computes the full SSIM map at all five). The statistics are taken as the library takes them
(not about the mean, as VIF and IW-SSIM here are): with its float32-normalised taps, whose sum
is not exactly 1, centring would move values by up to ~1.5e-6 from the library's, which is the
reference here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from licbench.metrics.separable import filter_valid

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2 = 0.01, 0.03
WINDOW, WINDOW_SIGMA = 11, 1.5


@cache
def window_taps() -> tuple[float, ...]:
    """The 11 Gaussian taps as pytorch-msssim makes them: normalised in float32.

    Their sum is 1 only to float32 precision, which on the 0–1023 scale moves E[x²] − μ² by
    ~1e-2 and MS-SSIM by up to ~1e-6; these taps keep the library's (and JPEG AI's) values.
    """
    import torch

    coords = torch.arange(WINDOW, dtype=torch.float32) - WINDOW // 2
    taps = torch.exp(-(coords**2) / (2 * WINDOW_SIGMA**2))
    return tuple((taps / taps.sum()).tolist())


@dataclass(frozen=True)
class Scale:
    """One plane at one scale with its local statistics: the mean, its square and the variance
    over the window (the reference's are computed once per reference image)."""

    plane: Any
    mean: Any
    mean_sq: Any
    variance: Any


def _scale(plane: Any) -> Scale:
    mean = filter_valid(plane, window_taps())
    mean_sq = mean * mean
    return Scale(plane, mean, mean_sq, filter_valid(plane * plane, window_taps()) - mean_sq)


def _pyramid(x: Any) -> list[Any]:
    """The five scales: 2×2 average pooling, one sample of zero padding on an odd side."""
    from torch.nn import functional

    if min(x.shape[-2:]) < (WINDOW - 1) * 2 ** (len(WEIGHTS) - 1) + 1:
        raise ValueError(f"MS-SSIM needs sides of at least 161 pixels, got {tuple(x.shape)}")
    scales = [x]
    for _ in WEIGHTS[1:]:
        padding = (x.shape[-2] % 2, x.shape[-1] % 2)
        x = functional.avg_pool2d(x, kernel_size=2, padding=padding)
        scales.append(x)
    return scales


def reference_scales(x: Any) -> list[Scale]:
    """The reference's five :class:`Scale` s (1×1×H×W on [0, peak], sides ≥ 161)."""
    return [_scale(plane) for plane in _pyramid(x)]


def _mean_map(x: Scale, y: Scale, peak: float, luminance: bool) -> float:
    """The mean contrast-structure map of two planes, or with ``luminance`` the mean SSIM map
    (the luminance term is used at the last scale only: it is not computed before)."""
    import torch

    c1, c2 = (K1 * peak) ** 2, (K2 * peak) ** 2
    mu_xy = x.mean * y.mean
    cov = filter_valid(x.plane * y.plane, window_taps()) - mu_xy
    cs = (2.0 * cov + c2) / (x.variance + y.variance + c2)
    if luminance:
        cs *= (2.0 * mu_xy + c1) / (x.mean_sq + y.mean_sq + c1)
    return float(cs.mean(dtype=torch.float64))


def ms_ssim_against(reference: list[Scale], y: Any, peak: float) -> float:
    """MS-SSIM of the 1×1×H×W plane ``y`` against the reference's :func:`reference_scales`."""
    score = 1.0
    last = len(WEIGHTS) - 1
    for level, (x, plane, weight) in enumerate(zip(reference, _pyramid(y), WEIGHTS, strict=True)):
        value = max(_mean_map(x, _scale(plane), peak, luminance=level == last), 0.0)
        score *= value**weight
    return score


def ms_ssim(x: Any, y: Any, peak: float) -> float:
    """MS-SSIM of two 1×1×H×W float planes on [0, ``peak``] (sides ≥ 161: five 11-tap scales)."""
    return ms_ssim_against(reference_scales(x), y, peak)
