"""Turning stored records into the per-image table, per-codec RD curves and BD-rates.

The per-codec curves are CompressAI's results format (``{name, description, results: {bpp: [...],
psnr-rgb: [...], ...}}``), each point the arithmetic mean over the images at one quality, ordered
by rate, so CompressAI's plot tool and the published anchor files work with ours unchanged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from licbench.bench.store import Record
from licbench.metrics import METRICS, column_name
from licbench.metrics.bdrate import BDRateWarning, bd_rate
from licbench.metrics.ms_ssim import to_decibels

PER_IMAGE_COLUMNS = [
    "dataset",
    "image",
    "width",
    "height",
    "codec",
    "quality",
    "bytes",
    "bpp",
    "psnr_rgb",
    "ms_ssim_rgb",
    "ms_ssim_rgb_db",
    "encode_s",
    "decode_s",
    "error",
    "image_sha256",
    "job_key",
]

#: the curve key on which each metric's BD-rate is computed (MS-SSIM on its dB scale, as usual)
BD_CURVE = {"psnr-rgb": "psnr-rgb", "ms-ssim-rgb": "ms-ssim-rgb-db"}


def per_image_frame(
    records: Sequence[Record], dataset: str, image_names: dict[str, str], metrics: Sequence[str]
) -> pd.DataFrame:
    """One row per job. Image names come from the run (the store is shared between datasets)."""
    rows = []
    for record in records:
        row: dict[str, Any] = {
            "dataset": dataset,
            "image": image_names.get(record.image_sha256, record.image),
            "width": record.width,
            "height": record.height,
            "codec": record.codec,
            "quality": record.quality,
            "bytes": record.bytes,
            "bpp": record.bpp,
            "encode_s": record.encode_s,
            "decode_s": record.decode_s,
            "error": record.error or "",
            "image_sha256": record.image_sha256,
            "job_key": record.job_key,
        }
        for metric in metrics:
            row[column_name(metric)] = record.metrics.get(metric, math.nan)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if "ms_ssim_rgb" in frame:
        frame["ms_ssim_rgb_db"] = frame["ms_ssim_rgb"].map(
            lambda v: to_decibels(v) if v is not None and not pd.isna(v) else math.nan
        )
    columns = [c for c in PER_IMAGE_COLUMNS if c in frame] + [
        c for c in frame if c not in PER_IMAGE_COLUMNS
    ]
    if frame.empty:
        return pd.DataFrame(columns=PER_IMAGE_COLUMNS)
    return frame[columns].sort_values(["codec", "quality", "image"], kind="stable")


def codec_curves(
    frame: pd.DataFrame, descriptions: dict[str, str], metrics: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per codec, the CompressAI-format entry: means over images at each quality, by rate."""
    curves: dict[str, dict[str, Any]] = {}
    ok = frame[frame["error"] == ""] if not frame.empty else frame
    for codec in descriptions:
        rows = ok[ok["codec"] == codec] if not ok.empty else ok
        results: dict[str, list[float]] = {"bpp": []}
        for metric in metrics:
            results[metric] = []
        if "ms-ssim-rgb" in metrics:
            results["ms-ssim-rgb-db"] = []
        results.update({"encoding_time": [], "decoding_time": [], "quality": [], "images": []})
        if not rows.empty:
            means = rows.groupby("quality").agg(
                bpp=("bpp", "mean"),
                encode_s=("encode_s", "mean"),
                decode_s=("decode_s", "mean"),
                images=("image", "count"),
                **{column_name(m): (column_name(m), "mean") for m in metrics},
            )
            means = means.sort_values("bpp")
            for quality, point in means.iterrows():
                results["bpp"].append(float(point["bpp"]))
                for metric in metrics:
                    results[metric].append(float(point[column_name(metric)]))
                if "ms-ssim-rgb" in metrics:
                    results["ms-ssim-rgb-db"].append(to_decibels(float(point["ms_ssim_rgb"])))
                results["encoding_time"].append(float(point["encode_s"]))
                results["decoding_time"].append(float(point["decode_s"]))
                results["quality"].append(float(quality))
                results["images"].append(int(point["images"]))
        curves[codec] = {"name": codec, "description": descriptions[codec], "results": results}
    return curves


def bd_rate_table(
    curves: dict[str, dict[str, Any]],
    anchor: str,
    metrics: Sequence[str],
    method: str = "pchip",
) -> dict[str, Any]:
    """BD-rate (%) of every codec against the anchor, per metric; NaN where curves don't overlap.

    Each BD-rate warning (too little overlap, too few points) is kept in ``warnings`` so the
    report can show why a number is missing.
    """
    table: dict[str, Any] = {"anchor": anchor, "method": method, "warnings": []}
    for metric in metrics:
        curve_key = BD_CURVE.get(metric, metric)
        direction = METRICS.get(metric).higher_is_better
        table[metric] = {}
        for codec, entry in curves.items():
            if codec == anchor or anchor not in curves:
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BDRateWarning)
                try:
                    value = bd_rate(
                        curves[anchor],
                        entry,
                        metric=curve_key,
                        method=method,
                        higher_is_better=direction,
                    )
                except ValueError as exc:
                    value = math.nan
                    table["warnings"].append(f"{codec} {metric}: {exc}")
            table["warnings"].extend(f"{codec} {metric}: {w.message}" for w in caught)
            table[metric][codec] = value
    return table
