"""Writes a run's outputs from the store: per_image.csv, summary.json and report.html.

Reads only: the manifest, the stored records and crops, and the published reference curves the
caller hands in (references live in a room beside this one).
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.rate_target import RULE, chosen_job_keys
from licbench.bench.store import Store
from licbench.core.files import atomic_write
from licbench.datasets.names import printable
from licbench.metrics import column_name
from licbench.metrics.derived import series_names
from licbench.reports.assets import script_json, scripts, styles
from licbench.reports.digest import digest_context
from licbench.reports.html import render_report
from licbench.reports.interactive import report_data
from licbench.reports.viewer_page import PAGE, render_viewer, viewer_data
from licbench.reports.visual import visual_section
from licbench.results import series as shown
from licbench.results.build import CEILING_CONVENTION, BuiltRun, build_run
from licbench.results.references import ReferenceCurve
from licbench.results.summary import RunSummary

_HEADLINES = {
    "mean-curve": "BD-rate of the mean curve",
    "mean": "mean of the per-image BD-rates",
    "median": "median of the per-image BD-rates",
}


def _complexity_context(summary: RunSummary) -> dict[str, Any]:
    """The report's complexity table (its plot is drawn in the page: interactive.py)."""
    figures = summary.complexity
    counted = [c for c in figures.values() if "error" not in c]
    context: dict[str, Any] = {"complexity": figures}
    first = counted[0] if counted else {}
    height, width = (first.get("input") or [0, 0])[:2]
    context.update(
        complexity_input=f"{width}×{height}",
        complexity_counter=first.get("counter", ""),
        complexity_convention=first.get("convention", ""),
        complexity_not_counted=first.get("not_counted", []),
    )
    return context


def _bootstrap_note(summary: RunSummary) -> str:
    for per_codec in summary.bd_rate.per_image.values():
        for stats in per_codec.values():
            return f"{stats.interval}, {stats.resamples} resamples, seed {stats.seed}"
    return "no per-image BD-rates"


