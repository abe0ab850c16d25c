"""The metric registry: the one table of quality metrics and their directions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from licbench.core.availability import Availability
from licbench.metrics import lpips as _lpips
from licbench.metrics import yuv10 as _yuv10
from licbench.metrics.base import Metric, psnr_ceiling
from licbench.metrics.ms_ssim import MIN_SIDE as MS_SSIM_MIN_SIDE
from licbench.metrics.ms_ssim import ms_ssim_rgb
from licbench.metrics.psnr import psnr_rgb, psnr_y
from licbench.registry import Registry

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class OptionalMetric(Metric):
    """A metric that needs something that may be missing (weights, a package).

    ``check`` says whether it can be computed here, and if not why and how to fix it; a run asks
    before starting, so a missing file is one clear message rather than a failed job per image.
    """

    check: Callable[[], Availability] | None = None

    def available(self) -> Availability:
        return self.check() if self.check is not None else Availability.yes()


METRICS: Registry[Metric] = Registry("metric", "licbench.metrics")

METRICS.register(
    "psnr-rgb",
    Metric(
        "psnr-rgb",
        True,
        "dB",
        "PSNR over R, G and B of the 8-bit images",
        psnr_rgb,
        version="2",  # 2: at most 60 dB (lossless: inf before)
        label="PSNR RGB (dB)",
        ceiling=psnr_ceiling(8),
    ),
)
METRICS.register(
    "ms-ssim-rgb",
    Metric(
        "ms-ssim-rgb",
        True,
        "",
        "MS-SSIM on RGB, pytorch-msssim, data range 255",
        ms_ssim_rgb,
        version="2",  # 2: CompressAI's tensor layout (values moved by <= 1.8e-7)
        label="MS-SSIM RGB",
        undefined=f"MS-SSIM needs at least {MS_SSIM_MIN_SIDE} px on the short side",
        needs_torch=True,
    ),
)
METRICS.register(
    "psnr-y",
    Metric(
        "psnr-y",
        True,
        "dB",
        "PSNR of the BT.709 luma (0.2126 R + 0.7152 G + 0.0722 B) of the 8-bit RGB images",
        psnr_y,
        version="2",  # 2: at most 60 dB (lossless: inf before)
        ceiling=psnr_ceiling(8),
    ),
)
METRICS.register(
    "lpips-alex",
    OptionalMetric(
        "lpips-alex",
        False,
        "",
        "LPIPS v0.1, AlexNet backbone (lpips package), RGB scaled to [-1, 1]; lower is better",
        _lpips.lpips_alex,
        label="LPIPS (AlexNet)",
        check=_lpips.availability,
        needs_torch=True,
    ),
)

#: metrics computed by a run unless told otherwise (LPIPS is opt-in: --metrics ...,lpips-alex)
DEFAULT_METRICS = ("psnr-rgb", "ms-ssim-rgb")

# -- the JPEG AI set, SSIMULACRA 2, Butteraugli and metric groups (declared in groups.py) --------
from licbench.metrics import groups as _groups  # noqa: E402

for _metric in _groups.jpeg_ai_metrics(OptionalMetric):
    METRICS.register(_metric.name, _metric)
del _metric
METRIC_GROUPS = _groups.METRIC_GROUPS
JPEG_AI_HEADLINE = _groups.JPEG_AI_HEADLINE
expand_metric_names = _groups.expand_metric_names
# -- end of the JPEG AI block ---------------------------------------------------------------------


def metric_availability(name: str) -> Availability:
    """Whether metric ``name`` can be computed here (unknown names raise the registry's error)."""
    metric = METRICS.get(name)
    check = getattr(metric, "available", None)
    return check() if callable(check) else Availability.yes()


def measure(names: Sequence[str], original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """The metrics ``names`` of ``decoded`` against ``original`` (HxWx3 uint8), one after the
    other: what a job computes. Neither image may change during the call (the JPEG AI metrics'
    10-bit conversions are checked once per image, not once per metric)."""
    with _yuv10.unchanged():
        return {name: METRICS.get(name)(original, decoded) for name in names}


def column_name(metric: str) -> str:
    """The CSV/SQL column of a metric: ``psnr-rgb`` → ``psnr_rgb``."""
    return metric.replace("-", "_")


__all__ = [
    "DEFAULT_METRICS",
    "JPEG_AI_HEADLINE",
    "METRICS",
    "METRIC_GROUPS",
    "Metric",
    "OptionalMetric",
    "column_name",
    "expand_metric_names",
    "measure",
    "metric_availability",
]
