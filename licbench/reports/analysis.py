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


#: how each curve key is shown; metrics not listed use their registry unit
_LABELS = {
    "psnr-rgb": "PSNR RGB (dB)",
    "ms-ssim-rgb": "MS-SSIM RGB",
    "ms-ssim-rgb-db": "MS-SSIM RGB (dB)",
    "lpips-alex": "LPIPS (AlexNet)",
}


def metric_label(metric: str) -> str:
    """A human label for a metric or curve key: ``psnr-rgb`` → ``PSNR RGB (dB)``."""
    if metric in _LABELS:
        return _LABELS[metric]
    try:
        unit = METRICS.get(metric).unit
    except LookupError:
        unit = ""
    return f"{metric} ({unit})" if unit else metric


def metric_digits(metric: str) -> int:
    """Decimals to show for a metric or curve key: 2 for decibels, 4 otherwise."""
    if metric == "ms-ssim-rgb-db":
        return 2
    try:
        return 2 if METRICS.get(metric).unit == "dB" else 4
    except LookupError:
        return 4


def higher_is_better(metric: str) -> bool | None:
    """The registered direction of a metric or curve key; None when the metric is unknown."""
    base = {v: k for k, v in BD_CURVE.items()}.get(metric, metric)
    if base in METRICS:
        return METRICS.get(base).higher_is_better
    return None


def device_of(environment: dict[str, Any] | None) -> str:
    """Where a job ran: the codec's ``device`` environment entry, else ``cpu``."""
    device = (environment or {}).get("device")
    return str(device) if device else "cpu"


def needs_gpu(device: str) -> bool:
    """Whether a device string names an accelerator (``cuda``, ``cuda:1``, ``mps``, ...)."""
    return device.split(":", 1)[0].strip().lower() not in ("cpu", "")


def _median_iqr(values: Sequence[float]) -> tuple[float, float]:
    import numpy as np

    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return math.nan, math.nan
    q25, q50, q75 = np.percentile(data, [25, 50, 75])
    return float(q50), float(q75 - q25)


#: environment entries that say how a learned codec ran, shown beside its latency
LATENCY_CONTEXT = ("device_name", "threads", "torch", "cuda", "entropy_device")


def latency_table(records: Sequence[Record], codecs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per codec: median and IQR (75th − 25th percentile) of encode and decode seconds.

    Over every successful job of the codec (all qualities and images), as each job was timed
    when it was computed. ``device`` comes from the records' environment (learned codecs record
    it), else ``cpu``; ``gpu`` says whether any job ran on an accelerator.
    """
    table: dict[str, dict[str, Any]] = {}
    for codec in codecs:
        rows = [r for r in records if r.codec == codec and r.ok]
        encode_median, encode_iqr = _median_iqr([r.encode_s for r in rows])
        decode_median, decode_iqr = _median_iqr([r.decode_s for r in rows])
        devices = sorted({device_of(r.environment) for r in rows}) or ["cpu"]
        context: dict[str, str] = {}
        for record in rows:
            for key in LATENCY_CONTEXT:
                if key in (record.environment or {}) and key not in context:
                    context[key] = str(record.environment[key])
        table[codec] = {
            "jobs": len(rows),
            "encode_median_s": encode_median,
            "encode_iqr_s": encode_iqr,
            "decode_median_s": decode_median,
            "decode_iqr_s": decode_iqr,
            "device": ", ".join(devices),
            "gpu": any(needs_gpu(d) for d in devices),
            "context": context,
        }
    return table


def target_table(
    targets: Sequence[float],
    choices: dict[str, dict[str, dict[str, dict[str, Any]]]],
    records: dict[str, Record],
    image_names: dict[str, str],
    metrics: Sequence[str],
    rule: str = "",
) -> dict[str, Any]:
    """The ``target_bpp`` section of summary.json: per codec and target, the matched points.

    Per codec and target: the mean over images of the achieved bpp and of each metric at the
    chosen quality (MS-SSIM dB from the mean MS-SSIM, as the RD curves do), how many images were
    matched (``images``) and how many reached the target exactly by the rule (``at_target``;
    the others are at the end of the codec's quality range), and per image the chosen quality.
    """
    section: dict[str, Any] = {"targets": list(targets), "rule": rule, "codecs": {}}
    for codec, per_target in choices.items():
        out: dict[str, Any] = {}
        for target_text, per_image in per_target.items():
            points: dict[str, dict[str, Any]] = {}
            for sha, choice in per_image.items():
                name = image_names.get(sha, sha)
                record = records.get(choice.get("job_key") or "")
                point: dict[str, Any] = {
                    "quality": choice.get("quality"),
                    "status": choice.get("status"),
                    "probes": len(choice.get("probes") or []),
                }
                if record is None or not record.ok:
                    point["status"] = "error"
                    point["error"] = choice.get("error") or (
                        record.error if record is not None else "chosen job not in the store"
                    )
                else:
                    point["bpp"] = record.bpp
                    for metric in metrics:
                        point[metric] = record.metrics.get(metric, math.nan)
                points[name] = point
            matched = [p for p in points.values() if p["status"] != "error"]
            entry: dict[str, Any] = {
                "target": float(target_text),
                "images": len(matched),
                "at_target": sum(1 for p in matched if p["status"] == "ok"),
                "bpp": _mean([p["bpp"] for p in matched]),
            }
            for metric in metrics:
                entry[metric] = _mean([p[metric] for p in matched])
            if "ms-ssim-rgb" in metrics:
                entry["ms-ssim-rgb-db"] = to_decibels(entry["ms-ssim-rgb"])
            entry["per_image"] = dict(sorted(points.items()))
            out[target_text] = entry
        section["codecs"][codec] = out
    return section


def _mean(values: Sequence[float]) -> float:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(finite) / len(finite) if finite else math.nan
