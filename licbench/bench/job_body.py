"""What a worker does for one job: encode, decode from the bytes alone, measure; one record.

:func:`run_job` computes one job wherever it is called (a local worker process, a Dask worker's
sandbox process, or this process); :func:`failed_record` is the record of a job that could not
report for itself. A module of its own so that the executors (which call these in their
workers) and :mod:`licbench.bench.runner` (which hands jobs to an executor and commits what
comes back) both depend on it, and not on each other in a circle.

Each process keeps the codecs it made and the last images it read, because a codec sweep
revisits the same image for every quality; executors hand out consecutive jobs (image-major) so
that these caches hit.

A job marked for it (:attr:`Job.complexity`, :mod:`licbench.bench.complexity`) also measures
its learned codec's complexity figure: the peak memory of its encode and of its decode
(:mod:`licbench.bench.job_memory`; the model of its quality is built before, so that job's
``encode_s`` leaves the model's loading out, where an unmarked first job includes it), then
parameters and MACs; the figure goes back with the record.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from licbench.bench.images import DEFAULT_MAX_PIXELS, ImageLoadError, LoadedImage, load_image
from licbench.bench.jobs import Job, format_quality
from licbench.bench.store import Record
from licbench.codecs import Codec, create_codec
from licbench.datasets import ImageRef
from licbench.metrics import measure

_codecs: dict[str, Codec] = {}
_images: OrderedDict[tuple[str, str, int], LoadedImage | ImageLoadError] = OrderedDict()
_IMAGE_CACHE_SIZE = 4
#: (codec spec, quality, height, width) whose complexity this process measured (or tried to)
_measured: set[tuple[str, float, int, int]] = set()


def _codec(spec: str) -> Codec:
    if spec not in _codecs:
        _codecs[spec] = create_codec(spec)
    return _codecs[spec]


def _image(ref: ImageRef, max_pixels: int) -> LoadedImage:
    # keyed by path too: the same bytes under two names must each be read (and fail) by name
    # (a file that cannot be measured is remembered too: its other jobs fail without re-reading)
    key = (ref.sha256, str(ref.path), max_pixels)
    if key in _images:
        _images.move_to_end(key)
        loaded = _images[key]
    else:
        try:
            loaded = load_image(ref, max_pixels)
        except ImageLoadError as exc:
            loaded = exc
        _images[key] = loaded
        while len(_images) > _IMAGE_CACHE_SIZE:
            _images.popitem(last=False)
    if isinstance(loaded, ImageLoadError):
        raise ImageLoadError(str(loaded))
    return loaded


def blank_record(job: Job) -> Record:
    """The record of ``job`` before anything is known but what the job is."""
    return Record(
        job_key=job.key,
        codec=job.codec,
        codec_key=job.codec_key,
        codec_version="",
        quality=job.quality,
        image=job.image.name,
        image_sha256=job.image.sha256,
    )


def failed_record(job: Job, cause: str) -> Record:
    """A record saying that ``job`` failed, naming the file, the codec and quality, and ``cause``.

    Used where the job could not report for itself (its worker process died or hung).
    """
    record = blank_record(job)
    record.error = (
        f"{job.image.path}: {job.codec} at quality {format_quality(job.quality)} failed: {cause}"
    )
    return record


def _plain_environment(environment: object) -> dict:
    """A codec's environment() as stored: JSON-able as given, else every value as text."""
    environment = dict(environment or {})  # type: ignore[call-overload]
    try:
        json.dumps(environment)
        return {str(k): v for k, v in environment.items()}
    except (TypeError, ValueError):
        return {str(k): str(v) for k, v in environment.items()}


