"""What the JPEG AI metric set costs, as a ratio to PSNR + MS-SSIM, on the Kodak JPEG sweep.

For every Kodak image and every quality of licbench's ``jpeg`` sweep, in one process and in one
go, the image is encoded and decoded once and then, on the same decoded picture and one after the
other, a worker's job body is timed with

* the default set (``psnr-rgb``, ``ms-ssim-rgb``), and
* ``--metrics jpeg-ai`` (the seven JPEG AI metrics plus PSNR-Y/U/V/YUV),

each measured as the job computes it: the metrics of one job in a row, in the order and batches
a run hands jobs to its workers (image-major, the default executor's batch sizes for this machine's
core count). A worker keeps the last images' 10-bit conversions and the features metrics take from
the original alone (IW-SSIM's pyramid and GSM, VIF's and MS-SSIM's reference statistics, …), so
those are computed once per image per batch: here the conversion cache is emptied at every batch
start, as if each batch went to a fresh worker (a real one may still hold the image). The two sets
alternate job by job, so a change in the machine's load falls on both alike. It prints the totals,
the metrics-only ratio (goal ≤ 3×), the whole-job ratio (encode + decode + metrics), the time per
metric, and the load average before and after (a ratio, never an absolute gate).

With ``--runs``, it then also times two whole ``licbench run`` calls on the same images — the
JPEG sweep with the default metrics, then with ``--metrics jpeg-ai`` — each into a fresh store
and run folder, with the default worker count: what a user waits for, including the encodes,
the store, the BD-rates and the report. On two shared cores that ratio came out higher than the
metrics-only one (3.5× against 2.9×): the workers share the memory bandwidth the JPEG AI metrics
are bound by, and the report draws an RD plot per metric. The metrics-only ratio is the
headline: what the set costs, side by side.

    python benchmarks/jpeg_ai_metric_cost.py [--kodak DIR] [--images N] [--runs]
                                             [--json F]

KODAK is ``--kodak``, else ``$LICBENCH_MIRROR/kodak``, else ``../shared/datasets/kodak``.
Torch and OpenCV run one thread each, as a worker does (one job per core).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kodak_folder(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    mirror = os.environ.get("LICBENCH_MIRROR")
    if mirror and (Path(mirror) / "kodak").is_dir():
        return Path(mirror) / "kodak"
    return ROOT.parent / "shared" / "datasets" / "kodak"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", help="folder with kodim01.png ... kodim24.png")
    parser.add_argument("--images", type=int, default=24, help="first N images (default 24)")
    parser.add_argument("--runs", action="store_true", help="also time two whole runs")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    from PIL import Image

    import licbench
    from licbench.bench.executors.base import batch_size
    from licbench.core.memory import keep_freed_memory
    from licbench.metrics import METRIC_GROUPS, METRICS, metric_availability, yuv10

    torch.set_num_threads(1)
    keep_freed_memory()  # as every worker does (licbench.bench.executors.local)
    folder = kodak_folder(args.kodak)
    paths = sorted(folder.glob("kodim*.png"))[: args.images]
    if not paths:
        print(f"no Kodak images in {folder}", file=sys.stderr)
        return 2
    sets = {"psnr+ms-ssim": ("psnr-rgb", "ms-ssim-rgb"), "jpeg-ai": METRIC_GROUPS["jpeg-ai"]}
    for name in sets["jpeg-ai"]:
        status = metric_availability(name)
        if not status.ok:
            print(f"{name} is unavailable: {status.reason} ({status.hint})", file=sys.stderr)
            return 2
    codec = licbench.create_codec("jpeg")
    qualities = list(codec.qualities)

    def job(original: np.ndarray, decoded: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
        spent = {}
        with yuv10.unchanged():  # as licbench.metrics.measure computes a job's metrics
            for name in names:
                start = time.perf_counter()
                METRICS.get(name)(original, decoded)
                spent[name] = time.perf_counter() - start
        return spent

    load_before = os.getloadavg()
    warm = np.asarray(Image.open(paths[0]).convert("RGB"))  # imports and first-call set-up
    for names in sets.values():
        job(warm, codec.decode(codec.encode(warm, 50)), names)
    yuv10.clear_cache()
    # where a run's batches start (each may go to another worker: the caches start empty there)
    workers, remaining, batch_starts = os.cpu_count() or 1, len(paths) * len(qualities), set()
    while remaining:
        batch_starts.add(len(paths) * len(qualities) - remaining)
        remaining -= batch_size(remaining, workers)

    coding = 0.0
    per_metric = {set_name: {name: 0.0 for name in names} for set_name, names in sets.items()}
    pairs = 0
    for path in paths:
        original = np.asarray(Image.open(path).convert("RGB"))
        for quality in qualities:
            start = time.perf_counter()
            decoded = codec.decode(codec.encode(original, quality))
            coding += time.perf_counter() - start
            if pairs in batch_starts:
                yuv10.clear_cache()
            pairs += 1
            for set_name, names in sets.items():
                for name, seconds in job(original, decoded, names).items():
                    per_metric[set_name][name] += seconds
        print(f"{path.name}: {pairs} decoded images so far", file=sys.stderr)
    load_after = os.getloadavg()

    totals = {set_name: sum(spent.values()) for set_name, spent in per_metric.items()}
    base, jpeg_ai = totals["psnr+ms-ssim"], totals["jpeg-ai"]
    result = {
        "images": len(paths),
        "qualities": qualities,
        "decoded_images": pairs,
        "encode_decode_s": coding,
        "metrics_s": totals,
        "metrics_ratio": jpeg_ai / base,
        "job_ratio": (coding + jpeg_ai) / (coding + base),
        "per_metric_ms_per_image": {
            set_name: {name: 1000 * s / pairs for name, s in spent.items()}
            for set_name, spent in per_metric.items()
        },
        "load_average_before_after": [load_before[0], load_after[0]],
    }
    print(f"{pairs} decoded images ({len(paths)} Kodak × {len(qualities)} JPEG qualities)")
    print(f"encode + decode        {coding:8.2f} s")
    print(f"psnr + ms-ssim         {base:8.2f} s")
    print(f"jpeg-ai set            {jpeg_ai:8.2f} s")
    print(f"ratio, metrics only    {result['metrics_ratio']:8.2f} ×   (goal ≤ 3×)")
    print(f"ratio, whole job       {result['job_ratio']:8.2f} ×")
    for set_name, spent in result["per_metric_ms_per_image"].items():
        print(f"  {set_name}: " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in spent.items()))
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if args.runs:
        result["runs_s"] = whole_runs(paths)
        base_run, jpeg_ai_run = result["runs_s"]["psnr+ms-ssim"], result["runs_s"]["jpeg-ai"]
        result["run_ratio"] = jpeg_ai_run / base_run
        print(f"licbench run, default metrics  {base_run:8.2f} s")
        print(f"licbench run, --metrics jpeg-ai {jpeg_ai_run:7.2f} s")
        print(f"ratio, whole run       {result['run_ratio']:8.2f} ×")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def whole_runs(paths: list[Path]) -> dict[str, float]:
    """Wall time of ``licbench run`` on ``paths`` with the JPEG sweep, per metric set, each in a
    fresh store and folder (nothing cached), one after the other."""
    import tempfile

    import licbench
    from licbench.metrics import DEFAULT_METRICS

    seconds = {}
    with tempfile.TemporaryDirectory(prefix="licbench-cost-") as scratch:
        images = Path(scratch) / "images"
        images.mkdir()
        for path in paths:
            (images / path.name).symlink_to(path.resolve())
        warm = Path(scratch) / "warm-up-image"
        warm.mkdir()
        (warm / paths[0].name).symlink_to(paths[0].resolve())
        runs = [("warm-up", DEFAULT_METRICS, warm)]  # imports and the report's stack, once
        runs += [("psnr+ms-ssim", DEFAULT_METRICS, images), ("jpeg-ai", ("jpeg-ai",), images)]
        for name, metrics, source in runs:
            folder = Path(scratch) / name
            start = time.perf_counter()
            licbench.run(
                f"folder:{source}",
                ["jpeg"],
                out=folder,
                store=folder / "store.sqlite",
                metrics=metrics,
                progress=False,
            )
            seconds[name] = time.perf_counter() - start
            print(f"whole run with {name}: {seconds[name]:.1f} s", file=sys.stderr)
    del seconds["warm-up"]
    return seconds


if __name__ == "__main__":
    sys.exit(main())
