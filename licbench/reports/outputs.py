"""Writes a run's outputs from the store: per_image.csv, summary.json and report.html."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.reports.analysis import bd_rate_table, codec_curves, per_image_frame
from licbench.reports.html import render_report
from licbench.reports.plots import rd_plot


def _json_safe(value: Any) -> Any:
    """NaN and infinity become null: summary.json must be strict JSON for other tools."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


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
    summary = {
        "dataset": manifest.dataset,
        "images": len(manifest.images),
        "jobs": len(manifest.jobs),
        "jobs_missing": len(missing),
        "jobs_failed": int((frame["error"] != "").sum()) if not frame.empty else 0,
        "environment": manifest.environment,
        "codecs": curves,
        "bd_rate": bd,
    }
    return summary, frame


def write_outputs(folder: Path, store_path: Path | None = None) -> dict[str, Any]:
    """(Re)build every output of the run in ``folder`` from its manifest and the store."""
    manifest = RunManifest.load(folder)
    with Store(store_path or manifest.store) as store:
        summary, frame = build_summary(manifest, store)
    frame.drop(columns=["job_key"]).to_csv(folder / "per_image.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(_json_safe(summary), indent=1))
    curves = summary["codecs"]
    errors = frame[frame["error"] != ""].to_dict("records") if not frame.empty else []
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
        "plots": {
            "psnr": rd_plot(curves, "psnr-rgb", "PSNR RGB (dB)", manifest.anchor),
            "ms_ssim": rd_plot(curves, "ms-ssim-rgb-db", "MS-SSIM RGB (dB)", manifest.anchor),
        },
    }
    (folder / "report.html").write_text(render_report(context), encoding="utf-8")
    return summary
