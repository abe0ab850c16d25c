"""The data the report's charts are drawn from in the page (static/report.js draws them).

The report carries its numbers as one JSON object (:func:`report_data`) instead of pictures of
them, so a reader can hover a point for its codec, quality, bpp, value and image count, hide a
curve, switch the rate axis between linear and log, and pick a metric, a group of images or a
single image. Everything here comes from the summary (the same numbers as summary.json), rounded
to what a page shows.

What grows with the number of images is bounded: each image's own curves are carried for at
most :data:`IMAGE_CURVES_SHOWN` images (the worst and best of every codec first, then by name;
the page says so), and the per-image BD-rates of the strip plots are one number per image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from licbench.reports.assets import rounded
from licbench.results import series as shown
from licbench.results.curve import Curve
from licbench.results.summary import RunSummary

#: the most images whose own curves the report carries (their curves are all in summary.json)
IMAGE_CURVES_SHOWN = 2000
#: decimals of bpp in the page (0.00001 bpp: far below any difference a codec makes)
BPP_DIGITS = 5


def metric_keys(summary: RunSummary, metrics: Sequence[str]) -> list[str]:
    """The series the RD chart offers: each metric's BD series (MS-SSIM in dB), plus LPIPS
    when the curves have it, each only where some curve has a point of it."""
    from licbench.metrics.derived import bd_series

    keys = [bd_series(m) for m in metrics]
    if "lpips-alex" not in keys and any(c.has("lpips-alex") for c in summary.codecs.values()):
        keys.append("lpips-alex")
    references = summary.references.curves if summary.references else {}
    curves = [*summary.codecs.values(), *references.values()]
    return [key for key in keys if any(curve.has(key) for curve in curves)]


def _metric(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "label": shown.label(key),
        "digits": shown.digits(key),
        "lower": shown.higher_is_better(key) is False,
    }


def curve_data(curve: Curve, keys: Sequence[str]) -> dict[str, list[Any]]:
    """One curve's points as the page reads them: ``q`` (quality), ``bpp``, ``n`` (images
    averaged) and each series in ``keys``, one value per point (null where there is none)."""
    bpp = curve.results.get("bpp") or []
    data: dict[str, list[Any]] = {"bpp": [rounded(_float(b), BPP_DIGITS) for b in bpp]}
    if "quality" in curve.results:
        data["q"] = [_float(q) for q in curve.results["quality"]]
    if "images" in curve.results:
        data["n"] = list(curve.results["images"])
    for key in keys:
        values = curve.values(key)
        if values is not None:
            data[key] = [rounded(v, shown.digits(key) + 2) for v in values]
    return data


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _shown_images(summary: RunSummary, cap: int) -> list[str]:
    """The images whose own curves the page carries: all up to ``cap``; else the worst and
    best of each codec (per-image BD-rate) first, then the others by name."""
    names = sorted({image for per in summary.image_curves.values() for image in per})
    if len(names) <= cap:
        return names
    from licbench.reports.digest import extremes

    first = [
        image
        for found in extremes(summary.bd_rate.per_image)
        for image, _ in found.worst + found.best
    ]
    chosen = list(dict.fromkeys(first))[:cap]
    taken = set(chosen)
    chosen += [name for name in names if name not in taken][: cap - len(chosen)]
    return sorted(chosen)


def report_data(
    summary: RunSummary, metrics: Sequence[str], cap: int = IMAGE_CURVES_SHOWN
) -> dict[str, Any]:
    """Everything the report's charts draw: mean curves (all images, each group), published
    references, each shown image's own curves, per-image BD-rates and complexity."""
    keys = metric_keys(summary, metrics)
    codecs = list(summary.codecs)
    references = summary.references.curves if summary.references else {}
    common = (summary.extra.get("common_images") or {}).get("images", summary.images)
    views = [
        {
            "key": "all",
            "label": f"all images (mean over {common})",
            "curves": {name: curve_data(c, keys) for name, c in summary.codecs.items()},
        }
    ]
    for name, group in summary.groups.items():
        views.append(
            {
                "key": f"group:{name}",
                "label": f"group {'(top level)' if name == '.' else name} "
                f"(mean over {group.common_images} of {group.images})",
                "curves": {codec: curve_data(c, keys) for codec, c in group.codecs.items()},
            }
        )
    every = sorted({image for per in summary.image_curves.values() for image in per})
    strip_images = {
        image
        for per_codec in summary.bd_rate.per_image.values()
        for stats in per_codec.values()
        for image in stats.values
    }
    names = sorted(set(every) | strip_images)
    index = {name: i for i, name in enumerate(names)}
    shown_images = _shown_images(summary, cap)
    image_curves = {
        codec: {
            str(index[name]): curve_data(per[name], keys) for name in shown_images if name in per
        }
        for codec, per in summary.image_curves.items()
    }
    return {
        "anchor": summary.anchor,
        "metrics": [_metric(key) for key in keys],
        "codecs": codecs,
        "references": {name: curve_data(c, keys) for name, c in references.items()},
        "views": views,
        "images": names,
        "image_curves": image_curves,
        "images_with_curves": len(every),
        "images_shown": [index[name] for name in shown_images],
        "strips": _strips(summary, index),
        "complexity": _complexity(summary, metrics),
    }


def _strips(summary: RunSummary, index: dict[str, int]) -> list[dict[str, Any]]:
    """Per metric: each codec's per-image BD-rates against the anchor (image index, value),
    with the mean, its 95% interval and the mean curve's BD-rate."""
    strips = []
    for metric, per_codec in summary.bd_rate.per_image.items():
        rows = []
        for codec, stats in per_codec.items():
            rows.append(
                {
                    "codec": codec,
                    "values": [
                        [index[image], rounded(value, 3)]
                        for image, value in stats.values.items()
                        if math.isfinite(value)
                    ],
                    "mean": rounded(stats.mean, 3),
                    "ci": [rounded(stats.mean_ci.low, 3), rounded(stats.mean_ci.high, 3)],
                    "mean_curve": rounded(stats.mean_curve, 3),
                    "left_out": len(stats.left_out),
                }
            )
        if rows:
            strips.append({"metric": metric, "label": shown.label(metric), "rows": rows})
    return strips


def _complexity(summary: RunSummary, metrics: Sequence[str]) -> dict[str, Any] | None:
    """Each learned codec's BD-rate (the headline, first metric) against its decoder kMAC/px."""
    metric = metrics[0] if metrics else "psnr-rgb"
    points = []
    for codec in summary.complexity:
        kmac = summary.decoder_kmac_per_pixel(codec)
        value, _ = summary.bd_rate.headline_value(metric, codec)
        if kmac and value is not None and math.isfinite(value):
            points.append({"codec": codec, "kmac": rounded(kmac, 2), "value": rounded(value, 3)})
    if not points:
        return None
    return {"metric": metric, "anchor": summary.anchor, "points": points}


__all__ = ["IMAGE_CURVES_SHOWN", "curve_data", "metric_keys", "report_data"]
