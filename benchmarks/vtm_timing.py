"""How long VTM (and optionally BPG) take per image size and QP, through licbench's wrapper.

    python benchmarks/vtm_timing.py IMAGE [IMAGE ...] --qps 12,32 [--codec vtm] [--json out.json]

Encodes and decodes each image at each QP with ``create_codec(CODEC)`` in this process (no job
timeout, no worker), and prints per run: the image size in megapixels, encode and decode seconds
(wall, and the encoder's CPU seconds), seconds per megapixel, bpp and PSNR, and the load average
before and after (the machine is shared: read wall seconds with the load beside them). The
figures size the codec's ``timeout_per_megapixel`` (``licbench/codecs/external/vtm.toml``): a
limit must never stop a healthy job, also on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (the tools): on a shared machine the wall
    time grows with the load, the CPU time does not."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--qps", default="12,32", help="comma-separated QPs (the tool's units)")
    parser.add_argument("--codec", default="vtm", help="codec spec (default vtm)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image

    from licbench.codecs import create_codec
    from licbench.metrics.psnr import psnr_rgb

    codec = create_codec(args.codec)
    top = codec.quality_range[0] + codec.quality_range[1]  # quality = low + high − QP
    rows = []
    print(f"{codec.label}: {codec.version()}", flush=True)
    for path in args.images:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        height, width = pixels.shape[:2]
        megapixels = width * height / 1e6
        for qp in (int(q) for q in args.qps.split(",")):
            load_before = os.getloadavg()[0]
            cpu_before = _children_cpu()
            start = time.perf_counter()
            data = codec.encode(pixels, top - qp)
            encode_s = time.perf_counter() - start
            encode_cpu_s = _children_cpu() - cpu_before
            start = time.perf_counter()
            decoded = codec.decode(data)
            decode_s = time.perf_counter() - start
            row = {
                "image": path.name,
                "width": width,
                "height": height,
                "megapixels": round(megapixels, 4),
                "qp": qp,
                "encode_s": round(encode_s, 2),
                "encode_cpu_s": round(encode_cpu_s, 2),
                "decode_s": round(decode_s, 3),
                "encode_s_per_mp": round(encode_s / megapixels, 1),
                "bpp": round(8 * len(data) / (width * height), 5),
                "psnr_rgb": round(psnr_rgb(pixels, decoded), 3),
                "load_before": round(load_before, 2),
                "load_after": round(os.getloadavg()[0], 2),
                # the tools are children: their peak RSS, the largest one so far
                "children_max_rss_mb": round(
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
                ),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"codec": codec.version(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
