"""What the CLI and users call: run a benchmark, rebuild reports, compute BD-rates.

``run`` is the whole pipeline in one place, in the order data flows: dataset → jobs → store →
outputs. Each step lives in its own module; this file only wires them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.bench.environment import collect_environment
from licbench.bench.executors import DEFAULT_TIMEOUT, make_executor
from licbench.bench.freshness import (
    current_summary,
    forget_outputs,
    outputs_fingerprint,
    remember_outputs,
    save_manifest,
)
from licbench.bench.images import DEFAULT_MAX_PIXELS
from licbench.bench.jobs import codec_key, format_quality, plan_jobs
from licbench.bench.manifest import RunManifest
from licbench.bench.runner import RunInterrupted, execute, stored_jobs
from licbench.bench.store import Store
from licbench.codecs import (
    Codec,
    CodecSpec,
    CodecSpecError,
    QualityError,
    codec_info,
    create_codec,
    list_codecs,
    parse_codec_specs,
)
from licbench.datasets import load_dataset
from licbench.metrics import DEFAULT_METRICS, METRICS, expand_metric_names, metric_availability
from licbench.metrics.bd_methods import DEFAULT_METHOD
from licbench.paths import default_store
from licbench.results.jsonsafe import json_safe
from licbench.results.statistics import AGGREGATES, DEFAULT_AGGREGATE
from licbench.results.summary import RunSummary

if TYPE_CHECKING:  # at run time bd_rate comes through __getattr__ (it needs scipy)
    from licbench.metrics.bdrate import bd_rate

_log = logging.getLogger(__name__)

DEFAULT_DATASET = "kodak-sample"
DEFAULT_ANCHOR = "jpeg"


class UsageError(ValueError):
    """A request that cannot be run as given (unknown codec, unavailable codec, bad option)."""


@dataclass
class RunResult:
    out: Path
    store: Path
    counts: dict[str, int]
    summary: RunSummary
    #: what the run changed in the request or could not list (also logged as warnings)
    notices: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        return self.counts["total"] > 0 and self.summary.jobs_failed == self.counts["total"]


def default_codecs() -> list[CodecSpec]:
    """Every registered codec that is available here and needs no parameters.

    A codec that cannot be made from its bare name (a learned codec without ``ckpt=``, VTM
    without ``config=``) is left out of the default run rather than failing it.
    """
    specs = []
    for name in list_codecs(available_only=True):
        try:
            create_codec(name)
        except (CodecSpecError, TypeError):
            continue
        specs.append(CodecSpec(name))
    return specs


def _once(values: Sequence, key, what: str, notices: list[str]) -> list:
    """``values`` with repeats dropped (first kept), each repeat a notice: a quality or codec
    listed twice would be two jobs with one key, counted twice in every mean."""
    kept: dict[str, object] = {}
    for value in values:
        name = key(value)
        if name in kept:
            notice = f"{what} {name} is listed more than once: measured once"
            if notice not in notices:
                notices.append(notice)
                _log.warning(notice)
        else:
            kept[name] = value
    return list(kept.values())


def make_codecs(specs: Sequence[CodecSpec]) -> list[Codec]:
    codecs = []
    for spec in specs:
        info = codec_info(spec.name, dict(spec.params)) if spec.name in list_codecs() else None
        if info is not None and not info.availability.ok:
            hint = f" ({info.availability.hint})" if info.availability.hint else ""
            raise UsageError(
                f"codec {spec.name!r} is unavailable: {info.availability.reason}{hint}"
            )
        try:
            codecs.append(create_codec(spec))
        except (CodecSpecError, LookupError) as exc:
            raise UsageError(str(exc)) from exc
    return codecs


def run(
    dataset: str = DEFAULT_DATASET,
    codecs: Sequence[str] | None = None,
    *,
    qualities: Sequence[float] | None = None,
    anchor: str = DEFAULT_ANCHOR,
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
) -> RunResult:
    """Benchmark ``codecs`` on ``dataset``; write per_image.csv, summary.json and report.html.

    ``codecs`` are spec strings (``"jpeg"``, ``"cca:config=tiny,ckpt=DIR"``); by default every
    available codec. ``qualities`` overrides the sweep of every listed codec. The anchor is
    added to the run when it is not among the codecs. Finished jobs are read from the store.
    ``target_bpp`` (e.g. ``[0.25, 0.5]``) also searches each codec's quality per image to reach
    those rates (see :mod:`licbench.bench.rate_target`); the probes are ordinary stored jobs.
    ``references`` names published curves (:func:`licbench.list_references`); summary.json then
    carries them and the BD-rate of every codec against each.
    ``executor`` is ``"local"`` (``workers`` processes) or ``"dask"`` (a loopback LocalCluster of
    ``workers`` processes, or the cluster at ``scheduler``); a job running longer than
    ``timeout`` seconds is stopped, and images over ``max_pixels`` are refused. Outputs that are
    already current (nothing changed since they were written) are not rewritten.
    ``bd_aggregate`` is the BD-rate the report leads with: ``mean-curve`` (the BD-rate of the
    mean curve, as papers publish it), or the ``mean`` or ``median`` of the per-image BD-rates.
    ``decode_check`` (``--decode-check``) decodes every bitstream of a float decoder again in
    fresh processes under other numeric setups and compares (:mod:`licbench.bench.decode_check`):
    setup names (``sse41``, ``avx2``, ``threads=2``, ``cuda``, ...), or empty for the defaults;
    None: no check.
    """
    if bd_aggregate not in AGGREGATES:
        raise UsageError(f"unknown --bd-aggregate {bd_aggregate!r}; choose from {AGGREGATES}")
    setups = _decode_check_setups(decode_check)
    # created when the jobs start, removed when the check is done: kept bitstreams and decodes
    spool = Path(tempfile.gettempdir()) / f"licbench-spool-{uuid.uuid4().hex}" if setups else None
    try:
        job_executor = make_executor(
            executor,
            workers=workers or os.cpu_count() or 1,
            scheduler=scheduler,
            timeout=timeout,
            max_pixels=max_pixels,
            spool=str(spool) if spool else None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    targets = [float(t) for t in target_bpp or ()]
    bad_targets = [t for t in targets if not (t > 0 and t < float("inf"))]
    if bad_targets:
        raise UsageError(f"--target-bpp values must be positive numbers, got {bad_targets}")
    notices: list[str] = []
    specs = _once(parse_codec_specs(codecs) if codecs else default_codecs(), str, "codec", notices)
    if qualities:
        qualities = _once(qualities, format_quality, "quality", notices)
    anchor_spec = CodecSpec.parse(anchor)
    if str(anchor_spec) not in {str(s) for s in specs}:
        specs = [anchor_spec, *specs]
    metrics = expand_metric_names(metrics)  # a group name (jpeg-ai) stands for its members
    for metric in metrics:
        if metric not in METRICS:
            raise UsageError(f"unknown metric {metric!r}; known: {', '.join(METRICS.names())}")
        usable = metric_availability(metric)
        if not usable.ok:
            raise UsageError(f"metric {metric!r} is unavailable: {usable.reason}")
    if references:
        from licbench.references import REFERENCES  # (read only when the run compares with one)

        for name in references:
            try:
                REFERENCES.get(name)
            except LookupError as exc:  # unknown name: the registry's message names close matches
                raise UsageError(str(exc)) from exc
    codec_objects = make_codecs(specs)
    sweep = None
    if qualities:
        # the override applies to the codecs the user listed, not to an anchor added for them
        listed = {str(s) for s in parse_codec_specs(codecs)} if codecs else set()
        sweep = {c.label: list(qualities) for c in codec_objects if not listed or c.label in listed}
    elif qualities is not None:
        raise UsageError("--qualities: give at least one quality")
    for codec in codec_objects:  # each codec's own range, before anything is planned or stored
        for quality in (sweep or {}).get(codec.label, ()):
            try:
                codec.check_quality(quality)
            except QualityError as exc:
                raise UsageError(str(exc)) from exc
    source = load_dataset(dataset)
    images = source.images()
    for item in source.skipped:
        notice = f"skipped {item.name}: {item.reason}"
        notices.append(notice)
        _log.warning(notice)
    jobs = plan_jobs(codec_objects, images, metrics, sweep)
    out_dir = (
        Path(out)
        if out
        else Path("licbench-results") / dataset.replace(":", "_").replace(os.sep, "_")
    )
    store_path = Path(store) if store else default_store()
    image_paths: dict[str, str] = {}
    for image in images:  # files with equal bytes: the first one's path
        image_paths.setdefault(image.sha256, str(Path(image.path).resolve()))
    manifest = RunManifest(
        dataset=dataset,
        store=str(store_path.resolve()),
        anchor=str(anchor_spec),
        method=method,
        metrics=list(metrics),
        codecs={
            c.label: {"description": c.description, "version": c.version(), "key": codec_key(c)}
            for c in codec_objects
        },
        images=[[image.name, image.sha256] for image in images],
        image_paths=image_paths,
        jobs=[job.key for job in jobs],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        references=list(dict.fromkeys(references)),
        bd_aggregate=bd_aggregate,
        skipped=[{"name": item.name, "reason": item.reason} for item in source.skipped],
    )
    # the store is checked (StoreError) before anything is written to the output folder
    with Store(store_path) as result_store:
        try:
            if spool:
                spool.mkdir(mode=0o700)  # decodes of a private dataset: this user's only
            # the environment is collected when the run is new or changed, and again when it
            # computes jobs: a re-run that computes nothing keeps where the results were made
            kept = not save_manifest(manifest, out_dir, collect_environment)
            with job_executor:
                counts = execute(
                    jobs, result_store, executor=job_executor, progress=progress, warm_up=_warm_up
                )
                if kept and counts["computed"]:
                    manifest.environment = collect_environment()
                    manifest.save(out_dir)
                if targets:
                    unique = list({image.sha256: image for image in images}.values())
                    counts["target_probes"] = _target_rates(
                        manifest, codec_objects, unique, jobs, targets, result_store, job_executor
                    )
                    manifest.save(out_dir)
            _visual_crops(manifest, jobs, result_store, out_dir)
            _complexity(manifest, codec_objects, jobs, result_store, out_dir)
            if setups:
                _decode_check(
                    manifest,
                    codec_objects,
                    jobs,
                    result_store,
                    out_dir,
                    setups,
                    spool,
                    max_pixels,
                    workers or os.cpu_count() or 1,
                )
            fingerprint = outputs_fingerprint(manifest, result_store)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the CLI
            raise RunInterrupted.of(exc, stored_jobs(jobs, result_store), len(jobs)) from None
        finally:
            if spool:
                shutil.rmtree(spool, ignore_errors=True)
    counts["skipped"] = len(source.skipped)
    try:
        stamped = current_summary(out_dir, fingerprint)
        if stamped is None:
            forget_outputs(out_dir)
            summary = _write_outputs(out_dir, None)
            remember_outputs(out_dir, fingerprint, json_safe(summary.to_json()))
        else:
            summary = RunSummary.from_json(stamped, str(out_dir / "summary.json"))
    except KeyboardInterrupt as exc:  # every job is stored by now; only the outputs are not
        raise RunInterrupted.of(exc, len(jobs), len(jobs)) from None
    return RunResult(out_dir, store_path, counts, summary, notices)


def _decode_check_setups(names: Sequence[str] | None) -> list:
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
    if any(s.uses_gpu for s in setups) and not _cuda_available():
        raise UsageError("--decode-check cuda / cuda-encode: torch sees no CUDA device here")
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


def _visual_crops(manifest: RunManifest, jobs, store: Store, out_dir: Path) -> int:
    """Choose the report's crops and store the missing ones (the report only reads them)."""
    from licbench.bench.visual import compute_crops, plan_visual

    extra = None
    if manifest.target_choices:
        from licbench.bench.rate_target import chosen_job_keys

        extra = store.get(chosen_job_keys(manifest.target_choices))
    plan = plan_visual(manifest, store.get(job.key for job in jobs), extra)
    if plan != manifest.visual:
        manifest.visual = plan
        manifest.save(out_dir)
    if store.read_only:  # a finished run re-run from a read-only store: show what is stored
        return 0
    return compute_crops(manifest, plan, store)


