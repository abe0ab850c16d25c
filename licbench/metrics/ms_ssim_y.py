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


def _means(x: Any, y: Any, peak: float, luminance: bool) -> float:
    """The mean contrast-structure map of two 1×1×H×W planes, or with ``luminance`` the mean
    SSIM map (the luminance term is used at the last scale only: it is not computed before)."""
    import torch

    taps = window_taps()
    c1, c2 = (K1 * peak) ** 2, (K2 * peak) ** 2
    mu_x, mu_y = filter_valid(x, taps), filter_valid(y, taps)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = filter_valid(x * x, taps) - mu_xx
    var_y = filter_valid(y * y, taps) - mu_yy
    cov = filter_valid(x * y, taps) - mu_xy
    cs = (2.0 * cov + c2) / (var_x + var_y + c2)
    if luminance:
        cs *= (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    return float(cs.mean(dtype=torch.float64))


def ms_ssim(x: Any, y: Any, peak: float) -> float:
    """MS-SSIM of two 1×1×H×W float planes on [0, ``peak``] (sides ≥ 161: five 11-tap scales)."""
    from torch.nn import functional

    if min(x.shape[-2:]) < (WINDOW - 1) * 2 ** (len(WEIGHTS) - 1) + 1:
        raise ValueError(f"MS-SSIM needs sides of at least 161 pixels, got {tuple(x.shape)}")
    score = 1.0
    for level, weight in enumerate(WEIGHTS):
        if level == len(WEIGHTS) - 1:
            return score * max(_means(x, y, peak, luminance=True), 0.0) ** weight
        score *= max(_means(x, y, peak, luminance=False), 0.0) ** weight
        padding = (x.shape[-2] % 2, x.shape[-1] % 2)
        x = functional.avg_pool2d(x, kernel_size=2, padding=padding)
        y = functional.avg_pool2d(y, kernel_size=2, padding=padding)
    return score