def run_job(
    job: Job,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    spool: str | None = None,
    time_limit: Callable[[float], None] | None = None,
) -> Record:
    """Compute one job; any failure becomes the record's ``error``, naming the file and cause.

    Whatever a codec returns is checked (bytes from ``encode``; an 8-bit array of the original's
    shape from ``decode``), so a codec that returns garbage fails its own job and nothing else.
    With ``spool`` (``--decode-check``), a float decoder's bitstream and decoded image are kept
    there for :mod:`licbench.bench.decode_check`. ``time_limit`` is told, once the image's size
    is known, how long the codec says a healthy job may take (:meth:`Codec.time_limit`), when
    it says.
    """
    record = blank_record(job)
    stage = "loading the codec"
    try:
        codec = _codec(job.codec)
        record.codec_version = str(codec.version())
        record.environment = _plain_environment(codec.environment())
        stage = "reading the image"
        loaded = _image(job.image, max_pixels)
        original = loaded.array
        record.notes = "; ".join(loaded.notes) or None
        height, width = original.shape[:2]
        record.width, record.height = width, height
        if time_limit is not None and (seconds := codec.time_limit(width, height)) is not None:
            time_limit(float(seconds))
        probe = _complexity_probe(job, codec, height, width)
        measuring = probe.measure if probe is not None else _not_measured
        stage = "encoding"
        with measuring("encode"):
            start = time.perf_counter()
            data = codec.encode(original, job.quality)
            record.encode_s = time.perf_counter() - start
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"encode returned {type(data).__name__}, not bytes")
        data = bytes(data)
        record.bytes = len(data)
        record.bpp = 8.0 * len(data) / (height * width)
        stage = "decoding"
        with measuring("decode"):
            decoded, stages = codec.decode_profiled(data)
        record.decode_stages = {str(k): float(v) for k, v in dict(stages).items()}
        record.decode_s = sum(record.decode_stages.values())
        import numpy as np  # (here, not at the top: a re-run that computes nothing needs none)

        if not isinstance(decoded, np.ndarray):
            raise TypeError(f"decode returned {type(decoded).__name__}, not a numpy array")
        if decoded.shape != original.shape or decoded.dtype != np.uint8:
            raise ValueError(
                f"decoder returned {decoded.dtype} {decoded.shape}, expected uint8 {original.shape}"
            )
        stage = "measuring"
        record.metrics = measure(job.metrics, original, decoded)
        if spool and codec.float_decoder:
            keep_for_decode_check(spool, job.key, data, decoded)
        if job.viewer:  # the viewer's picture, from this decode (licbench.bench.viewer)
            from licbench.bench.viewer import keep_decoded

            keep_decoded(job, decoded)
        if job.crop:  # the report's crops, from this decode (licbench.bench.visual)
            from licbench.bench.visual import job_crops

            record.crops = job_crops(job, original, decoded)
        if probe is not None:  # (a figure that cannot be counted says why: never fatal)
            record.complexity = probe.figure(codec, job.quality, height, width)
    except ImageLoadError as exc:
        record.error = str(exc)
    except (Exception, SystemExit) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
        record.error = (
            f"{job.image.path}: {job.codec} at quality {format_quality(job.quality)} failed "
            f"while {stage}: {type(exc).__name__}: {exc}{where}"
        )
    return record


@contextlib.contextmanager
def _not_measured(operation: str) -> Iterator[None]:
    yield


def _complexity_probe(job: Job, codec: Codec, height: int, width: int) -> Any:
    """The :class:`~licbench.bench.job_memory.JobComplexity` that measures ``job``'s complexity
    figure, or None: not asked for (:attr:`Job.complexity`), stored already for this size, or
    measured by this process already (once per codec, quality and size in a worker's life).

    The model of the job's quality is built first (its first job would build it inside
    ``encode``), so that the peaks are those of the encode and decode alone.
    """
    if job.complexity is None or (height, width) in job.complexity:
        return None
    seen = (job.codec, job.quality, height, width)
    if seen in _measured:
        return None
    _measured.add(seen)
    from licbench.bench.job_memory import JobComplexity

    try:
        codec.model(job.quality)  # type: ignore[attr-defined]  # (a learned codec's)
    except Exception:  # the encode meets the same failure and says so in the record
        return None
    return JobComplexity()


def keep_for_decode_check(spool: str, job_key: str, data: bytes, decoded: object) -> bool:
    """Write ``<job key>.bits`` and ``<job key>.npy`` into ``spool`` (the bitstream and this
    run's own decode of it), each under a temporary name first so a full disk never leaves a
    truncated file the check would decode; False when the folder cannot be written (a remote
    worker): the check then encodes again."""
    import numpy as np

    from licbench.bench.decode_check import spooled

    written = []
    try:
        for final, write in zip(
            spooled(spool, job_key),
            (lambda f: f.write(data), lambda f: np.save(f, decoded)),
            strict=True,
        ):
            partial = final.with_name(final.name + ".partial")
            written.append(partial)
            with open(partial, "wb") as f:
                write(f)
        for partial in reversed(written):  # the decode first: a .bits file means both are there
            os.replace(partial, partial.with_name(partial.name.removesuffix(".partial")))
        return True
    except OSError:
        for partial in written:
            with contextlib.suppress(OSError):
                partial.unlink()
        return False
