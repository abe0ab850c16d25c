"""What the CLI and users call: run a benchmark, rebuild reports, compute BD-rates.

A run is three steps over one checked :class:`~licbench.api.request.RunRequest`, in the order
data flows (dataset → jobs → store → outputs):

* :func:`plan`: the codecs made and checked, the dataset listed, the jobs and the run manifest;
  nothing is written;
* :func:`execute`: the jobs computed into the store, then what is worked out from their results
  (target-rate probes, the report's crops, complexity, the decode check); ``run.json`` written
  before any job and after each step that changed it;
* :func:`write`: the outputs (per_image.csv, summary.json, report.html), unless they are current.

:func:`run` does all three from the options as a user writes them. Each step lives in its own
module under :mod:`licbench.bench`; this file only wires them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.api.request import (
    DEFAULT_ANCHOR,
    DEFAULT_DATASET,
    RunRequest,
    UsageError,
)
from licbench.bench import complexity
from licbench.bench.environment import collect_environment
from licbench.bench.freshness import (
    current_summary,
    forget_outputs,
    outputs_fingerprint,
    remember_outputs,
    save_manifest,
)
from licbench.bench.jobs import Job, codec_key, format_quality, plan_jobs
from licbench.bench.manifest import RunManifest
from licbench.bench.runner import RunInterrupted, stored_jobs
from licbench.bench.runner import execute as execute_jobs
from licbench.bench.store import Store
from licbench.codecs import (
    Codec,
    CodecSpec,
    CodecSpecError,
    QualityError,
    codec_info,
    create_codec,
    list_codecs,
)
from licbench.core.lock import FolderBusy, owning, sharing, writing
from licbench.datasets import ImageRef, load_dataset
from licbench.results.jsonsafe import json_safe
from licbench.results.summary import RunSummary, SummaryError

if TYPE_CHECKING:  # at run time bd_rate comes through __getattr__ (it needs scipy)
    from licbench.datasets.base import Skipped
    from licbench.metrics.bdrate import bd_rate

_log = logging.getLogger(__name__)


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


@dataclass
class RunPlan:
    """What a request will do (:func:`plan`); :func:`execute` fills in the manifest's
    environment and what is worked out from the results (crops, complexity, decode check)."""

    request: RunRequest
    codecs: list[Codec]
    images: list[ImageRef]
    jobs: list[Job]
    manifest: RunManifest
    #: what the dataset could not list
    skipped: list[Skipped]
    #: what the plan changed in the request or could not list (also logged as warnings)
    notices: list[str]


@dataclass(frozen=True)
class Executed:
    """What :func:`execute` did: the job counts, and the fingerprint of what the outputs are
    made of (:func:`licbench.bench.freshness.outputs_fingerprint`)."""

    counts: dict[str, int]
    fingerprint: str


def default_codecs() -> list[CodecSpec]:
    """Every registered codec that is available here, needs no parameters and takes part in
    the default run.

    A codec that cannot be made from its bare name (a learned codec without ``ckpt=``) is left
    out of the default run rather than failing it, and so is one that says it should be
    (``default_run = False``: VTM, minutes per image).
    """
    from licbench.codecs import CODECS

    specs = []
    for name in list_codecs(available_only=True):
        if not getattr(CODECS.get(name), "default_run", True):
            continue
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
            _notice(notices, f"{what} {name} is listed more than once: measured once")
        else:
            kept[name] = value
    return list(kept.values())


def _notice(notices: list[str], notice: str) -> None:
    if notice not in notices:
        notices.append(notice)
        _log.warning(notice)


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
    dataset: str = DEFAULT_DATASET, codecs: Sequence[str] | None = None, **options: Any
) -> RunResult:
    """Benchmark ``codecs`` on ``dataset``; write per_image.csv, summary.json and report.html.

    ``codecs`` are spec strings (``"jpeg"``, ``"cca:config=tiny,ckpt=DIR"``); by default every
    available codec. The options (``qualities``, ``anchor``, ``out``, ``store``, ``workers``,
    ``metrics``, ``target_bpp``, ``references``, ``executor``, ``decode_check``, ...) are those
    of :meth:`RunRequest.from_options`, which says what each does. The anchor is added to the
    run when it is not among the codecs; finished jobs are read from the store, and outputs
    that are already current (nothing changed since they were written) are not rewritten.
    """
    return run_request(RunRequest.from_options(dataset, codecs, **options))


def run_request(request: RunRequest) -> RunResult:
    """:func:`plan`, :func:`execute` and :func:`write` the run ``request`` asks for; the output
    folder is the run's own from the first byte :func:`execute` writes there to the last of
    :func:`write` (:func:`_own_output`)."""
    planned = plan(request)
    with contextlib.ExitStack() as owned:
        executed = _execute(planned, owned)
        summary = write(planned, executed.fingerprint)
    return RunResult(request.out, request.store, executed.counts, summary, planned.notices)


@contextmanager
def _own_output(out: Path) -> Iterator[None]:
    """Own the output folder for the block (:func:`licbench.core.lock.owning`, re-entrant):
    another process writing it is a usage error, at once. Refused rather than waited for:
    the other run may take hours, and what it is doing is a question for the user (the same
    run started twice? two runs meant for two folders?), best asked before either's outputs
    are mixed; a CI job fails at once instead of holding a runner."""
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(owning(out))
        except FolderBusy as exc:
            raise UsageError(
                f"--out {exc}; one run writes a folder at a time: wait for it to finish, or "
                "give another --out"
            ) from None
        yield


def plan(request: RunRequest) -> RunPlan:
    """What ``request`` will do: its codecs made and checked, the dataset listed, the jobs and
    the manifest. Nothing is written: neither the store nor the output folder is touched."""
    from licbench.bench.visual import crop_images, mark_crops

    notices: list[str] = []
    codecs, sweep = _plan_codecs(request, notices)
    source = load_dataset(request.dataset)
    images = source.images()
    for item in source.skipped:
        _notice(notices, f"skipped {item.name}: {item.reason}")
    jobs = plan_jobs(codecs, images, list(request.metrics), sweep)
    if request.viewer_images != 0:  # their workers write each decode for viewer.html
        from licbench.bench import viewer

        # an image's pictures: its jobs, its rate-target points (at most one more per codec
        # and target) and its original
        per_image = len(jobs) // max(1, len({i.sha256 for i in images}))
        pictures = per_image + len(request.target_bpp) * len(codecs) + 1
        shown = viewer.chosen_images(images, request.viewer_images, pictures)
        jobs = viewer.mark(jobs, viewer.folder_of(request.out.resolve()), shown)
    jobs = mark_crops(jobs, crop_images(images))  # their workers keep the report's crops
    manifest = _manifest(request, codecs, images, jobs, source.skipped)
    return RunPlan(request, codecs, images, jobs, manifest, list(source.skipped), notices)


def _plan_codecs(
    request: RunRequest, notices: list[str]
) -> tuple[list[Codec], dict[str, list[float]] | None]:
    """The run's codecs (each once; the anchor first when not listed), and the sweep that
    overrides theirs (None: their own), each quality checked against its codec's range."""
    listed = _once(request.codecs or default_codecs(), str, "codec", notices)
    if str(request.anchor) not in {str(s) for s in listed}:
        listed = [request.anchor, *listed]
    codecs = make_codecs(listed)
    if not request.qualities:
        return codecs, None
    qualities = _once(request.qualities, format_quality, "quality", notices)
    # the override applies to the codecs the user listed, not to an anchor added for them
    named = {str(s) for s in request.codecs or ()}
    sweep = {c.label: list(qualities) for c in codecs if not named or c.label in named}
    for codec in codecs:  # each codec's own range, before anything is planned or stored
        for quality in sweep.get(codec.label, ()):
            try:
                codec.check_quality(quality)
            except QualityError as exc:
                raise UsageError(str(exc)) from exc
    return codecs, sweep