def _complexity(
    manifest: RunManifest, codecs: Sequence[Codec], jobs, store: Store, out_dir
) -> None:
    """Parameters, kMAC/px and peak memory of every learned codec on the run's most common
    image size.

    Counted once per run (the meta device: no arithmetic, about a second for a paper model;
    peak memory from one fresh encoding and one fresh decoding process) and kept in the
    manifest, so a re-run of a finished run does not import torch for it.
    """
    learned = [c for c in codecs if callable(getattr(c, "model", None))]
    wanted = {c.label for c in learned}
    if not learned or set(manifest.complexity) == wanted:
        return
    from collections import Counter

    from licbench.codecs.learned.complexity import codec_complexity, measure_peak_memory

    sizes = Counter(
        (r.height, r.width) for r in store.get(job.key for job in jobs).values() if r.ok and r.width
    )
    if not sizes:
        return
    height, width = sizes.most_common(1)[0][0]
    figures: dict[str, Any] = {}
    for codec in learned:
        try:
            memory: dict[str, Any] | None
            try:  # a fresh encoding and a fresh decoding process, one thread like a job
                top = int(max(codec.qualities))
                memory = measure_peak_memory(str(codec.spec), height, width, quality=top, threads=1)
            except Exception as exc:  # the counts stand without it
                memory = {"error": f"{type(exc).__name__}: {exc}"}
            figure = codec_complexity(codec, height, width, peak_memory=memory)
            figures[codec.label] = figure.to_dict()
        except Exception as exc:  # a figure that cannot be counted is said, never fatal
            figures[codec.label] = {
                "error": f"{type(exc).__name__}: {exc}",
                "input": [height, width],
            }
    manifest.complexity = figures
    manifest.save(out_dir)


