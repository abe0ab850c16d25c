"""``LocalExecutor`` (``--executor local``, the default): a supervised pool of local processes.

Worker processes (forked where the platform allows: they start in milliseconds and see every
codec registered before the run) supervised by the parent, which hands out batches of
consecutive jobs (one image's jobs together, so a worker reads each original once). A worker
writes which job it is running, and since when, into two doubles of shared memory, and sends
its records back a batch (or a quarter of a second) at a time: no message per job, yet the
parent always knows the job a dead or hung worker was running. That makes every failure belong
to one job:

* a codec that raises, or returns garbage, fails its own job (:func:`run_job` checks);
* a worker process that dies (segfault, ``os._exit``, ``abort``, the OOM killer) takes only the
  job it was running: that job is retried once alone in a fresh worker, and if it kills that
  worker too it gets an error row saying how the process died; the other jobs of its batch
  (queued, or finished and not reported yet) go back to the queue;
* a job that runs longer than ``timeout`` seconds (``--timeout``) gets an error row, and its
  worker is killed (SIGKILL) and replaced. A hang is not retried: it would hang again. A codec
  that says a healthy job on this image takes longer (:meth:`Codec.time_limit`: VTM on a large
  picture) gets that instead; the worker writes it beside the start time.

Workers die with the parent (``PR_SET_PDEATHSIG`` on Linux, and they poll the parent's pid), so
a ``kill -9`` of a run leaves no orphans computing for nobody.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.bench.executors.base import Executor, ExecutorError, WorkerSettings, take_batch
from licbench.bench.job_body import failed_record, run_job
from licbench.bench.jobs import Job
from licbench.bench.store import Record
from licbench.core.memory import keep_freed_memory

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


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
    # a job's large temporaries (metric planes, codec buffers) reuse freed memory instead of
    # faulting in fresh pages every time (see licbench.core.memory: up to 2× on a filter pass)
    keep_freed_memory()


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tool_groups(worker_pid: int) -> None:
    """Kill the process groups of a worker's command-line tools before the worker itself.

    A tool runs in a process group of its own (licbench.codecs.external.tools), which a killed
    worker can no longer clean up: its processes, and their children's children, would live on
    under init. The groups are found through the worker's descendants."""
    own = os.getpgid(0)
    groups = set()
    for pid in _descendants(worker_pid):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    for group in groups - {own, worker_pid}:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)


#: a worker sends the records it has at the end of each batch, and sooner when this many
#: seconds have passed since its last send (slow jobs report one by one, fast ones in batches)
SEND_EVERY = 0.25


def _worker_main(
    conn: Connection,
    settings: WorkerSettings,
    parent_pid: int,
    scratch: str | None = None,
    progress: Any = None,
) -> None:
    """A local worker: receive batches of jobs, send back their records.

    Before each job it writes into ``progress`` (memory shared with the parent, three doubles)
    the number of jobs it has started and the job's start time: the parent reads them to know
    which job a dead or hung worker was running, without a message per job; the third is the
    codec's own time limit for the job, once it knows the image (0: ``--timeout``). Records go
    back in lists (see :data:`SEND_EVERY`). ``scratch`` is this worker's temporary folder (tools
    copy the user's image there): the parent removes it when the worker ends, also when it had
    to kill it mid-job.
    """
    if scratch:
        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch
    _prepare_worker(parent_pid)
    started = 0
    try:
        while True:
            while not conn.poll(1.0):
                if os.getppid() != parent_pid:
                    return
            batch = conn.recv()
            if batch is None:
                return
            done: list[Record] = []
            last_send = time.monotonic()
            for job in batch:
                started += 1
                allow = None
                if progress is not None:
                    progress[2] = 0.0  # (the limit, then the time, then the count: _Slot.running)
                    progress[1] = time.monotonic()
                    progress[0] = started
                    allow = functools.partial(progress.__setitem__, 2)
                done.append(
                    run_job(
                        job, max_pixels=settings.max_pixels, spool=settings.spool, time_limit=allow
                    )
                )
                if time.monotonic() - last_send >= SEND_EVERY:
                    _send_records(conn, batch, done)
                    done, last_send = [], time.monotonic()
            if done:
                _send_records(conn, batch, done)
    except (EOFError, OSError):  # the parent went away
        return


