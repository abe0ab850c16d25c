"""Mean curves and their BD-rates against the anchor: the numbers a run (and each of its groups)
leads with.

The per-codec curves are CompressAI's results format, each point the arithmetic mean over the
images at one quality, ordered by rate. Derived series (MS-SSIM in dB) are computed from each
point's mean of their source metric, as the field does. Kept apart from :mod:`build` so that a
group of images (:mod:`licbench.results.groups`) is measured by the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from licbench.metrics import JPEG_AI_HEADLINE, column_name
from licbench.metrics.derived import derived_from, series_names
from licbench.results.compare import compare
from licbench.results.curve import Curve
from licbench.results.statistics import undefined_reason
from licbench.results.summary import BDTable


def codec_curves(
    frame: pd.DataFrame,
    descriptions: Mapping[str, str | None],
    metrics: Sequence[str],
    undefined: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Curve]:
    """Per codec, its curve: means over images at each quality, by rate.

    A metric's means leave out the images it is ``undefined`` for (metric → names), whatever
    codec measured them, so no NaN reaches a mean and every codec's curve of that metric
    averages the same images; the other metrics keep them.
    """
    curves: dict[str, Curve] = {}
    ok = frame[frame["error"] == ""] if not frame.empty else frame
    if undefined and not ok.empty:
        ok = ok.copy()
        for metric, names in undefined.items():
            ok.loc[ok["image"].isin(list(names)), column_name(metric)] = math.nan
    for codec in descriptions:
        rows = ok[ok["codec"] == codec] if not ok.empty else ok
        results: dict[str, list[Any]] = {"bpp": []}
        for name in series_names(list(metrics)):
            results[name] = []
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
                    value = float(point[column_name(metric)])
                    results[metric].append(value)
                    for series in derived_from(metric):
                        results[series.name].append(series(value))
                results["encoding_time"].append(float(point["encode_s"]))
                results["decoding_time"].append(float(point["decode_s"]))
                results["quality"].append(float(quality))
                results["images"].append(int(point["images"]))
        curves[codec] = Curve(codec, descriptions[codec], results)
    return curves


def undefined_everywhere(
    undefined: Mapping[str, Sequence[str]], images: Sequence[str]
) -> dict[str, str]:
    """Metric → why, for each metric undefined for every one of ``images`` (a set of thumbnails
    has no MS-SSIM curve at all)."""
    return {
        metric: undefined_reason(metric)
        for metric, names in undefined.items()
        if images and set(images) <= set(names)
    }


def bd_table(
    curves: Mapping[str, Curve],
    anchor: str,
    metrics: Sequence[str],
    method: str = "pchip",
    undefined: Mapping[str, str] | None = None,
) -> BDTable:
    """BD-rate (%) of every codec against the anchor, per metric; NaN where none can be had.

    Every warning and error is kept, prefixed by codec and metric, so the report can say why a
    number is missing or fragile. ``undefined`` (metric → why, :func:`undefined_everywhere`)
    names the metrics with no value on any of the curves' images: theirs is that reason.
    """
    table = BDTable(anchor, method)
    for metric in metrics:
        table.values[metric] = {}
        for codec, curve in curves.items():
            if codec == anchor or anchor not in curves:
                continue
            if metric in (undefined or {}):
                table.warnings.append(
                    f"{codec} {metric}: undefined for every image ({undefined[metric]}): no "
                    "curve, no BD-rate"
                )
                table.values[metric][codec] = math.nan
                continue
            result = compare(curves[anchor], curve, metric, method)
            table.warnings.extend(f"{codec} {metric}: {m}" for m in result.messages())
            table.values[metric][codec] = result.value
            if result.ok and result.overlap is not None:  # the range of a value, not of an n/a
                table.ranges.setdefault(metric, {})[codec] = result.overlap
    for name, members in HEADLINE_GROUPS.items():
        if set(members) <= set(metrics):
            table.aggregates[name] = {
                codec: _mean_or_nan([table.values[m].get(codec) for m in members])
                for codec in curves
                if codec != anchor and anchor in curves
            }
    return table


#: groups whose mean BD-rate is a headline figure, with the metrics averaged
HEADLINE_GROUPS = {"jpeg-ai": JPEG_AI_HEADLINE}


def _mean_or_nan(values: Sequence[float | None]) -> float:
    """The mean when every value is a number (a mean over fewer metrics would mislead)."""
    if any(v is None or math.isnan(v) for v in values):
        return math.nan
    return sum(values) / len(values)  # type: ignore[arg-type]


__all__ = ["HEADLINE_GROUPS", "bd_table", "codec_curves", "undefined_everywhere"]
