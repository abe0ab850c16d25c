"""One fresh process of ``--decode-check``: decode the run's bitstreams in one numeric setup.

Started by :mod:`licbench.bench.decode_check` as ``python -m licbench.bench.decode_check_worker
TASK RESULT`` with the setup's environment (:mod:`licbench.core.numerics`), so that oneDNN,
ATen and MKL pick their kernels under its caps when torch loads here. TASK is JSON::

    {"mode": "check" | "reference", "setup": {"name", "threads", "device", "encode_device"},
     "max_pixels": N, "jobs": [{"key", "codec", "quality", "bits", "pixels", "image": {...}}]}

``check`` decodes each job's bits (or, for ``cuda-encode``, encodes the original on the GPU and
decodes on the CPU) and compares with the run's own decode in ``pixels``; ``reference`` encodes
and decodes as the run's workers do, writing ``bits`` and ``pixels`` for jobs whose files the
run could not keep. RESULT gets ``{"observed": {...}, "rows": {key: {...}}}``: what the process
saw of its numerics, and per job what the check found. A job's failure is its row's ``error``;
the process itself fails only on a task it cannot read.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _codec(spec: str, device: str | None, made: dict[tuple[str, str | None], Any]) -> Any:
    """The run's codec, on ``device`` whatever its spec says (a run on a GPU is checked on the
    CPU too); ``None``: as the spec says (the reference pass, the run's own setup)."""
    from licbench.codecs import CodecSpec, create_codec

    if (spec, device) not in made:
        parsed = CodecSpec.parse(spec)
        if device is not None:
            parsed = CodecSpec(parsed.name, {**dict(parsed.params), "device": device})
        made[spec, device] = create_codec(parsed)
    return made[spec, device]


def _original(job: dict, max_pixels: int) -> Any:
    """The job's original image, read as the run's workers read it."""
    from licbench.bench.images import load_image
    from licbench.datasets import ImageRef

    image = job["image"]
    return load_image(ImageRef(image["name"], Path(image["path"]), image["sha256"]), max_pixels)


def _psnr_change(original: Any, run: Any, check: Any) -> float:
    """PSNR(check) − PSNR(run) in dB against the original (PSNR RGB as the run measures it,
    lossless at its 60 dB ceiling); 0 where the two decodes are equal."""
    import numpy as np

    from licbench.metrics import METRICS

    if np.array_equal(run, check):
        return 0.0
    psnr = METRICS.get("psnr-rgb")
    return psnr(original, check) - psnr(original, run)


def _check(job: dict, setup: dict, max_pixels: int, made: dict) -> dict[str, Any]:
    import numpy as np

    row: dict[str, Any] = {"decoded": False, "error": None}
    stage = "reading the run's decode"
    try:
        run = np.load(job["pixels"])
        stage = "reading the image"
        original = _original(job, max_pixels).array
        start = time.perf_counter()
        if setup["encode_device"] != "cpu":
            stage = f"encoding on {setup['encode_device']}"
            data = _codec(job["codec"], setup["encode_device"], made).encode(
                original, job["quality"]
            )
            stage = "decoding on the CPU"
            decoded = _codec(job["codec"], "cpu", made).decode(data)
        else:
            stage = f"decoding on {setup['device']}"
            data = Path(job["bits"]).read_bytes()
            decoded = _codec(job["codec"], setup["device"], made).decode(data)
        row["seconds"] = time.perf_counter() - start
        decoded = np.asarray(decoded)
        if decoded.shape != run.shape or decoded.dtype != np.uint8:
            raise ValueError(f"decoded {decoded.dtype} {decoded.shape}, the run's {run.shape}")
        row["decoded"] = True
        moved = np.abs(decoded.astype(np.int16) - run.astype(np.int16))
        row["identical"] = not moved.any()
        row["max_abs_diff"] = int(moved.max())
        row["differing_values"] = int(np.count_nonzero(moved))
        row["values"] = int(moved.size)
        row["psnr_change_db"] = _psnr_change(original, run, decoded)
    except Exception as exc:  # a failed decode is the finding, not a crash of the check
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        row["error"] = f"failed while {stage}: {type(exc).__name__}: {exc}{where}"
    return row


def _reference(job: dict, max_pixels: int, made: dict) -> dict[str, Any]:
    """Encode and decode as a run's worker does; keep both for the check."""
    from licbench.bench.job_body import keep_for_decode_check

    try:
        original = _original(job, max_pixels).array
        codec = _codec(job["codec"], None, made)
        data = codec.encode(original, job["quality"])
        folder = str(Path(job["bits"]).parent)
        if not keep_for_decode_check(folder, job["key"], data, codec.decode(data)):
            return {"bytes": len(data), "error": f"cannot write into {folder}"}
        return {"bytes": len(data), "error": None}
    except Exception as exc:
        return {"bytes": None, "error": f"{type(exc).__name__}: {exc}"}


def main(argv: list[str]) -> int:
    task = json.loads(Path(argv[0]).read_text())
    setup = task["setup"]
    import torch

    from licbench.core.numerics import observe

    torch.set_num_threads(int(setup["threads"]))
    observed = observe()
    made: dict[tuple[str, str], Any] = {}
    rows = {}
    for job in task["jobs"]:
        if task["mode"] == "reference":
            rows[job["key"]] = _reference(job, task["max_pixels"], made)
        else:
            rows[job["key"]] = _check(job, setup, task["max_pixels"], made)
    Path(argv[1]).write_text(json.dumps({"observed": observed, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
