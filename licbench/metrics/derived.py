"""Series derived from a measured metric (MS-SSIM in decibels), declared once.

A derived series is not measured: it is a fixed transform of a stored metric, so it never goes
into a job key. Each declaration says what it comes from, how, which direction is better and
whether BD-rates of the source metric are computed on it (MS-SSIM's are, on the dB scale, as the
field reports them). Every consumer — curve building, BD-rate, plots, tables, the CI gate, ROI —
asks this table; none tests a metric's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from licbench.metrics.ms_ssim import to_decibels
from licbench.registry import Registry


@dataclass(frozen=True)
class DerivedSeries:
    name: str
    #: the stored metric it is computed from
    source: str
    #: value of the source metric → value of this series (NaN stays NaN)
    transform: Callable[[float], float]
    higher_is_better: bool
    unit: str
    label: str
    description: str
    #: BD-rates "of the source metric" are computed on this series
    bd_scale: bool = False

    def __call__(self, value: float) -> float:
        return float(self.transform(value))


DERIVED: Registry[DerivedSeries] = Registry("derived series")

DERIVED.register(
    "ms-ssim-rgb-db",
    DerivedSeries(
        "ms-ssim-rgb-db",
        "ms-ssim-rgb",
        to_decibels,
        True,
        "dB",
        "MS-SSIM RGB (dB)",
        "−10·log10(1 − MS-SSIM RGB) of the mean MS-SSIM at each point",
        bd_scale=True,
    ),
)


def derived_from(metric: str) -> list[DerivedSeries]:
    """The series derived from ``metric``, in registration order."""
    return [DERIVED.get(name) for name in DERIVED.names() if DERIVED.get(name).source == metric]


def bd_series(metric: str) -> str:
    """The series on which BD-rates of ``metric`` are computed (itself unless declared)."""
    for series in derived_from(metric):
        if series.bd_scale:
            return series.name
    return metric


def series_names(metrics: list[str] | tuple[str, ...]) -> list[str]:
    """Every series a curve of ``metrics`` carries: each metric, then what derives from it."""
    names: list[str] = []
    for metric in metrics:
        names.append(metric)
        names.extend(series.name for series in derived_from(metric))
    return names


def transform_of(name: str) -> tuple[str, Callable[[float], float]] | None:
    """``(source, transform)`` when ``name`` is a derived series, else None."""
    if name in DERIVED:
        series = DERIVED.get(name)
        return series.source, series
    return None


__all__ = ["DERIVED", "DerivedSeries", "bd_series", "derived_from", "series_names", "transform_of"]
