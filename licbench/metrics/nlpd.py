"""NLPD (Laparra et al. 2016), written here with separable filters (OpenCV's).

The definition is IQA-pytorch's ``NLPD`` (what the JPEG AI framework runs): a six-level Laplacian
pyramid with the separable 5-tap kernel (0.05, 0.25, 0.4, 0.25, 0.05) on reflected borders
(low-pass and decimate by two; re-expand by bilinear ×2 with aligned corners, filter again,
nearest-neighbour resize where an odd side leaves the expansion one sample short), each band
divided by σ_k plus its own 4-neighbour weighted absolute value (IQA-pytorch's per-level
constants), and the mean over levels of the root mean squared difference of the two images'
normalised bands.

Written here because the library's depthwise 5×5 and 3×3 ``conv2d`` calls were ~85 % of its time
(oneDNN on one-channel planes with one thread, see :mod:`licbench.metrics.separable`); separable
passes of the same taps give the library's values to float32 rounding (tested). The reference's
pyramid is computed once per reference image (:func:`nlpd_against`).
"""

from __future__ import annotations

import math
from typing import Any

from licbench.metrics.separable import filter_reflected

LEVELS = 6
#: the 1-D factor of IQA-pytorch's 5×5 LAPLACIAN_FILTER (its outer product)
LOWPASS = (0.05, 0.25, 0.4, 0.25, 0.05)
#: σ_k per level
SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)
#: per level, the weights of the (up, left, right, down) neighbours' absolute band values
NEIGHBOURS = (
    (0.1011, 0.1493, 0.1460, 0.1015),
    (0.0757, 0.1986, 0.1846, 0.0837),
    (0.0477, 0.2138, 0.2243, 0.0467),
    (0.0, 0.2503, 0.2616, 0.0),
    (0.0, 0.2598, 0.2552, 0.0),
    (0.0, 0.2215, 0.0717, 0.0),
)


def _lowpass(image: Any, stride: int) -> Any:
    """The 5×5 kernel over ``image`` reflected by 2 on each side, every ``stride``-th sample."""
    return filter_reflected(image, LOWPASS, stride)


def _local_amplitude(band: Any, weights: tuple[float, float, float, float]) -> Any:
    """Σ weight · |neighbour| over the up, left, right and down neighbours (reflected borders)."""
    from torch.nn import functional

    padded = functional.pad(band.abs(), (1, 1, 1, 1), mode="reflect")
    height, width = band.shape[-2:]
    offsets = ((0, 1), (1, 0), (1, 2), (2, 1))  # (row, column) in the padded plane
    total = None
    for (row, col), weight in zip(offsets, weights, strict=True):
        if weight == 0.0:
            continue
        term = padded[..., row : row + height, col : col + width] * weight
        total = term if total is None else total.add_(term)
    return total


def normalised_pyramid(images: Any) -> list[Any]:
    """The six divisively normalised Laplacian bands of N×1×H×W ``images`` (sides ≥ 64)."""
    from torch.nn import functional

    bands = []
    current = images
    for level in range(LEVELS):
        low = _lowpass(current, 2)
        up = functional.interpolate(low, scale_factor=2, mode="bilinear", align_corners=True)
        up = _lowpass(up, 1)
        if up.shape != current.shape:
            up = functional.interpolate(up, size=current.shape[-2:])  # nearest, as the library
        band = current - up
        bands.append(band / (SIGMAS[level] + _local_amplitude(band, NEIGHBOURS[level])))
        current = low
    return bands


def nlpd_against(reference_bands: list[Any], distorted: Any) -> float:
    """NLPD of the 1×1×H×W plane ``distorted`` against the reference's
    :func:`normalised_pyramid` (computed once per reference image)."""
    distances = []
    for ref, dist in zip(reference_bands, normalised_pyramid(distorted), strict=True):
        difference = (ref - dist).double()
        distances.append(math.sqrt(float((difference * difference).mean())))
    return math.fsum(distances) / len(distances)


def nlpd(reference: Any, distorted: Any) -> float:
    """NLPD of two 1×1×H×W planes in [0, 1]; 0 for identity, lower is better."""
    return nlpd_against(normalised_pyramid(reference), distorted)
