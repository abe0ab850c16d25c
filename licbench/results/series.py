"""How a series (a metric or a derived series) is shown: its label, decimals and direction.

The facts come from their declarations — :data:`licbench.metrics.METRICS` and
:data:`licbench.metrics.derived.DERIVED` — so a new metric or derived series is shown correctly
without a line here.
"""

from __future__ import annotations

from licbench.metrics import METRICS
from licbench.metrics.derived import DERIVED


def _unit(key: str) -> str | None:
    if key in DERIVED:
        return DERIVED.get(key).unit
    if key in METRICS:
        return METRICS.get(key).unit
    return None


def label(key: str) -> str:
    """A header or axis label: ``psnr-rgb`` → ``PSNR RGB (dB)``; unknown keys as they are."""
    if key in DERIVED:
        return DERIVED.get(key).label
    if key in METRICS:
        return METRICS.get(key).display_label
    return key


def digits(key: str) -> int:
    """Decimals to show: 2 for decibels, 4 otherwise."""
    return 2 if _unit(key) == "dB" else 4


def span(low: float, high: float, key: str) -> str:
    """A range of ``key``'s values as shown beside a BD value (``25.97–30.62 dB``)."""
    places = digits(key)
    unit = _unit(key)
    return f"{low:.{places}f}–{high:.{places}f}" + (f" {unit}" if unit else "")


def higher_is_better(key: str) -> bool | None:
    """The declared direction of a metric or derived series; None when it is unknown."""
    if key in DERIVED:
        return DERIVED.get(key).higher_is_better
    if key in METRICS:
        return METRICS.get(key).higher_is_better
    return None


__all__ = ["digits", "higher_is_better", "label"]
