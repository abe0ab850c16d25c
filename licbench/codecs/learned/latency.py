"""Decode latency per stage (entropy decoding, synthesis), measured the way GPUs need it.

Why not just ``time.perf_counter``: CUDA kernels run asynchronously, so a wall-clock reading
taken while kernels are queued measures the launch, not the work (the mistake of CompressAI's
``eval_model``). On ``cuda`` each measurement starts after ``torch.cuda.synchronize()`` and each
stage is bracketed by CUDA events whose elapsed time is read after a final synchronize; on the
CPU stages are timed with ``time.perf_counter``. Warm-up runs (allocations, kernel selection,
lazy imports) are discarded, and the result is the median and the interquartile range over the
repeats, per stage and for the total (the sum of the stages of each run).
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch only where a timer needs it: listing codecs must not import it
    import torch


class StageTimer(ABC):
    """Times named, non-overlapping stages of one run; :meth:`results` gives seconds."""

    @abstractmethod
    def stage(self, name: str) -> Any:
        """A context manager around one stage."""

    @abstractmethod
    def results(self) -> dict[str, float]:
        """Seconds per stage, in the order the stages ran."""


class PerfCounterTimer(StageTimer):
    def __init__(self) -> None:
        self._times: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._times[name] = self._times.get(name, 0.0) + time.perf_counter() - start

    def results(self) -> dict[str, float]:
        return dict(self._times)


class CudaEventTimer(StageTimer):
    """CUDA events around each stage; synchronizes first so no earlier work is counted."""

    def __init__(self, device: str | torch.device = "cuda") -> None:
        import torch

        self.device = torch.device(device)
        self._events: list[tuple[str, Any, Any]] = []
        torch.cuda.synchronize(self.device)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        import torch

        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        try:
            yield
        finally:
            end.record()
            self._events.append((name, start, end))

    def results(self) -> dict[str, float]:
        import torch

        torch.cuda.synchronize(self.device)
        out: dict[str, float] = {}
        for name, start, end in self._events:
            out[name] = out.get(name, 0.0) + start.elapsed_time(end) / 1000.0  # ms → s
        return out


def make_stage_timer(device: str | torch.device) -> StageTimer:
    import torch

    """CUDA events for a ``cuda`` device, ``perf_counter`` otherwise."""
    return CudaEventTimer(device) if torch.device(device).type == "cuda" else PerfCounterTimer()


@dataclass(frozen=True)
class StageStats:
    median: float
    iqr: float
    samples: tuple[float, ...] = field(repr=False)

    @classmethod
    def of(cls, samples: list[float]) -> StageStats:
        import numpy as np

        q1, med, q3 = np.percentile(samples, [25, 50, 75])
        return cls(float(med), float(q3 - q1), tuple(samples))


@dataclass(frozen=True)
class LatencyReport:
    """Median and IQR (seconds) per stage and for the total, with where it was measured."""

    stages: dict[str, StageStats]
    total: StageStats
    device: str
    repeats: int
    warmup: int
    environment: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"device": self.device, "repeats": self.repeats}
        for name, stats in [*self.stages.items(), ("total", self.total)]:
            row[f"{name}_median_s"] = stats.median
            row[f"{name}_iqr_s"] = stats.iqr
        row["environment"] = dict(self.environment)
        return row


def _supports_timer(codec: Any) -> bool:
    try:
        return "timer" in inspect.signature(codec.decode_profiled).parameters
    except (TypeError, ValueError):
        return False


def measure_decode_latency(
    codec: Any,
    data: bytes,
    repeats: int = 10,
    warmup: int = 2,
    device: str | torch.device | None = None,
) -> LatencyReport:
    """Decode ``data`` ``warmup`` + ``repeats`` times; stage medians and IQRs of the repeats.

    ``device`` selects the clock (default: the codec's ``device`` attribute, else CPU). Codecs
    whose ``decode_profiled`` takes a ``timer`` (the learned ones) are timed stage by stage with
    it; others report their own stages, bracketed by synchronizes on CUDA.
    """
    import torch

    if repeats < 1 or warmup < 0:
        raise ValueError("repeats must be ≥ 1 and warmup ≥ 0")
    device = torch.device(device if device is not None else getattr(codec, "device", "cpu"))
    with_timer = _supports_timer(codec)
    runs: list[dict[str, float]] = []
    for i in range(warmup + repeats):
        if with_timer:
            timer = make_stage_timer(device)
            _, stages = codec.decode_profiled(data, timer=timer)
        else:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            _, stages = codec.decode_profiled(data)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        if i >= warmup:
            runs.append(dict(stages))
    names = list(runs[0])
    per_stage = {n: StageStats.of([r[n] for r in runs]) for n in names if n != "total"}
    totals = [r["total"] if "total" in r else sum(r.values()) for r in runs]
    environment = codec.environment() if hasattr(codec, "environment") else {}
    return LatencyReport(
        per_stage, StageStats.of(totals), str(device), repeats, warmup, environment
    )
