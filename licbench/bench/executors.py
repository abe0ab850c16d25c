"""Where jobs run: this process, a supervised pool of local processes, or a Dask cluster.

An :class:`Executor` takes jobs and yields one :class:`~licbench.bench.store.Record` per job, in
the order they finish; :func:`licbench.bench.runner.execute` commits each one as it arrives. The
executors never write to the store: results always travel back to the one parent process.

``LocalExecutor`` (``--executor local``, the default)
    Worker processes (forked where the platform allows: they start in milliseconds and see every
    codec registered before the run) supervised by the parent, which hands out small batches of
    consecutive jobs (image-major, so a worker's image cache hits) and is told when each job
    starts. That makes every failure belong to one job:

    * a codec that raises, or returns garbage, fails its own job (:func:`run_job` checks);
    * a worker process that dies (segfault, ``os._exit``, ``abort``, the OOM killer) takes only
      the job it was running: that job is retried once alone in a fresh worker, and if it kills
      that worker too it gets an error row saying how the process died; the jobs it had queued
      go back to the queue untouched;
    * a job that runs longer than ``timeout`` seconds (``--timeout``) gets an error row, and its
      worker is killed (SIGKILL) and replaced. A hang is not retried: it would hang again.

    Workers die with the parent (``PR_SET_PDEATHSIG`` on Linux, and they poll the parent's pid),
    so a ``kill -9`` of a run leaves no orphans computing for nobody.

``DaskExecutor`` (``--executor dask [--scheduler ADDRESS]``)
    The same jobs as Dask tasks on a ``LocalCluster`` (loopback only) or an existing cluster. Each
    task runs its batch through a one-process ``LocalExecutor`` *inside* the Dask worker (a
    sandbox process), so crashes, hangs and garbage are handled exactly as locally and never take
    a Dask worker down. Records stream back with ``as_completed``. Image files must be readable
    at the same path on every worker (each job checks the sha256 it was planned with).

``InlineExecutor``
    Runs jobs in this process, one after another: for debugging (breakpoints work) and for
    callers that must not start processes. No isolation and no timeout.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import math
import os
import queue as queue_module
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from licbench.bench.images import DEFAULT_MAX_PIXELS
from licbench.bench.jobs import Job
from licbench.bench.runner import failed_record, run_job
from licbench.bench.store import Record

#: the default of ``--timeout``: seconds one job may take before its worker is killed
DEFAULT_TIMEOUT = 600.0
#: the most jobs handed to a worker at once (fewer near the end of a run, to balance the tail)
MAX_BATCH = 8

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class ExecutorError(RuntimeError):
    """An executor that cannot run jobs at all (workers die on start-up, no cluster, ...)."""


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker needs to know besides the job: limits, the same for every job."""

    #: seconds one job may run before its worker is killed; None or 0 for no limit
    timeout: float | None = DEFAULT_TIMEOUT
    #: images with more pixels are refused before decoding (``--max-pixels``)
    max_pixels: int = DEFAULT_MAX_PIXELS