def _decode_check(manifest, codecs, jobs, store, out_dir, setups, spool, max_pixels, workers):
    """Decode every float decoder's bitstream again under ``setups``; rows to the store, the
    setups (with what their processes observed) to the manifest. A check that cannot run is
    said in the notes; the run's results stand."""
    from licbench.bench.decode_check import check_run

    try:
        entry = check_run(
            manifest, codecs, jobs, store, setups, spool, max_pixels=max_pixels, parallel=workers
        )
    except Exception as exc:  # (KeyboardInterrupt is not one: it stops the run as always)
        _log.warning(f"the decode check could not run: {type(exc).__name__}: {exc}")
        entry = {**(manifest.decode_check or {}), "notes": [f"not checked: {exc}"]}
    if entry != manifest.decode_check:
        manifest.decode_check = entry
        manifest.save(out_dir)


def _write_outputs(folder: Path, store: Path | None) -> RunSummary:
    """Write a run's outputs; the published curves it names are loaded here, above both the
    references and the reports, which do not import each other."""
    from licbench.references import reference_curve
    from licbench.reports.outputs import write_outputs

    names = RunManifest.load(folder).references
    return write_outputs(folder, store, [reference_curve(name) for name in names])


def _target_rates(manifest, codecs, images, jobs, targets, store, executor) -> int:
    """Search the qualities reaching ``targets`` (probes run on the run's own executor);
    record the choices in the manifest."""
    from licbench.bench.rate_target import find_target_qualities

    known: dict[tuple[str, str], dict[float, float]] = {}
    records = store.get(job.key for job in jobs)
    for job in jobs:
        record = records.get(job.key)
        if record is not None and record.ok and record.bpp is not None:
            known.setdefault((job.codec, job.image.sha256), {})[job.quality] = record.bpp
    choices, probe_counts = find_target_qualities(
        codecs,
        images,
        manifest.metrics,
        targets,
        store,
        known=known,
        executor=executor,
    )
    manifest.target_bpp = list(targets)
    manifest.target_choices = choices
    return probe_counts["computed"]


