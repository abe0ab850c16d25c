"""CPU (or GPU) decode latency of the learned codecs' paper configurations.

Random (seeded) weights on a 768x512 synthetic photograph-like image: parameter counts and the
median and IQR of entropy decoding (z, hyper synthesis, slice networks, rANS) and synthesis
(g_s) over repeated decodes of one bitstream. Random weights make the bit counts meaningless and
shift the entropy stage's cost (symbol statistics differ from a trained model's); the network
costs are those of the real architectures.

    python benchmarks/learned_decode_latency.py [--archs cca,swint-charm] [--repeats 3]
        [--warmup 1] [--size 768x512] [--device cpu] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm, create_model
from licbench.codecs.learned.latency import measure_decode_latency
from licbench.codecs.learned.model import count_parameters

CODECS = {cls.arch: cls for cls in (CCA, ConvNeXtCharm, SwinTCharm)}


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients, edges and mild noise: 'random-ish', not white noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(3):
        fx, fy = rng.uniform(0.005, 0.04, 2)
        base = 128 + 80 * np.sin(fx * xx + c) * np.cos(fy * yy + 2 * c)
        base += np.where((xx // 61 + yy // 47) % 2 == 0, 20, -20) + rng.normal(0, 4, xx.shape)
        planes.append(base)
    return np.clip(np.stack(planes, -1), 0, 255).round().astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default=",".join(CODECS))
    parser.add_argument("--config", default="paper")
    parser.add_argument("--size", default="768x512", help="WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    image = synthetic_photo(height, width)

    rows = []
    for arch in args.archs.split(","):
        with torch.device("meta"):
            params = count_parameters(create_model(arch, args.config))
        codec = CODECS[arch](config=args.config, weights="random", device=args.device)
        start = time.perf_counter()
        data = codec.encode(image, 1)
        encode_s = time.perf_counter() - start
        report = measure_decode_latency(codec, data, repeats=args.repeats, warmup=args.warmup)
        row = {
            "arch": arch,
            "config": args.config,
            "parameters": params,
            "size": f"{width}x{height}",
            "bytes": len(data),
            "encode_s": encode_s,
            **report.as_dict(),
        }
        rows.append(row)
        e, s, t = report.stages["entropy"], report.stages["synthesis"], report.total
        print(
            f"{arch:15s} {params / 1e6:6.2f}M params | decode {width}x{height} on {report.device}: "
            f"entropy {e.median:7.3f}s (IQR {e.iqr:.3f})  synthesis {s.median:7.3f}s "
            f"(IQR {s.iqr:.3f})  total {t.median:7.3f}s (IQR {t.iqr:.3f}) | "
            f"encode {encode_s:.2f}s, {len(data)} bytes (random weights)",
            flush=True,
        )
    env = rows[0]["environment"] if rows else {}
    print(
        f"# {env.get('device_name', '?')}, torch {env.get('torch', '?')}, "
        f"{env.get('threads', '?')} threads, {args.repeats} repeats after {args.warmup} warm-up"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
