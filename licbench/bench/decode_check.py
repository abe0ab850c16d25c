"""``licbench run --decode-check``: does every bitstream decode the same under other numerics?

A learned decoder recomputes its entropy parameters in float32; on another machine (another
instruction set, thread count, library build, a GPU) the kernels sum in another order. If one
CDF index moves, the range decoder desynchronises and the picture is garbage (CompressAI #279,
#340; Ballé et al. 2019, "Integer networks for data compression"). If none moves, only the
synthesis transform's last bits differ: a level here and there. This stage measures which, per
codec, on the run's own bitstreams.

How: each job of a float decoder (``Codec.float_decoder``) leaves its bitstream and its decoded
image in a spool folder (:func:`spooled`, written by the worker). After the job grid, one fresh
process per numeric setup (:mod:`licbench.core.numerics`: another oneDNN/ATen/MKL instruction
set, another thread count, and with a GPU both directions between GPU and CPU) decodes every
bitstream (:mod:`licbench.bench.decode_check_worker`) and compares with the run's decode: did it
decode or raise, is it identical, the largest difference in levels, the PSNR change. Rows go
to the store (one per job and setup), so a re-run checks only what is missing. Jobs served from
the store have no spooled files: a fresh process in the run's own setup encodes them again
first (and a size that differs from the stored one is said: that encoder is not deterministic).

A job *fails* the check when it raises, decodes to another shape, or its PSNR moves by more
than :data:`THRESHOLD_DB` (a loss, as a desynchronised decoder of a trained model gives, or a
gain, which an untrained model's garbage can give). Why 0.01 dB: benign drift (one level in a
few values out of hundreds of thousands) moves PSNR by about 1e-5 dB (measured: at most 1.6e-6
dB on the Kodak sample), a thousand times less, while a desynchronised decoder loses several dB
(measured: 1.8 to 17 dB); and 0.01 dB is the resolution at which rate-distortion results are
published (about 0.2 % of rate at typical slopes), so a smaller change moves no published number.

Classical codecs are not checked: their decoders are integer (JPEG's IDCT in libjpeg-turbo,
WebP, AV1, HEVC, VVC and JPEG XL are specified or implemented bit-exactly) and none of them uses
the libraries whose kernels a setup varies, so every setup would decode the same bytes the same
way by construction. The summary lists them under ``skipped`` with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from licbench.bench.jobs import Job
from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.codecs import Codec
from licbench.core.numerics import NumericSetup

#: a job fails the check when a setup's decode moves PSNR by more than this (see module doc)
THRESHOLD_DB = 0.01
#: why classical codecs are not checked (the summary's ``skipped`` reason)
NOT_FLOAT = (
    "integer decoder: uses none of the numeric libraries a setup varies, so every setup decodes "
    "it identically by construction"
)
#: the setup the reference pass runs in: the run's workers' (this machine's kernels, 1 thread)
RUN_SETUP = NumericSetup("run", threads=1)


def spooled(spool: str | Path, job_key: str) -> tuple[Path, Path]:
    """Where a job's bitstream and the run's decode of it are kept for the check."""
    folder = Path(spool)
    return folder / f"{job_key}.bits", folder / f"{job_key}.npy"


def check_run(
    manifest: RunManifest,
    codecs: Sequence[Codec],
    jobs: Sequence[Job],
    store: Store,
    setups: Sequence[NumericSetup],
    spool: str | Path,
    *,
    max_pixels: int,
    parallel: int = 1,
) -> dict[str, Any]:
    """Check every finished job of a float decoder in every setup not yet stored; return the
    manifest's ``decode_check`` entry (setups with what their processes observed, threshold,
    skipped codecs, notes).

    Only a decoder's outcome is stored (and counted); what keeps the check itself from running
    (a job that cannot be encoded again, a check process that dies) is a note, never a failed
    bitstream, and the next run tries again.
    """
    previous = {
        s["name"]: s.get("observed") for s in (manifest.decode_check or {}).get("setups", [])
    }
    entry: dict[str, Any] = {
        "threshold_db": THRESHOLD_DB,
        "setups": [
            {"name": s.name, "description": s.description, "observed": previous.get(s.name)}
            for s in setups
        ],
        "skipped": {c.label: NOT_FLOAT for c in codecs if not c.float_decoder},
        "notes": [],
    }
    notes: list[str] = entry["notes"]
    checked = {c.label for c in codecs if c.float_decoder}
    candidates = list({job.key: job for job in jobs if job.codec in checked}.values())
    records = store.get(job.key for job in candidates)
    candidates = [job for job in candidates if job.key in records and records[job.key].ok]
    done = store.get_decode_checks(job.key for job in candidates)
    todo = {
        setup.name: [job for job in candidates if (job.key, setup.name) not in done]
        for setup in setups
    }
    if not any(todo.values()):
        return {**entry, "notes": list((manifest.decode_check or {}).get("notes", []))}
    if store.read_only:
        notes.append(f"not checked: the store is read-only ({store.why_read_only})")
        return entry
    needed = list({job.key: job for pending in todo.values() for job in pending}.values())
    unspooled = [job for job in needed if not spooled(spool, job.key)[0].exists()]
    if unspooled:
        [(rows, _, failure)] = _run_all([(RUN_SETUP, "reference", unspooled)], spool, max_pixels, 1)
        if failure:
            notes.append(failure)
        for job in unspooled:
            row = rows.get(job.key) or {"error": "no result"}
            stored = records[job.key].bytes
            if row.get("error"):
                notes.append(f"{job.describe()}: not checked, it could not be encoded again for "
                              f"the check: {row['error']}")  # fmt: skip
            elif row.get("bytes") != stored:
                notes.append(
                    f"{job.describe()}: encoded again for the check (its job came from the "
                    f"store or another machine), {row.get('bytes')} bytes where the run stored "
                    f"{stored}: the encoder is not deterministic here; the new bitstream was "
                    "checked"
                )
    ready = {job.key for job in needed if spooled(spool, job.key)[0].exists()}
    tasks = [
        (setup, "check", [job for job in todo[setup.name] if job.key in ready]) for setup in setups
    ]
    tasks = [task for task in tasks if task[2]]
    for (setup, _, pending), (rows, seen, failure) in zip(
        tasks, _run_all(tasks, spool, max_pixels, parallel), strict=True
    ):
        if failure:
            notes.append(failure)
        if seen is not None:
            for item in entry["setups"]:
                if item["name"] == setup.name:
                    item["observed"] = seen
        store.put_decode_checks(
            (job.key, setup.name, rows[job.key]) for job in pending if job.key in rows
        )
    entry["notes"] = list(dict.fromkeys(notes))
    return entry


def _task(setup: NumericSetup, mode: str, jobs: Sequence[Job], spool, max_pixels) -> dict:
    def job_entry(job: Job) -> dict[str, Any]:
        bits, pixels = spooled(spool, job.key)
        image = {"name": job.image.name, "path": str(job.image.path), "sha256": job.image.sha256}
        return {
            "key": job.key,
            "codec": job.codec,
            "quality": job.quality,
            "bits": str(bits),
            "pixels": str(pixels),
            "image": image,
        }

    return {
        "mode": mode,
        "setup": {
            "name": setup.name,
            "threads": setup.threads,
            "device": setup.device,
            "encode_device": setup.encode_device,
        },
        "max_pixels": max_pixels,
        "jobs": [job_entry(job) for job in jobs],
    }


def _run_all(
    tasks: Sequence[tuple[NumericSetup, str, Sequence[Job]]], spool, max_pixels: int, parallel
) -> list[tuple[dict[str, dict], dict | None, str | None]]:
    """Run each task in its own fresh process, ``parallel`` processes at a time; per task its
    rows by job key, what the process observed of its numerics, and why it failed (None).

    The processes share the cores (a two-thread setup beside a one-thread one on two cores), so
    their OpenMP threads wait passively: spinning threads that share a core slow each other
    several-fold, and the wait policy changes no result. Measured on two cores, the Kodak
    sample's check (sse41 and threads=2 side by side) took 12 s instead of 20 s one after the
    other (``benchmarks/decode_check_cost.py``). A process that dies (a decoder that crashes
    on a desynchronised bitstream, say) fails its own task only; an interrupt stops them all.
    """
    results: list[tuple[dict[str, dict], dict | None, str | None]] = [({}, None, None)] * len(tasks)
    running: list[tuple[int, subprocess.Popen, Path, Any]] = []
    with tempfile.TemporaryDirectory(prefix="licbench-check-") as scratch:
        try:
            pending = list(enumerate(tasks))
            while pending or running:
                while pending and len(running) < max(1, parallel):
                    index, (setup, mode, jobs) = pending.pop(0)
                    task_file = Path(scratch) / f"task-{index}.json"
                    result_file = Path(scratch) / f"result-{index}.json"
                    task_file.write_text(json.dumps(_task(setup, mode, jobs, spool, max_pixels)))
                    log = open(Path(scratch) / f"log-{index}.txt", "w+")  # noqa: SIM115
                    command = [sys.executable, "-m", "licbench.bench.decode_check_worker"]
                    process = subprocess.Popen(
                        [*command, str(task_file), str(result_file)],
                        env={**setup.environment(), "OMP_WAIT_POLICY": "PASSIVE"},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                    running.append((index, process, result_file, log))
                index, process, result_file, log = running.pop(0)
                process.wait()
                log.seek(0)
                output = log.read().strip()
                log.close()
                if process.returncode != 0 or not result_file.exists():
                    results[index] = ({}, None, (
                        f"the check's process for setup {tasks[index][0].name} failed (exit "
                        f"{process.returncode}); its bitstreams are checked again next run: "
                        f"{output[-1500:]}"
                    ))  # fmt: skip
                    continue
                data = json.loads(result_file.read_text())
                results[index] = (data["rows"], data["observed"], None)
        finally:  # an interrupt (or an error here) leaves no check process running
            for _, process, _, log in running:
                process.kill()
                process.wait()
                log.close()
    return results


def default_parallel() -> int:
    """How many check processes at once: one per core (each is one or two threads)."""
    return max(1, os.cpu_count() or 1)
