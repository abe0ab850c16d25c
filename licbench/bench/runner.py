"""Runs jobs: hands the unfinished ones to an executor and stores the records in the store.

:func:`execute` hands the jobs that are not finished yet to an
:class:`~licbench.bench.executors.Executor` (which runs :func:`licbench.bench.job_body.run_job`
for each, somewhere) and commits the records that come back in groups, one transaction every
:data:`COMMIT_EVERY` seconds and at the end (also of an interrupted or failing run). The parent
process is the only writer to the store. A ``kill -9`` of the run loses the jobs in flight, the
records received in the last half second and those its workers finished but had not sent yet
(a quarter of a second each); a re-run computes only what is missing (or failed).

Two files with the same bytes give jobs with the same key (the key hashes the image's sha256):
such a job is computed once, and the other file's job is counted as ``same_bytes``, never as
"from the store". An interrupted run (Ctrl-C, SIGTERM) becomes :class:`RunInterrupted`, which
says how many of the run's jobs are stored.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable, Sequence

from licbench.bench.executors import Executor, LocalExecutor
from licbench.bench.jobs import Job, format_quality
from licbench.bench.store import Record, Store
from licbench.datasets.names import printable


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM, with how many of its jobs are in the store.

    A :class:`KeyboardInterrupt`, so whatever cleans up after an interrupt (executors stopping
    their workers, the store rolling back a half-done transaction) does so for this one too.
    ``signum`` is the signal that stopped the run (SIGINT for Ctrl-C).
    """

    def __init__(self, stored: int | None, total: int | None, signum: int = signal.SIGINT):
        self.stored, self.total, self.signum = stored, total, signum
        super().__init__(self.message())

    @classmethod
    def of(cls, cause: BaseException, stored: int | None, total: int | None) -> RunInterrupted:
        """The interrupt ``cause`` (KeyboardInterrupt, or one with a ``signum``) with counts."""
        if isinstance(cause, RunInterrupted) and cause.total is not None:
            return cause
        return cls(stored, total, int(getattr(cause, "signum", signal.SIGINT)))

    def message(self) -> str:
        if self.total is None:
            return "interrupted before any job was planned; the same command starts it again"
        return f"interrupted: {self.stored} of {self.total} jobs stored; the same command resumes"


#: records that come back are committed together once this many seconds have passed since the
#: last commit (and at the end, also of an interrupted run): what a ``kill -9`` can lose
COMMIT_EVERY = 0.5


def stored_jobs(jobs: Iterable[Job], store: Store) -> int:
    """How many of ``jobs`` have a row in the store (finished or failed)."""
    jobs = list(jobs)
    stored = store.stored(job.key for job in jobs)
    return sum(1 for job in jobs if job.key in stored)


def execute(
    jobs: Sequence[Job],
    store: Store,
    *,
    workers: int = 1,
    executor: Executor | None = None,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
    warm_up: Callable[[], object] | None = None,
) -> dict[str, int]:
    """Run the jobs not yet finished in ``store``, committing their records in groups.

    ``executor`` says where jobs run (default: a :class:`~licbench.bench.executors.LocalExecutor`
    of ``workers`` processes, closed at the end; an executor passed in is left open). Nothing is
    started, and nothing heavy imported, when every job is already finished.

    ``warm_up`` is called once, when the first record is in (workers are busy with their first
    batches then), for work that would otherwise wait until the end: importing the report's
    modules, say. It runs in this thread, so no import is half-done when a worker is forked.

    Returns counts: ``total``, ``cached`` (finished before), ``computed``, ``same_bytes`` (jobs
    on a file whose bytes equal another file's of the run: served from that file's computation)
    and ``failed`` (of the computed). A store that cannot be written is refused
    (:class:`~licbench.bench.store.StoreError`) when anything needs computing.
    """
    finished = store.finished(job.key for job in jobs)
    todo = list({job.key: job for job in jobs if job.key not in finished}.values())
    cached = sum(1 for job in jobs if job.key in finished)
    counts = {
        "total": len(jobs),
        "cached": cached,
        "computed": 0,
        "same_bytes": len(jobs) - cached - len(todo),
        "failed": 0,
    }
    if not todo:
        return counts
    store.require_writable(f"{len(todo)} of the run's jobs need computing")
    from tqdm.auto import tqdm

    owned = executor is None
    if executor is None:
        executor = LocalExecutor(workers)
    noted: set[tuple[str, str]] = set()
    unsaved: list[Record] = []
    saved_at = time.monotonic()
    try:
        with tqdm(total=len(todo), disable=not progress, unit="job") as bar:
            for record in executor.run(todo):
                unsaved.append(record)
                if time.monotonic() - saved_at >= COMMIT_EVERY:
                    store.put_many(unsaved)
                    unsaved, saved_at = [], time.monotonic()
                counts["computed"] += 1
                if not record.ok:
                    counts["failed"] += 1
                    bar.write(printable(f"error: {record.error}"))
                elif record.notes and (record.image, record.notes) not in noted:
                    noted.add((record.image, record.notes))
                    bar.write(printable(f"note: {record.image}: {record.notes}"))
                if on_record is not None:
                    on_record(record)
                bar.set_postfix_str(f"{record.codec} q={format_quality(record.quality)}", False)
                bar.update()
                if warm_up is not None:
                    warm_up, call = None, warm_up
                    call()
    finally:
        try:  # also when interrupted: every record that came back is kept
            store.put_many(unsaved)
        finally:
            if owned:
                executor.close()
    return counts
