"""Rate targeting: for each codec and image, the quality setting that reaches a target bpp.

Codecs are usually compared along their RD curves (BD-rate). To compare them *at equal rate*,
``licbench run --target-bpp 0.25,0.5`` searches, per codec, image and target ``T``, the codec's own
quality parameter.

The rule
    The chosen quality is the **largest quality q whose bpp is at most T**, searched within
    ``Codec.quality_range`` (integers only when ``Codec.integer_quality``), by bisection, relying
    on the codec contract that a larger quality never gives fewer bytes. Precisely:

    * ``bpp(q_min) > T``: the target is below the codec's smallest output; ``q_min`` is chosen
      and the point is marked ``"above"`` (its bpp exceeds the target).
    * ``bpp(q_max) <= T``: even the best quality stays under the target; ``q_max`` is chosen and
      the point is marked ``"below"``.
    * otherwise the search keeps ``lo < hi`` with ``bpp(lo) <= T < bpp(hi)`` and halves the
      interval until ``hi - lo <= step`` (step 1 for integer qualities, ``(q_max - q_min) / 1024``
      otherwise); ``lo`` is chosen and marked ``"ok"``. The guarantee holds even if a codec's bpp
      is not monotone: the chosen q has ``bpp(q) <= T`` and the next quality tried above it
      (at most ``step`` higher) has ``bpp > T``.

Bounded work
    Each search encodes at most ``2 + ceil(log2((q_max - q_min) / step))`` times (9 for JPEG's
    1..100, 12 for a continuous range). The qualities of the run's own sweep are known already and
    narrow the starting bracket for free. Only the sweep and the search's own probes are used, so
    the choice does not depend on what else happens to be in the store.

Nothing computed twice
    Every probe is an ordinary job (same codec key, quality, image sha256 and metric set as a
    sweep job), executed through :func:`licbench.bench.runner.execute` into the same store: a
    probe that coincides with a sweep point, with another target's probe, or with a probe of an
    earlier run is read from the store. All searches advance together, one probe each per round,
    so a round's probes run in parallel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from licbench.bench.jobs import Job, codec_key, format_quality
from licbench.bench.store import Record, Store
from licbench.codecs import Codec
from licbench.datasets import ImageRef

if TYPE_CHECKING:
    from licbench.bench.executors import Executor

#: the continuous-quality search stops when the bracket is this fraction of the range
CONTINUOUS_DIVISIONS = 1024

RULE = (
    "largest quality q within the codec's quality range (integer if the codec's quality is an "
    "integer) with bpp(q) <= target, by bisection; if even the smallest quality exceeds the "
    "target, the smallest quality (status 'above'); if the largest quality stays below it, the "
    "largest quality (status 'below')"
)


def format_target(target: float) -> str:
    """A target bpp as a JSON key: ``0.25`` → ``"0.25"``."""
    return format_quality(target)


@dataclass
class QualitySearch:
    """The bisection for one (codec, image, target): asks for qualities, is told their bpp.

    Call :meth:`next_quality` for the next quality to measure (``None`` when finished), then
    :meth:`observe` with its bpp (or ``None`` and an error). ``known`` are bpp values measured
    before the search (the run's sweep); they narrow the bracket without new encodes.
    """

    target: float
    quality_range: tuple[float, float]
    integer: bool
    known: Mapping[float, float] = field(default_factory=dict)
    measured: dict[float, float] = field(default_factory=dict)
    probes: list[float] = field(default_factory=list)
    error: str | None = None
    chosen: float | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        q_min, q_max = (float(q) for q in self.quality_range)
        if self.integer:
            q_min, q_max = float(math.ceil(q_min)), float(math.floor(q_max))
        if not q_min <= q_max:
            raise ValueError(f"empty quality range {self.quality_range}")
        self.q_min, self.q_max = q_min, q_max
        self.step = 1.0 if self.integer else (q_max - q_min) / CONTINUOUS_DIVISIONS
        for quality, bpp in self.known.items():
            if q_min <= quality <= q_max and (not self.integer or float(quality).is_integer()):
                self.measured[float(quality)] = float(bpp)

    @property
    def max_probes(self) -> int:
        span = self.q_max - self.q_min
        return 2 + (math.ceil(math.log2(span / self.step)) if span > self.step else 0)

    @property
    def done(self) -> bool:
        return self.status is not None

    def _bracket(self) -> tuple[float | None, float | None]:
        """(lo, hi): largest measured q with bpp <= T; smallest measured q above lo with bpp > T."""
        under = [q for q, bpp in self.measured.items() if bpp <= self.target]
        lo = max(under) if under else None
        over = [
            q for q, bpp in self.measured.items() if bpp > self.target and (lo is None or q > lo)
        ]
        hi = min(over) if over else None
        return lo, hi

    def next_quality(self) -> float | None:
        if self.done:
            return None
        lo, hi = self._bracket()
        if lo is None:
            if self.q_min in self.measured:  # measured and above the target: unreachable
                return self._finish(self.q_min, "above")
            return self.q_min
        if hi is None:
            if lo == self.q_max:
                return self._finish(lo, "below")
            return self.q_max
        if hi - lo <= self.step * (1 + 1e-9):  # (tolerance: float rounding of midpoints)
            return self._finish(lo, "ok")
        mid = math.floor((lo + hi) / 2) if self.integer else (lo + hi) / 2
        if mid <= lo or mid >= hi:  # rounding left nothing between them
            return self._finish(lo, "ok")
        return float(mid)

    def observe(self, quality: float, bpp: float | None, error: str | None = None) -> None:
        if bpp is None or error:
            self.error = error or f"no bpp at quality {format_quality(quality)}"
            self.status = "error"
            return
        self.probes.append(float(quality))
        self.measured[float(quality)] = float(bpp)

    def _finish(self, quality: float, status: str) -> None:
        self.chosen, self.status = quality, status


def search_quality(
    measure: Callable[[float], float],
    target: float,
    quality_range: tuple[float, float],
    integer: bool = True,
    known: Mapping[float, float] | None = None,
) -> QualitySearch:
    """Run one search to the end with ``measure(quality) -> bpp`` (for tests and notebooks)."""
    search = QualitySearch(target, quality_range, integer, dict(known or {}))
    while (quality := search.next_quality()) is not None:
        search.observe(quality, measure(quality))
    return search


def make_job(codec: Codec, quality: float, image: ImageRef, metrics: Sequence[str]) -> Job:
    """The same job a sweep at this quality would plan (same key, so the store shares it)."""
    return Job(codec.label, codec_key(codec), float(quality), image, tuple(metrics))


def find_target_qualities(
    codecs: Sequence[Codec],
    images: Sequence[ImageRef],
    metrics: Sequence[str],
    targets: Sequence[float],
    store: Store,
    *,
    known: Mapping[tuple[str, str], Mapping[float, float]] | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    prepare: Callable[[Sequence[Job]], Sequence[Job]] | None = None,
) -> tuple[dict[str, dict[str, dict[str, dict[str, Any]]]], dict[str, int]]:
    """Search every (codec, image, target); returns (choices, counts).

    ``choices[codec label][format_target(T)][image sha256]`` is ``{"quality", "bpp", "job_key",
    "status", "probes", "error"}`` (``probes``: the qualities this search measured, in order,
    whether computed or read from the store). ``known[(codec label, image sha256)]`` maps
    qualities to bpp already measured (the run's sweep). ``counts`` adds up what the probe rounds
    did: ``probes`` (distinct jobs asked for), ``computed``, ``cached``, ``failed``, ``rounds``.

    Probes run through :func:`licbench.bench.runner.execute` on ``executor`` (an open
    :class:`~licbench.bench.executors.Executor`, left open), else on one pool of ``workers``
    local processes kept for all rounds (so workers start, and import their libraries, once).
    ``prepare`` may set what a worker keeps besides the record (the report's crops:
    :func:`licbench.bench.visual.mark_crops`) on each round's jobs; it must keep their keys.
    """
    from licbench.bench.executors import LocalExecutor
    from licbench.bench.runner import execute

    owned = None
    if executor is None:
        executor = owned = LocalExecutor(workers)

    def execute_jobs(jobs: Sequence[Job], result_store: Store) -> dict[str, int]:
        if prepare is not None:
            jobs = prepare(jobs)
        return execute(jobs, result_store, executor=executor, progress=False)

    try:
        return _search_all(codecs, images, metrics, targets, store, known or {}, execute_jobs)
    finally:
        if owned is not None:
            owned.close()


def _search_all(
    codecs: Sequence[Codec],
    images: Sequence[ImageRef],
    metrics: Sequence[str],
    targets: Sequence[float],
    store: Store,
    known: Mapping[tuple[str, str], Mapping[float, float]],
    execute_jobs: Callable[[Sequence[Job], Store], dict[str, int]],
) -> tuple[dict[str, dict[str, dict[str, dict[str, Any]]]], dict[str, int]]:
    for target in targets:
        if not (target > 0 and math.isfinite(target)):
            raise ValueError(f"target bpp must be a positive number, got {target!r}")
    searches: list[tuple[Codec, ImageRef, float, QualitySearch]] = []
    for codec in codecs:
        for image in images:
            for target in targets:
                search = QualitySearch(
                    float(target),
                    tuple(codec.quality_range),  # type: ignore[arg-type]
                    bool(codec.integer_quality),
                    dict(known.get((codec.label, image.sha256), {})),
                )
                searches.append((codec, image, float(target), search))

    counts = {"probes": 0, "computed": 0, "cached": 0, "failed": 0, "rounds": 0}
    records: dict[str, Record] = {}
    while True:
        wanted: list[tuple[int, float, Job]] = []
        for index, (codec, image, _target, search) in enumerate(searches):
            quality = search.next_quality()
            if quality is not None:
                wanted.append((index, quality, make_job(codec, quality, image, metrics)))
        if not wanted:
            break
        jobs = list({job.key: job for _, _, job in wanted}.values())
        done = execute_jobs(jobs, store)
        counts["rounds"] += 1
        counts["probes"] += len(jobs)
        for name in ("computed", "cached", "failed"):
            counts[name] += done.get(name, 0)
        records.update(store.get(job.key for job in jobs))
        for index, quality, job in wanted:
            record = records.get(job.key)
            search = searches[index][3]
            if record is None:
                search.observe(quality, None, f"{job.describe()}: no record in the store")
            elif record.error:
                search.observe(quality, None, record.error)
            else:
                search.observe(quality, record.bpp)

    choices: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for codec, image, target, search in searches:
        entry: dict[str, Any] = {
            "quality": search.chosen,
            "status": search.status,
            "probes": search.probes,
            "job_key": None,
            "bpp": None,
            "error": search.error,
        }
        if search.chosen is not None:
            entry["job_key"] = make_job(codec, search.chosen, image, metrics).key
            entry["bpp"] = search.measured.get(search.chosen)
        per_target = choices.setdefault(codec.label, {}).setdefault(format_target(target), {})
        per_target[image.sha256] = entry
    return choices, counts


def chosen_job_keys(choices: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]]) -> set:
    """Every job key a set of choices refers to (what a report reads from the store)."""
    return {
        entry["job_key"]
        for per_target in choices.values()
        for per_image in per_target.values()
        for entry in per_image.values()
        if entry.get("job_key")
    }


__all__ = [
    "RULE",
    "QualitySearch",
    "chosen_job_keys",
    "find_target_qualities",
    "format_target",
    "make_job",
    "search_quality",
]
