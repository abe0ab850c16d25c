"""Per-image BD-rates and how far their aggregates would move on other images.

The BD-rate of a dataset's mean curve (the figure papers publish, kept as it is) can disagree
with the per-image BD-rates it summarises ("The Practice of Averaging Rate-Distortion Curves over
Testsets", arXiv 2409.08772; JVET and AOM tools average per-sequence BD-rates). So for every
codec against the anchor and every metric, licbench also computes each image's own BD-rate with
the same method, and reports their mean, their median, the share of images on which the codec
needs fewer bits, and a 95% confidence interval for the mean and the median from a bootstrap
over images.

The interval is BCa (bias-corrected and accelerated: ``scipy.stats.bootstrap``'s interval,
computed in O(n·B) time and bounded memory by :mod:`licbench.results.bootstrap`): per-image
BD-rates are often skewed by a few hard images, and BCa corrects the percentile interval for
that skew and for the bootstrap distribution's bias, with second-order accurate coverage where
the plain percentile interval is first-order. Where BCa is undefined (all values equal, or too
few images for its jackknife) the percentile interval is given and the method says so. The
resampling is seeded, so the same run gives the same interval.

Images whose curves do not overlap (no BD-rate can be computed) are counted, named and left
out, with the reason. So are images a metric is undefined for (a NaN value in a successful job:
MS-SSIM on an image under 161 px), on either curve: the metric's declared reason is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from licbench.results.curve import Curve

if TYPE_CHECKING:
    from licbench.results.batch_bd import Points
    from licbench.results.compare import BDComparison

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
#: the aggregates a BD-rate headline can be (``--bd-aggregate``)
AGGREGATES = ("mean-curve", "mean", "median")
DEFAULT_AGGREGATE = "mean-curve"


def _nan_list(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return (math.nan, math.nan)
    return tuple(math.nan if v is None else float(v) for v in value)  # type: ignore[return-value]


@dataclass
class Interval:
    low: float = math.nan
    high: float = math.nan

    @property
    def ok(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def to_json(self) -> list[float]:
        return [self.low, self.high]

    def __str__(self) -> str:
        return f"[{self.low:+.2f}, {self.high:+.2f}]" if self.ok else "[n/a]"


@dataclass
class PerImageBD:
    """One codec against the anchor on one metric: every image's BD-rate and their summary."""

    #: image → BD-rate (%) of its own curve; only images with a number
    values: dict[str, float] = field(default_factory=dict)
    #: image → why it has no BD-rate (left out of every aggregate)
    left_out: dict[str, str] = field(default_factory=dict)
    #: the BD-rate of the mean curve (the run's usual figure), for comparison
    mean_curve: float = math.nan
    mean: float = math.nan
    median: float = math.nan
    #: share of the images with a BD-rate on which the codec needs fewer bits (BD < 0)
    win_share: float = math.nan
    mean_ci: Interval = field(default_factory=Interval)
    median_ci: Interval = field(default_factory=Interval)
    #: "BCa", or "percentile" where BCa is undefined for these values
    interval: str = "BCa"
    confidence: float = CONFIDENCE
    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = BOOTSTRAP_SEED

    def aggregate(self, name: str) -> tuple[float, Interval | None]:
        """The value of an aggregate (``AGGREGATES``) and its interval (None for the mean
        curve, which has no bootstrap interval)."""
        if name == "mean":
            return self.mean, self.mean_ci
        if name == "median":
            return self.median, self.median_ci
        if name == "mean-curve":
            return self.mean_curve, None
        raise ValueError(f"unknown BD-rate aggregate {name!r}; choose from {AGGREGATES}")

    def left_out_by_reason(self) -> dict[str, int]:
        """How many images were left out, per reason (the reasons without image-specific
        numbers, so that a thousand images make a handful of lines; a metric's declared
        undefined reason is the same for every image and is kept as it is)."""
        counts: dict[str, int] = {}
        for reason in self.left_out.values():
            kind = (
                reason
                if reason.startswith(UNDEFINED_PREFIX)
                else re.sub(r"[-+]?\d[\d.,eE+-]*", "N", reason)
            )
            counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def to_json(self) -> dict[str, Any]:
        return {
            "mean_curve": self.mean_curve,
            "mean": self.mean,
            "mean_ci": self.mean_ci.to_json(),
            "median": self.median,
            "median_ci": self.median_ci.to_json(),
            "win_share": self.win_share,
            "images": len(self.values),
            "left_out": self.left_out,
            "left_out_by_reason": self.left_out_by_reason(),
            "interval": self.interval,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
            "per_image": self.values,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PerImageBD:
        def number(key: str) -> float:
            value = data.get(key)
            if value is None:
                return math.nan
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} is not a number: {value!r}")
            return float(value)

        per_image = data.get("per_image") or {}
        left_out = data.get("left_out") or {}
        if not isinstance(per_image, dict) or not isinstance(left_out, dict):
            raise ValueError("per_image and left_out must be objects")
        return cls(
            values={str(k): float(v) for k, v in per_image.items() if v is not None},
            left_out={str(k): str(v) for k, v in left_out.items()},
            mean_curve=number("mean_curve"),
            mean=number("mean"),
            median=number("median"),
            win_share=number("win_share"),
            mean_ci=Interval(*_nan_list(data.get("mean_ci"))),
            median_ci=Interval(*_nan_list(data.get("median_ci"))),
            interval=str(data.get("interval") or "BCa"),
            confidence=number("confidence") if "confidence" in data else CONFIDENCE,
            resamples=int(data.get("resamples") or BOOTSTRAP_RESAMPLES),
            seed=int(data.get("seed") or 0),
        )


