"""The job grid: codec × quality × image, each job with a key that says exactly what it computes.

A job key hashes the codec key (name + version() + parameters), the quality, the image's sha256
and the metric set (each metric's ``name@version``). Anything that could change a result changes
the key, so the store can serve a finished job forever and never serve a stale one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from licbench.codecs import Codec
from licbench.datasets import ImageRef
from licbench.metrics import METRICS


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def format_quality(quality: float) -> str:
    """A quality as people write it: ``50`` not ``50.0``, ``0.35`` not ``0.35000000000000003``."""
    return f"{float(quality):.10g}"


def codec_key(codec: Codec) -> str:
    """Identity of a codec's output: registry name, version() and the spec's parameters."""
    return _digest(codec.spec.name, codec.version(), str(codec.spec))


@dataclass(frozen=True)
class Job:
    codec: str  #: canonical codec spec, e.g. ``jpeg`` or ``cca:config=tiny,ckpt=DIR``
    codec_key: str
    quality: float
    image: ImageRef
    metrics: tuple[str, ...]
    #: a folder the worker writes this job's decoded image into, for the viewer
    #: (:mod:`licbench.bench.viewer`); not part of what the job computes, nor of its key
    viewer: str | None = None
    #: the side of the centre crop of this job's decode (and of its original) that the worker
    #: keeps for the report's visual comparison, 0 for none (:mod:`licbench.bench.visual`);
    #: not part of what the job computes, nor of its key
    crop: int = 0
    #: a learned codec's job whose worker measures the codec's complexity figure on it (peak
    #: memory of this encode and decode, parameters and MACs; :mod:`licbench.bench.job_memory`)
    #: unless its image size is one of these (the store has them) or the worker measured this
    #: codec, quality and size already; None: not measured. Not part of the key either
    complexity: tuple[tuple[int, int], ...] | None = None

    @cached_property
    def key(self) -> str:
        # computed once per job (planning, the store, the manifest and workers all ask for it)
        metrics = ",".join(METRICS.get(name).identity for name in self.metrics)
        return _digest(self.codec_key, format_quality(self.quality), self.image.sha256, metrics)

    def describe(self) -> str:
        return f"{self.image.path} with {self.codec} at quality {format_quality(self.quality)}"


def plan_jobs(
    codecs: Sequence[Codec],
    images: Sequence[ImageRef],
    metrics: Sequence[str],
    qualities: dict[str, Sequence[float]] | None = None,
) -> list[Job]:
    """Every (codec, quality, image) job, image by image: a batch of consecutive jobs is one
    image's (every codec and quality), so a worker reads and checks that original once."""
    qualities = qualities or {}
    sweeps = [
        (codec.label, codec_key(codec), qualities.get(codec.label, codec.qualities))
        for codec in codecs
    ]
    names = tuple(metrics)
    return [
        Job(label, key, float(quality), image, names)
        for image in images
        for label, key, sweep in sweeps
        for quality in sweep
    ]
