"""Peak memory (RSS) of one codec job against the image size, each in a fresh process.

What a worker does for one job, stage by stage, in a fresh Python process per (codec, size): read
the image file (the job's input policy), encode, decode from the bytes alone, measure each metric
(default: PSNR and MS-SSIM, the run's default metrics), one stage each; after each stage the
process's peak resident set so far (on Linux the stage's own peak: ``VmHWM``, reset through
``/proc/self/clear_refs`` before each stage; elsewhere ``ru_maxrss``, the peak so far) and the
stage's wall time; the job's peak is the largest of them. Learned codecs (their model loaded
first, a stage of its own) and classical ones (``jpeg``, ...) alike. Images are photograph-like
synthetic ones (smooth waves plus noise), 3:2, of about 1, 6 and 24 megapixels by default
(1224×816, 3000×2000, 6000×4000), written as PNG by the parent first. The codec specs are
licbench's (``tile=auto`` unless the spec says otherwise); random seeded weights, CPU, one
thread like a job (``--threads``); ``--quality`` (default 1). ``licbench`` is imported from
wherever Python finds it (``PYTHONPATH``: a snapshot of another commit measures that commit; each
row says which folder it was).

    python benchmarks/learned_memory_by_size.py [--specs "SPEC;SPEC"] [--sizes 1,6,24]
        [--threads 1] [--metrics psnr-rgb,ms-ssim-rgb] [--quality Q] [--json out.json]

Goal (issue 20, item 6): a whole job with the tiny configurations at most 2 GB at 24 MP. The
table and what it says are in ``benchmarks/README.md``, section ``learned_memory_by_size.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SPECS = (
    "cca:config=tiny,weights=random",
    "convnext-charm:config=tiny,weights=random",
)
#: megapixels → (width, height), 3:2
SIZES = {1: (1224, 816), 6: (3000, 2000), 24: (6000, 4000)}
GOAL_GB = 2.0


def synthetic_image(width: int, height: int):
    import numpy as np

    rng = np.random.default_rng(0)
    image = np.empty((height, width, 3), np.uint8)
    xx = np.arange(width, dtype=np.float32)
    for top in range(0, height, 512):  # in bands: the generator must not need gigabytes itself
        yy = np.arange(top, min(height, top + 512), dtype=np.float32)[:, None]
        for c in range(3):
            band = 128 + 80 * np.sin(0.01 * (c + 1) * xx) * np.cos(0.013 * yy)
            band = band + rng.normal(0, 4, band.shape)
            image[top : top + len(yy), :, c] = np.clip(band, 0, 255)
    return image


def child(spec: str, path: str, threads: int, metrics: list[str], quality: float) -> dict:
    """The measured process: one job's stages, the peak RSS so far after each."""
    import hashlib
    import resource

    import torch

    torch.set_num_threads(threads)

    def peak_gb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9

    def stage_peak_gb() -> float | None:
        """This stage's own peak: VmHWM, reset before the stage (Linux), else None."""
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
        except OSError:
            pass
        return None

    def reset_peak() -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    from licbench.bench.images import load_image
    from licbench.codecs import create_codec
    from licbench.datasets import ImageRef
    from licbench.metrics import measure

    stages: dict[str, dict[str, float]] = {}

    def stage(name: str, start: float) -> None:
        own = stage_peak_gb()
        stages[name] = {
            "peak_rss_gb": round(own if own is not None else peak_gb(), 3),
            "seconds": time.perf_counter() - start,
        }
        reset_peak()

    import licbench

    start = time.perf_counter()
    codec = create_codec(spec)
    learned = hasattr(codec, "model")
    if learned:
        codec.model(1)
    stage("model" if learned else "codec", start)
    start = time.perf_counter()
    file = Path(path)
    ref = ImageRef(file.name, file, hashlib.sha256(file.read_bytes()).hexdigest())
    original = load_image(ref, max_pixels=10**9).array
    stage("read", start)
    start = time.perf_counter()
    data = codec.encode(original, quality)
    stage("encode", start)
    start = time.perf_counter()
    decoded = codec.decode(data)
    stage("decode", start)
    values = {}
    for metric in metrics:  # one stage each: which of them peaks
        start = time.perf_counter()
        values.update(measure([metric], original, decoded))
        stage(metric, start)
    padded = (-(-original.shape[0] // 64) * 64, -(-original.shape[1] // 64) * 64)
    return {
        "spec": spec,
        "licbench": str(Path(licbench.__file__).parent.parent),
        "image": list(original.shape[:2]),
        "tile": codec.tile_size(*padded) if learned else None,
        "bytes": len(data),
        "metrics": values,
        "threads": torch.get_num_threads(),
        "stages": stages,
        # the job's peak: the largest stage peak (VmHWM), else the process's (ru_maxrss)
        "peak_rss_gb": round(
            peak_gb()
            if stage_peak_gb() is None
            else max(v["peak_rss_gb"] for v in stages.values()),
            3,
        ),
    }


def run_child(spec: str, path: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        spec,
        str(path),
        "--threads",
        str(args.threads),
        "--metrics",
        args.metrics,
        "--quality",
        str(args.quality),
    ]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"spec": spec, "error": tail, "seconds": time.perf_counter() - started}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"] = round(load, 2)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", default=";".join(DEFAULT_SPECS), help="';'-separated specs")
    parser.add_argument("--sizes", default="1,6,24", help="megapixels: 1, 6, 24")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--metrics", default="psnr-rgb,ms-ssim-rgb")
    parser.add_argument("--quality", type=float, default=1, help="a learned codec's index, ...")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("SPEC", "IMAGE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(
            args.child[0], args.child[1], args.threads, args.metrics.split(","), args.quality
        )
        print(json.dumps(result))
        return 0

    from PIL import Image

    rows = []
    with tempfile.TemporaryDirectory(prefix="licbench-memory-size-") as folder:
        for megapixels in (int(v) for v in args.sizes.split(",")):
            width, height = SIZES[megapixels]
            path = Path(folder) / f"{width}x{height}.png"
            Image.fromarray(synthetic_image(width, height)).save(path, compress_level=1)
            for spec in args.specs.split(";"):
                row = run_child(spec, path, args)
                row["megapixels"] = megapixels
                rows.append(row)
                if "error" in row:
                    print(f"{spec} {width}x{height}: failed: {row['error']}", flush=True)
                    continue
                stages = " ".join(
                    f"{name} {s['peak_rss_gb']:.2f} GB/{s['seconds']:.1f} s"
                    for name, s in row["stages"].items()
                )
                flag = "" if row["peak_rss_gb"] <= GOAL_GB else f"  (> {GOAL_GB:g} GB)"
                tile = "" if row["tile"] is None else f" tile={row['tile']}"
                print(
                    f"{spec} {width}x{height}{tile}: peak {row['peak_rss_gb']:.2f} GB{flag}; "
                    f"{stages}; load {row['load_before']}; licbench from {row['licbench']}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