def _warm_up() -> None:
    # new results mean new outputs: import their heavy modules while the workers compute
    import licbench.reports.outputs  # noqa: F401


def report(folder: str | Path, store: str | Path | None = None) -> RunSummary:
    """Rebuild a run's outputs from the store (after a change to the report, or a resumed run).

    The store must exist (:class:`~licbench.bench.store.StoreError` otherwise, before anything
    in ``folder`` is touched): an empty store would rebuild outputs with no rows.
    """
    chosen = Path(store) if store else Path(RunManifest.load(Path(folder)).store)
    Store(chosen, create=False, read_only=True).close()
    forget_outputs(Path(folder))
    return _write_outputs(Path(folder), Path(store) if store else None)


#: what ``licbench fetch-weights NAME`` fetches: NAME → (what it is, "module:function")
WEIGHTS = {
    "lpips": ("LPIPS's AlexNet backbone (torchvision)", "licbench.metrics.lpips:fetch_weights"),
    "cca": (
        "the four official CCA checkpoints (Google Drive, about 1 GB)",
        "licbench.codecs.learned.official_weights:fetch_cca_weights",
    ),
    "compressai": (
        "every CompressAI zoo model's published weights, into torch's hub cache",
        "licbench.codecs.learned.zoo:fetch_zoo_weights",
    ),
}


class WeightsFetchFailed(RuntimeError):
    """Weights could not be fetched; the message says what to copy where."""


def fetch_weights(name: str, report: Any = print) -> list[Path]:
    """Fetch the weights ``name`` needs (:data:`WEIGHTS`); the files, once cached and checked."""
    from licbench.registry import import_object

    if name not in WEIGHTS:
        raise UsageError(f"unknown weights {name!r}; choose from {', '.join(WEIGHTS)}")
    fetch = import_object(WEIGHTS[name][1])
    try:
        result = fetch(report=report)
    except (OSError, RuntimeError, ValueError) as exc:  # each fetcher's one-line failure
        raise WeightsFetchFailed(str(exc)) from None
    return [Path(p) for p in result] if isinstance(result, list | tuple) else [Path(result)]


def __getattr__(name: str) -> Any:
    # bd_rate needs scipy: imported when asked for, so a re-run of a finished run stays light
    if name == "bd_rate":
        from licbench.metrics.bdrate import bd_rate

        return bd_rate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RunResult", "UsageError", "bd_rate", "default_codecs", "report", "run"]
