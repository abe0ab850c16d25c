"""Per-group results: where a codec wins (photos, graphics, screenshots, thumbnails).

A folder whose images sit in subfolders is reported per subfolder too. The group of an image is
the first component of its name (``photos/a.png`` → ``photos``, ``photos/2024/b.png`` →
``photos``); images at the top level of the folder form the group :data:`TOP_LEVEL` (``.``).
Groups are reported when the images fall in two groups or more: a run whose images all sit in
one place would only repeat its own numbers.

Each group's numbers are the run's, computed on its images only, by the same functions: mean
curves on the run's common images that are in the group (like with like; each metric's less the
images it is undefined for), their BD-rates against the run's anchor, and the per-image
BD-rates of the group's images with their aggregates and bootstrap intervals (the run's
per-image values aggregated again: no BD-rate is computed twice, and the bootstrap over a
group's n images costs what the run's costs over its own, a share of it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from licbench.results import statistics
from licbench.results.means import bd_table, codec_curves, undefined_everywhere
from licbench.results.summary import TOP_LEVEL, BDTable, GroupSummary


def group_of(image: str) -> str:
    """The group of an image name: its first folder, or :data:`TOP_LEVEL`."""
    head, sep, _ = image.partition("/")
    return head if sep and head else TOP_LEVEL


def groups_of(images: Iterable[str]) -> dict[str, list[str]]:
    """Group → its images (in the order given), groups sorted by name (``.`` first); empty
    when every image is in one group."""
    groups: dict[str, list[str]] = {}
    for image in images:
        groups.setdefault(group_of(image), []).append(image)
    return dict(sorted(groups.items())) if len(groups) > 1 else {}


def group_sections(
    frame: pd.DataFrame,
    common: Sequence[str],
    incomplete: Mapping[str, Sequence[str]],
    undefined: Mapping[str, Sequence[str]],
    anchor: str,
    metrics: Sequence[str],
    bd: BDTable,
) -> dict[str, GroupSummary]:
    """Every group's :class:`GroupSummary`, from the run's per-image table, its common images,
    its incomplete codecs and undefined images (metric → names), and its BD table ``bd`` (with
    the per-image statistics, method and headline the groups take over)."""
    if frame.empty:
        return {}
    groups = groups_of(dict.fromkeys(frame["image"]))
    codecs = list(dict.fromkeys(frame["codec"]))
    sections: dict[str, GroupSummary] = {}
    for name, members in groups.items():
        inside = set(members)
        measured = [i for i in common if i in inside]
        rows = frame[frame["image"].isin(measured)]
        curves = codec_curves(rows, dict.fromkeys(codecs), metrics, undefined)
        table = bd_table(
            curves, anchor, metrics, bd.method, undefined_everywhere(undefined, measured)
        )
        table.headline = bd.headline
        table.per_image = {
            metric: {
                codec: statistics.subset(stats, inside, _mean_curve(table, metric, codec))
                for codec, stats in per_codec.items()
            }
            for metric, per_codec in bd.per_image.items()
        }
        sections[name] = GroupSummary(
            images=len(members),
            common_images=int(rows["image"].nunique()),
            codecs=curves,
            bd_rate=table,
            undefined=_counts(undefined, inside),
            incomplete=_counts(incomplete, inside),
        )
    return sections


def _mean_curve(table: BDTable, metric: str, codec: str) -> float:
    """The group's mean-curve BD-rate of a metric, or of a metric set (``jpeg-ai``)."""
    value = table.value(metric, codec)
    if value is None:
        value = table.aggregates.get(metric, {}).get(codec)
    return math.nan if value is None else value


def _counts(names: Mapping[str, Sequence[str]], inside: set[str]) -> dict[str, int]:
    counts = {key: sum(1 for n in found if n in inside) for key, found in names.items()}
    return {key: n for key, n in counts.items() if n}


__all__ = ["TOP_LEVEL", "group_of", "group_sections", "groups_of"]
