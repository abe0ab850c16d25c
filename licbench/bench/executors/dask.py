"""``DaskExecutor`` (``--executor dask [--scheduler ADDRESS]``): jobs as Dask tasks.

The same jobs as Dask tasks on a ``LocalCluster`` (loopback only) or an existing cluster. Each
task runs its batch through a one-process :class:`~licbench.bench.executors.local.LocalExecutor`
*inside* the Dask worker (a sandbox process), so crashes, hangs and garbage are handled exactly
as locally and never take a Dask worker down. Records stream back with ``as_completed``. Image
files must be readable at the same path on every worker (each job checks the sha256 it was
planned with). ``distributed`` is imported only when a cluster is first needed.
"""

from __future__ import annotations

import contextlib
import os
import queue as queue_module
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from licbench.bench.executors.base import Executor, ExecutorError, WorkerSettings, take_batch
from licbench.bench.executors.local import LocalExecutor
from licbench.bench.job_body import failed_record
from licbench.bench.jobs import Job
from licbench.bench.store import Record

#: the most jobs in one Dask task: a task costs the scheduler milliseconds, a job about one
DASK_BATCH = 128


class _Sandbox:
    """A one-process LocalExecutor inside a Dask worker, driven from its own lasting thread.

    The thread matters: Linux's parent-death signal follows the *thread* that started a process,
    and Dask's task threads may come and go; this one lives as long as the Dask worker.
    """

    def __init__(self, settings: WorkerSettings) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.settings = settings
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="licbench-sandbox")
        # spawn, not fork: a Dask worker has several threads, and forking those is unsafe
        self.executor = LocalExecutor(1, settings, start_method="spawn")

    def run(self, batch: list[Job]) -> list[Record]:
        return self.thread.submit(lambda: list(self.executor.run(batch))).result()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.thread.submit(self.executor.close).result(timeout=30)
        self.thread.shutdown(wait=False)


_sandboxes: queue_module.LifoQueue[_Sandbox] = queue_module.LifoQueue()


def _dask_task(batch: list[Job], settings: WorkerSettings) -> list[Record]:
    """The Dask task: run ``batch`` in a sandbox process of this Dask worker (one per thread)."""
    try:
        sandbox = _sandboxes.get_nowait()
    except queue_module.Empty:
        sandbox = _Sandbox(settings)
    if sandbox.settings != settings:
        sandbox.close()
        sandbox = _Sandbox(settings)
    try:
        return sandbox.run(batch)
    finally:
        _sandboxes.put(sandbox)


class DaskExecutor(Executor):
    """Jobs as Dask tasks, on a new loopback ``LocalCluster`` or the cluster at ``scheduler``."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        settings: WorkerSettings | None = None,
    ) -> None:
        super().__init__(settings)
        self.scheduler = scheduler
        self.workers = workers or os.cpu_count() or 1
        self._cluster: Any = None
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ExecutorError(
                f"--executor dask needs dask.distributed: pip install 'dask[distributed]' ({exc})"
            ) from exc
        try:
            if self.scheduler:
                self._client = Client(self.scheduler, timeout="30s")
            else:
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    worker_dashboard_address=None,
                )
                self._client = Client(self._cluster)
        except OSError as exc:
            self.close()
            where = self.scheduler or "a local cluster"
            raise ExecutorError(f"cannot connect to the Dask scheduler at {where}: {exc}") from exc
        return self._client

    def cluster_workers(self) -> int:
        client = self._connect()
        return max(1, len(client.scheduler_info().get("workers", {})))

    def run(self, jobs: Sequence[Job]) -> Iterator[Record]:
        from distributed import as_completed

        client = self._connect()
        workers = self.cluster_workers()
        queue: deque[Job] = deque(jobs)
        pending: dict[Any, list[Job]] = {}
        finished = as_completed()

        def submit(batch: list[Job]) -> None:
            future = client.submit(_dask_task, batch, self.settings, pure=False)
            pending[future] = batch
            finished.add(future)

        def submit_next() -> None:
            if queue:
                submit(take_batch(queue, workers, DASK_BATCH))

        # a bounded window of tasks: memory stays flat on huge grids, batches shrink at the end
        for _ in range(2 * workers):
            submit_next()
        try:
            for future in finished:
                batch = pending.pop(future)
                try:
                    records = future.result()
                except Exception as exc:  # the task itself was lost (its Dask worker died, ...)
                    records = []
                    if len(batch) > 1:
                        for job in batch:  # each alone, so one bad job cannot take the others
                            submit([job])
                    else:
                        records = [
                            failed_record(
                                batch[0], f"its Dask task failed: {type(exc).__name__}: {exc}"
                            )
                        ]
                yield from records
                submit_next()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None
