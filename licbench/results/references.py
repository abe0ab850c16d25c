"""A run's codecs against published curves: BD-rates and the caveats that go with them.

The curves themselves come from :mod:`licbench.references` (a room above this one), which hands
them down as :class:`ReferenceCurve`: the curve plus the test set it was measured on, so a
BD-rate against a curve measured on other images says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from licbench.metrics.derived import bd_series
from licbench.results.compare import compare
from licbench.results.curve import Curve
from licbench.results.summary import ReferenceComparison


@dataclass(frozen=True)
class ReferenceCurve:
    name: str
    curve: Curve
    #: the licbench dataset it was measured on ("kodak"), "" when licbench ships no such set
    dataset: str
    #: the test set in words, as the source names it
    dataset_description: str

    def dataset_warning(self, dataset: str | None) -> str | None:
        """Why BD-rates of a run on ``dataset`` against this curve compare different images."""
        if dataset is not None and self.dataset and self.dataset == dataset:
            return None
        where = f"this run is on {dataset!r}" if dataset else "the run's dataset is unknown"
        return (
            f"{self.name} was measured on {self.dataset_description}; {where}: its BD-rates "
            "compare different images"
        )


def compare_references(
    curves: Mapping[str, Curve],
    references: Sequence[ReferenceCurve],
    metrics: Sequence[str],
    method: str = "pchip",
    dataset: str | None = None,
) -> ReferenceComparison:
    """BD-rate (%) of every codec curve against every reference, for each run metric the
    reference reports (on the metric's BD series, as against the anchor)."""
    result = ReferenceComparison(method=method)
    for reference in references:
        result.curves[reference.name] = reference.curve
        table: dict[str, dict[str, float]] = {}
        result.bd[reference.name] = table
        mismatch = reference.dataset_warning(dataset)
        if mismatch:
            result.warnings.append(mismatch)
        for metric in metrics:
            if not reference.curve.has(bd_series(metric)):
                continue
            table[metric] = {}
            for codec, curve in curves.items():
                bd = compare(reference.curve, curve, metric, method)
                prefix = f"{codec} vs {reference.name} {metric}: "
                result.warnings.extend(prefix + m for m in bd.messages())
                table[metric][codec] = bd.value
    return result


__all__ = ["ReferenceCurve", "compare_references"]
