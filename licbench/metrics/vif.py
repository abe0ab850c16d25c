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

from typing import Any

from licbench.metrics.separable import filter_valid, gaussian_taps

EPS = 1e-8
#: variance of the visual noise on the 0–255 scale (the published pixel-domain VIF's 2)
SIGMA_N_SQ = 2.0
SCALES = 4


def vif_pixel(reference: Any, distorted: Any) -> float:
    """VIF of ``distorted`` against ``reference`` (1×1×H×W float32 in [0, 1]); 1 for identity."""
    import torch

    # centred on mid-grey: variances are shift-invariant, and E[x²] − μ² in float32 cancels
    # ~16× less on values within ±128 than on 0–255 (closer to the float64 value, tested)
    ref = reference * 255.0 - 128.0
    dist = distorted * 255.0 - 128.0
    information = torch.zeros((), dtype=torch.float64)
    reference_information = torch.zeros((), dtype=torch.float64)
    for scale in range(SCALES):
        size = 2 ** (SCALES - scale) + 1
        weight = gaussian_taps(size, size / 5.0)
        if scale > 0:
            ref = filter_valid(ref, weight)[:, :, ::2, ::2]
            dist = filter_valid(dist, weight)[:, :, ::2, ::2]
        mu_r, mu_d = filter_valid(ref, weight), filter_valid(dist, weight)
        var_r = torch.relu(filter_valid(ref * ref, weight) - mu_r * mu_r)
        var_d = torch.relu(filter_valid(dist * dist, weight) - mu_d * mu_d)
        cov = filter_valid(ref * dist, weight) - mu_r * mu_d

        gain = cov / (var_r + EPS)
        noise = var_d - gain * cov
        flat_ref = var_r < EPS
        gain = gain.masked_fill(flat_ref, 0.0)
        noise = torch.where(flat_ref, var_d, noise)
        var_r = var_r.masked_fill(flat_ref, 0.0)
        flat_dist = var_d < EPS
        gain = gain.masked_fill(flat_dist, 0.0)
        noise = noise.masked_fill(flat_dist, 0.0)
        negative = gain < 0
        noise = torch.where(negative, var_d, noise)
        gain = torch.relu(gain)
        noise = noise.clamp_min(EPS)  # (the reference sets every value ≤ ε to ε)

        kept = torch.log10(1.0 + gain * gain * var_r / (noise + SIGMA_N_SQ))
        information = information + kept.sum(dtype=torch.float64)
        reference_information += torch.log10(1.0 + var_r / SIGMA_N_SQ).sum(dtype=torch.float64)
    return float((information + EPS) / (reference_information + EPS))
