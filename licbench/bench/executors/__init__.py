"""Where jobs run: this process, a supervised pool of local processes, or a Dask cluster.

An :class:`Executor` takes jobs and yields one :class:`~licbench.bench.store.Record` per job, in
the order they finish; :func:`licbench.bench.runner.execute` commits each one as it arrives. The
executors never write to the store: results always travel back to the one parent process. Each
executor computes a job with :func:`licbench.bench.job_body.run_job`, in whichever process it
chose.

* :mod:`~licbench.bench.executors.base`: the :class:`Executor` interface, the
  :class:`WorkerSettings` every worker gets, and :class:`InlineExecutor` (this process, one job
  after another: for debugging and for callers that must not start processes);
* :mod:`~licbench.bench.executors.local`: :class:`LocalExecutor` (``--executor local``, the
  default), supervised worker processes that make every crash, hang or garbage result belong
  to one job;
* :mod:`~licbench.bench.executors.dask`: :class:`DaskExecutor` (``--executor dask
  [--scheduler ADDRESS]``), the same jobs as Dask tasks, each batch in a sandboxed local worker.

This module picks one by name (:func:`make_executor`, ``--executor``).
"""

from __future__ import annotations

import math
import os

from licbench.bench.executors.base import (
    DEFAULT_TIMEOUT,
    Executor,
    ExecutorError,
    InlineExecutor,
    WorkerSettings,
    batch_size,
)
from licbench.bench.executors.dask import DaskExecutor
from licbench.bench.executors.local import LocalExecutor
from licbench.bench.images import DEFAULT_MAX_PIXELS

#: the executors ``--executor`` accepts
EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "dask": DaskExecutor}


def make_executor(
    kind: str = "local",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    spool: str | None = None,
) -> Executor:
    """The executor named by ``--executor`` with the run's options; nothing starts until used.

    Raises ValueError for a combination that cannot work (unknown kind, ``scheduler`` without
    Dask, a negative timeout, ...), with a message meant for the user.
    """
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler and kind != "dask":
        raise ValueError("--scheduler needs --executor dask")
    if timeout is not None and (math.isnan(timeout) or timeout < 0):
        raise ValueError(f"--timeout must be a positive number of seconds, got {timeout}")
    if max_pixels < 1:
        raise ValueError(f"--max-pixels must be at least 1, got {max_pixels}")
    settings = WorkerSettings(timeout=timeout or None, max_pixels=max_pixels, spool=spool)
    workers = workers or os.cpu_count() or 1
    if kind == "dask":
        return DaskExecutor(scheduler, workers, settings)
    return LocalExecutor(workers, settings)


__all__ = [
    "DEFAULT_TIMEOUT",
    "EXECUTORS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "InlineExecutor",
    "LocalExecutor",
    "WorkerSettings",
    "batch_size",
    "make_executor",
]
