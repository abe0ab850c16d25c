"""Runs jobs: hands the unfinished ones to an executor and stores each record at once.

:func:`execute` hands the jobs that are not finished yet to an
:class:`~licbench.bench.executors.Executor` (which runs :func:`licbench.bench.job_body.run_job`
for each, somewhere) and commits every record the moment it comes back: the parent process is
the only writer to the store, so an interrupted run loses at most the jobs in flight, and a
re-run computes only what is missing (or failed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from licbench.bench.executors import Executor, LocalExecutor
from licbench.bench.jobs import Job, format_quality
from licbench.bench.store import Record, Store


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
    """Run the jobs not yet finished in ``store``, committing each record as it arrives.

    ``executor`` says where jobs run (default: a :class:`~licbench.bench.executors.LocalExecutor`
    of ``workers`` processes, closed at the end; an executor passed in is left open). Nothing is
    started, and nothing heavy imported, when every job is already finished.

    ``warm_up`` is called once, when the first record is in (workers are busy with their first
    batches then), for work that would otherwise wait until the end: importing the report's
    modules, say. It runs in this thread, so no import is half-done when a worker is forked.

    Returns counts: ``total``, ``cached`` (finished before), ``computed`` and ``failed``.
    """
    finished = store.finished(job.key for job in jobs)
    todo = list({job.key: job for job in jobs if job.key not in finished}.values())
    counts = {"total": len(jobs), "cached": len(jobs) - len(todo), "computed": 0, "failed": 0}
    if not todo:
        return counts
    from tqdm.auto import tqdm

    owned = executor is None
    if executor is None:
        executor = LocalExecutor(workers)
    noted: set[tuple[str, str]] = set()
    try:
        with tqdm(total=len(todo), disable=not progress, unit="job") as bar:
            for record in executor.run(todo):
                store.put(record)
                counts["computed"] += 1
                if not record.ok:
                    counts["failed"] += 1
                    bar.write(f"error: {record.error}")
                elif record.notes and (record.image, record.notes) not in noted:
                    noted.add((record.image, record.notes))
                    bar.write(f"note: {record.image}: {record.notes}")
                if on_record is not None:
                    on_record(record)
                bar.set_postfix_str(f"{record.codec} q={format_quality(record.quality)}")
                bar.update()
                if warm_up is not None:
                    warm_up, call = None, warm_up
                    call()
    finally:
        if owned:
            executor.close()
    return counts
