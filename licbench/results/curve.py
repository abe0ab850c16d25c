"""One rate–distortion curve in CompressAI's results format, typed.

``{"name", "description", "results": {"bpp": [...], "psnr-rgb": [...], ...}}`` is what
CompressAI's plot tool reads and what its published files hold, so licbench writes and reads
exactly that. Keys licbench adds beside it (``version``, a reference's ``provenance``) are kept
as they are; a curve read and written again is the same JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from licbench.metrics.derived import transform_of


class CurveError(ValueError):
    """A results entry that is not a CompressAI-format curve."""


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CurveError(f"not a number: {value!r:.60}")
    return float(value)


def _checked(values: list[Any], where: str) -> list[Any]:
    """A series as read: numbers or null (a missing point); anything else is refused."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CurveError(f"{where} holds {value!r:.60}, not a number")
        if not math.isfinite(value):
            raise CurveError(f"{where} holds {value!r}, not a finite number (write null)")
    return values


@dataclass
class Curve:
    name: str
    #: None when the source file has none (kept absent when written back)
    description: str | None = None
    #: series name → one value per point (None or NaN where a point has no value)
    results: dict[str, list[Any]] = field(default_factory=dict)
    #: the codec's ``version()`` for a run's curve (None for published ones)
    version: str | None = None
    #: any other top-level keys (a reference's provenance), kept verbatim
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "") -> Curve:
        """Read a CompressAI-format entry; a clear :class:`CurveError` when it is not one."""
        if not isinstance(data, Mapping):
            raise CurveError(f"curve {name!r} is not an object")
        results = data.get("results")
        if not isinstance(results, Mapping):
            raise CurveError(f"curve {name!r} has no 'results' object")
        series: dict[str, list[Any]] = {}
        for key, values in results.items():
            if not isinstance(values, list):
                raise CurveError(f"curve {name!r}: results[{key!r}] is not a list")
            series[str(key)] = _checked(list(values), f"curve {name!r}: results[{key!r}]")
        version = data.get("version")
        extra = {
            k: v for k, v in data.items() if k not in ("name", "description", "results", "version")
        }
        return cls(
            name=str(data.get("name", name)),
            description=None if data.get("description") is None else str(data["description"]),
            results=series,
            version=None if version is None else str(version),
            extra=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            data["description"] = self.description
        data["results"] = self.results
        if self.version is not None:
            data["version"] = self.version
        data.update(self.extra)
        return data

    def values(self, series: str) -> list[float] | None:
        """The values of ``series``, derived from its source when not stored; None if absent."""
        if series in self.results:
            return [_number(v) for v in self.results[series]]
        derived = transform_of(series)
        if derived is not None and derived[0] in self.results:
            source, transform = derived
            return [transform(v) for v in (_number(v) for v in self.results[source])]
        return None

    def points(self, series: str) -> tuple[list[float], list[float]]:
        """(bpp, value) of the points where both are finite, ordered by rate."""
        values = self.values(series)
        bpp = self.results.get("bpp")
        if values is None or bpp is None:
            return [], []
        pairs = sorted(
            (b, v)
            for b, v in zip((_number(b) for b in bpp), values, strict=False)
            if math.isfinite(b) and math.isfinite(v)
        )
        return [b for b, _ in pairs], [v for _, v in pairs]

    def has(self, series: str) -> bool:
        """Whether the curve has at least one finite point of ``series``."""
        return bool(self.points(series)[0])

    def value_range(self, series: str) -> tuple[float, float] | None:
        """Lowest and highest finite value of ``series`` (None without one)."""
        values = [v for v in self.values(series) or [] if math.isfinite(v)]
        return (min(values), max(values)) if values else None

    def bpp_by_quality(self) -> dict[float, float]:
        """Quality setting → bpp for the points that have both (a run's curves do)."""
        qualities = self.results.get("quality") or []
        pairs = zip(qualities, self.results.get("bpp") or [], strict=False)
        out: dict[float, float] = {}
        for quality, bpp in pairs:
            if quality is None or bpp is None or math.isnan(_number(bpp)):
                continue
            out[_number(quality)] = _number(bpp)
        return out

    def __len__(self) -> int:
        return len(self.results.get("bpp") or [])


__all__ = ["Curve", "CurveError"]
