"""Writes a run's outputs from the store: per_image.csv, summary.json and report.html.

Reads only: the manifest, the stored records and crops, and the published reference curves the
caller hands in (references live in a room beside this one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.rate_target import RULE, chosen_job_keys
from licbench.bench.store import Store
from licbench.core.files import atomic_write
from licbench.metrics import column_name
from licbench.metrics.derived import bd_series, series_names
from licbench.reports.html import render_report
from licbench.reports.plots import rd_plot
from licbench.reports.visual import visual_section
from licbench.results import series as shown
from licbench.results.build import BuiltRun, build_run
from licbench.results.curve import Curve
from licbench.results.references import ReferenceCurve
from licbench.results.summary import RunSummary


def _plots(summary: RunSummary, metrics: list[str]) -> list[dict[str, str]]:
    """One RD plot per metric of the run, on its BD series (MS-SSIM in dB), plus LPIPS."""
    keys = [bd_series(m) for m in metrics]
    if "lpips-alex" not in keys and any(c.has("lpips-alex") for c in summary.codecs.values()):
        keys.append("lpips-alex")
    references: dict[str, Curve] = summary.references.curves if summary.references else {}
    plots = []
    for key in keys:
        curves = list(summary.codecs.values()) + list(references.values())
        if not any(curve.has(key) for curve in curves):
            continue
        plots.append(
            {
                "metric": key,
                "label": shown.label(key),
                "uri": rd_plot(
                    summary.codecs,
                    key,
                    shown.label(key),
                    summary.anchor,
                    references,
                    lower_is_better=shown.higher_is_better(key) is False,
                ),
            }
        )
    return plots


def build(
    manifest: RunManifest, store: Store, references: Sequence[ReferenceCurve] = ()
) -> BuiltRun:
    """A run as typed results, from its manifest and the store."""
    records = store.get(manifest.jobs)
    targets = store.get(chosen_job_keys(manifest.target_choices)) if manifest.target_bpp else None
    return build_run(manifest, records, references, targets, RULE)


def write_outputs(
    folder: Path, store_path: Path | None = None, references: Sequence[ReferenceCurve] = ()
) -> RunSummary:
    """(Re)build every output of the run in ``folder`` from its manifest and the store."""
    manifest = RunManifest.load(folder)
    with Store(store_path or manifest.store) as store:
        built = build(manifest, store, references)
        visual = visual_section(manifest, store)
    summary, frame = built.summary, built.frame
    atomic_write(folder / "per_image.csv", frame.drop(columns=["job_key"]).to_csv(index=False))
    summary.write(folder / "summary.json")
    errors = frame[frame["error"] != ""].to_dict("records") if not frame.empty else []
    # (frame column or results key, label, decimals) of the per-image and codec tables
    curve_columns = [(k, shown.label(k), shown.digits(k)) for k in series_names(manifest.metrics)]
    metric_columns = [(column_name(k), label, digits) for k, label, digits in curve_columns]
    references_shown = summary.references
    context: dict[str, Any] = {
        "dataset": manifest.dataset,
        "images": manifest.images,
        "curves": summary.codecs,
        "bd": summary.bd_rate,
        "bd_metrics": manifest.metrics,
        "job_count": summary.jobs,
        "failed_count": summary.jobs_failed,
        "errors": errors,
        "per_image": frame.to_dict("records"),
        "environment": manifest.environment,
        "environment_json": json.dumps(manifest.environment, indent=1),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "plots": _plots(summary, list(manifest.metrics)),
        "references": references_shown.curves if references_shown else {},
        "bd_references": references_shown.rows() if references_shown else [],
        "bd_reference_notes": references_shown.warnings if references_shown else [],
        "latency": summary.latency,
        "targets": summary.target_bpp,
        "visual": visual,
        "metric_columns": metric_columns,
        "curve_columns": curve_columns,
        "metric_label": shown.label,
    }
    atomic_write(folder / "report.html", render_report(context))
    return summary
