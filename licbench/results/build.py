"""From stored records to the typed run summary: the per-image table, curves, BD-rates, latency.

The per-codec curves are CompressAI's results format, each point the arithmetic mean over the
images at one quality, ordered by rate, so CompressAI's plot tool and the published anchor files
work with ours unchanged (:mod:`licbench.results.means`, shared with the per-group results of
:mod:`licbench.results.groups`). Derived series (MS-SSIM in dB) are computed from each point's
mean of their source metric, as the field does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from licbench.bench.jobs import format_quality
from licbench.bench.manifest import RunManifest
from licbench.bench.store import Record
from licbench.metrics import column_name
from licbench.metrics.derived import derived_from
from licbench.results import statistics
from licbench.results.curve import Curve
from licbench.results.decode_check import decode_check_section
from licbench.results.groups import group_sections
from licbench.results.means import (
    HEADLINE_GROUPS,
    bd_table,
    codec_curves,
    undefined_everywhere,
)
from licbench.results.references import ReferenceCurve, compare_references
from licbench.results.summary import (
    BDTable,
    Latency,
    RunSummary,
    TargetEntry,
    TargetPoint,
    TargetSection,
)

#: the fixed columns of per_image.csv, in order (metric columns follow the run's metrics)
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
    "notes",
    "image_sha256",
    "job_key",
]


def _names_of(
    sha256: str, image_names: Mapping[str, str | Sequence[str]], default: str
) -> list[str]:
    """The run's names for the file(s) with these bytes, in dataset order (the first is the one
    the job was computed for); ``default`` where the run names none. Every table of per-image
    rows (the sweep's, the rate targets') resolves names here."""
    names = image_names.get(sha256, default)
    return [names] if isinstance(names, str) else list(names) or [default]


def _same_bytes_note(first: str) -> str:
    """The note on every row of a file whose bytes equal an earlier file's (``first``)."""
    return f"same bytes as {first}: computed once for both"


def per_image_frame(
    records: Sequence[Record],
    dataset: str,
    image_names: Mapping[str, str | Sequence[str]],
    metrics: Sequence[str],
) -> pd.DataFrame:
    """One row per job and file. Image names come from the run (the store is shared between
    datasets): per sha256 one name, or the names of every file with those bytes, each its own
    row (the job was computed once, for the first; the others' notes say so)."""
    rows = []
    for record in records:
        names = _names_of(record.image_sha256, image_names, record.image)
        for index, name in enumerate(names):
            notes = [record.notes] if record.notes else []
            if index:
                notes.append(_same_bytes_note(names[0]))
            rows.append(_row(record, dataset, name, "; ".join(notes), metrics))
    if not rows:
        return pd.DataFrame(columns=PER_IMAGE_COLUMNS)
    frame = pd.DataFrame(rows)
    for metric in metrics:
        for series in derived_from(metric):
            frame[column_name(series.name)] = frame[column_name(metric)].map(
                lambda v, s=series: s(v) if v is not None and not pd.isna(v) else math.nan
            )
    columns = [c for c in PER_IMAGE_COLUMNS if c in frame] + [
        c for c in frame if c not in PER_IMAGE_COLUMNS
    ]
    return frame[columns].sort_values(["codec", "quality", "image"], kind="stable")


