"""Peak memory (RSS) of each learned paper configuration encoding and decoding a large image.

For every architecture (CCA, ConvNeXt-ChARM, SwinT-ChARM; ``create_model(arch, "paper")``
through the licbench codec, random seeded weights, CPU) and for each of encode and decode, a
fresh subprocess builds the model, codes a synthetic photograph-like image (2048×2048 by
default) and reports ``resource.getrusage`` peaks: after building the model, and at the end
(the encode or decode peak). Encode writes its bitstream to a temporary file and a separate
decode process reads it, so each peak belongs to one operation.

The parent also samples each child's RSS (psutil) and stops it above ``--limit-gb`` (10 by
default), so a configuration that would take a shared machine down is reported as "> limit"
instead. Configurations above 8 GB are flagged.

    python benchmarks/learned_memory.py [--archs cca,convnext-charm,swint-charm]
        [--size 2048x2048] [--threads N] [--limit-gb 10] [--json out.json]
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

ARCHS = ("cca", "convnext-charm", "swint-charm")
FLAG_GB = 8.0


def _gb(kilobytes: float) -> float:
    return kilobytes * 1024 / 1e9


def synthetic_image(width: int, height: int):
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [128 + 80 * np.sin(0.01 * (c + 1) * xx) * np.cos(0.013 * yy) for c in range(3)]
    image = np.stack(planes, -1) + rng.normal(0, 4, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def row_bands(transform, scale: float, band: int, halo: int):
    """``transform`` run on horizontal bands of ``band`` input rows (plus ``halo`` rows of
    context above and below, cropped off), the outputs stitched. ``scale`` is output rows per
    input row (16 for g_s, 1/16 for g_a). A prototype of the tiling remedy: it wraps the
    model's own modules in the measuring process; licbench's codec code is not changed."""
    import torch

    class RowBands(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transform

        def forward(self, x):
            rows = x.shape[-2]
            if rows <= band + 2 * halo:
                return self.inner(x)
            pieces = []
            for top in range(0, rows, band):
                bottom = min(rows, top + band)
                start, stop = max(0, top - halo), min(rows, bottom + halo)
                out = self.inner(x[..., start:stop, :])
                pieces.append(
                    out[..., round((top - start) * scale) : round((bottom - start) * scale), :]
                )
                del out
            return torch.cat(pieces, dim=-2)

    return RowBands()


def tile(model, tile_px: int) -> None:
    """Band g_a (input rows: pixels) and g_s (input rows: latent rows, 1/16 of pixels)."""
    halo = max(128, tile_px // 4)  # multiples of 128 px keep every window grid aligned
    model.g_a = row_bands(model.g_a, 1 / 16, tile_px, halo)
    model.g_s = row_bands(model.g_s, 16, tile_px // 16, halo // 16)


def build(arch: str, tile_px: int | None):
    from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm

    classes = {cls.arch: cls for cls in (CCA, ConvNeXtCharm, SwinTCharm)}
    codec = classes[arch](weights="random", config="paper")
    model = codec.model(1)
    if tile_px:
        tile(model, tile_px)
    return codec, model


def child(
    arch: str, phase: str, size: str, bitstream: Path, threads: int | None, tile_px: int | None
) -> dict:
    """Runs in the measured subprocess: build, then encode or decode; report rusage peaks."""
    import resource

    import torch

    if threads:
        torch.set_num_threads(threads)
    from licbench.codecs.learned.model import count_parameters

    codec, model = build(arch, tile_px)
    built_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    width, height = (int(v) for v in size.lower().split("x"))
    start = time.perf_counter()
    if phase == "encode":
        image = synthetic_image(width, height)
        data = codec.encode(image, 1)
        bitstream.write_bytes(data)
        extra = {"bytes": len(data)}
    else:
        decoded = codec.decode(bitstream.read_bytes())
        extra = {"shape": list(decoded.shape)}
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "arch": arch,
        "phase": phase,
        "parameters": count_parameters(model),
        "model_rss_gb": _gb(built_kb),
        "peak_rss_gb": _gb(peak_kb),
        "seconds": seconds,
        "threads": torch.get_num_threads(),
        "tile_px": tile_px,
        **extra,
    }


def seam_check(arch: str, size: str, tile_px: int, threads: int | None) -> dict:
    """How much banding changes the result: bytes and decoded pixels, banded vs whole."""
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    width, height = (int(v) for v in size.lower().split("x"))
    image = synthetic_image(width, height)
    whole, _ = build(arch, None)
    banded, _ = build(arch, tile_px)
    data_whole, data_banded = whole.encode(image, 1), banded.encode(image, 1)
    # decode the same (banded encoder's) bitstream both ways: g_s banding alone
    out_whole = whole.decode(data_banded).astype(np.int16)
    out_banded = banded.decode(data_banded).astype(np.int16)
    difference = np.abs(out_whole - out_banded)
    mse = float(np.mean(difference.astype(np.float64) ** 2))
    return {
        "arch": arch,
        "size": size,
        "tile_px": tile_px,
        "bytes_whole": len(data_whole),
        "bytes_banded": len(data_banded),
        "decoded_max_abs_difference": int(difference.max()),
        "decoded_pixels_differing": float(np.mean(difference > 0)),
        "psnr_banded_vs_whole_db": float("inf") if mse == 0 else 10 * np.log10(255**2 / mse),
    }


def measure(arch: str, phase: str, args: argparse.Namespace, bitstream: Path) -> dict:
    import psutil

    command = [
        sys.executable,
        __file__,
        "--child",
        arch,
        phase,
        "--size",
        args.size,
        "--bitstream",
        str(bitstream),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.tile:
        command += ["--tile", str(args.tile)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    sampled = 0.0
    stopped = False
    while process.poll() is None:
        try:
            sampled = max(sampled, watched.memory_info().rss / 1e9)
        except psutil.Error:
            pass
        if sampled > args.limit_gb:
            process.kill()
            stopped = True
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    if stopped:
        return {"arch": arch, "phase": phase, "peak_rss_gb": sampled, "stopped": True}
    if process.returncode != 0:
        return {"arch": arch, "phase": phase, "error": stderr.strip().splitlines()[-1:]}
    row = json.loads(stdout.strip().splitlines()[-1])
    row["sampled_peak_gb"] = sampled
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--size", default="2048x2048", help="WIDTHxHEIGHT")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--limit-gb", type=float, default=10.0, help="stop a child above this")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--tile",
        type=int,
        metavar="PX",
        help="prototype remedy: run g_a and g_s on bands of PX rows (multiple of 128)",
    )
    parser.add_argument(
        "--seam-check",
        metavar="WxH",
        help="with --tile: compare banded and whole coding at this (small) size, then exit",
    )
    parser.add_argument("--child", nargs=2, metavar=("ARCH", "PHASE"), help=argparse.SUPPRESS)
    parser.add_argument("--bitstream", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tile is not None and (args.tile < 128 or args.tile % 128):
        parser.error("--tile must be a positive multiple of 128")
    if args.child:
        arch, phase = args.child
        row = child(arch, phase, args.size, args.bitstream, args.threads, args.tile)
        print(json.dumps(row))
        return 0
    if args.seam_check:
        if not args.tile:
            parser.error("--seam-check needs --tile")
        rows = [
            seam_check(a, args.seam_check, args.tile, args.threads) for a in args.archs.split(",")
        ]
        for row in rows:
            print(json.dumps(row))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for arch in args.archs.split(","):
            bitstream = Path(work) / f"{arch}.bin"
            for phase in ("encode", "decode"):
                if phase == "decode" and not bitstream.exists():
                    rows.append({"arch": arch, "phase": phase, "error": ["no bitstream"]})
                    continue
                row = measure(arch, phase, args, bitstream)
                rows.append(row)
                print(_line(row), flush=True)
    over = [r for r in rows if r.get("stopped") or r.get("peak_rss_gb", 0) > FLAG_GB]
    banding = f", g_a/g_s in bands of {args.tile} rows" if args.tile else ""
    print(f"\n{args.size}, CPU, {os.cpu_count()} CPUs{banding}; peak RSS of each operation")
    for row in rows:
        print("  " + _line(row))
    failed = [r for r in rows if "error" in r]
    if over:
        print(f"over {FLAG_GB:g} GB: " + ", ".join(f"{r['arch']} {r['phase']}" for r in over))
    elif not failed:
        print(f"every configuration stays under {FLAG_GB:g} GB")
    if failed:
        print("not measured: " + ", ".join(f"{r['arch']} {r['phase']}" for r in failed))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 1 if over or any("error" in r for r in rows) else 0


def _line(row: dict) -> str:
    name = f"{row['arch']:<15} {row['phase']:<7}"
    if "error" in row:
        return f"{name} failed: {' '.join(row['error'])}"
    if row.get("stopped"):
        return f"{name} > {row['peak_rss_gb']:.1f} GB (stopped at the limit)"
    return (
        f"{name} peak {row['peak_rss_gb']:6.2f} GB (model alone {row['model_rss_gb']:.2f} GB, "
        f"{row['parameters'] / 1e6:.1f} M parameters), {row['seconds']:.1f} s, "
        f"{row['threads']} threads"
    )


if __name__ == "__main__":
    sys.exit(main())