def _manifest(request: RunRequest, codecs, images, jobs, skipped) -> RunManifest:
    """The manifest (``run.json``) of the planned run; its environment is collected when the
    run is saved (:func:`execute`)."""
    image_paths: dict[str, str] = {}
    for image in images:  # files with equal bytes: the first one's path
        image_paths.setdefault(image.sha256, str(Path(image.path).resolve()))
    return RunManifest(
        dataset=request.dataset,
        store=str(request.store.resolve()),
        anchor=str(request.anchor),
        method=request.method,
        metrics=list(request.metrics),
        codecs={
            c.label: {"description": c.description, "version": c.version(), "key": codec_key(c)}
            for c in codecs
        },
        images=[[image.name, image.sha256] for image in images],
        image_paths=image_paths,
        jobs=[job.key for job in jobs],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        references=list(request.references),
        bd_aggregate=request.bd_aggregate,
        skipped=[{"name": item.name, "reason": item.reason} for item in skipped],
    )


def execute(planned: RunPlan) -> Executed:
    """Compute the planned jobs into the store, then what is worked out from their results:
    target-rate probes, the report's crops, complexity figures and the decode check.

    ``run.json`` is written before any job (unless the same run is there: a crash or Ctrl-C
    leaves a run that resumes) and after each step that changed it (:class:`_RunJson`).
    Ctrl-C raises :class:`RunInterrupted` with the number of jobs stored.
    """
    with contextlib.ExitStack() as owned:
        return _execute(planned, owned)


