"""What the CLI and users call: run a benchmark, rebuild reports, compute BD-rates.

``run`` is the whole pipeline in one place, in the order data flows: dataset → jobs → store →
outputs. Each step lives in its own module; this file only wires them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from licbench.bench.environment import collect_environment
from licbench.bench.jobs import codec_key, plan_jobs
from licbench.bench.manifest import RunManifest
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import (
    Codec,
    CodecSpec,
    CodecSpecError,
    codec_info,
    create_codec,
    list_codecs,
    parse_codec_specs,
)
from licbench.datasets import load_dataset
from licbench.metrics import DEFAULT_METRICS, METRICS
from licbench.metrics.bdrate import bd_rate
from licbench.paths import default_store
from licbench.reports.outputs import write_outputs

DEFAULT_DATASET = "kodak-sample"
DEFAULT_ANCHOR = "jpeg"


class UsageError(ValueError):
    """A request that cannot be run as given (unknown codec, unavailable codec, bad option)."""


@dataclass
class RunResult:
    out: Path
    store: Path
    counts: dict[str, int]
    summary: dict[str, Any]

    @property
    def all_failed(self) -> bool:
        return self.counts["total"] > 0 and self.summary["jobs_failed"] == self.counts["total"]


def default_codecs() -> list[CodecSpec]:
    """Every registered codec that is available here and needs no parameters."""
    return [CodecSpec(name) for name in list_codecs(available_only=True)]


def make_codecs(specs: Sequence[CodecSpec]) -> list[Codec]:
    codecs = []
    for spec in specs:
        info = codec_info(spec.name) if spec.name in list_codecs() else None
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
    method: str = "pchip",
    progress: bool = True,
) -> RunResult:
    """Benchmark ``codecs`` on ``dataset``; write per_image.csv, summary.json and report.html.

    ``codecs`` are spec strings (``"jpeg"``, ``"cca:config=tiny,ckpt=DIR"``); by default every
    available codec. ``qualities`` overrides the sweep of every listed codec. The anchor is
    added to the run when it is not among the codecs. Finished jobs are read from the store.
    """
    specs = parse_codec_specs(codecs) if codecs else default_codecs()
    anchor_spec = CodecSpec.parse(anchor)
    if str(anchor_spec) not in {str(s) for s in specs}:
        specs = [anchor_spec, *specs]
    for metric in metrics:
        if metric not in METRICS:
            raise UsageError(f"unknown metric {metric!r}; known: {', '.join(METRICS.names())}")
    codec_objects = make_codecs(specs)
    sweep = None
    if qualities:
        # the override applies to the codecs the user listed, not to an anchor added for them
        listed = {str(s) for s in parse_codec_specs(codecs)} if codecs else set()
        sweep = {c.label: list(qualities) for c in codec_objects if not listed or c.label in listed}
    images = load_dataset(dataset).images()
    jobs = plan_jobs(codec_objects, images, metrics, sweep)
    out_dir = (
        Path(out)
        if out
        else Path("licbench-results") / dataset.replace(":", "_").replace(os.sep, "_")
    )
    store_path = Path(store) if store else default_store()
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
        images={image.sha256: image.name for image in images},
        jobs=[job.key for job in jobs],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=collect_environment(),
    )
    manifest.save(out_dir)
    with Store(store_path) as result_store:
        counts = execute(
            jobs, result_store, workers=workers or os.cpu_count() or 1, progress=progress
        )
    summary = write_outputs(out_dir)
    return RunResult(out_dir, store_path, counts, summary)


def report(folder: str | Path, store: str | Path | None = None) -> dict[str, Any]:
    """Rebuild a run's outputs from the store (after a change to the report, or a resumed run)."""
    return write_outputs(Path(folder), Path(store) if store else None)


__all__ = ["RunResult", "UsageError", "bd_rate", "default_codecs", "report", "run"]
