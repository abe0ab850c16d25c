"""Peak memory of a job's encode and of its decode, measured in the worker that runs the job.

Linux lets a process reset the high-water mark of its resident set: writing ``5`` to
``/proc/self/clear_refs`` sets ``VmHWM`` (``/proc/self/status``) to the current ``VmRSS``
(Linux 4.0+). So a worker measures an operation by giving its freed memory back to the system
(glibc's ``malloc_trim(0)``: a worker keeps freed blocks for reuse, see
:mod:`licbench.core.memory`, and an operation that reused them would seem to need nothing),
reading ``VmRSS``, resetting the mark, running the operation and reading ``VmHWM``. The peak
above the start is then the operation's own working memory (tensors, padding, entropy-coder
buffers), which is what a fresh process measured above its loaded model
(:func:`licbench.codecs.learned.complexity.measure_peak_memory`, two more processes importing
torch per codec: seconds each); the peak itself is the worker's, with all the worker holds
besides (its imports, the models it has built, the images it keeps).

The cost is a few milliseconds, and the operation faulting its working memory in afresh (a
fresh process would too). Where the mark cannot be reset (not Linux, ``/proc`` read-only)
:func:`peak_resettable` says why, and the run measures in fresh processes instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STATUS = "/proc/self/status"
CLEAR_REFS = "/proc/self/clear_refs"
#: what :data:`CLEAR_REFS` takes to reset the peak resident set to the current one
RESET_PEAK = "5"


def _status_kb(name: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    with open(STATUS) as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise OSError(f"{STATUS} has no {name}")


def reset_peak() -> None:
    """Set this process's peak resident set (``VmHWM``) to its current one (OSError if not)."""
    with open(CLEAR_REFS, "w") as clear:
        clear.write(RESET_PEAK)


@functools.lru_cache(maxsize=1)
def peak_resettable() -> str | None:
    """None when this process can reset and read its peak resident set, else why not."""
    try:
        reset_peak()
        _status_kb("VmHWM")
        _status_kb("VmRSS")
    except OSError as exc:
        return f"the peak resident set cannot be reset here ({CLEAR_REFS}: {exc.strerror or exc})"
    return None


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing kept beyond the platform's own
        return None
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return trim


def give_back_freed_memory() -> None:
    """Return the memory malloc keeps for reuse to the system (glibc; elsewhere nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _cuda() -> Any:
    """torch's CUDA module when this process already uses a GPU, else None (never starts one)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda


class PeakMemory:
    """The peaks of the operations run under :meth:`measure`, by name, in MB (10^6 bytes)."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, float]] = {}

    @contextmanager
    def measure(self, operation: str) -> Iterator[None]:
        """Measure the block as ``operation``: ``start_rss_mb`` (the worker's resident set
        once freed memory is given back), ``peak_rss_mb`` (its peak during the block),
        ``above_start_mb`` (the difference: the block's own working memory) and, when this
        process uses a GPU, ``cuda_peak_mb`` (``torch.cuda.max_memory_allocated``)."""
        give_back_freed_memory()
        start = _status_kb("VmRSS")
        reset_peak()
        cuda = _cuda()
        if cuda is not None:
            cuda.reset_peak_memory_stats()
        yield
        peak = _status_kb("VmHWM")
        figure = {
            "start_rss_mb": round(start * 1024 / 1e6, 1),
            "peak_rss_mb": round(peak * 1024 / 1e6, 1),
            "above_start_mb": round(max(0, peak - start) * 1024 / 1e6, 1),
        }
        if cuda is not None:
            figure["cuda_peak_mb"] = round(cuda.max_memory_allocated() / 1e6, 1)
        self.figures[operation] = figure


#: what the figures mean, carried with them into the store and summary.json
METHOD = (
    "measured in the job's worker, its model loaded: peak_rss_mb = the worker's peak resident "
    "set during the operation (/proc VmHWM, reset before it); above_start_mb = its rise above "
    "the resident set at the start (freed memory given back first): the operation's own "
    "working memory"
)


class JobComplexity:
    """A learned codec's complexity figure taken on one of its jobs: the peak memory of the
    job's encode and decode (:meth:`measure`), then parameters and MACs (:meth:`figure`)."""

    def __init__(self) -> None:
        self.unavailable = peak_resettable()
        self.peaks = PeakMemory()

    @contextmanager
    def measure(self, operation: str) -> Iterator[None]:
        if self.unavailable is not None:
            yield
            return
        with self.peaks.measure(operation):
            yield

    def memory(self, quality: float, height: int, width: int) -> dict[str, Any]:
        """The peak-memory entry of the figure (``peak_memory`` in ``summary.json``)."""
        q = int(quality) if float(quality).is_integer() else float(quality)
        memory: dict[str, Any] = {"image": [height, width], "quality": q}
        if self.unavailable is not None:
            return {**memory, "unavailable": self.unavailable}
        return {**memory, **self.peaks.figures, "method": METHOD}

    def figure(self, codec: Any, quality: float, height: int, width: int) -> dict[str, Any]:
        """Parameters, MACs and the peak memory of ``codec`` at ``quality`` on a ``height`` ×
        ``width`` image (:func:`~licbench.codecs.learned.complexity.codec_complexity`, on a
        bounded size above :data:`~licbench.codecs.learned.complexity.COUNT_PIXELS`); one that
        cannot be counted says why, never failing the job."""
        memory = self.memory(quality, height, width)
        try:
            from licbench.codecs.learned.complexity import COUNT_PIXELS, codec_complexity

            counted = codec_complexity(
                codec,
                height,
                width,
                quality=quality,
                peak_memory=memory,
                count_pixels=COUNT_PIXELS,
            )
            return counted.to_dict()
        except Exception as exc:
            return {
                "error": f"{type(exc).__name__}: {exc}",
                "input": [height, width],
                "peak_memory": memory,
            }