def _execute(planned: RunPlan, owned: contextlib.ExitStack) -> Executed:
    """:func:`execute`, owning the output folder until ``owned`` closes."""
    request, jobs = planned.request, planned.jobs
    # the store is checked (StoreError) before anything is written to the output folder
    with Store(request.store) as store:
        owned.enter_context(_own_output(request.out))
        try:
            with _spool(request) as spool:
                run_json = _RunJson(planned.manifest, request.out)
                with request.job_executor(spool) as executor:
                    counts = execute_jobs(
                        complexity.mark_jobs(planned.codecs, jobs, store),  # (same keys)
                        store,
                        executor=executor,
                        progress=request.progress,
                        warm_up=_warm_up,
                    )
                    if run_json.kept and counts["computed"]:  # results made here now
                        planned.manifest.environment = collect_environment()
                    run_json.update()
                    if request.target_bpp:
                        counts["target_probes"] = _target_rates(planned, store, executor)
                        run_json.update()
                    if request.viewer_images != 0 and (
                        again := _viewer_pictures(planned, store, executor)
                    ):
                        counts["viewer_jobs"] = again
                # nothing computed for a run that was here already: its crops are chosen
                nothing_new = run_json.kept and not counts["computed"]
                nothing_new = nothing_new and not counts.get("target_probes")
                for step in (_plan_crops, _compute_crops, _complexity):
                    if step is _plan_crops and nothing_new and planned.manifest.visual:
                        continue  # (the choice reads every record: seconds at 100,000 jobs)
                    step(planned, store)
                    run_json.update()
                if spool:
                    _decode_check(planned, store, spool)
                    run_json.update()
            fingerprint = outputs_fingerprint(planned.manifest, store)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the CLI
            raise RunInterrupted.of(exc, stored_jobs(jobs, store), len(jobs)) from None
    return Executed({**counts, "skipped": len(planned.skipped)}, fingerprint)


def write(planned: RunPlan, fingerprint: str) -> RunSummary:
    """Write the run's outputs from the store, unless those in the output folder are current
    (stamped with ``fingerprint``): then the summary is read from the stamp."""
    out = planned.request.out
    try:
        with _own_output(out), writing(out):
            stamped = current_summary(out, fingerprint)
            if stamped is not None:
                with contextlib.suppress(SummaryError):  # (a stamp that is not one: rebuilt)
                    return RunSummary.from_json(stamped, str(out / "summary.json"))
            forget_outputs(out)
            # the run's own manifest, never the folder's run.json read back
            summary = _write_outputs(out, None, planned.manifest)
            remember_outputs(out, fingerprint, json_safe(summary.to_json()))
            return summary
    except KeyboardInterrupt as exc:  # every job is stored by now; only the outputs are not
        raise RunInterrupted.of(exc, len(planned.jobs), len(planned.jobs)) from None


