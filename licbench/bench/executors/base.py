"""What every executor is: jobs in, one record per job out, in the order they finish.

:class:`Executor` is the interface :func:`licbench.bench.runner.execute` drives;
:class:`WorkerSettings` the per-run limits every worker gets; :func:`batch_size` how many jobs
to hand out at once. :class:`InlineExecutor` runs jobs in this process, one after another: for
debugging (breakpoints work) and for callers that must not start processes; no isolation and no
timeout.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from licbench.bench.images import DEFAULT_MAX_PIXELS
from licbench.bench.job_body import run_job
from licbench.bench.jobs import Job
from licbench.bench.store import Record

#: the default of ``--timeout``: seconds one job may take before its worker is killed
DEFAULT_TIMEOUT = 600.0
#: the most jobs handed to a worker at once (fewer near the end of a run, to balance the tail);
#: a worker reports a batch's records in one message (or every few tenths of a second)
MAX_BATCH = 32


class ExecutorError(RuntimeError):
    """An executor that cannot run jobs at all (workers die on start-up, no cluster, ...)."""


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to know besides the job: limits, the same for every job."""

    #: seconds one job may run before its worker is killed; None or 0 for no limit
    timeout: float | None = DEFAULT_TIMEOUT
    #: images with more pixels are refused before decoding (``--max-pixels``)
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: ``--decode-check``: a folder where float decoders' bitstreams and decoded images are
    #: kept for the check (a worker that cannot write there keeps nothing; the check re-encodes)
    spool: str | None = None


def batch_size(remaining: int, workers: int, largest: int = MAX_BATCH) -> int:
    """How many queued jobs to hand out at once: large early, single jobs at the end.

    A batch saves round trips and keeps one image on one worker; a quarter of the per-worker
    share, capped, keeps the last batches small so that no worker idles while another finishes
    a long batch (guided self-scheduling).
    """
    return max(1, min(largest, remaining // max(1, 4 * workers)))


def take_batch(queue: deque[Job], workers: int, largest: int = MAX_BATCH) -> list[Job]:
    """The next batch from ``queue`` (:func:`batch_size` jobs), finishing its last image.

    Jobs are planned image by image (every codec and quality of one image together), so a
    batch that also takes the rest of its last image's jobs lets one worker read and check that
    original once. Near the end, when batches are single jobs, images are not finished: the
    tail stays balanced.
    """
    size = min(batch_size(len(queue), workers, largest), len(queue))
    batch = [queue.popleft() for _ in range(size)]
    if size > 1:
        last = batch[-1].image.sha256
        while queue and queue[0].image.sha256 == last and len(batch) < 2 * largest:
            batch.append(queue.popleft())
    return batch


class Executor(ABC):
    """Runs jobs somewhere and yields each job's record as it finishes."""

    name: ClassVar[str]

    def __init__(self, settings: WorkerSettings | None = None) -> None:
        self.settings = settings or WorkerSettings()

    @abstractmethod
    def run(self, jobs: Sequence[Job]) -> Iterator[Record]:
        """Yield exactly one record per job, in completion order.

        If the caller stops iterating early, jobs in flight are abandoned (their workers are
        stopped); nothing is written anywhere by the executor itself.
        """

    def close(self) -> None:  # noqa: B027 (most executors hold nothing)
        """Release workers, clusters and connections. Safe to call twice."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Jobs one after another in this process (no isolation, no timeout)."""

    name = "inline"

    def run(self, jobs: Sequence[Job]) -> Iterator[Record]:
        for job in jobs:
            yield run_job(job, max_pixels=self.settings.max_pixels, spool=self.settings.spool)
