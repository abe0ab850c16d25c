"""GPU decode latency of the paper configurations, and the cross-device bitstream check.

For CCA, ConvNeXt-ChARM and SwinT-ChARM (paper configs, seeded random weights) and one
CompressAI zoo model (mbt2018-mean, seeded random weights, so no download is needed), on one
768x512 photograph-like image:

* decode latency on the device: warm-up decodes, then repeated decodes timed with CUDA events
  around each stage (``entropy``: z, hyper synthesis, slice networks and rANS; ``synthesis``:
  g_s) after ``torch.cuda.synchronize``; median and IQR (75th - 25th percentile) per stage.
  A codec without stage timers is timed as a whole between synchronizes;
* cross-device: encode on the GPU and decode on the CPU, and the reverse; the decoded pixels
  must be identical to a same-device decode (licbench computes entropy parameters on the CPU in
  float32, so a bitstream does not depend on where it was made).

Random weights make the bit counts meaningless and shift the entropy stage's cost; the network
costs are those of the real architectures. Prints a Markdown table and writes --json.

    python benchmarks/gpu_latency.py [--device cuda] [--repeats 20] [--warmup 3]
        [--size 768x512] [--codecs cca,convnext-charm,swint-charm,mbt2018-mean] [--json out.json]

``--device cpu`` runs the same on the CPU (a smoke test of the script where no GPU is lent; the
cross-device check is then skipped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from learned_decode_latency import synthetic_photo  # (this folder: the same test image)

from licbench.codecs import create_codec
from licbench.codecs.learned.latency import StageStats, measure_decode_latency

SPECS = {
    "cca": "cca:config=paper,weights=random,seed=0,device={device}",
    "convnext-charm": "convnext-charm:config=paper,weights=random,seed=0,device={device}",
    "swint-charm": "swint-charm:config=paper,weights=random,seed=0,device={device}",
    "mbt2018-mean": "compressai:model=mbt2018-mean,weights=random,seed=0,device={device}",
}


def whole_decode_latency(codec, data: bytes, device: torch.device, repeats: int, warmup: int):
    """Median and IQR of whole decodes between synchronizes (codecs without stage timers)."""
    times = []
    for i in range(warmup + repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        codec.decode(data)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return StageStats.of(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", default="768x512", help="WIDTHxHEIGHT")
    parser.add_argument("--codecs", default=",".join(SPECS))
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: run with --device cpu for a smoke test", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    image = synthetic_photo(height, width)
    rows = []
    for name in args.codecs.split(","):
        spec = SPECS[name]
        codec = create_codec(spec.format(device=args.device))
        quality = max(codec.qualities)
        data = codec.encode(image, quality)
        decoded = codec.decode(data)
        row = {"codec": name, "device": str(device), "bytes": len(data), "quality": quality}
        if callable(getattr(codec, "decode_profiled", None)):
            report = measure_decode_latency(codec, data, args.repeats, args.warmup, device)
            row.update(report.as_dict())
        else:
            stats = whole_decode_latency(codec, data, device, args.repeats, args.warmup)
            row.update(total_median_s=stats.median, total_iqr_s=stats.iqr)
        if device.type == "cuda":
            cpu = create_codec(spec.format(device="cpu"))
            row["gpu_encode_cpu_decode_identical"] = bool(np.array_equal(cpu.decode(data), decoded))
            cpu_data = cpu.encode(image, quality)
            row["cpu_encode_gpu_decode_identical"] = bool(
                np.array_equal(codec.decode(cpu_data), cpu.decode(cpu_data))
            )
            row["same_bytes_cpu_gpu"] = cpu_data == data
        rows.append(row)
        print(f"{name}: done", file=sys.stderr)

    def ms(row, key):
        value = row.get(key)
        return f"{value * 1000:.1f}" if isinstance(value, float) else "–"

    print(
        f"\nDecode latency on {device}, {width}x{height}, {args.repeats} repeats after "
        f"{args.warmup} warm-up decodes (median / IQR, ms)\n"
    )
    print("| codec | entropy | synthesis | total | cross-device identical (GPU→CPU, CPU→GPU) |")
    print("|---|---|---|---|---|")
    for row in rows:
        cross = (
            f"{row['gpu_encode_cpu_decode_identical']}, {row['cpu_encode_gpu_decode_identical']}"
            if "gpu_encode_cpu_decode_identical" in row
            else "not run (no GPU)"
        )
        print(
            f"| {row['codec']} | {ms(row, 'entropy_median_s')} / {ms(row, 'entropy_iqr_s')} | "
            f"{ms(row, 'synthesis_median_s')} / {ms(row, 'synthesis_iqr_s')} | "
            f"{ms(row, 'total_median_s')} / {ms(row, 'total_iqr_s')} | {cross} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