def bootstrap_interval(
    values: Sequence[float],
    statistic: str,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[Interval, str]:
    """The ``confidence`` interval of ``statistic`` ("mean" or "median") over ``values``,
    resampling the values (images) with replacement; ``(interval, method)``."""
    return bootstrap_intervals(
        values, (statistic,), resamples=resamples, seed=seed, confidence=confidence
    )[statistic]


def bootstrap_intervals(
    values: Sequence[float],
    statistics: Sequence[str] = ("mean", "median"),
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, tuple[Interval, str]]:
    """:func:`bootstrap_interval` of several statistics from one pass over the resamples
    (each statistic sees the resamples it would see alone: the same seed, the same draws).

    ``scipy.stats.bootstrap(method="BCa")`` with ``np.random.default_rng(seed)`` is the
    reference; :mod:`licbench.results.bootstrap` gives its intervals (the same resamples, the
    same BCa arithmetic) in O(n·B) time and bounded memory, where scipy's jackknife of n
    leave-one-out copies takes O(n²) (1.6 GB more at 8,000 images)."""
    import numpy as np

    from licbench.results.bootstrap import STATISTICS, bca_intervals

    unknown = [name for name in statistics if name not in STATISTICS]
    if unknown:
        raise ValueError(f"unknown bootstrap statistic {unknown[0]!r}; choose from mean, median")
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return {name: (Interval(), "BCa") for name in statistics}
    if np.all(data == data[0]):  # no spread: every resample gives the same value
        return {
            name: (Interval(float(data[0]), float(data[0])), "percentile") for name in statistics
        }
    if np.isnan(data).any():  # (scipy's intervals are NaN then, by either method)
        return {name: (Interval(), "percentile") for name in statistics}
    found = bca_intervals(data, statistics, resamples=resamples, seed=seed, confidence=confidence)
    out: dict[str, tuple[Interval, str]] = {}
    for name, (low, high, method) in found.items():
        interval = Interval(low, high)
        out[name] = (interval, method) if interval.ok else (Interval(), "percentile")
    return out


#: how the reason of an image left out because the metric is undefined for it starts
UNDEFINED_PREFIX = "undefined for this image: "


def undefined_reason(metric: str) -> str:
    """Why ``metric`` (or the metric a derived series comes from) can have no value for an
    image: its declaration (:attr:`licbench.metrics.base.Metric.undefined`), else a generic
    sentence. NaN in a successful job is what "undefined" means, for every metric."""
    from licbench.metrics import METRICS
    from licbench.metrics.derived import transform_of

    derived = transform_of(metric)
    source = derived[0] if derived else metric
    declared = METRICS.get(source).undefined if source in METRICS else ""
    return declared or f"{source} has no value (NaN) for this image"


def is_undefined(curve: Curve, metric: str) -> bool:
    """Whether ``metric`` has no value at one of the curve's measured points (NaN where the
    rate is a number): the metric is undefined for that image."""
    from licbench.metrics.derived import transform_of

    derived = transform_of(metric)
    values = curve.values(derived[0] if derived else metric)
    if values is None:
        return False
    rates = curve.results.get("bpp") or []
    return any(
        r is not None and math.isfinite(float(r)) and math.isnan(v)
        for r, v in zip(rates, values, strict=False)
    )


def per_image_bd(
    anchor: Mapping[str, Curve],
    test: Mapping[str, Curve],
    metric: str,
    method: str = "pchip",
    mean_curve: float = math.nan,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> PerImageBD:
    """BD-rate of each image's ``test`` curve against its ``anchor`` curve (both by image
    name), and their aggregates with bootstrap intervals."""
    from licbench.results.batch_bd import pchip_bd_rates
    from licbench.results.compare import compare  # (scipy: only when computing)

    result = PerImageBD(mean_curve=mean_curve, resamples=resamples, seed=seed)
    # image → its BD-rate, or why it has none; in image order
    outcome: dict[str, float | str] = {}
    # the pairs bd_rate would take as they are: computed together (batch_bd), the same numbers
    batched: dict[str, tuple[Curve, Curve]] = {}
    batch: tuple[list[Points], list[Points]] = ([], [])
    for image in sorted(set(anchor) | set(test)):
        if image not in anchor or image not in test:
            which = "the anchor" if image not in anchor else "this codec"
            outcome[image] = f"no successful job of {which} on this image"
            continue
        if is_undefined(anchor[image], metric) or is_undefined(test[image], metric):
            outcome[image] = UNDEFINED_PREFIX + undefined_reason(metric)
            continue
        pair = [pareto_front(curve, metric) for curve in (anchor[image], test[image])]
        too_few = [n for n, c in zip(("the anchor", "this codec"), pair, strict=True) if c[1] < 2]
        if too_few:
            outcome[image] = (
                f"{' and '.join(too_few)}: fewer than two rate-distortion-optimal points"
            )
            continue
        points = [_valid_points(c[0], metric) for c in pair] if method == "pchip" else [None]
        if None not in points:
            outcome[image] = math.nan  # (filled in below)
            batched[image] = (pair[0][0], pair[1][0])
            batch[0].append(points[0])  # type: ignore[arg-type]
            batch[1].append(points[1])  # type: ignore[arg-type]
            continue
        outcome[image] = _bd_or_reason(compare(pair[0][0], pair[1][0], metric, method))
    for image, value in zip(batched, pchip_bd_rates(*batch), strict=True):
        if math.isnan(value):  # no shared quality range: bd_rate says so, in its words
            value = _bd_or_reason(compare(*batched[image], metric, method))
        outcome[image] = value
    for image, value in outcome.items():
        if isinstance(value, str):
            result.left_out[image] = value
        else:
            result.values[image] = value
    return summarise(result)


def _bd_or_reason(bd: BDComparison) -> float | str:
    """The comparison's BD-rate, or why there is none."""
    return bd.value if bd.ok else bd.error or "; ".join(bd.warnings) or "no overlap"


def _valid_points(curve: Curve, metric: str) -> Points | None:
    """``(rates, qualities oriented higher-is-better)``, when :func:`compare` would take the
    curve as it is (two points at least, every one finite, rates positive, rates and qualities
    strictly increasing in the curve's order, as :func:`pareto_front` leaves them); None
    otherwise, for :func:`compare` to say what is wrong or to sort it. Plain lists: numpy on
    five numbers costs more than the checks."""
    from licbench.metrics.derived import bd_series
    from licbench.results.series import higher_is_better

    direction = higher_is_better(metric)
    rates, values = curve.results.get("bpp"), curve.results.get(bd_series(metric))
    if direction is None or rates is None or values is None or len(rates) != len(values):
        return None
    if len(rates) < 2 or None in rates or None in values:
        return None
    r = [float(v) for v in rates]
    d = [float(v) if direction else -float(v) for v in values]
    if not (all(map(math.isfinite, r)) and all(map(math.isfinite, d)) and r[0] > 0):
        return None
    if any(b <= a for a, b in pairwise(r)) or any(b <= a for a, b in pairwise(d)):
        return None
    return r, d


def pareto_front(curve: Curve, metric: str) -> tuple[Curve, int]:
    """The curve's rate-distortion-optimal points for ``metric`` (on its BD series), and how
    many there are.

    A point is kept when no other point has at most its rate and at least its quality (at a
    repeated rate, the best quality): the points a user of that codec would choose. Small
    images and close quality settings give non-monotonic or repeated-rate curves, which BD
    interpolation refuses; their front is monotonic. The same rule is the one RD studies apply
    to a codec's operating points (the lower convex hull is stricter; this keeps every point
    that is not dominated).
    """
    from licbench.metrics.derived import bd_series
    from licbench.results.series import higher_is_better

    series = bd_series(metric)
    rates, values = curve.results.get("bpp") or [], curve.results.get(series) or []
    sign = 1.0 if higher_is_better(series) is not False else -1.0
    points = [
        (float(r), sign * float(v), i)
        for i, (r, v) in enumerate(zip(rates, values, strict=False))
        if r is not None and v is not None and math.isfinite(r) and math.isfinite(v)
    ]
    points.sort(key=lambda p: (p[0], -p[1]))  # by rate; at one rate the best first
    kept: list[int] = []
    best = -math.inf
    for _, value, index in points:
        if value > best:
            kept.append(index)
            best = value
    if len(kept) == len(rates):
        return curve, len(kept)
    results = {k: [v[i] for i in kept] for k, v in curve.results.items() if len(v) == len(rates)}
    return Curve(curve.name, curve.description, results, curve.version), len(kept)


def summarise(result: PerImageBD) -> PerImageBD:
    """Fill in the aggregates of ``result.values``: mean, median, win share, intervals."""
    import statistics as pystats

    values = list(result.values.values())
    if values:
        result.mean = sum(values) / len(values)
        result.median = float(pystats.median(values))
        result.win_share = sum(1 for v in values if v < 0) / len(values)
        intervals = bootstrap_intervals(values, resamples=result.resamples, seed=result.seed)
        result.mean_ci, used_mean = intervals["mean"]
        result.median_ci, used_median = intervals["median"]
        result.interval = used_mean if used_mean == used_median else f"{used_mean}/{used_median}"
    return result


def subset(stats: PerImageBD, images: Collection[str], mean_curve: float) -> PerImageBD:
    """``stats`` on ``images`` only (a group of the run's images), aggregated again with the
    same bootstrap; ``mean_curve`` is the group's own mean-curve BD-rate. No per-image BD-rate
    is computed again."""
    result = PerImageBD(
        values={k: v for k, v in stats.values.items() if k in images},
        left_out={k: v for k, v in stats.left_out.items() if k in images},
        mean_curve=mean_curve,
        resamples=stats.resamples,
        seed=stats.seed,
    )
    return summarise(result)


def mean_over_metrics(parts: Sequence[PerImageBD], mean_curve: float = math.nan) -> PerImageBD:
    """Per image, the mean of its BD-rates over several metrics (JPEG AI's headline), and the
    aggregates of those means; an image missing from any metric is left out, named."""
    images = set().union(*(p.values.keys() | p.left_out.keys() for p in parts)) if parts else set()
    result = PerImageBD(mean_curve=mean_curve)
    for image in sorted(images):
        missing = [str(i) for i, p in enumerate(parts) if image not in p.values]
        if missing:
            result.left_out[image] = f"no BD-rate on {len(missing)} of the {len(parts)} metrics"
        else:
            result.values[image] = sum(p.values[image] for p in parts) / len(parts)
    return summarise(result)


def image_curves(frame: Any, metrics: Sequence[str]) -> dict[str, dict[str, Curve]]:
    """Per codec and image name, that image's own curve from the per-image table."""
    from licbench.metrics import column_name
    from licbench.metrics.derived import derived_from

    curves: dict[str, dict[str, Curve]] = {}
    if frame.empty:
        return curves
    # one sort and plain lists, then runs of equal (codec, image): a pandas group per image is
    # a second per thousand images; by rate within each, ties in the table's order
    ok = frame[frame["error"] == ""].sort_values(["codec", "image", "bpp"], kind="stable")
    codecs = [str(c) for c in ok["codec"]]
    images = [str(i) for i in ok["image"]]
    columns = {
        "quality": ok["quality"].astype(float).tolist(),
        "bpp": ok["bpp"].astype(float).tolist(),
    }
    for metric in metrics:
        columns[metric] = ok[column_name(metric)].astype(float).tolist()
    start = 0
    for end in range(1, len(codecs) + 1):
        if end < len(codecs) and (codecs[end], images[end]) == (codecs[start], images[start]):
            continue
        results: dict[str, list[Any]] = {k: columns[k][start:end] for k in ("quality", "bpp")}
        for metric in metrics:
            results[metric] = columns[metric][start:end]
            for series in derived_from(metric):
                results[series.name] = [series(v) for v in results[metric]]
        curves.setdefault(codecs[start], {})[images[start]] = Curve(images[start], results=results)
        start = end
    return curves


__all__ = [
    "AGGREGATES",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "DEFAULT_AGGREGATE",
    "Interval",
    "PerImageBD",
    "bootstrap_interval",
    "bootstrap_intervals",
    "UNDEFINED_PREFIX",
    "image_curves",
    "is_undefined",
    "mean_over_metrics",
    "per_image_bd",
    "subset",
    "summarise",
    "undefined_reason",
]
