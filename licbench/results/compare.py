"""One comparison of two curves: the BD-rate together with why it may be missing or fragile.

Every BD-rate licbench shows (against the anchor, against a published reference, in the CI gate,
in the ROI page) comes from :func:`compare`, so each carries the same things: the value (NaN
when it cannot be computed), the warnings the computation raised (little overlap, too few
points), the error that stopped it, and the quality range both curves reach — the range the
number describes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from licbench.metrics.bdrate import BDRateWarning, bd_rate
from licbench.metrics.derived import bd_series
from licbench.results.curve import Curve
from licbench.results.series import higher_is_better


@dataclass
class BDComparison:
    metric: str
    #: the series the number is computed on (MS-SSIM: its dB scale)
    series: str
    method: str
    #: percent; NaN when it cannot be computed
    value: float = math.nan
    warnings: list[str] = field(default_factory=list)
    #: why there is no number (a curve without the metric, too few points, ...)
    error: str | None = None
    #: [low, high] of the series that both curves reach; None when they do not overlap
    overlap: tuple[float, float] | None = None

    @property
    def ok(self) -> bool:
        return not math.isnan(self.value)

    def messages(self) -> list[str]:
        """The error (if any) then the warnings: everything a reader should see beside it."""
        return ([self.error] if self.error else []) + self.warnings


def compare(anchor: Curve, test: Curve, metric: str, method: str = "pchip") -> BDComparison:
    """BD-rate (%) of ``test`` against ``anchor`` on ``metric``'s BD series."""
    series = bd_series(metric)
    result = BDComparison(metric, series, method)
    direction = higher_is_better(metric)
    if direction is None:
        result.error = f"unknown metric {metric!r}: its direction is not registered"
        return result
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BDRateWarning)
        try:
            result.value = bd_rate(
                anchor.to_dict(), test.to_dict(), series, method, higher_is_better=direction
            )
        except (ValueError, TypeError) as exc:
            result.error = str(exc)
    result.warnings = [str(w.message) for w in caught]
    ranges = [anchor.value_range(series), test.value_range(series)]
    if all(ranges):
        low = max(r[0] for r in ranges)  # type: ignore[index]
        high = min(r[1] for r in ranges)  # type: ignore[index]
        result.overlap = (low, high) if high > low else None
    return result


__all__ = ["BDComparison", "compare"]
