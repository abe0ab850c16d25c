"""Runs jobs: encode, decode from the bytes alone, measure, and store each record at once.

Jobs run in a local process pool (``workers`` processes; 1 runs in this process). Each worker
keeps the codecs it made and the last images it read, because a codec sweep revisits the same
image for every quality. The parent process is the only writer to the store: each record is
committed as soon as it arrives, so an interrupted run loses at most the jobs in flight.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import numpy as np

from licbench.bench.images import ImageLoadError, load_rgb
from licbench.bench.jobs import Job, format_quality
from licbench.bench.store import Record, Store
from licbench.codecs import Codec, create_codec
from licbench.datasets import ImageRef
from licbench.metrics import METRICS

_codecs: dict[str, Codec] = {}
_images: OrderedDict[str, np.ndarray] = OrderedDict()
_IMAGE_CACHE_SIZE = 4


def _codec(spec: str) -> Codec:
    if spec not in _codecs:
        _codecs[spec] = create_codec(spec)
    return _codecs[spec]


def _image(ref: ImageRef) -> np.ndarray:
    if ref.sha256 in _images:
        _images.move_to_end(ref.sha256)
        return _images[ref.sha256]
    array = load_rgb(ref)
    _images[ref.sha256] = array
    while len(_images) > _IMAGE_CACHE_SIZE:
        _images.popitem(last=False)
    return array


def run_job(job: Job) -> Record:
    """Compute one job; any failure becomes the record's ``error``, naming the file and cause."""
    record = Record(
        job_key=job.key,
        codec=job.codec,
        codec_key=job.codec_key,
        codec_version="",
        quality=job.quality,
        image=job.image.name,
        image_sha256=job.image.sha256,
    )
    stage = "loading the codec"
    try:
        codec = _codec(job.codec)
        record.codec_version = codec.version()
        record.environment = codec.environment()
        stage = "reading the image"
        original = _image(job.image)
        height, width = original.shape[:2]
        record.width, record.height = width, height
        stage = "encoding"
        start = time.perf_counter()
        data = codec.encode(original, job.quality)
        record.encode_s = time.perf_counter() - start
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"encode returned {type(data).__name__}, not bytes")
        record.bytes = len(data)
        record.bpp = 8.0 * len(data) / (height * width)
        stage = "decoding"
        decoded, stages = codec.decode_profiled(bytes(data))
        record.decode_s = sum(stages.values())
        record.decode_stages = stages
        if decoded.shape != original.shape or decoded.dtype != np.uint8:
            raise ValueError(
                f"decoder returned {decoded.dtype} {decoded.shape}, expected uint8 {original.shape}"
            )
        stage = "measuring"
        record.metrics = {name: METRICS.get(name)(original, decoded) for name in job.metrics}
    except ImageLoadError as exc:
        record.error = str(exc)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        record.error = (
            f"{job.image.path}: {job.codec} at quality {format_quality(job.quality)} failed "
            f"while {stage}: {type(exc).__name__}: {exc} "
            f"({os.path.basename(where.filename)}:{where.lineno})"
        )
    return record


def _init_worker() -> None:
    # one thread per worker: the pool already uses every core, and oversubscribed BLAS or
    # OpenMP threads slow everything down
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds and shares the imported modules; spawn elsewhere
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def iterate_records(jobs: Sequence[Job], workers: int) -> Iterator[Record]:
    """Yield each job's record as it finishes (in completion order)."""
    if workers <= 1:
        for job in jobs:
            yield run_job(job)
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_init_worker
    ) as pool:
        pending: set[Future[Record]] = set()
        queue = iter(jobs)
        # a bounded window of submitted jobs keeps memory flat on huge grids
        for job in queue:
            pending.add(pool.submit(run_job, job))
            if len(pending) >= workers * 4:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                next_job = next(queue, None)
                if next_job is not None:
                    pending.add(pool.submit(run_job, next_job))


def execute(
    jobs: Sequence[Job],
    store: Store,
    *,
    workers: int = 1,
    progress: bool = True,
    on_record: Callable[[Record], None] | None = None,
) -> dict[str, int]:
    """Run the jobs not yet finished in ``store``, committing each record as it arrives.

    Returns counts: ``total``, ``cached`` (finished before), ``computed`` and ``failed``.
    """
    finished = store.finished(job.key for job in jobs)
    todo = [job for job in jobs if job.key not in finished]
    counts = {"total": len(jobs), "cached": len(jobs) - len(todo), "computed": 0, "failed": 0}
    from tqdm.auto import tqdm

    with tqdm(total=len(todo), disable=not progress or not todo, unit="job") as bar:
        for record in iterate_records(todo, workers):
            store.put(record)
            counts["computed"] += 1
            if not record.ok:
                counts["failed"] += 1
                bar.write(f"error: {record.error}")
            if on_record is not None:
                on_record(record)
            bar.set_postfix_str(f"{record.codec} q={format_quality(record.quality)}")
            bar.update()
    return counts
