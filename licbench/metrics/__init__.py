"""The metric registry: the one table of quality metrics and their directions."""

from __future__ import annotations

from licbench.metrics.base import Metric
from licbench.metrics.ms_ssim import ms_ssim_rgb
from licbench.metrics.psnr import psnr_rgb
from licbench.registry import Registry

METRICS: Registry[Metric] = Registry("metric", "licbench.metrics")

METRICS.register(
    "psnr-rgb",
    Metric("psnr-rgb", True, "dB", "PSNR over R, G and B of the 8-bit images", psnr_rgb),
)
METRICS.register(
    "ms-ssim-rgb",
    Metric("ms-ssim-rgb", True, "", "MS-SSIM on RGB, pytorch-msssim, data range 255", ms_ssim_rgb),
)

#: metrics computed by a run unless told otherwise
DEFAULT_METRICS = ("psnr-rgb", "ms-ssim-rgb")


def column_name(metric: str) -> str:
    """The CSV/SQL column of a metric: ``psnr-rgb`` → ``psnr_rgb``."""
    return metric.replace("-", "_")


__all__ = ["DEFAULT_METRICS", "METRICS", "Metric", "column_name"]
