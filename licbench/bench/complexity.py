"""A run's complexity figures: parameters, kMAC/px and peak memory of every learned codec.

Measured once per codec version (its key), quality and image size, and kept in the store
(:meth:`~licbench.bench.store.Store.put_complexity`), so a second run, or another run with the
same codec and image size, measures nothing; a re-run of a finished run reads its figures from
``run.json`` and imports no torch for them.

Where they are measured: on a job. :func:`mark_jobs` marks the jobs at each learned codec's
highest quality of the run; the worker that runs one of them for an image size the store does
not have (once per codec, quality and size in its life) measures the peak memory of that job's
encode and of its decode (:mod:`licbench.bench.job_memory`: the operation's own working memory
above the worker's resident set), then counts parameters and MACs on the model it already has
(:func:`~licbench.codecs.learned.complexity.codec_complexity`, on the meta device), and the
figure travels back with the job's record. The main process builds no model and starts no
process for it: it only picks the figure of the run's most common image size
(:func:`figures`). Before, the main process built each model once more to count it and two
fresh processes (each importing torch and the codec's libraries, then coding the image again)
measured its memory: about 8 s of a four-image CompressAI run's 18
(``benchmarks/learned_fixed_cost.py``).

Only where no job measured the figure (the worker could not reset its peak memory: not
Linux, a read-only ``/proc``; the measuring job failed; every job came from a store written
before this table existed) is it made here as before: counted in this process, peak memory from
one fresh encoding and one fresh decoding process (on a bounded size for large images), and
then stored too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from licbench.bench.jobs import Job, codec_key
from licbench.bench.store import Store
from licbench.codecs import Codec


def learned_codecs(codecs: Sequence[Codec]) -> list[Codec]:
    """The learned codecs among ``codecs``: those on the learned-codec stack
    (``LearnedCodecBase``; its module imports no torch and is loaded with ``licbench.codecs``)."""
    from licbench.codecs.learned.codec import LearnedCodecBase

    return [codec for codec in codecs if isinstance(codec, LearnedCodecBase)]


def top_qualities(codecs: Sequence[Codec], jobs: Sequence[Job]) -> dict[str, float]:
    """Each codec's highest quality among ``jobs`` (its own highest when it has none): the
    figure's quality (a zoo model widens at its top qualities: the largest figure)."""
    labels = {codec.label for codec in codecs}
    top: dict[str, float] = {}
    for job in jobs:
        if job.codec in labels and job.quality > top.get(job.codec, float("-inf")):
            top[job.codec] = job.quality
    for codec in codecs:
        top.setdefault(codec.label, float(max(codec.qualities)))
    return top


def mark_jobs(codecs: Sequence[Codec], jobs: Sequence[Job], store: Store) -> list[Job]:
    """``jobs`` with those at each learned codec's top quality marked to measure its figure
    (:attr:`Job.complexity`: the image sizes the store has already, which are not measured)."""
    learned = learned_codecs(codecs)
    if not learned:
        return list(jobs)
    top = top_qualities(learned, jobs)
    known = {c.label: store.complexity_sizes(codec_key(c), top[c.label]) for c in learned}
    return [
        dataclasses.replace(job, complexity=known[job.codec])
        if job.codec in known and job.quality == top[job.codec]
        else job
        for job in jobs
    ]


def figures(
    codecs: Sequence[Codec], jobs: Sequence[Job], store: Store, have: dict[str, Any]
) -> dict[str, Any] | None:
    """The complexity figure of every learned codec on the run's most common image size, or
    None: nothing to change (no learned codec, ``have`` has them all, no job succeeded)."""
    learned = learned_codecs(codecs)
    if not learned or set(have) == {codec.label for codec in learned}:
        return None
    size = common_size(store.get(job.key for job in jobs).values())
    if size is None:
        return None
    height, width = size
    top = top_qualities(learned, jobs)
    return {c.label: _figure(c, top[c.label], height, width, store) for c in learned}


def common_size(records: Iterable[Any]) -> tuple[int, int] | None:
    """The most common (height, width) of the records that succeeded; of equally common sizes
    the largest (most pixels, then the taller): a rule of the images, never of the order the
    store returns records in (by job key, which changes with a codec's version)."""
    sizes = Counter((r.height, r.width) for r in records if r.ok and r.width and r.height)
    if not sizes:
        return None
    return max(sizes, key=lambda size: (sizes[size], size[0] * size[1], size))


def _figure(codec: Codec, quality: float, height: int, width: int, store: Store) -> dict[str, Any]:
    """One codec's stored figure; made here (and stored) only when no job measured it."""
    key = codec_key(codec)
    figure = store.get_complexity(key, quality, height, width)
    if figure is not None and "unavailable" not in (figure.get("peak_memory") or {}):
        return figure
    figure = measure_here(codec, quality, height, width)
    if not store.read_only:
        store.put_complexity(key, quality, height, width, figure)
    return figure


def measure_here(codec: Codec, quality: float, height: int, width: int) -> dict[str, Any]:
    """The figure made in this process: counted on the codec's model here, peak memory from a
    fresh encoding and a fresh decoding process (one thread, as a job), on a bounded size for
    large images. One that cannot be counted is said, never fatal."""
    from licbench.codecs.learned.complexity import (
        COUNT_PIXELS,
        codec_complexity,
        counting_size,
        measure_peak_memory,
    )

    try:
        memory: dict[str, Any] | None
        try:
            q = int(quality) if float(quality).is_integer() else quality
            small = counting_size(height, width) if height * width > COUNT_PIXELS else None
            memory = measure_peak_memory(
                str(codec.spec), *(small or (height, width)), quality=q, threads=1
            )
        except Exception as exc:  # the counts stand without it
            memory = {"error": f"{type(exc).__name__}: {exc}"}
        return codec_complexity(
            codec, height, width, quality=quality, peak_memory=memory, count_pixels=COUNT_PIXELS
        ).to_dict()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "input": [height, width]}
