"""What a run is asked to do: one typed, checked request (``licbench run`` builds it).

:class:`RunRequest` holds every option of a run, each in its final type (codec specs parsed,
metric groups expanded, decode-check setups parsed, the output folder and store chosen), and
checks them when made: an option that cannot work raises :class:`UsageError` with one line that
says why, before anything is planned, created or written. :meth:`RunRequest.from_options` takes
the options as a user writes them (strings, lists, None for "the default").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from licbench.bench.executors import DEFAULT_TIMEOUT, make_executor
from licbench.bench.images import DEFAULT_MAX_PIXELS
from licbench.bench.viewer import AUTO as VIEWER_AUTO
from licbench.bench.viewer import parse_count
from licbench.codecs import CodecSpec, parse_codec_specs
from licbench.metrics import DEFAULT_METRICS, METRICS, expand_metric_names, metric_availability
from licbench.metrics.bd_methods import DEFAULT_METHOD
from licbench.paths import default_store
from licbench.results.statistics import AGGREGATES, DEFAULT_AGGREGATE

if TYPE_CHECKING:
    from licbench.bench.executors import Executor
    from licbench.core.numerics import NumericSetup

DEFAULT_DATASET = "kodak-sample"
DEFAULT_ANCHOR = "jpeg"


class UsageError(ValueError):
    """A request that cannot be run as given (unknown codec, unavailable codec, bad option)."""


@dataclass(frozen=True)
class RunRequest:
    """Everything a run is asked to do; checked when made (:class:`UsageError`)."""

    dataset: str
    #: None: every available codec that needs no parameters (:func:`licbench.api.default_codecs`)
    codecs: tuple[CodecSpec, ...] | None
    #: None: each codec's own sweep; else the sweep of every listed codec
    qualities: tuple[float, ...] | None
    #: the BD-rate anchor, added to the run when it is not among the codecs
    anchor: CodecSpec
    out: Path
    store: Path
    workers: int
    #: metric names (groups expanded)
    metrics: tuple[str, ...]
    method: str
    progress: bool
    #: rates to search each codec's quality for, per image (empty: none)
    target_bpp: tuple[float, ...]
    references: tuple[str, ...]
    executor: str
    scheduler: str | None
    timeout: float | None
    max_pixels: int
    bd_aggregate: str
    #: the numeric setups of ``--decode-check`` (empty: no check)
    decode_check: tuple[NumericSetup, ...]
    #: how many images (the first of the dataset) get decoded pictures for viewer.html;
    #: None: every image, 0: no viewer, "auto": as many as fit a disk budget
    #: (:mod:`licbench.bench.viewer`)
    viewer_images: int | str | None = VIEWER_AUTO

    def __post_init__(self) -> None:
        if self.bd_aggregate not in AGGREGATES:
            raise UsageError(
                f"unknown --bd-aggregate {self.bd_aggregate!r}; choose from {AGGREGATES}"
            )
        if any(s.uses_gpu for s in self.decode_check) and not _cuda_available():
            raise UsageError("--decode-check cuda / cuda-encode: torch sees no CUDA device here")
        self.job_executor()  # its options checked: nothing starts until it is used
        bad_targets = [t for t in self.target_bpp if not (t > 0 and t < float("inf"))]
        if bad_targets:
            raise UsageError(f"--target-bpp values must be positive numbers, got {bad_targets}")
        if self.qualities is not None and not self.qualities:
            raise UsageError("--qualities: give at least one quality")
        for metric in self.metrics:
            if metric not in METRICS:
                raise UsageError(f"unknown metric {metric!r}; known: {', '.join(METRICS.names())}")
            usable = metric_availability(metric)
            if not usable.ok:
                raise UsageError(f"metric {metric!r} is unavailable: {usable.reason}")
        if self.references:
            from licbench.references import REFERENCES  # (read only when the run compares)

            for name in self.references:
                try:
                    REFERENCES.get(name)
                except LookupError as exc:  # unknown name: the message names close matches
                    raise UsageError(str(exc)) from exc

    @classmethod
    def from_options(
        cls,
        dataset: str = DEFAULT_DATASET,
        codecs: Sequence[str | CodecSpec] | None = None,
        *,
        qualities: Sequence[float] | None = None,
        anchor: str | CodecSpec = DEFAULT_ANCHOR,
        out: str | Path | None = None,
        store: str | Path | None = None,
        workers: int | None = None,
        metrics: Sequence[str] = DEFAULT_METRICS,
        method: str = DEFAULT_METHOD,
        progress: bool = True,
        target_bpp: Sequence[float] | None = None,
        references: Sequence[str] = (),
        executor: str = "local",
        scheduler: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        bd_aggregate: str = DEFAULT_AGGREGATE,
        decode_check: Sequence[str] | None = None,
        viewer_images: int | str | None = VIEWER_AUTO,
    ) -> RunRequest:
        """The request for these options, as :func:`licbench.api.run` takes them.

        ``codecs`` are spec strings (``"jpeg"``, ``"cca:config=tiny,ckpt=DIR"``, ``"jpeg,webp"``);
        None or empty: every available codec. ``qualities`` overrides the sweep of every listed
        codec (not of an anchor added for them). ``out`` defaults to
        ``licbench-results/DATASET``, ``store`` to ``$LICBENCH_HOME/results.sqlite``, ``workers``
        to the number of CPUs. ``target_bpp`` (e.g. ``[0.25, 0.5]``) also searches each codec's
        quality per image to reach those rates (:mod:`licbench.bench.rate_target`).
        ``references`` names published curves (:func:`licbench.list_references`) that
        summary.json carries with the BD-rate of every codec against each. ``executor`` is
        ``"local"`` (``workers`` processes) or ``"dask"`` (a loopback LocalCluster of ``workers``
        processes, or the cluster at ``scheduler``); a job running longer than ``timeout``
        seconds is stopped (None: never), and images over ``max_pixels`` are refused.
        ``bd_aggregate`` is the BD-rate the report leads with: ``mean-curve`` (of the mean
        curve, as papers publish it), or the ``mean`` or ``median`` of the per-image BD-rates.
        ``decode_check`` decodes every bitstream of a float decoder again in fresh processes
        under other numeric setups and compares (:mod:`licbench.bench.decode_check`): setup
        names (``sse41``, ``avx2``, ``threads=2``, ``cuda``, ...), or empty for the defaults;
        None: no check. ``viewer_images`` (a count, ``"all"``, ``"none"`` or ``"auto"``: as many
        as fit 100 MB) bounds the images whose decoded pictures are written for ``viewer.html``
        (about 1.1 bytes per pixel per job; :mod:`licbench.bench.viewer`).
        """
        try:
            viewer = parse_count(viewer_images if viewer_images is not None else "all")
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        return cls(
            dataset=dataset,
            codecs=_codec_specs(codecs) if codecs else None,
            qualities=None if qualities is None else tuple(qualities),
            anchor=anchor if isinstance(anchor, CodecSpec) else CodecSpec.parse(anchor),
            out=Path(out) if out else default_out(dataset),
            store=Path(store) if store else default_store(),
            workers=workers or os.cpu_count() or 1,
            metrics=tuple(expand_metric_names(metrics)),  # a group name stands for its members
            method=method,
            progress=progress,
            target_bpp=tuple(float(t) for t in target_bpp or ()),
            references=tuple(dict.fromkeys(references)),
            executor=executor,
            scheduler=scheduler,
            timeout=timeout,
            max_pixels=max_pixels,
            bd_aggregate=bd_aggregate,
            decode_check=tuple(decode_check_setups(decode_check)),
            viewer_images=viewer,
        )

    def job_executor(self, spool: Path | None = None) -> Executor:
        """The executor the request names (``spool``: where jobs keep bitstreams and decodes
        for the decode check); nothing starts until it is used."""
        try:
            return make_executor(
                self.executor,
                workers=self.workers,
                scheduler=self.scheduler,
                timeout=self.timeout,
                max_pixels=self.max_pixels,
                spool=str(spool) if spool else None,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc


def default_out(dataset: str) -> Path:
    """Where a run of ``dataset`` writes its outputs unless told: licbench-results/DATASET."""
    return Path("licbench-results") / dataset.replace(":", "_").replace(os.sep, "_")


def _codec_specs(codecs: Sequence[str | CodecSpec]) -> tuple[CodecSpec, ...]:
    """``--codecs`` tokens parsed (each a spec, or a comma list of plain names), specs kept."""
    return tuple(
        spec
        for token in codecs
        for spec in ([token] if isinstance(token, CodecSpec) else parse_codec_specs([token]))
    )


def decode_check_setups(names: Sequence[str] | None) -> list[NumericSetup]:
    """The numeric setups of ``--decode-check`` (empty list: no check); UsageError if unknown."""
    if names is None:
        return []
    from licbench.core.numerics import SetupError, default_setups, parse_setup

    names = [n for n in names if n.strip() and n.strip().lower() != "auto"]
    try:
        parsed = [parse_setup(n) for n in names]
    except SetupError as exc:
        raise UsageError(str(exc)) from exc
    setups = list({s.name: s for s in parsed}.values())  # each once (sse41,SSE41: one)
    if not setups:
        return default_setups(run_threads=1, cuda=_cuda_available())
    return setups


def _cuda_available() -> bool:
    """Whether torch sees a GPU, asked in a subprocess: CUDA initialised in this process would
    be unusable in the workers it forks. No NVIDIA device node: no question asked."""
    if not Path("/dev/nvidiactl").exists() and not shutil.which("nvidia-smi"):
        return False
    import subprocess
    import sys

    probe = "import torch; print(torch.cuda.is_available())"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() == "True"


__all__ = ["DEFAULT_ANCHOR", "DEFAULT_DATASET", "RunRequest", "UsageError", "default_out"]