def batch_size(remaining: int, workers: int, largest: int = MAX_BATCH) -> int:
    """How many queued jobs to hand out at once: large early, single jobs at the end.

    A batch saves round trips and keeps one image on one worker; a quarter of the per-worker
    share, capped, keeps the last batches small so that no worker idles while another finishes
    a long batch (guided self-scheduling).
    """
    return max(1, min(largest, remaining // max(1, 4 * workers)))


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
            yield run_job(job, max_pixels=self.settings.max_pixels)


# --------------------------------------------------------------------------------------------
# local process pool
# --------------------------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux, no libc: the parent-pid polling below still ends us
        pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(0)


def _prepare_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, workers keep quiet
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    # one thread per worker: the pool already uses every core, and oversubscribed BLAS or
    # OpenMP threads slow everything down (read by torch when it is first imported)
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"
    torch = sys.modules.get("torch")
    if torch is not None:  # already imported by the parent before the fork
        with contextlib.suppress(Exception):
            torch.set_num_threads(1)


def _worker_main(conn: Connection, settings: WorkerSettings, parent_pid: int) -> None:
    """A local worker: receive batches of jobs, report when each starts and its record."""
    _prepare_worker(parent_pid)
    try:
        while True:
            while not conn.poll(1.0):
                if os.getppid() != parent_pid:
                    return
            batch = conn.recv()
            if batch is None:
                return
            for job in batch:
                conn.send(("start", job.key))
                record = run_job(job, max_pixels=settings.max_pixels)
                try:
                    conn.send(("done", record))
                except (EOFError, OSError):
                    raise
                except Exception as exc:  # something in the record does not pickle
                    conn.send(("done", failed_record(job, f"its result cannot be sent: {exc}")))
    except (EOFError, OSError):  # the parent went away
        return


@contextlib.contextmanager
def _children_allowed() -> Iterator[None]:
    """Let a daemonic process (a Dask worker under its nanny) start a worker process.

    multiprocessing refuses children of daemonic processes because it could not wait for them
    at exit. Our workers are daemonic themselves (terminated at the parent's exit) and die with
    their parent (PR_SET_PDEATHSIG), so nothing is left behind.
    """
    import multiprocessing

    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    daemonic = config.get("daemon")
    if not daemonic:
        yield
        return
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemonic


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process stopped responding"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with status {exitcode}"


@dataclass
class _Slot:
    """One worker process and the jobs it holds."""

    process: Any
    conn: Connection
    #: jobs sent and not reported yet; the first is running once ``started`` is set
    batch: deque[Job] = field(default_factory=deque)
    started: float | None = None

    @property
    def busy(self) -> bool:
        return bool(self.batch)


class LocalExecutor(Executor):
    """A supervised pool of ``workers`` local processes (see the module docstring)."""

    name = "local"
    #: worker processes that die before running any job, in a row, before giving up
    STARTUP_DEATHS = 3

    def __init__(
        self,
        workers: int = 1,
        settings: WorkerSettings | None = None,
        *,
        start_method: str | None = None,
    ) -> None:
        super().__init__(settings)
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._start_method = start_method
        self._slots: list[_Slot] = []

    @functools.cached_property
    def _context(self) -> Any:
        """The multiprocessing context, made when the first worker starts: an executor that
        runs nothing (a re-run of a finished run) never imports multiprocessing."""
        import multiprocessing

        method = self._start_method
        if method is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        return multiprocessing.get_context(method)

    # -- workers ---------------------------------------------------------------------------

    def _preload(self) -> None:
        """Import torch here, once, before forking, rather than once in every worker.

        MS-SSIM and the learned codecs need it; importing it takes seconds and a forked worker
        inherits it for free (also a worker that replaces a crashed one). Only imported, never
        used here, so forking stays safe; workers then set one thread each. Not done with
        spawn, where a child inherits nothing.
        """
        if self._context.get_start_method() != "fork" or "torch" in sys.modules:
            return
        if importlib.util.find_spec("torch") is not None:
            with contextlib.suppress(Exception):
                importlib.import_module("torch")

    def _start_worker(self) -> _Slot:
        if not self._slots:
            self._preload()
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_end, self.settings, os.getpid()),
            name="licbench-worker",
            daemon=True,
        )
        with _children_allowed():
            process.start()
        child_end.close()  # only the child holds it now: its death reads as EOF here
        slot = _Slot(process, parent_end)
        self._slots.append(slot)
        return slot

    def _stop_worker(self, slot: _Slot, *, kill: bool) -> None:
        if slot in self._slots:
            self._slots.remove(slot)
        if kill and slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=5)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(timeout=5)
        slot.conn.close()

    def close(self) -> None:
        for slot in list(self._slots):
            with contextlib.suppress(OSError, ValueError):
                slot.conn.send(None)
        deadline = time.monotonic() + 5
        for slot in list(self._slots):
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
            self._stop_worker(slot, kill=True)

    # -- the loop --------------------------------------------------------------------------

    def run(self, jobs: Sequence[Job]) -> Iterator[Record]:
        from multiprocessing import connection

        queue: deque[Job] = deque(jobs)
        retry: deque[Job] = deque()  # jobs whose worker died under them: run alone, once more
        deaths: dict[str, int] = {}
        startup_deaths = 0
        timeout = self.settings.timeout or None
        complete = False
        try:
            while queue or retry or any(slot.busy for slot in self._slots):
                self._dispatch(queue, retry)
                busy = [slot for slot in self._slots if slot.busy]
                wait_for = None
                if timeout is not None:
                    starts = [slot.started for slot in busy if slot.started is not None]
                    if starts:
                        wait_for = max(0.0, min(starts) + timeout - time.monotonic()) + 0.01
                ready = set(
                    connection.wait(
                        [s.conn for s in busy] + [s.process.sentinel for s in busy], wait_for
                    )
                )
                now = time.monotonic()
                for slot in busy:
                    if slot.conn not in ready and slot.process.sentinel not in ready:
                        if (
                            timeout is not None
                            and slot.started is not None
                            and (now - slot.started > timeout)
                        ):
                            yield self._timed_out(slot, queue, timeout)
                        continue
                    alive = True
                    for message in self._messages(slot):
                        if message is None:
                            alive = False
                            break
                        kind, payload = message
                        if kind == "start":
                            slot.started = time.monotonic()
                        else:
                            slot.batch.popleft()
                            slot.started = None
                            startup_deaths = 0
                            yield payload
                    if not alive or not slot.process.is_alive():
                        culprit = slot.batch[0] if slot.started is not None else None
                        exitcode = self._reap(slot)
                        if culprit is None:
                            startup_deaths += 1
                            if startup_deaths >= self.STARTUP_DEATHS:
                                raise ExecutorError(
                                    f"local worker processes die before running any job "
                                    f"({_describe_exit(exitcode)}, {startup_deaths} in a row)"
                                )
                        for job in reversed(slot.batch):
                            if job is not culprit:
                                queue.appendleft(job)
                        if culprit is not None:
                            deaths[culprit.key] = deaths.get(culprit.key, 0) + 1
                            if deaths[culprit.key] >= 2:
                                yield failed_record(
                                    culprit,
                                    f"{_describe_exit(exitcode)} while running this job, also "
                                    "when retried alone in a fresh worker (a crash in the "
                                    "codec or its libraries)",
                                )
                            else:
                                _log.warning(
                                    "%s; retrying %s once in a fresh worker",
                                    _describe_exit(exitcode),
                                    culprit.describe(),
                                )
                                retry.append(culprit)
            complete = True
        finally:
            if not complete:
                # interrupted (the caller stopped iterating, or an error): abandon jobs in flight
                for slot in list(self._slots):
                    if slot.busy:
                        self._stop_worker(slot, kill=True)

    def _dispatch(self, queue: deque[Job], retry: deque[Job]) -> None:
        """Give every idle worker a batch, starting workers while there is work for them."""
        while retry or queue:
            idle = next((slot for slot in self._slots if not slot.busy), None)
            if idle is None:
                if len(self._slots) >= self.workers:
                    return
                idle = self._start_worker()
            if retry:
                batch = [retry.popleft()]
            else:
                size = batch_size(len(queue), self.workers)
                batch = [queue.popleft() for _ in range(min(size, len(queue)))]
            idle.batch.extend(batch)
            idle.started = None
            try:
                idle.conn.send(batch)
            except (OSError, ValueError):
                # died while idle: put the jobs back; the main loop reaps and replaces it
                pass

    @staticmethod
    def _messages(slot: _Slot) -> Iterator[tuple[str, Any] | None]:
        """Every message waiting on the worker's pipe; None once the pipe is closed."""
        while True:
            try:
                if not slot.conn.poll():
                    return
                yield slot.conn.recv()
            except (EOFError, OSError, ValueError):
                yield None
                return
            except Exception:  # a half-written message from a dying worker
                yield None
                return

    def _reap(self, slot: _Slot) -> int | None:
        slot.process.join(timeout=5)
        exitcode = slot.process.exitcode
        self._stop_worker(slot, kill=True)
        return exitcode

    def _timed_out(self, slot: _Slot, queue: deque[Job], timeout: float) -> Record:
        culprit = slot.batch.popleft()
        for job in reversed(slot.batch):
            queue.appendleft(job)
        slot.batch.clear()
        self._stop_worker(slot, kill=True)
        _log.warning("%s timed out after %g s; worker killed", culprit.describe(), timeout)
        return failed_record(
            culprit,
            f"did not finish within {timeout:g} s (--timeout); its worker process was killed "
            "and replaced",
        )


# --------------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------------


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
                size = batch_size(len(queue), workers)
                submit([queue.popleft() for _ in range(min(size, len(queue)))])

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


#: the executors ``--executor`` accepts
EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "dask": DaskExecutor}


def make_executor(
    kind: str = "local",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    max_pixels: int = DEFAULT_MAX_PIXELS,
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
    settings = WorkerSettings(timeout=timeout or None, max_pixels=max_pixels)
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