def image_notes(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per image with any, the distinct notes of its rows (what was done to measure it)."""
    notes: dict[str, list[str]] = {}
    if frame.empty:
        return notes
    for name, text in zip(frame["image"], frame["notes"], strict=True):
        for note in str(text or "").split("; "):
            if note and note not in notes.setdefault(name, []):
                notes[name].append(note)
    return {name: found for name, found in sorted(notes.items()) if found}


#: images named per incomplete codec in summary.json (the count is always complete)
LISTED_IMAGES = 20


def common_images(frame: pd.DataFrame, codecs: Sequence[str]) -> tuple[list[str], dict]:
    """The images every codec measured at every one of its points (the common set), and per
    codec the images it did not although another codec did (it is *incomplete*).

    A codec that failed on its hardest image must not average its easy ones against the
    anchor's all: mean curves and BD-rates are computed on the common set only. An image every
    codec failed on (an unreadable file) counts against none; a codec with no successful image
    at all has no curve and does not shrink the set for the others.
    """
    if frame.empty:
        return [], {}
    done = (frame["error"] == "").groupby([frame["codec"], frame["image"]], sort=False).all()
    complete = {codec: set() for codec in codecs}
    for (codec, image), ok in done.items():
        if ok and codec in complete:
            complete[codec].add(image)
    images = list(dict.fromkeys(frame["image"]))
    measured = [codec for codec in codecs if complete[codec]]
    usable = [image for image in images if any(image in complete[c] for c in codecs)]
    common = [image for image in usable if all(image in complete[c] for c in measured)]
    incomplete = {
        codec: [image for image in usable if image not in complete[codec]]
        for codec in codecs
        if any(image not in complete[codec] for image in usable)
    }
    return common, incomplete


def undefined_images(frame: pd.DataFrame, metrics: Sequence[str]) -> dict[str, list[str]]:
    """Per metric undefined for any image: those images, in the table's order.

    Undefined means a successful job whose value of the metric is NaN (MS-SSIM on an image
    under 161 px): the image is left out of that metric's mean curves for every codec alike, so
    they stay like for like, and the other metrics keep it. A failed job is not this: it makes
    its codec incomplete (:func:`common_images`).
    """
    undefined: dict[str, list[str]] = {}
    if frame.empty:
        return undefined
    ok = frame[frame["error"] == ""]
    for metric in metrics:
        column = column_name(metric)
        if column in ok:
            names = list(dict.fromkeys(ok.loc[ok[column].isna(), "image"]))
            if names:
                undefined[metric] = names
    return undefined


def undefined_section(undefined: Mapping[str, Sequence[str]], of: int) -> dict[str, Any]:
    """summary.json's ``undefined``: per metric, how many of the ``of`` images it is undefined
    for, the first names (the count is complete; bd_per_image.csv names each) and why."""
    return {
        metric: {
            "images": len(names),
            "of": of,
            "names": list(names[:LISTED_IMAGES]),
            "reason": statistics.undefined_reason(metric),
        }
        for metric, names in undefined.items()
    }


def capped_points(frame: pd.DataFrame, metrics: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per metric with a declared ceiling and any point on it: the ceiling, the convention and,
    per codec, how many of its (image, quality) points sit there (lossless or nearly so)."""
    from licbench.metrics import METRICS

    capped: dict[str, dict[str, Any]] = {}
    ok = frame[frame["error"] == ""] if not frame.empty else frame
    for name in metrics:
        metric = METRICS.get(name)
        column = column_name(name)
        if metric.ceiling is None or ok.empty or column not in ok:
            continue
        counts = ok[ok[column] >= metric.ceiling].groupby("codec").size()
        if counts.empty:
            continue
        capped[name] = {
            "ceiling": metric.ceiling,
            "convention": CEILING_CONVENTION,
            "codecs": {str(codec): int(n) for codec, n in counts.items()},
        }
    return capped


#: how licbench makes lossless points finite (summary.json's ``capped``; the report says it)
CEILING_CONVENTION = (
    "a PSNR is at most 6·bitdepth + 12 dB (60 dB for 8-bit planes, 72 dB for 10-bit ones), "
    "libvmaf's convention: a lossless point takes that value instead of infinity; MS-SSIM in dB "
    "is at most 60 dB (1 − MS-SSIM = 1e-6)"
)


def _row(
    record: Record, dataset: str, name: str, notes: str, metrics: Sequence[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dataset": dataset,
        "image": name,
        "width": record.width,
        "height": record.height,
        "codec": record.codec,
        "quality": record.quality,
        "bytes": record.bytes,
        "bpp": record.bpp,
        "encode_s": record.encode_s,
        "decode_s": record.decode_s,
        "error": record.error or "",
        "notes": notes,
        "image_sha256": record.image_sha256,
        "job_key": record.job_key,
    }
    for metric in metrics:
        row[column_name(metric)] = record.metrics.get(metric, math.nan)
    return row


def per_image_table(
    image_curves: Mapping[str, Mapping[str, Curve]],
    bd: BDTable,
    anchor: str,
    metrics: Sequence[str],
    method: str,
) -> dict[str, dict[str, statistics.PerImageBD]]:
    """Per metric and codec, every image's BD-rate against the anchor and their aggregates."""
    table: dict[str, dict[str, statistics.PerImageBD]] = {}
    if anchor not in image_curves:
        return table
    for metric in metrics:
        table[metric] = {
            codec: statistics.per_image_bd(
                image_curves[anchor],
                per_image,
                metric,
                method,
                _or_nan(bd.value(metric, codec)),
            )
            for codec, per_image in image_curves.items()
            if codec != anchor
        }
    for name, members in HEADLINE_GROUPS.items():  # e.g. each image's JPEG AI mean
        if set(members) <= set(table):
            table[name] = {
                codec: statistics.mean_over_metrics(
                    [table[m][codec] for m in members],
                    _or_nan(bd.aggregates.get(name, {}).get(codec)),
                )
                for codec in table[members[0]]
            }
    return table


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _median_iqr(values: Sequence[float | None]) -> tuple[float, float]:
    import numpy as np

    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return math.nan, math.nan
    q25, q50, q75 = np.percentile(data, [25, 50, 75])
    return float(q50), float(q75 - q25)


#: environment entries that say how a learned codec ran, shown beside its latency
LATENCY_CONTEXT = ("device_name", "threads", "torch", "cuda", "entropy_device")


def device_of(environment: dict[str, Any] | None) -> str:
    """Where a job ran: the codec's ``device`` environment entry, else ``cpu``."""
    device = (environment or {}).get("device")
    return str(device) if device else "cpu"


def needs_gpu(device: str) -> bool:
    """Whether a device string names an accelerator (``cuda``, ``cuda:1``, ``mps``, ...)."""
    return device.split(":", 1)[0].strip().lower() not in ("cpu", "")


def latency_table(records: Sequence[Record], codecs: Sequence[str]) -> dict[str, Latency]:
    """Per codec: median and IQR (75th − 25th percentile) of encode and decode seconds.

    Over every successful job of the codec (all qualities and images), as each job was timed
    when it was computed. ``device`` comes from the records' environment (learned codecs record
    it), else ``cpu``; ``gpu`` says whether any job ran on an accelerator.
    """
    table: dict[str, Latency] = {}
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
        table[codec] = Latency(
            jobs=len(rows),
            encode_median_s=encode_median,
            encode_iqr_s=encode_iqr,
            decode_median_s=decode_median,
            decode_iqr_s=decode_iqr,
            device=", ".join(devices),
            gpu=any(needs_gpu(d) for d in devices),
            context=context,
        )
    return table


def _mean(values: Sequence[float | None]) -> float:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(finite) / len(finite) if finite else math.nan


def target_section(
    targets: Sequence[float],
    choices: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    records: Mapping[str, Record],
    image_names: Mapping[str, str | Sequence[str]],
    metrics: Sequence[str],
    rule: str = "",
) -> TargetSection:
    """Per codec and target: the mean over images of the achieved bpp and of each metric at the
    chosen quality (derived series from the mean of their source, as the RD curves do), how many
    images were matched and how many reached the target exactly by the rule (``at_target``; the
    others are at the end of the codec's quality range), and per image the chosen point.

    ``choices`` are keyed by sha256, so files with equal bytes share one search; ``image_names``
    (as for :func:`per_image_frame`) gives each of them its own point, equal to the first's and
    with the same note. Each file counts once in the means and counts, as in the RD curves and
    the per-image BD-rate statistics (the dataset has that many images)."""
    section = TargetSection(list(targets), rule)
    for codec, per_target in choices.items():
        out: dict[str, TargetEntry] = {}
        for target_text, per_image in per_target.items():
            points: dict[str, TargetPoint] = {}
            for sha, choice in per_image.items():
                record = records.get(choice.get("job_key") or "")
                point = TargetPoint(
                    quality=choice.get("quality"),
                    status=str(choice.get("status")),
                    probes=len(choice.get("probes") or []),
                )
                if record is None or not record.ok:
                    point.status = "error"
                    point.error = choice.get("error") or (
                        record.error if record is not None else "chosen job not in the store"
                    )
                else:
                    point.bpp = record.bpp
                    point.values = {m: record.metrics.get(m, math.nan) for m in metrics}
                names = _names_of(sha, image_names, sha)
                points[names[0]] = point
                for name in names[1:]:
                    points[name] = replace(
                        point, values=dict(point.values), notes=_same_bytes_note(names[0])
                    )
            matched = [p for p in points.values() if p.status != "error"]
            entry = TargetEntry(
                target=float(target_text),
                images=len(matched),
                at_target=sum(1 for p in matched if p.status == "ok"),
                bpp=_mean([p.bpp for p in matched]),
            )
            for metric in metrics:
                entry.values[metric] = _mean([p.values[metric] for p in matched])
            for metric in metrics:
                for series in derived_from(metric):
                    entry.values[series.name] = series(entry.values[metric])
            entry.per_image = dict(sorted(points.items()))
            out[target_text] = entry
        section.codecs[codec] = out
    return section


@dataclass
class BuiltRun:
    """What the outputs are written from: the summary and the per-image tables."""

    summary: RunSummary
    #: one row per job of the run
    frame: pd.DataFrame
    #: the rows of the jobs a rate-target search chose (None without one)
    target_frame: pd.DataFrame | None


def _job_text(record: Record) -> str:
    return f"{record.image} at quality {format_quality(record.quality)}"


def build_run(
    manifest: RunManifest,
    records: Mapping[str, Record],
    references: Sequence[ReferenceCurve] = (),
    target_records: Mapping[str, Record] | None = None,
    target_rule: str = "",
    decode_checks: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> BuiltRun:
    """The run's summary from its manifest and the stored records of its jobs.

    ``references`` are the published curves the run names (the caller loads them: references
    live above this layer); ``target_records`` the records of the jobs a ``--target-bpp``
    search chose; ``decode_checks`` the stored ``--decode-check`` rows by (job key, setup).
    """
    # a job key repeats for files with equal bytes: its record is read once, and becomes one
    # row per file (so each file counts once in the means: the dataset has that many images)
    found = [records[key] for key in dict.fromkeys(manifest.jobs) if key in records]
    frame = per_image_frame(found, manifest.dataset, manifest.names_by_sha(), manifest.metrics)
    descriptions = {label: info["description"] for label, info in manifest.codecs.items()}
    common, incomplete = common_images(frame, list(descriptions))
    undefined = undefined_images(frame, manifest.metrics)
    # like with like: every codec's mean curve over the images every codec measured (each
    # metric's less the images it is undefined for)
    curves = codec_curves(
        frame[frame["image"].isin(common)] if not frame.empty else frame,
        descriptions,
        manifest.metrics,
        undefined,
    )
    for label, curve in curves.items():
        curve.version = manifest.codecs[label]["version"]
    bd = bd_table(
        curves,
        manifest.anchor,
        manifest.metrics,
        manifest.method,
        undefined_everywhere(undefined, common),
    )
    image_curves = statistics.image_curves(frame, manifest.metrics)
    bd.headline = manifest.bd_aggregate
    bd.per_image = per_image_table(
        image_curves, bd, manifest.anchor, manifest.metrics, manifest.method
    )
    summary = RunSummary(
        dataset=manifest.dataset,
        images=len(manifest.images),
        jobs=len(manifest.jobs),
        jobs_missing=sum(1 for key in manifest.jobs if key not in records),
        jobs_failed=int((frame["error"] != "").sum()) if not frame.empty else 0,
        environment=manifest.environment,
        codecs=curves,
        bd_rate=bd,
        latency=latency_table(found, list(manifest.codecs)),
        image_curves=image_curves,
        complexity=dict(manifest.complexity),
        decode_check=decode_check_section(
            manifest.decode_check,
            ((r.job_key, r.codec, _job_text(r)) for r in found),
            decode_checks or {},
        ),
    )
    # what the input policy did (palette converted, first of N frames, ...) and what the dataset
    # could not list: RunSummary keeps unknown keys, so these travel as its extra sections
    summary.extra["notes"] = image_notes(frame)
    images = int(frame["image"].nunique()) if not frame.empty else 0
    summary.extra["common_images"] = {"images": len(common), "of": images}
    if incomplete:
        summary.extra["incomplete"] = {
            codec: {"images": len(names), "failed_on": names[:LISTED_IMAGES]}
            for codec, names in incomplete.items()
        }
    # what the run was measured on: check pairs images by these and refuses other datasets
    summary.extra["dataset_identity"] = {
        "name": manifest.dataset,
        "images": len(manifest.images),
        "sha256": {name: sha for name, sha in manifest.images},
    }
    if undefined:
        summary.extra["undefined"] = undefined_section(undefined, images)
    summary.groups = group_sections(
        frame, common, incomplete, undefined, manifest.anchor, manifest.metrics, bd
    )
    capped = capped_points(frame, manifest.metrics)
    if capped:
        summary.extra["capped"] = capped
    summary.extra["skipped"] = [dict(item) for item in manifest.skipped]
    if references:
        summary.references = compare_references(
            curves, references, manifest.metrics, manifest.method, manifest.dataset
        )
    target_frame = None
    if manifest.target_bpp:
        target_records = target_records or {}
        summary.target_bpp = target_section(
            manifest.target_bpp,
            manifest.target_choices,
            target_records,
            manifest.names_by_sha(),
            manifest.metrics,
            target_rule,
        )
        target_frame = per_image_frame(
            list(target_records.values()),
            manifest.dataset,
            manifest.names_by_sha(),
            manifest.metrics,
        )
    return BuiltRun(summary, frame, target_frame)


__all__ = [
    "PER_IMAGE_COLUMNS",
    "BuiltRun",
    "bd_table",
    "build_run",
    "codec_curves",
    "device_of",
    "image_notes",
    "latency_table",
    "needs_gpu",
    "per_image_frame",
    "target_section",
    "undefined_images",
]
