"""Writes a run's outputs from the store: per_image.csv, summary.json and report.html."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.metrics import column_name
from licbench.reports.analysis import (
    BD_CURVE,
    bd_rate_table,
    codec_curves,
    higher_is_better,
    latency_table,
    metric_digits,
    metric_label,
    per_image_frame,
    target_table,
)
from licbench.reports.html import render_report
from licbench.reports.jsonsafe import json_safe
from licbench.reports.plots import has_metric, rd_plot
from licbench.reports.visual import visual_comparison


def build_summary(manifest: RunManifest, store: Store) -> tuple[dict[str, Any], Any]:
    """The summary dict and the per-image DataFrame of a run, from the store."""
    records = store.get(manifest.jobs)
    missing = [key for key in manifest.jobs if key not in records]
    frame = per_image_frame(
        [records[key] for key in manifest.jobs if key in records],
        manifest.dataset,
        manifest.images,
        manifest.metrics,
    )
    descriptions = {label: info["description"] for label, info in manifest.codecs.items()}
    curves = codec_curves(frame, descriptions, manifest.metrics)
    for label, entry in curves.items():
        entry["version"] = manifest.codecs[label]["version"]
    bd = bd_rate_table(curves, manifest.anchor, manifest.metrics, manifest.method)
    found = [records[key] for key in manifest.jobs if key in records]
    summary = {
        "dataset": manifest.dataset,
        "images": len(manifest.images),
        "jobs": len(manifest.jobs),
        "jobs_missing": len(missing),
        "jobs_failed": int((frame["error"] != "").sum()) if not frame.empty else 0,
        "environment": manifest.environment,
        "codecs": curves,
        "bd_rate": bd,
        "latency": latency_table(found, list(manifest.codecs)),
    }
    if manifest.references:
        from licbench.references.compare import reference_summary

        # "references", "bd_rate_references" {ref: {metric: {codec: %}}}, and their notes
        summary.update(
            reference_summary(
                curves, manifest.references, manifest.metrics, manifest.method, manifest.dataset
            )
        )
    if manifest.target_bpp:
        from licbench.bench.rate_target import RULE, chosen_job_keys

        summary["target_bpp"] = target_table(
            manifest.target_bpp,
            manifest.target_choices,
            store.get(chosen_job_keys(manifest.target_choices)),
            manifest.images,
            manifest.metrics,
            RULE,
        )
    return summary, frame


def _plots(
    curves: dict[str, Any], references: dict[str, Any], metrics: list[str], anchor: str
) -> list[dict[str, str]]:
    """One RD plot per metric of the run (MS-SSIM on its dB scale), plus LPIPS when present."""
    keys = [BD_CURVE.get(m, m) for m in metrics]
    if "lpips-alex" not in keys and has_metric(curves, "lpips-alex"):
        keys.append("lpips-alex")
    plots = []
    for key in keys:
        if not has_metric(curves, key) and not has_metric(references, key):
            continue
        label = metric_label(key)
        lower = higher_is_better(key) is False
        plots.append(
            {
                "metric": key,
                "label": label,
                "uri": rd_plot(curves, key, label, anchor, references, lower_is_better=lower),
            }
        )
    return plots


def _references(summary: dict[str, Any], manifest: RunManifest) -> dict[str, dict[str, Any]]:
    """Published reference curves (CompressAI format) by name: the summary's, else the run's.

    The summary's ``references`` key is preferred; a run that names references in its manifest
    but whose summary lacks them gets them from ``licbench.load_reference`` when that exists.
    Anything else (no references, an older licbench) gives no references, never an error.
    """
    found = summary.get("references") or {}
    names = getattr(manifest, "references", None)
    if not found and names:
        import licbench

        found = {}
        for name in names if isinstance(names, list | tuple) else list(names):
            try:
                found[str(name)] = licbench.load_reference(name)
            except Exception:  # references only decorate the report; a missing one is skipped
                continue
    if isinstance(found, list):
        found = {str(entry.get("name", i)): entry for i, entry in enumerate(found)}
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, dict)}


def _target_frame(manifest: RunManifest, store: Store) -> Any:
    """The per-image rows of the jobs a ``--target-bpp`` search chose (None without one)."""
    if not manifest.target_choices:
        return None
    from licbench.bench.rate_target import chosen_job_keys

    records = store.get(chosen_job_keys(manifest.target_choices))
    return per_image_frame(
        list(records.values()), manifest.dataset, manifest.images, manifest.metrics
    )


def _bd_reference_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``bd_rate_references`` ``{reference: {metric: {codec: %}}}`` for the report.

    Any other shape is shown too, one row per value with its key path as the reference.
    """
    rows = []
    for path, value in _flatten(summary.get("bd_rate_references") or {}):
        if len(path) == 3:
            rows.append({"reference": path[0], "metric": path[1], "codec": path[2], "value": value})
        else:
            rows.append({"reference": " / ".join(path), "metric": "", "codec": "", "value": value})
    return rows


def _flatten(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Leaves of a nested dict with their key paths (to show a table of unknown shape)."""
    if isinstance(value, dict):
        rows: list[tuple[tuple[str, ...], Any]] = []
        for key, inner in value.items():
            rows.extend(_flatten(inner, (*path, str(key))))
        return rows
    if isinstance(value, list):
        return [(path, "; ".join(str(v) for v in value))] if value else []
    return [(path, value)]


def write_outputs(folder: Path, store_path: Path | None = None) -> dict[str, Any]:
    """(Re)build every output of the run in ``folder`` from its manifest and the store."""
    manifest = RunManifest.load(folder)
    with Store(store_path or manifest.store) as store:
        summary, frame = build_summary(manifest, store)
        extra = _target_frame(manifest, store)
    frame.drop(columns=["job_key"]).to_csv(folder / "per_image.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(json_safe(summary), indent=1))
    curves = summary["codecs"]
    errors = frame[frame["error"] != ""].to_dict("records") if not frame.empty else []
    references = _references(summary, manifest)
    visual = visual_comparison(manifest, frame, extra=extra)
    # (frame column or results key, label, decimals) of the per-image and codec tables
    metric_columns: list[tuple[str, str, int]] = []
    curve_columns: list[tuple[str, str, int]] = []
    for metric in manifest.metrics:
        keys = [metric, "ms-ssim-rgb-db"] if metric == "ms-ssim-rgb" else [metric]
        for key in keys:
            triple = (key, metric_label(key), metric_digits(key))
            curve_columns.append(triple)
            metric_columns.append((column_name(key), *triple[1:]))
    context = {
        "dataset": manifest.dataset,
        "images": manifest.images,
        "curves": curves,
        "bd": summary["bd_rate"],
        "bd_metrics": manifest.metrics,
        "job_count": summary["jobs"],
        "failed_count": summary["jobs_failed"],
        "errors": errors,
        "per_image": frame.to_dict("records"),
        "environment": manifest.environment,
        "environment_json": json.dumps(manifest.environment, indent=1),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "plots": _plots(curves, references, list(manifest.metrics), manifest.anchor),
        "references": references,
        "bd_references": _bd_reference_rows(summary),
        "bd_reference_notes": (summary.get("bd_rate_references_notes") or {}).get("warnings") or [],
        "latency": summary["latency"],
        "targets": summary.get("target_bpp"),
        "visual": visual,
        "metric_columns": metric_columns,
        "curve_columns": curve_columns,
        "metric_label": metric_label,
    }
    (folder / "report.html").write_text(render_report(context), encoding="utf-8")
    return summary
