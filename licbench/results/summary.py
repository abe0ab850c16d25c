"""The typed run summary: what ``summary.json`` holds, read and written in one place.

``RunSummary.to_json()`` is the file licbench writes (each codec a CompressAI-format curve, the
BD-rate table, latency, references, rate targets); ``RunSummary.from_json()`` reads it back and
is the one place that checks what it reads, so ``report``, ``check`` and ``roi`` never index a
raw dict. Keys it does not know are kept (``extra``) and written back: an older licbench reads a
newer run.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from licbench.results.curve import Curve, CurveError
from licbench.results.statistics import AGGREGATES, DEFAULT_AGGREGATE, Interval, PerImageBD


class SummaryError(ValueError):
    """A file that is not a readable licbench summary.json (a usage error for the CLI)."""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SummaryError(f"{where} is not an object")
    return value


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SummaryError(f"not a number: {value!r:.60}")
    if not math.isfinite(value):
        raise SummaryError(f"{value!r} is not a finite number (write null)")
    return float(value)


def _count(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SummaryError(f"{where} is {value!r:.60}, not a count")
    return value


#: deeper than this is not a licbench summary (its deepest entry is about 7 levels)
MAX_DEPTH = 32
#: the largest finite float; a larger integer has no float value
_LARGEST = sys.float_info.max


def _check_tree(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH`, or holding an integer too
    large for a float anywhere (``1`` and 400 zeros is valid JSON and a Python int; the first
    ``float()`` of it, here or in a report, would raise :class:`OverflowError`)."""
    if depth > MAX_DEPTH:
        raise SummaryError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_tree(inner, f"{where}.{key}" if where else str(key), depth + 1)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_tree(inner, f"{where}[{index}]", depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST:
        digits = len(str(abs(value)))  # (JSON reading caps an int at 4,300 digits)
        raise SummaryError(
            f"{where or 'the document'} is an integer of {digits} digits, too large for a number"
        )


@dataclass
class BDTable:
    """BD-rate (%) of every codec against the anchor, per metric (NaN: not computable)."""

    anchor: str
    method: str
    #: metric → codec → percent
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: name → codec → percent: means over a set of metrics (``jpeg-ai``: its seven metrics)
    aggregates: dict[str, dict[str, float]] = field(default_factory=dict)
    #: metric → codec → each image's BD-rate and their aggregates with intervals
    per_image: dict[str, dict[str, PerImageBD]] = field(default_factory=dict)
    #: metric → codec → [low, high] of the BD series both curves reach: the range a value
    #: describes (the mean curves'; absent where they do not overlap)
    ranges: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    #: the aggregate the report leads with (``--bd-aggregate``): mean-curve, mean or median
    headline: str = DEFAULT_AGGREGATE

    def statistics(self, metric: str, codec: str) -> PerImageBD | None:
        return self.per_image.get(metric, {}).get(codec)

    def headline_value(self, metric: str, codec: str) -> tuple[float | None, Interval | None]:
        """The headline aggregate's value and interval (mean-curve: the table's value)."""
        stats = self.statistics(metric, codec)
        if self.headline == "mean-curve" or stats is None:
            return self.value(metric, codec), None
        return stats.aggregate(self.headline)

    def get(self, metric: str) -> dict[str, float]:
        return self.values.get(metric, {})

    def value(self, metric: str, codec: str) -> float | None:
        """The BD-rate, or None when the table has no entry (NaN when not computable)."""
        return self.values.get(metric, {}).get(codec)

    def range(self, metric: str, codec: str) -> tuple[float, float] | None:
        """The quality range the mean-curve value averages over, or None."""
        return self.ranges.get(metric, {}).get(codec)

    def warnings_for(self, codec: str, metric: str) -> list[str]:
        prefix = f"{codec} {metric}: "
        return [w for w in self.warnings if w.startswith(prefix)]

    def to_json(self) -> dict[str, Any]:
        data = {"anchor": self.anchor, "method": self.method, "warnings": self.warnings} | {
            metric: dict(per_codec) for metric, per_codec in self.values.items()
        }
        if self.aggregates:
            data["aggregates"] = self.aggregates
        if self.ranges:
            data["ranges"] = {
                metric: {codec: list(pair) for codec, pair in per.items()}
                for metric, per in self.ranges.items()
            }
        if self.per_image:
            data["headline"] = self.headline
            data["per_image"] = {
                metric: {codec: stats.to_json() for codec, stats in per.items()}
                for metric, per in self.per_image.items()
            }
        return data

    @classmethod
    def from_json(cls, data: Any) -> BDTable:
        data = _mapping(data or {}, "bd_rate")
        values = {
            str(metric): {str(c): _number(v) for c, v in _mapping(per, f"bd_rate.{metric}").items()}
            for metric, per in data.items()
            if metric not in _BD_TABLE_KEYS
        }
        per_image = {
            str(metric): {
                str(c): PerImageBD.from_json(_mapping(v, f"per_image.{metric}.{c}"))
                for c, v in _mapping(per, f"bd_rate.per_image.{metric}").items()
            }
            for metric, per in _mapping(data.get("per_image") or {}, "bd_rate.per_image").items()
        }
        headline = str(data.get("headline") or DEFAULT_AGGREGATE)
        if headline not in AGGREGATES:
            raise SummaryError(f"bd_rate.headline {headline!r} is not one of {AGGREGATES}")
        aggregates = {
            str(name): {str(c): _number(v) for c, v in _mapping(per, f"aggregates.{name}").items()}
            for name, per in _mapping(data.get("aggregates") or {}, "bd_rate.aggregates").items()
        }
        ranges = {
            str(metric): {
                str(c): _range(v, f"bd_rate.ranges.{metric}.{c}")
                for c, v in _mapping(per, f"bd_rate.ranges.{metric}").items()
            }
            for metric, per in _mapping(data.get("ranges") or {}, "bd_rate.ranges").items()
        }
        return cls(
            anchor=str(data.get("anchor") or ""),
            method=str(data.get("method") or "pchip"),
            values=values,
            warnings=[str(w) for w in data.get("warnings") or []],
            aggregates=aggregates,
            per_image=per_image,
            headline=headline,
            ranges=ranges,
        )


#: the keys of a BD table's JSON that are not metric names
_BD_TABLE_KEYS = ("anchor", "method", "warnings", "aggregates", "per_image", "headline", "ranges")


def _range(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise SummaryError(f"{where}: expected [low, high], got {value!r}")
    return _number(value[0]), _number(value[1])


@dataclass
class Latency:
    """Median and IQR of one codec's encode and decode seconds over its successful jobs."""

    jobs: int = 0
    encode_median_s: float = math.nan
    encode_iqr_s: float = math.nan
    decode_median_s: float = math.nan
    decode_iqr_s: float = math.nan
    device: str = "cpu"
    gpu: bool = False
    context: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: Any) -> Latency:
        data = _mapping(data, "latency entry")
        return cls(
            jobs=int(data.get("jobs") or 0),
            encode_median_s=_number(data.get("encode_median_s")),
            encode_iqr_s=_number(data.get("encode_iqr_s")),
            decode_median_s=_number(data.get("decode_median_s")),
            decode_iqr_s=_number(data.get("decode_iqr_s")),
            device=str(data.get("device") or "cpu"),
            gpu=bool(data.get("gpu")),
            context={str(k): str(v) for k, v in (data.get("context") or {}).items()},
        )


@dataclass
class ReferenceComparison:
    """The run's codecs against published curves (``--reference``)."""

    curves: dict[str, Curve] = field(default_factory=dict)
    #: reference → metric → codec → percent
    bd: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    method: str = "pchip"
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per (reference, metric, codec), for a table."""
        return [
            {"reference": ref, "metric": metric, "codec": codec, "value": value}
            for ref, per_metric in self.bd.items()
            for metric, per_codec in per_metric.items()
            for codec, value in per_codec.items()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "references": {name: curve.to_dict() for name, curve in self.curves.items()},
            "bd_rate_references": self.bd,
            "bd_rate_references_notes": {"method": self.method, "warnings": self.warnings},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferenceComparison | None:
        if "references" not in data and "bd_rate_references" not in data:
            return None
        curves = {
            str(n): Curve.from_dict(c, str(n))
            for n, c in _mapping(data.get("references") or {}, "references").items()
        }
        bd = {
            str(ref): {
                str(m): {str(c): _number(v) for c, v in _mapping(per, "bd_rate_references").items()}
                for m, per in _mapping(per_metric, "bd_rate_references").items()
            }
            for ref, per_metric in _mapping(
                data.get("bd_rate_references") or {}, "bd_rate_references"
            ).items()
        }
        notes = _mapping(data.get("bd_rate_references_notes") or {}, "bd_rate_references_notes")
        return cls(
            curves,
            bd,
            str(notes.get("method") or "pchip"),
            [str(w) for w in notes.get("warnings") or []],
        )


@dataclass
class TargetPoint:
    """The job a rate-target search chose for one image."""

    quality: float | None
    status: str
    probes: int
    bpp: float | None = None
    #: series → value on this image
    values: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    #: on a file with the same bytes as an earlier one: says its point is that file's
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quality": self.quality, "status": self.status}
        out["probes"] = self.probes
        if self.notes:
            out["notes"] = self.notes
        if self.error is not None:
            out["error"] = self.error
        else:
            out["bpp"] = self.bpp
            out.update(self.values)
        return out

    @classmethod
    def from_json(cls, data: Any) -> TargetPoint:
        data = dict(_mapping(data, "target point"))
        quality = data.pop("quality", None)
        point = cls(
            quality=None if quality is None else _number(quality),
            status=str(data.pop("status", "")),
            probes=int(data.pop("probes", 0) or 0),
            error=data.pop("error", None),
            notes=str(data.pop("notes", "") or ""),
        )
        if point.error is None:
            bpp = data.pop("bpp", None)
            point.bpp = None if bpp is None else _number(bpp)
            point.values = {str(k): _number(v) for k, v in data.items()}
        return point


@dataclass
class TargetEntry:
    """One codec at one target rate: means over the matched images, and each image's point."""

    target: float
    images: int
    at_target: int
    bpp: float
    values: dict[str, float] = field(default_factory=dict)
    per_image: dict[str, TargetPoint] = field(default_factory=dict)

    def get(self, series: str) -> float | None:
        return self.values.get(series)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "images": self.images,
            "at_target": self.at_target,
            "bpp": self.bpp,
        }
        out.update(self.values)
        out["per_image"] = {name: p.to_json() for name, p in self.per_image.items()}
        return out

    @classmethod
    def from_json(cls, data: Any) -> TargetEntry:
        data = dict(_mapping(data, "target entry"))
        per_image = _mapping(data.pop("per_image", {}) or {}, "per_image")
        return cls(
            target=_number(data.pop("target", None)),
            images=int(data.pop("images", 0) or 0),
            at_target=int(data.pop("at_target", 0) or 0),
            bpp=_number(data.pop("bpp", None)),
            values={str(k): _number(v) for k, v in data.items()},
            per_image={str(n): TargetPoint.from_json(p) for n, p in per_image.items()},
        )


