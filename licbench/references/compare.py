"""A run's codecs against published references: the summary entries and what a report draws.

:func:`reference_summary` is what ``summary.json`` gets (called by the report outputs):

``references``
    ``{name: CompressAI-format curve with provenance}`` for every ``--reference`` of the run.
``bd_rate_references``
    ``{reference: {metric: {codec: BD-rate %}}}``, every codec of the run against every reference,
    for each run metric the reference has (MS-SSIM on its dB scale, as for the anchor). NaN
    (``null`` in JSON) where the curves do not overlap.
``bd_rate_references_notes``
    ``{"method": ..., "warnings": [...]}``: the interpolation, and why a number is missing or
    should be read with care (little overlap, a reference measured on other images).

:func:`reference_series` and :func:`reference_bd_rows` turn a summary into what a report draws:
one RD series per reference and one table row per (reference, codec).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from licbench.metrics import METRICS
from licbench.metrics.bdrate import BDRateWarning, _curve_from_results, bd_rate
from licbench.references import load_reference, reference_info
from licbench.reports.analysis import BD_CURVE


def _curve_key(metric: str) -> str:
    # the same table the anchor's BD-rates use (MS-SSIM on its dB scale)
    return BD_CURVE.get(metric, metric)


def _has_metric(curve: Mapping[str, Any], curve_key: str) -> bool:
    try:
        rates, _ = _curve_from_results(curve, curve_key, "reference")
    except ValueError:
        return False
    return len(rates) > 0


def dataset_warning(reference: str, dataset: str | None) -> str | None:
    """Why BD-rates of a run on ``dataset`` against ``reference`` compare different images."""
    info = reference_info(reference)
    if dataset is not None and info.dataset and info.dataset == dataset:
        return None
    where = f"this run is on {dataset!r}" if dataset else "the run's dataset is unknown"
    return (
        f"{reference} was measured on {info.dataset_description}; {where}: its BD-rates compare "
        "different images"
    )


def reference_bd_rates(
    curves: Mapping[str, Mapping[str, Any]],
    references: Sequence[str],
    metrics: Sequence[str],
    method: str = "pchip",
    dataset: str | None = None,
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Any]]:
    """BD-rate (%) of every codec curve against every reference: (table, notes)."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    notes: dict[str, Any] = {"method": method, "warnings": []}
    for name in references:
        reference = load_reference(name)
        table[name] = {}
        mismatch = dataset_warning(name, dataset)
        if mismatch:
            notes["warnings"].append(mismatch)
        for metric in metrics:
            curve_key = _curve_key(metric)
            if not _has_metric(reference, curve_key):
                continue
            direction = METRICS.get(metric).higher_is_better
            table[name][metric] = {}
            for codec, entry in curves.items():
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", BDRateWarning)
                    try:
                        value = bd_rate(
                            reference,
                            entry,
                            metric=curve_key,
                            method=method,
                            higher_is_better=direction,
                        )
                    except ValueError as exc:
                        value = math.nan
                        notes["warnings"].append(f"{codec} vs {name} {metric}: {exc}")
                notes["warnings"].extend(f"{codec} vs {name} {metric}: {w.message}" for w in caught)
                table[name][metric][codec] = value
    return table, notes


def reference_summary(
    curves: Mapping[str, Mapping[str, Any]],
    references: Sequence[str],
    metrics: Sequence[str],
    method: str = "pchip",
    dataset: str | None = None,
) -> dict[str, Any]:
    """The three summary.json entries for a run's references (see the module docstring)."""
    table, notes = reference_bd_rates(curves, references, metrics, method, dataset)
    return {
        "references": {name: load_reference(name) for name in references},
        "bd_rate_references": table,
        "bd_rate_references_notes": notes,
    }


def reference_series(summary: Mapping[str, Any], curve_key: str) -> list[dict[str, Any]]:
    """One RD series per reference of a summary, for a plot of ``curve_key``.

    ``curve_key`` is what the plot's y axis shows (``"psnr-rgb"``, ``"ms-ssim-rgb-db"``, ...).
    Each item: ``name``, ``label`` (for a legend), ``bpp`` and ``values`` (same length, by rate),
    ``dataset`` (the test set in words) and ``caveat`` (non-empty when the reference was measured
    on other images than the run). References without that metric are left out.
    """
    series = []
    dataset = summary.get("dataset")
    for name, curve in (summary.get("references") or {}).items():
        try:
            bpp, values = _curve_from_results(curve, curve_key, name)
        except ValueError:
            continue
        if not bpp:
            continue
        order = sorted(range(len(bpp)), key=bpp.__getitem__)
        info = reference_info(name)
        series.append(
            {
                "name": name,
                "label": f"{name} (published)",
                "bpp": [bpp[i] for i in order],
                "values": [values[i] for i in order],
                "dataset": info.dataset_description,
                "caveat": dataset_warning(name, dataset) or "",
            }
        )
    return series


def reference_bd_rows(summary: Mapping[str, Any], metric: str) -> list[dict[str, Any]]:
    """Rows ``{reference, codec, metric, bd_rate, method}`` of a summary's reference BD-rates.

    ``bd_rate`` is a float in percent, or None where no number could be computed (see
    ``summary["bd_rate_references_notes"]["warnings"]`` for why).
    """
    method = (summary.get("bd_rate_references_notes") or {}).get("method", "")
    rows = []
    for reference, per_metric in (summary.get("bd_rate_references") or {}).items():
        for codec, value in (per_metric.get(metric) or {}).items():
            number = None if value is None or math.isnan(value) else float(value)
            rows.append(
                {
                    "reference": reference,
                    "codec": codec,
                    "metric": metric,
                    "bd_rate": number,
                    "method": method,
                }
            )
    return rows


__all__ = [
    "dataset_warning",
    "reference_bd_rates",
    "reference_bd_rows",
    "reference_series",
    "reference_summary",
]
