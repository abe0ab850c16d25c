"""Pixel-domain VIF (Sheikh & Bovik 2006), written here with separable Gaussian windows.

The definition is the one piq's ``vif_p`` and IQA-pytorch's ``VIFs`` compute (and the JPEG AI
framework runs): four scales with Gaussian windows of 17, 9, 5 and 3 taps (σ = taps / 5), each
scale after the first low-passed with its own window and decimated by two, local statistics over
the 'valid' region, σ_n² = 2 on the 0–255 scale, the same guards for flat windows (ε = 1e-8) and
the ratio of the summed information. It is written here rather than called from piq because
piq's 2-D k×k convolutions were ~70 % of the JPEG AI set's VIF time; the separable filters of
:mod:`licbench.metrics.separable` give the same values up to float32 rounding (tested against
IQA-pytorch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from licbench.metrics.separable import filter_valid, gaussian_taps, local_moments

EPS = 1e-8
#: variance of the visual noise on the 0–255 scale (the published pixel-domain VIF's 2)
SIGMA_N_SQ = 2.0
SCALES = 4


@dataclass(frozen=True)
class Scale:
    """The reference at one scale: the plane (centred on mid-grey, 0–255 scale), its local mean
    and variance (flat windows set to 0, and marked), and the information it carries,
    Σ log10(1 + σ²/σ_n²)."""

    plane: Any
    mean: Any
    variance: Any
    #: where the variance is below ε (a flat window)
    flat: Any
    information: float


def _window(scale: int) -> tuple[float, ...]:
    size = 2 ** (SCALES - scale) + 1
    return gaussian_taps(size, size / 5.0)


def _pyramid(image: Any) -> list[Any]:
    """The four scales, centred on mid-grey: variances are shift-invariant, and E[x²] − μ² in
    float32 cancels ~16× less on values within ±128 than on 0–255 (closer to the float64 value,
    tested). Each scale after the first is low-passed with its own window and decimated by 2."""
    plane = image * 255.0 - 128.0
    planes = [plane]
    for scale in range(1, SCALES):
        plane = filter_valid(plane, _window(scale))[:, :, ::2, ::2]
        planes.append(plane)
    return planes


def reference_scales(reference: Any) -> list[Scale]:
    """The reference's four :class:`Scale` s (1×1×H×W float32 in [0, 1])."""
    import torch

    scales = []
    for scale, plane in enumerate(_pyramid(reference)):
        mean, variance = local_moments(plane, _window(scale))
        flat = variance < EPS
        variance = variance.masked_fill(flat, 0.0)
        carried = torch.log10(1.0 + variance / SIGMA_N_SQ).sum(dtype=torch.float64)
        scales.append(Scale(plane, mean, variance, flat, float(carried)))
    return scales


def vif_against(reference: list[Scale], distorted: Any) -> float:
    """VIF of ``distorted`` (1×1×H×W float32 in [0, 1]) against :func:`reference_scales`."""
    import torch

    information = torch.zeros((), dtype=torch.float64)
    for scale, (ref, dist) in enumerate(zip(reference, _pyramid(distorted), strict=True)):
        mu_d, var_d = local_moments(dist, _window(scale))
        cov = filter_valid(ref.plane * dist, _window(scale)) - ref.mean * mu_d

        gain = cov / (ref.variance + EPS)
        noise = (var_d - gain * cov).clamp_min_(EPS)  # (the reference sets every value ≤ ε to ε)
        # where the reference's or the distorted window is flat, or the gain is negative, the
        # reference code sets the gain to 0 (and the noise to var_d or 0): those windows add
        # log10(1) = 0 whatever the noise, so only the gain is masked (the same sum, bit for bit)
        gain.masked_fill_(ref.flat | (var_d < EPS) | (gain < 0), 0.0)
        kept = torch.log10(1.0 + gain * gain * ref.variance / (noise + SIGMA_N_SQ))
        information = information + kept.sum(dtype=torch.float64)
    carried = 0.0
    for ref in reference:  # (summed in order, as the reference code does)
        carried += ref.information
    return float((information + EPS) / (carried + EPS))


def vif_pixel(reference: Any, distorted: Any) -> float:
    """VIF of ``distorted`` against ``reference`` (1×1×H×W float32 in [0, 1]); 1 for identity."""
    return vif_against(reference_scales(reference), distorted)
