"""What the report shows of per-image detail when a run has too many images to list.

A table of every job is useful on Kodak (24 images, a few hundred rows, sortable) and useless at
10,000 images: 100,000 rows, tens of megabytes, a page that takes a minute to open (issue 19,
item 8). Above :data:`FULL_TABLE_IMAGES` images the report shows instead what a reader can take
in (distributions, the worst and best images, grouped failures) and points to the CSV files,
which always hold every row. Everything that grows with the number of images is either
summarised here or capped, and each cap is said in the page.

Only reads results: the per-image frame and the summary's per-image BD-rates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: up to this many images the report lists every job (sortable table, per-image target choices)
FULL_TABLE_IMAGES = 200
#: how many worst and how many best images (by per-image BD-rate) a summarised report names
EXTREMES = 10
#: how many files a group of identical failures (or input notes) names before "and N more"
NAMES_SHOWN = 5
#: how many images the left-out disclosure of a per-image BD-rate row names before "and N more"
LEFT_OUT_SHOWN = 50
#: the quantiles of a distribution row, as (label, percentile)
QUANTILES = (("min", 0.0), ("p5", 5.0), ("median", 50.0), ("p95", 95.0), ("max", 100.0))
#: what stands for each failing file's path in a grouped failure
FILE = "‹file›"


def full_table(images: int) -> bool:
    """Whether the report lists every job of a run of ``images`` images."""
    return images <= FULL_TABLE_IMAGES


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """min, p5, median, p95 and max of the finite ``values`` (numpy's linear interpolation);
    NaN for each when there is none."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return {label: math.nan for label, _ in QUANTILES}
    points = np.percentile(finite, [q for _, q in QUANTILES])
    return {label: float(v) for (label, _), v in zip(QUANTILES, points, strict=True)}


@dataclass
class Distribution:
    """One row of a distribution table: what was counted, over how many values, its quantiles."""

    codec: str
    what: str
    count: int
    quantiles: dict[str, float]
    quality: float | None = None
    metric: str = ""


def job_distributions(
    frame: Any, columns: Sequence[tuple[str, str, int]]
) -> list[tuple[Distribution, int]]:
    """Per quantity (bpp, then each metric column), codec and quality: the distribution over
    the successful jobs, with the decimals to show it with. ``columns`` are the report's
    ``(frame column, label, decimals)``."""
    if frame.empty:
        return []
    ok = frame[frame["error"] == ""]
    rows: list[tuple[Distribution, int]] = []
    quantities = [("bpp", "bpp", 4), *columns]
    for (codec, quality), jobs in ok.groupby(["codec", "quality"], sort=False):
        for column, label, digits in quantities:
            if column not in jobs:
                continue
            values = jobs[column].astype(float).tolist()
            finite = [v for v in values if math.isfinite(v)]
            shown = Distribution(str(codec), label, len(finite), quantiles(finite), float(quality))
            rows.append((shown, digits))
    # one block per quantity (bpp, then each metric), codecs in run order, rising quality
    what = {label: i for i, (_, label, _) in enumerate(quantities)}
    order = {codec: i for i, codec in enumerate(dict.fromkeys(ok["codec"]))}
    rows.sort(key=lambda row: (what[row[0].what], order[row[0].codec], row[0].quality))
    return rows


def bd_distributions(per_image: Mapping[str, Mapping[str, Any]]) -> list[Distribution]:
    """Per metric and codec: the distribution of the per-image BD-rates against the anchor."""
    return [
        Distribution(
            codec, "BD-rate (%)", len(stats.values), quantiles(stats.values.values()), metric=metric
        )  # fmt: skip
        for metric, per_codec in per_image.items()
        for codec, stats in per_codec.items()
    ]


@dataclass
class Extremes:
    """The worst and best images of one codec on one metric, by per-image BD-rate."""

    metric: str
    codec: str
    images: int
    #: (image, BD-rate) from the worst down: most bits against the anchor first
    worst: list[tuple[str, float]] = field(default_factory=list)
    #: (image, BD-rate) from the best up: fewest bits against the anchor first
    best: list[tuple[str, float]] = field(default_factory=list)


def extremes(per_image: Mapping[str, Mapping[str, Any]], count: int = EXTREMES) -> list[Extremes]:
    """The ``count`` worst and ``count`` best images per metric and codec.

    A BD-rate is lower-is-better whatever the metric's direction (negative: fewer bits for the
    same quality), so the worst are the largest. Ties go by image name, so the lists are the
    same on every machine. Images without a BD-rate (left out) are in neither list.
    """
    found = []
    for metric, per_codec in per_image.items():
        for codec, stats in per_codec.items():
            ranked = sorted(stats.values.items(), key=lambda item: (item[1], item[0]))
            worst = sorted(stats.values.items(), key=lambda item: (-item[1], item[0]))
            found.append(Extremes(metric, codec, len(ranked), worst[:count], ranked[:count]))
    return found


@dataclass
class FailureGroup:
    """Failed jobs with the same codec and cause: how many, on which files, at which qualities."""

    codec: str
    cause: str
    jobs: int = 0
    images: list[str] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)

    @property
    def shown(self) -> list[str]:
        return self.images[:NAMES_SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.images) - NAMES_SHOWN)


_QUALITY = re.compile(r" at quality [-+0-9.eE]+")