def _bd_per_image_csv(summary: RunSummary) -> str:
    """One row per (metric, codec, image): the image's own BD-rate against the anchor, or why
    it has none."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "codec", "anchor", "method", "image", "bd_rate", "left_out"])
    for metric, per_codec in summary.bd_rate.per_image.items():
        for codec, stats in per_codec.items():
            rows = [(image, f"{value:.6f}", "") for image, value in stats.values.items()]
            rows += [(image, "", why) for image, why in stats.left_out.items()]
            for image, value, why in sorted(rows):
                writer.writerow([metric, codec, summary.anchor, summary.method, image, value, why])
    return buffer.getvalue()


#: the per-image columns that hold text (never numbers): the ones a spreadsheet could misread
CSV_TEXT_COLUMNS = ("dataset", "image", "codec", "error", "notes")
#: first characters that make a spreadsheet read a cell as a formula (OWASP: CSV injection)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'``; others as is.

    ``=HYPERLINK(...)`` as a file name must stay a name when per_image.csv is opened in a
    spreadsheet. Only text columns are touched, so ``-3.2`` in a number column stays a number.
    """
    if isinstance(text, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def per_image_csv(frame: Any) -> str:
    """per_image.csv: the frame without job keys, text cells neutralised, names printable."""
    table = frame.drop(columns=["job_key"])
    for column in CSV_TEXT_COLUMNS:
        if column in table:
            table[column] = table[column].map(neutralise)
    return printable(table.to_csv(index=False))


def build(
    manifest: RunManifest, store: Store, references: Sequence[ReferenceCurve] = ()
) -> BuiltRun:
    """A run as typed results, from its manifest and the store."""
    records = store.get(manifest.jobs)
    targets = store.get(chosen_job_keys(manifest.target_choices)) if manifest.target_bpp else None
    checks = store.get_decode_checks(manifest.jobs) if manifest.decode_check else None
    return build_run(manifest, records, references, targets, RULE, checks)


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused for the block (when it was on), then on again.

    Building the outputs makes a few million objects that all stay alive (a record, a table
    row, a curve per job): the collector would walk them again and again, a generation-2 pass
    over every live object each time the survivors grow by a quarter, and find nothing; a
    seventh of the outputs' time at 16,000 images. Reference counting still frees everything
    as usual; only cycles wait until the end of the block.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def write_outputs(
    folder: Path,
    store_path: Path | None = None,
    references: Sequence[ReferenceCurve] = (),
    *,
    manifest: RunManifest | None = None,
) -> RunSummary:
    """(Re)build every output of the run in ``folder`` from its manifest and the store.

    ``manifest``: the run's own (a run writing its outputs); by default the folder's run.json.
    """
    manifest = manifest or RunManifest.load(folder)
    with _without_cycle_collection():
        return _write_outputs(folder, store_path, references, manifest)


def _write_outputs(
    folder: Path,
    store_path: Path | None,
    references: Sequence[ReferenceCurve],
    manifest: RunManifest,
) -> RunSummary:
    # reading only: a store that is not there is an error, never a new empty one
    with Store(store_path or manifest.store, create=False, read_only=True) as store:
        built = build(manifest, store, references)
        visual = visual_section(manifest, store)
    summary, frame = built.summary, built.frame
    atomic_write(folder / "per_image.csv", per_image_csv(frame))
    summary.write(folder / "summary.json")
    atomic_write(folder / "bd_per_image.csv", _bd_per_image_csv(summary))
    # (frame column or results key, label, decimals) of the per-image and codec tables
    curve_columns = [(k, shown.label(k), shown.digits(k)) for k in series_names(manifest.metrics)]
    metric_columns = [(column_name(k), label, digits) for k, label, digits in curve_columns]
    references_shown = summary.references
    charts = report_data(summary, list(manifest.metrics))
    context: dict[str, Any] = {
        "dataset": manifest.dataset,
        "images": manifest.images,
        "curves": summary.codecs,
        "bd": summary.bd_rate,
        "bd_metrics": manifest.metrics,
        "job_count": summary.jobs,
        "failed_count": summary.jobs_failed,
        "missing_count": summary.jobs_missing,
        # per-image detail: every job up to a few hundred images, else summarised (digest.py)
        **digest_context(
            frame, summary, len(manifest.images), metric_columns, manifest.image_paths
        ),
        "environment": manifest.environment,
        "environment_json": json.dumps(manifest.environment, indent=1),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # the charts' numbers, drawn in the page by static/report.js (interactive.py)
        "chart_data": script_json(charts),
        "rd_metrics": charts["metrics"],
        "strips": charts["strips"],
        "chart_complexity": charts["complexity"],
        "scripts": scripts("report.js"),
        "styles": styles(),
        "references": references_shown.curves if references_shown else {},
        "bd_references": references_shown.rows() if references_shown else [],
        "bd_reference_notes": references_shown.warnings if references_shown else [],
        "latency": summary.latency,
        "targets": summary.target_bpp,
        "visual": visual,
        "metric_columns": metric_columns,
        "curve_columns": curve_columns,
        "metric_label": shown.label,
        "skipped": manifest.skipped,
        "headline_label": _HEADLINES[summary.bd_rate.headline],
        "bootstrap_note": _bootstrap_note(summary),
        **_complexity_context(summary),
        "decode_check": summary.decode_check,
        "ceiling_convention": CEILING_CONVENTION,
        "capped": summary.extra.get("capped") or {},
        "incomplete": summary.incomplete(),
        "common_images": summary.extra.get("common_images") or {"images": 0, "of": 0},
        "undefined": summary.undefined(),
        "groups": summary.groups,
    }
    viewer = viewer_data(
        folder,
        frame,
        built.target_frame,
        manifest.target_choices,
        metric_columns,
        summary.anchor,
        list(summary.codecs),
    )
    context["viewer_images"] = len(viewer["images"]) if viewer else 0
    if viewer:
        atomic_write(folder / PAGE, printable(render_viewer(viewer, manifest.dataset)))
    else:
        (folder / PAGE).unlink(missing_ok=True)  # (one left by an earlier run shows nothing)
    atomic_write(folder / "report.html", printable(render_report(context)))
    return summary