def _send_records(conn: Connection, batch: list[Job], records: list[Record]) -> None:
    """Send ``records`` in one message; one that cannot be pickled becomes its job's error."""
    try:
        conn.send(records)
    except (EOFError, OSError):
        raise
    except Exception:  # something in a record does not pickle: find it, send the rest
        by_key = {job.key: job for job in batch}
        for index, record in enumerate(records):
            try:
                conn.send([record])
            except (EOFError, OSError):
                raise
            except Exception as exc:
                cause = f"its result cannot be sent: {exc}"
                records[index] = failed_record(by_key[record.job_key], cause)
                conn.send([records[index]])


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
    #: what the worker writes before each job: [jobs started so far, that job's start time,
    #: the codec's time limit for it (0 until known, or when the codec has none)]
    progress: Any
    #: jobs sent and not reported yet, in the order the worker runs them
    batch: deque[Job] = field(default_factory=deque)
    #: how many records this worker has sent back (over its life)
    reported: int = 0
    #: the worker's temporary folder, removed with it
    scratch: str | None = None

    @property
    def busy(self) -> bool:
        return bool(self.batch)

    def running(self) -> tuple[Job | None, float | None]:
        """The job the worker is running and since when, or (None, None) between jobs.

        The worker writes the start time before the count, so a count that says a job is
        running never comes with an older job's time (a stale time only delays a timeout).
        """
        started = int(self.progress[0])
        since = self.progress[1]
        index = started - self.reported - 1
        if self.batch and 0 <= index < len(self.batch):
            return self.batch[index], since
        return None, None

    def limit(self, timeout: float | None) -> float | None:
        """The running job's time limit: ``timeout`` (--timeout), or more when its codec said
        so; None (no limit) stays None. A limit read a moment early is ``timeout``: it only
        ever grows during a job."""
        if timeout is None:
            return None
        return max(timeout, self.progress[2])


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

    def _preload(self, jobs: Sequence[Job]) -> None:
        """Import torch here, once, before forking, rather than once in every worker, when a
        job needs it.

        MS-SSIM, LPIPS, the JPEG AI metrics and the learned codecs need it; importing it takes
        seconds and a forked worker inherits it for free (also a worker that replaces a crashed
        one), its pages shared. Only imported, never used here, so forking stays safe; workers
        then set one thread each. Not done with spawn, where a child inherits nothing, and not
        for a run that needs no torch (classical codecs with PSNR): it would cost seconds and
        hundreds of MB for nothing.
        """
        if self._context.get_start_method() != "fork" or "torch" in sys.modules:
            return
        if not _needs_torch(jobs):
            return
        if importlib.util.find_spec("torch") is not None:
            with contextlib.suppress(Exception):
                importlib.import_module("torch")

    def _start_worker(self) -> _Slot:
        parent_end, child_end = self._context.Pipe(duplex=True)
        scratch = tempfile.mkdtemp(prefix="licbench-worker-")
        progress = self._context.RawArray("d", 3)
        process = self._context.Process(
            target=_worker_main,
            args=(child_end, self.settings, os.getpid(), scratch, progress),
            name="licbench-worker",
            daemon=True,
        )
        with _children_allowed():
            process.start()
        child_end.close()  # only the child holds it now: its death reads as EOF here
        slot = _Slot(process, parent_end, progress, scratch=scratch)
        self._slots.append(slot)
        return slot

    def _stop_worker(self, slot: _Slot, *, kill: bool) -> None:
        if slot in self._slots:
            self._slots.remove(slot)
        if kill and slot.process.is_alive():
            _kill_tool_groups(slot.process.pid)
            slot.process.kill()
        slot.process.join(timeout=5)
        if slot.process.is_alive():
            _kill_tool_groups(slot.process.pid)
            slot.process.kill()
            slot.process.join(timeout=5)
        slot.conn.close()
        if slot.scratch:
            shutil.rmtree(slot.scratch, ignore_errors=True)

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
        if queue and not self._slots:
            self._preload(jobs)
        try:
            while queue or retry or any(slot.busy for slot in self._slots):
                self._dispatch(queue, retry)
                busy = [slot for slot in self._slots if slot.busy]
                wait_for = None
                if timeout is not None:
                    ends = [
                        since + slot.limit(timeout)
                        for slot in busy
                        if (since := slot.running()[1]) is not None
                    ]
                    if ends:
                        wait_for = max(0.0, min(ends) - time.monotonic()) + 0.01
                    elif busy:  # a batch sent, its first job not begun yet: look again soon
                        wait_for = 1.0
                ready = set(
                    connection.wait(
                        [s.conn for s in busy] + [s.process.sentinel for s in busy], wait_for
                    )
                )
                for slot in busy:
                    if slot.conn not in ready and slot.process.sentinel not in ready:
                        job, since = slot.running()
                        limit = slot.limit(timeout)
                        if job is not None and since is not None and limit is not None:
                            if time.monotonic() - since > limit:
                                yield self._timed_out(slot, job, queue, limit, timeout)
                        continue
                    alive = True
                    for records in self._messages(slot):
                        if records is None:
                            alive = False
                            break
                        for record in records:
                            slot.batch.popleft()
                            slot.reported += 1
                            yield record
                        startup_deaths = 0
                    if alive and slot.process.is_alive():
                        continue
                    culprit, _ = slot.running()
                    exitcode = self._reap(slot)
                    if culprit is None:
                        startup_deaths += 1
                        if startup_deaths >= self.STARTUP_DEATHS:
                            raise ExecutorError(
                                f"local worker processes die before running any job "
                                f"({_describe_exit(exitcode)}, {startup_deaths} in a row)"
                            )
                    for job in reversed(slot.batch):  # finished but not sent, or not begun
                        if job is not culprit:
                            queue.appendleft(job)
                    if culprit is not None:
                        failed = self._died_under(culprit, exitcode, deaths, retry)
                        if failed is not None:
                            yield failed
            complete = True
        finally:
            if not complete:
                # interrupted (the caller stopped iterating, or an error): abandon jobs in flight
                for slot in list(self._slots):
                    if slot.busy:
                        self._stop_worker(slot, kill=True)

    @staticmethod
    def _died_under(
        culprit: Job, exitcode: int | None, deaths: dict[str, int], retry: deque[Job]
    ) -> Record | None:
        """A job whose worker died while running it: retried once alone in a fresh worker,
        then its error row."""
        deaths[culprit.key] = deaths.get(culprit.key, 0) + 1
        if deaths[culprit.key] >= 2:
            return failed_record(
                culprit,
                f"{_describe_exit(exitcode)} while running this job, also when retried alone "
                "in a fresh worker (a crash in the codec or its libraries)",
            )
        _log.warning(
            "%s; retrying %s once in a fresh worker", _describe_exit(exitcode), culprit.describe()
        )
        retry.append(culprit)
        return None

    def _dispatch(self, queue: deque[Job], retry: deque[Job]) -> None:
        """Give every idle worker a batch, starting workers while there is work for them."""
        while retry or queue:
            idle = next((slot for slot in self._slots if not slot.busy), None)
            if idle is None:
                if len(self._slots) >= self.workers:
                    return
                idle = self._start_worker()
            batch = [retry.popleft()] if retry else take_batch(queue, self.workers)
            idle.batch.extend(batch)
            try:
                idle.conn.send(batch)
            except (OSError, ValueError):
                # died while idle: put the jobs back; the main loop reaps and replaces it
                pass

    @staticmethod
    def _messages(slot: _Slot) -> Iterator[list[Record] | None]:
        """Every list of records waiting on the worker's pipe; None once the pipe is closed."""
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

    def _timed_out(
        self, slot: _Slot, culprit: Job, queue: deque[Job], limit: float, timeout: float
    ) -> Record:
        for job in reversed(slot.batch):  # the others, finished but not sent or not begun
            if job is not culprit:
                queue.appendleft(job)
        slot.batch.clear()
        self._stop_worker(slot, kill=True)
        _log.warning("%s timed out after %g s; worker killed", culprit.describe(), limit)
        which = "--timeout" if limit <= timeout else "the codec's own limit for this image size"
        return failed_record(
            culprit,
            f"did not finish within {limit:g} s ({which}); its worker process was killed "
            "and replaced",
        )


def _needs_torch(jobs: Sequence[Job]) -> bool:
    """Whether a job's metrics compute with torch (a learned codec has imported it already,
    when the run made its codecs)."""
    from licbench.metrics import METRICS

    names = {name for job in jobs for name in job.metrics if name in METRICS}
    return any(getattr(METRICS.get(name), "needs_torch", False) for name in names)