@dataclass
class TargetSection:
    """``--target-bpp``: per codec and target (its text, e.g. ``"0.5"``) the matched points."""

    targets: list[float]
    rule: str
    codecs: dict[str, dict[str, TargetEntry]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": self.targets,
            "rule": self.rule,
            "codecs": {
                codec: {t: e.to_json() for t, e in per.items()}
                for codec, per in self.codecs.items()
            },
        }

    @classmethod
    def from_json(cls, data: Any) -> TargetSection:
        data = _mapping(data, "target_bpp")
        return cls(
            targets=[_number(t) for t in data.get("targets") or []],
            rule=str(data.get("rule") or ""),
            codecs={
                str(codec): {
                    str(t): TargetEntry.from_json(e) for t, e in _mapping(per, codec).items()
                }
                for codec, per in _mapping(data.get("codecs") or {}, "target_bpp.codecs").items()
            },
        )


#: the group of the images at the top level of the folder (:mod:`licbench.results.groups`);
#: here, with the summary, so that showing a group's name imports no pandas
TOP_LEVEL = "."


@dataclass
class GroupSummary:
    """One group of a run's images (a subfolder, :mod:`licbench.results.groups`): its numbers,
    computed as the run's are, on its images only."""

    #: images of the run in the group
    images: int
    #: of which every codec measured at every point: what its mean curves average
    common_images: int
    #: codec → its mean curve over the group's common images (name and results only)
    codecs: dict[str, Curve] = field(default_factory=dict)
    #: BD-rates of those curves against the run's anchor, and the per-image statistics of the
    #: group's images (each image's BD-rate as in the run's table)
    bd_rate: BDTable = field(default_factory=lambda: BDTable("", "pchip"))
    #: metric → images of the group it is undefined for (left out of its curves)
    undefined: dict[str, int] = field(default_factory=dict)
    #: codec → images of the group it failed on (left out of every codec's curves)
    incomplete: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "common_images": self.common_images,
            "undefined": self.undefined,
            "incomplete": self.incomplete,
            "codecs": {label: curve.to_dict() for label, curve in self.codecs.items()},
            "bd_rate": self.bd_rate.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> GroupSummary:
        data = _mapping(data, where)
        images = _count(data.get("images"), f"{where}.images")
        common = _count(data.get("common_images"), f"{where}.common_images")
        if common > images:
            raise SummaryError(f"{where}: {common} common images of {images}")
        counts = {
            key: {
                str(k): _count(v, f"{where}.{key}.{k}")
                for k, v in _mapping(data.get(key) or {}, f"{where}.{key}").items()
            }
            for key in ("undefined", "incomplete")
        }
        return cls(
            images=images,
            common_images=common,
            codecs={
                str(k): Curve.from_dict(v, str(k))
                for k, v in _mapping(data.get("codecs") or {}, f"{where}.codecs").items()
            },
            bd_rate=BDTable.from_json(data.get("bd_rate")),
            **counts,
        )