def cause_of(error: str, image: str, path: str | None = None) -> str:
    """An error message without what makes it one file's: the file's path (or name) becomes
    :data:`FILE`, "at quality Q" goes (the group lists its qualities), a leading "FILE: " too.

    "/data/a.png: webp at quality 40 failed while encoding: OSError: ..." and the same for b.png
    at quality 60 are one cause: "webp failed while encoding: OSError: ...".
    """
    text = error
    if path:
        text = text.replace(path, FILE)
    if image and FILE not in text:
        text = text.replace(image, FILE)
    text = _QUALITY.sub("", text)
    # the message leads with the file (its path, or a folder then its name): that goes too
    lead = text.find(FILE + ": ")
    if lead == 0 or (lead > 0 and text[lead - 1] in "/\\" and " " not in text[:lead].strip()):
        text = text[lead + len(FILE) + 2 :]
    return text


def failure_groups(frame: Any, paths: Mapping[str, str] | None = None) -> list[FailureGroup]:
    """The failed jobs of ``frame`` grouped by codec and cause, largest group first.

    ``paths`` (image sha256 → file, from the run manifest) lets a cause lose the file's full
    path; without it the image's name is taken out.
    """
    if frame.empty:
        return []
    failed = frame[frame["error"] != ""]
    groups: dict[tuple[str, str], FailureGroup] = {}
    for codec, image, sha, quality, error in zip(
        failed["codec"], failed["image"], failed["image_sha256"], failed["quality"],
        failed["error"], strict=True,
    ):  # fmt: skip
        cause = cause_of(str(error), str(image), (paths or {}).get(str(sha)))
        group = groups.setdefault((str(codec), cause), FailureGroup(str(codec), cause))
        group.jobs += 1
        group.images.append(str(image))
        if float(quality) not in group.qualities:
            group.qualities.append(float(quality))
    for group in groups.values():
        group.images = sorted(set(group.images))  # named in name order: the same on every run
        group.qualities.sort()
    return sorted(groups.values(), key=lambda g: (-g.jobs, g.codec, g.cause))


@dataclass
class NoteGroup:
    """Images with the same input note (what was done to an input to measure it)."""

    note: str
    images: list[str]

    @property
    def shown(self) -> list[str]:
        return self.images[:NAMES_SHOWN]

    @property
    def more(self) -> int:
        return max(0, len(self.images) - NAMES_SHOWN)


def note_groups(frame: Any) -> list[NoteGroup]:
    """The images with input notes, grouped by note (each note of a "; " list on its own)."""
    if frame.empty or "notes" not in frame:
        return []
    found: dict[str, list[str]] = {}
    for image, notes in zip(frame["image"], frame["notes"], strict=True):
        for note in str(notes or "").split("; "):
            if note and note != "nan":
                found.setdefault(note, []).append(str(image))
    groups = [NoteGroup(note, sorted(set(images))) for note, images in found.items()]
    return sorted(groups, key=lambda g: (-len(g.images), g.note))


def target_digest(entry: Any) -> dict[str, Any]:
    """A rate-target cell of a summarised report: how many images got each quality, and how
    many ended at an end of the range (``above``, ``below``) or failed, instead of one line per
    image (those are in summary.json ``target_bpp``)."""
    qualities: dict[float, int] = {}
    statuses: dict[str, int] = {}
    for point in entry.per_image.values():
        if point.quality is not None:
            qualities[float(point.quality)] = qualities.get(float(point.quality), 0) + 1
        if point.status != "ok":
            statuses[point.status] = statuses.get(point.status, 0) + 1
    return {"qualities": dict(sorted(qualities.items())), "statuses": statuses}


def digest_context(
    frame: Any,
    summary: Any,
    images: int,
    metric_columns: Sequence[tuple[str, str, int]],
    paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report's per-image part: the full job table up to :data:`FULL_TABLE_IMAGES` images,
    else distributions, the worst and best images and grouped input notes; failures are always
    grouped. Keys are the template's."""
    full = full_table(images)
    per_image = summary.bd_rate.per_image
    context: dict[str, Any] = {
        "full_table": full,
        "full_table_images": FULL_TABLE_IMAGES,
        "names_shown": NAMES_SHOWN,
        "left_out_shown": LEFT_OUT_SHOWN,
        "failure_groups": failure_groups(frame, paths),
        "failed_images": int(frame.loc[frame["error"] != "", "image"].nunique())
        if not frame.empty
        else 0,
        "per_image": frame[frame["error"] == ""].to_dict("records") if full else [],
        "job_distributions": [] if full else job_distributions(frame, metric_columns),
        "bd_distributions": [] if full else bd_distributions(per_image),
        "extremes": [] if full else extremes(per_image),
        "extremes_count": EXTREMES,
        "note_groups": [] if full else note_groups(frame),
        "rows_total": int((frame["error"] == "").sum()) if not frame.empty else 0,
    }
    targets = summary.target_bpp
    if targets and not full:
        context["target_digests"] = {
            codec: {text: target_digest(entry) for text, entry in per_target.items()}
            for codec, per_target in targets.codecs.items()
        }
    else:
        context["target_digests"] = {}
    return context


__all__ = [
    "EXTREMES",
    "FULL_TABLE_IMAGES",
    "LEFT_OUT_SHOWN",
    "NAMES_SHOWN",
    "Distribution",
    "Extremes",
    "FailureGroup",
    "NoteGroup",
    "cause_of",
    "digest_context",
    "extremes",
    "failure_groups",
    "full_table",
    "job_distributions",
    "note_groups",
    "quantiles",
    "target_digest",
]