class _RunJson:
    """``run.json`` of a run being executed: the one place :func:`execute` writes it.

    Written when the run starts unless the same run is already there (then the manifest takes
    that one's creation time, environment and derived entries); the environment is collected
    only then, so a re-run that computes nothing keeps where the results were made. After
    that, :meth:`update` writes it whenever the manifest changed since it was last written.
    """

    def __init__(self, manifest: RunManifest, folder: Path) -> None:
        self.manifest, self.folder = manifest, folder
        self.kept = not save_manifest(manifest, folder, collect_environment)
        self._written = self._text()

    #: what the steps after planning fill in; the rest (160,000 job keys, say) never changes
    DERIVED = (
        "environment",
        "target_bpp",
        "target_choices",
        "visual",
        "complexity",
        "decode_check",
    )

    def _text(self) -> str:
        values = {name: getattr(self.manifest, name) for name in self.DERIVED}
        return json.dumps(values, sort_keys=True, default=str)

    def update(self) -> None:
        text = self._text()
        if text != self._written:
            self.manifest.save(self.folder)
            self._written = text


@contextmanager
def _spool(request: RunRequest) -> Iterator[Path | None]:
    """A private folder for the bitstreams and decodes the decode check reads (None when the
    request has no check); removed when the check is done, or the run stops."""
    if not request.decode_check:
        yield None
        return
    spool = Path(tempfile.gettempdir()) / f"licbench-spool-{uuid.uuid4().hex}"
    try:
        spool.mkdir(mode=0o700)  # decodes of a private dataset: this user's only
        yield spool
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _target_rates(planned: RunPlan, store: Store, executor) -> int:
    """Search the qualities reaching the request's target rates (probes run on the run's own
    executor); record the choices in the manifest. The number of probe jobs computed."""
    from licbench.bench.rate_target import find_target_qualities
    from licbench.bench.visual import crop_images, mark_crops

    known: dict[tuple[str, str], dict[float, float]] = {}
    records = store.get(job.key for job in planned.jobs)
    for job in planned.jobs:
        record = records.get(job.key)
        if record is not None and record.ok and record.bpp is not None:
            known.setdefault((job.codec, job.image.sha256), {})[job.quality] = record.bpp
    targets = list(planned.request.target_bpp)
    shown = crop_images(planned.images)
    choices, probe_counts = find_target_qualities(
        planned.codecs,
        list({image.sha256: image for image in planned.images}.values()),  # each bytes once
        planned.manifest.metrics,
        targets,
        store,
        known=known,
        executor=executor,
        prepare=lambda jobs: mark_crops(jobs, shown),  # probes keep crops as the sweep does
    )
    planned.manifest.target_bpp = targets
    planned.manifest.target_choices = choices
    return probe_counts["computed"]


def _viewer_pictures(planned: RunPlan, store: Store, executor) -> int:
    """viewer.html's pictures (:mod:`licbench.bench.viewer`): the originals, and the decodes
    that no worker of this run wrote (jobs served from the store, rate-target points), each
    job run once more for them. The number of jobs run again."""
    from licbench.bench import viewer

    request = planned.request
    folder = viewer.folder_of(request.out.resolve())
    jobs = [job for job in planned.jobs if job.viewer]
    shown = list({job.image.sha256: job.image for job in jobs}.values())  # as planned
    choices = planned.manifest.target_choices
    jobs += viewer.target_jobs(planned.codecs, choices, shown, request.metrics, folder)
    before = viewer.pictures(folder)
    notes = viewer.write_originals(shown, folder, request.max_pixels)
    stored = store.get(job.key for job in jobs)
    missing = viewer.missing_jobs(jobs, folder, stored)
    if missing:
        notes += viewer.export_missing(missing, executor, stored, folder)
    viewer.add_notes(folder, notes)
    viewer.prune(folder, jobs, shown)  # (pictures of jobs no longer in the run)
    if viewer.pictures(folder) != before:  # outputs stamped current lack them: rebuild
        forget_outputs(request.out)
    return len(missing)