#: top-level keys RunSummary reads itself; any others go to ``extra``
_KNOWN = {
    "dataset",
    "images",
    "jobs",
    "jobs_missing",
    "jobs_failed",
    "environment",
    "codecs",
    "bd_rate",
    "latency",
    "references",
    "bd_rate_references",
    "bd_rate_references_notes",
    "target_bpp",
    "per_image_curves",
    "complexity",
    "decode_check",
    "groups",
}


@dataclass
class RunSummary:
    dataset: str
    images: int
    jobs: int
    jobs_missing: int
    jobs_failed: int
    environment: dict[str, Any]
    codecs: dict[str, Curve]
    bd_rate: BDTable
    latency: dict[str, Latency] = field(default_factory=dict)
    references: ReferenceComparison | None = None
    target_bpp: TargetSection | None = None
    #: codec → image name → that image's own curve (what per-image BD-rates are computed on)
    image_curves: dict[str, dict[str, Curve]] = field(default_factory=dict)
    #: learned codec → parameters and kMAC/px per part (``Complexity.to_dict()``)
    complexity: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``--decode-check``: setups, threshold, and per codec what it found (empty: not run);
    #: see :mod:`licbench.results.decode_check`
    decode_check: dict[str, Any] = field(default_factory=dict)
    #: group (first folder of the image names; ``.`` the top level) → its numbers; empty
    #: unless the images fall in two groups or more (:mod:`licbench.results.groups`)
    groups: dict[str, GroupSummary] = field(default_factory=dict)

    def incomplete(self) -> dict[str, dict[str, Any]]:
        """Per codec that failed on images another codec measured: how many, and the first
        names (summary.json's ``incomplete``); its curve leaves those images out, as every
        codec's does (the common set)."""
        found = self.extra.get("incomplete")
        return {str(k): dict(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def undefined(self) -> dict[str, dict[str, Any]]:
        """Per metric undefined for some images (summary.json's ``undefined``): ``images`` (how
        many), ``of``, the first ``names`` and the ``reason``; those images are left out of
        that metric's curves and BD-rates for every codec."""
        found = self.extra.get("undefined")
        if not isinstance(found, dict):
            return {}
        return {str(k): dict(v) for k, v in found.items() if isinstance(v, dict)}

    def image_sha256(self) -> dict[str, str] | None:
        """Per image name, its sha256 (summary.json's ``dataset_identity``); None for a summary
        written before runs recorded it."""
        identity = self.extra.get("dataset_identity")
        found = identity.get("sha256") if isinstance(identity, dict) else None
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None

    def decode_check_failed(self, codec: str) -> int | None:
        """How many of ``codec``'s bitstreams failed the decode check (None: not checked)."""
        found = (self.decode_check.get("codecs") or {}).get(codec)
        value = found.get("failed") if isinstance(found, dict) else None
        return int(value) if isinstance(value, int | float) else None

    def decoder_kmac_per_pixel(self, codec: str) -> float | None:
        """The decoder's kMAC per pixel of a learned codec (None for others)."""
        figures = self.complexity.get(codec) or {}
        value = (figures.get("kmac_per_pixel") or {}).get("decoder")
        return float(value) if isinstance(value, int | float) else None

    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return self.bd_rate.anchor

    @property
    def method(self) -> str:
        return self.bd_rate.method

    def to_json(self) -> dict[str, Any]:
        """The summary.json object (NaN still as float: the writer turns it into null)."""
        data: dict[str, Any] = {
            "dataset": self.dataset,
            "images": self.images,
            "jobs": self.jobs,
            "jobs_missing": self.jobs_missing,
            "jobs_failed": self.jobs_failed,
            "environment": self.environment,
            "codecs": {label: curve.to_dict() for label, curve in self.codecs.items()},
            "bd_rate": self.bd_rate.to_json(),
            "latency": {label: row.to_json() for label, row in self.latency.items()},
        }
        if self.references is not None:
            data.update(self.references.to_json())
        if self.target_bpp is not None:
            data["target_bpp"] = self.target_bpp.to_json()
        if self.complexity:
            data["complexity"] = self.complexity
        if self.decode_check:
            data["decode_check"] = self.decode_check
        if self.groups:
            data["groups"] = {name: group.to_json() for name, group in self.groups.items()}
        if self.image_curves:
            data["per_image_curves"] = {
                codec: {image: curve.results for image, curve in per.items()}
                for codec, per in self.image_curves.items()
            }
        data.update(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Any, where: str = "summary.json") -> RunSummary:
        """Read a summary object; :class:`SummaryError` naming ``where`` when it is not one."""
        try:
            _check_tree(data)
            data = _mapping(data, where)
            codecs = data.get("codecs")
            if not isinstance(codecs, dict):
                raise SummaryError("no 'codecs' section; is it a licbench summary.json?")
            return cls(
                dataset=str(data.get("dataset") or ""),
                images=_count(data.get("images"), "images"),
                jobs=_count(data.get("jobs"), "jobs"),
                jobs_missing=_count(data.get("jobs_missing"), "jobs_missing"),
                jobs_failed=_count(data.get("jobs_failed"), "jobs_failed"),
                environment=_mapping(data.get("environment") or {}, "environment"),
                codecs={str(k): Curve.from_dict(v, str(k)) for k, v in codecs.items()},
                bd_rate=BDTable.from_json(data.get("bd_rate")),
                latency={
                    str(k): Latency.from_json(v)
                    for k, v in _mapping(data.get("latency") or {}, "latency").items()
                },
                references=ReferenceComparison.from_json(data),
                target_bpp=(
                    TargetSection.from_json(data["target_bpp"]) if data.get("target_bpp") else None
                ),
                image_curves={
                    str(codec): {
                        str(image): Curve.from_dict({"name": image, "results": results}, image)
                        for image, results in _mapping(per, f"per_image_curves.{codec}").items()
                    }
                    for codec, per in _mapping(
                        data.get("per_image_curves") or {}, "per_image_curves"
                    ).items()
                },
                complexity={
                    str(k): _mapping(v, f"complexity.{k}")
                    for k, v in _mapping(data.get("complexity") or {}, "complexity").items()
                },
                decode_check=_mapping(data.get("decode_check") or {}, "decode_check"),
                groups={
                    str(k): GroupSummary.from_json(v, f"groups.{k}")
                    for k, v in _mapping(data.get("groups") or {}, "groups").items()
                },
                extra={k: v for k, v in data.items() if k not in _KNOWN},
            )
        except (
            SummaryError,
            CurveError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,  # (a number checked nowhere above: one line all the same)
        ) as exc:
            raise SummaryError(f"{where}: {exc}") from None

    def write(self, path: Path) -> None:
        from licbench.core.files import atomic_write
        from licbench.results.jsonsafe import json_safe

        atomic_write(path, json.dumps(json_safe(self.to_json()), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> tuple[Path, RunSummary]:
        """A run folder or its summary.json → (the file, the summary)."""
        path = Path(path)
        file = path / "summary.json" if path.is_dir() else path
        if not file.is_file():
            what = "has no summary.json" if path.is_dir() else "does not exist"
            raise SummaryError(f"{path} {what} (give a licbench run folder or its summary.json)")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise SummaryError(f"{file}: not a readable summary.json ({exc})") from None
        return file, cls.from_json(data, str(file))


__all__ = [
    "BDTable",
    "GroupSummary",
    "Latency",
    "ReferenceComparison",
    "RunSummary",
    "SummaryError",
    "TargetEntry",
    "TargetPoint",
    "TargetSection",
]