def _plan_crops(planned: RunPlan, store: Store) -> None:
    """Choose the report's crops (into the manifest): which image, codecs and region."""
    from licbench.bench.visual import plan_visual

    manifest = planned.manifest
    extra = None
    if manifest.target_choices:
        from licbench.bench.rate_target import chosen_job_keys

        extra = store.get(chosen_job_keys(manifest.target_choices))
    records = store.get(job.key for job in planned.jobs)
    cropped = store.cropped([*records, *(extra or {})])  # the jobs that kept their crops
    manifest.visual = plan_visual(manifest, records, extra, cropped=cropped)


def _compute_crops(planned: RunPlan, store: Store) -> None:
    """Store the chosen crops that are missing (the report only reads them)."""
    if store.read_only:  # a finished run re-run from a read-only store: show what is stored
        return
    from licbench.bench.visual import compute_crops

    compute_crops(planned.manifest, planned.manifest.visual, store)


def _complexity(planned: RunPlan, store: Store) -> None:
    """Parameters, kMAC/px and peak memory of every learned codec on the run's most common
    image size, into the manifest (:mod:`licbench.bench.complexity`).

    Measured by the workers on the jobs themselves (peak memory of a job's encode and decode;
    parameters and MACs on the meta device, on at most Kodak's 768×512 pixels and scaled per
    pixel: :func:`~licbench.codecs.learned.complexity.counting_size` says how exactly), once
    per codec version, quality and image size, and kept in the store; the manifest keeps the
    run's, so a re-run of a finished run does not import torch for them.
    """
    made = complexity.figures(
        planned.codecs, planned.jobs, store, planned.manifest.complexity or {}
    )
    if made is not None:
        planned.manifest.complexity = made


def _decode_check(planned: RunPlan, store: Store, spool: Path) -> None:
    """Decode every float decoder's bitstream again under the request's setups; rows to the
    store, the setups (with what their processes observed) to the manifest. A check that cannot
    run is said in the notes; the run's results stand."""
    from licbench.bench.decode_check import check_run

    request, manifest = planned.request, planned.manifest
    try:
        entry = check_run(
            manifest,
            planned.codecs,
            planned.jobs,
            store,
            list(request.decode_check),
            spool,
            max_pixels=request.max_pixels,
            parallel=request.workers,
        )
    except Exception as exc:  # (KeyboardInterrupt is not one: it stops the run as always)
        _log.warning(f"the decode check could not run: {type(exc).__name__}: {exc}")
        entry = {**(manifest.decode_check or {}), "notes": [f"not checked: {exc}"]}
    manifest.decode_check = entry


def _write_outputs(
    folder: Path, store: Path | None, manifest: RunManifest | None = None
) -> RunSummary:
    """Write a run's outputs from ``manifest`` (default: the folder's run.json); the published
    curves it names are loaded here, above both the references and the reports, which do not
    import each other."""
    from licbench.references import reference_curve
    from licbench.reports.outputs import write_outputs

    manifest = manifest or RunManifest.load(folder)
    curves = [reference_curve(name) for name in manifest.references]
    return write_outputs(folder, store, curves, manifest=manifest)


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
    # owned while rebuilt when no run owns it; beside a run that does (its summary then says
    # how many jobs are missing), never writing outputs at the same time as that run
    with sharing(folder), writing(folder):
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


__all__ = [
    "DEFAULT_ANCHOR",
    "DEFAULT_DATASET",
    "Executed",
    "RunPlan",
    "RunRequest",
    "RunResult",
    "UsageError",
    "bd_rate",
    "default_codecs",
    "execute",
    "plan",
    "report",
    "run",
    "run_request",
    "write",
]
