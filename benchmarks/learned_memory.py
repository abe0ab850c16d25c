"""Peak memory (RSS) of each learned paper configuration encoding and decoding a large image.

For every architecture (CCA, ConvNeXt-ChARM, SwinT-ChARM; ``create_model(arch, "paper")``
through the licbench codec, random seeded weights, CPU) and for each of encode and decode, a
fresh subprocess builds the model, codes a synthetic photograph-like image (2048×2048 by
default) and reports ``resource.getrusage`` peaks: after building the model, and at the end
(the encode or decode peak), with its wall and CPU time and the load average around it. Encode
writes its bitstream to a temporary file and a separate decode process reads it, so each peak
belongs to one operation.

Untiled runs use the codec's ``tile=0``; ``--tile PX`` adds runs with ``tile=PX`` (the remedy:
g_a and g_s computed step by step in tiles of PX×PX pixels, see
``licbench/codecs/learned/tiling.py``) and compares the two: are the bitstreams identical, and
how far apart are the decoded images. ``--no-untiled`` measures only the tiled runs.

The parent also samples each child's RSS (psutil) and stops it above ``--limit-gb`` (10 by
default), so a configuration that would take a shared machine down is reported as "> limit"
instead. Configurations above 8 GB are flagged.

``--seam-check WxH`` (with ``--tile``) instead codes one image of that size in this process,
untiled and tiled, and reports the largest difference of x̂ (float) and of the decoded pixels;
``--wake S`` first sets the residual scales that random initialisation leaves at zero (NAF
beta/gamma) or 1e-6 (ConvNeXt layer scale) to S·N(0, 1), so those branches take part.

    python benchmarks/learned_memory.py [--archs cca,convnext-charm,swint-charm]
        [--size 2048x2048] [--threads N] [--limit-gb 10] [--tile PX [--no-untiled]]
        [--json out.json]
    python benchmarks/learned_memory.py --tile PX --seam-check 512x512 [--wake 0.1]
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


def wake(model, scale: float) -> None:
    """Residual scales that random initialisation mutes (NAF beta/gamma = 0, ConvNeXt layer
    scale 1e-6) set to ``scale``·N(0, 1), seeded."""
    import torch

    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.rsplit(".", 1)[-1] in ("beta", "gamma"):
                parameter.copy_(scale * torch.randn(parameter.shape, generator=generator))
    model.update(force=True)


def build(arch: str, tile_px: int, wake_scale: float = 0.0):
    from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm

    classes = {cls.arch: cls for cls in (CCA, ConvNeXtCharm, SwinTCharm)}
    codec = classes[arch](weights="random", config="paper", tile=str(tile_px))
    model = codec.model(1)
    if wake_scale:
        wake(model, wake_scale)
    return codec, model


def child(
    arch: str,
    phase: str,
    size: str,
    bitstream: Path,
    threads: int | None,
    tile_px: int,
    decoded_path: Path | None,
) -> dict:
    """Runs in the measured subprocess: build, then encode or decode; report rusage peaks."""
    import resource

    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    from licbench.codecs.learned.model import count_parameters

    codec, model = build(arch, tile_px)
    built_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    width, height = (int(v) for v in size.lower().split("x"))
    cpu_start, start = time.process_time(), time.perf_counter()
    if phase == "encode":
        image = synthetic_image(width, height)
        data = codec.encode(image, 1)
        bitstream.write_bytes(data)
        extra = {"bytes": len(data)}
    else:
        decoded = codec.decode(bitstream.read_bytes())
        extra = {"shape": list(decoded.shape)}
        if decoded_path:
            np.save(decoded_path, decoded)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "arch": arch,
        "phase": phase,
        "parameters": count_parameters(model),
        "model_rss_gb": _gb(built_kb),
        "peak_rss_gb": _gb(peak_kb),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "threads": torch.get_num_threads(),
        "tile_px": tile_px,
        **extra,
    }


def seam_check(arch: str, size: str, tile_px: int, threads: int | None, wake_scale: float) -> dict:
    """How much tiling changes the result: bytes, x̂ and decoded pixels, tiled vs untiled."""
    import numpy as np
    import torch

    from licbench.codecs.learned import bitstream

    if threads:
        torch.set_num_threads(threads)
    width, height = (int(v) for v in size.lower().split("x"))
    image = synthetic_image(width, height)
    codec, model = build(arch, 0, wake_scale)
    data_whole = codec.encode(image, 1)
    codec.tile = tile_px
    data_tiled = codec.encode(image, 1)
    out_tiled = codec.decode(data_whole).astype(np.int16)
    codec.tile = 0
    out_whole = codec.decode(data_whole).astype(np.int16)
    difference = np.abs(out_whole - out_tiled)
    header, strings = bitstream.unpack(data_whole)
    hp, wp = header.padded_size
    y_hat = model.entropy_decode(strings, (hp // model.pad_multiple, wp // model.pad_multiple))
    x_whole, x_tiled = model.synthesize(y_hat), model.synthesize(y_hat, tile_px)
    return {
        "arch": arch,
        "size": size,
        "tile_px": tile_px,
        "wake": wake_scale,
        "bytes_whole": len(data_whole),
        "bytes_tiled": len(data_tiled),
        "bytes_identical": data_whole == data_tiled,
        "x_hat_max_abs_difference": float((x_whole - x_tiled).abs().max()),
        "decoded_max_abs_difference": int(difference.max()),
        "decoded_pixels_differing": float(np.mean(difference > 0)),
    }


def measure(
    arch: str, phase: str, tile_px: int, args: argparse.Namespace, bitstream: Path, decoded: Path
) -> dict:
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
        "--decoded",
        str(decoded),
        "--tile",
        str(tile_px),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    load_before = os.getloadavg()[0]
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
    base = {"arch": arch, "phase": phase, "tile_px": tile_px}
    load = {"load_before": load_before, "load_after": os.getloadavg()[0]}
    if stopped:
        return {**base, "peak_rss_gb": sampled, "stopped": True, **load}
    if process.returncode != 0:
        return {**base, "error": stderr.strip().splitlines()[-1:]}
    row = json.loads(stdout.strip().splitlines()[-1])
    row["sampled_peak_gb"] = sampled
    return {**row, **load}


def compare(arch: str, work: Path, tiles: list[int]) -> dict | None:
    """Untiled vs tiled: identical bitstreams? decoded pixels apart by how much?"""
    import numpy as np

    names = [(work / f"{arch}-{t}.bin", work / f"{arch}-{t}.npy") for t in tiles]
    if len(tiles) != 2 or not all(b.exists() and d.exists() for b, d in names):
        return None
    (bits_u, dec_u), (bits_t, dec_t) = names
    difference = np.abs(np.load(dec_u).astype(np.int16) - np.load(dec_t))
    return {
        "arch": arch,
        "tile_px": tiles[1],
        "bytes_identical": bits_u.read_bytes() == bits_t.read_bytes(),
        "decoded_max_abs_difference": int(difference.max()),
        "decoded_pixels_differing": float(np.mean(difference > 0)),
    }


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
        default=0,
        help="also measure with the codec's tile=PX (a multiple of 128) and compare",
    )
    parser.add_argument("--no-untiled", action="store_true", help="with --tile: only tiled runs")
    parser.add_argument(
        "--seam-check",
        metavar="WxH",
        help="with --tile: compare tiled and untiled coding at this (small) size, then exit",
    )
    parser.add_argument("--wake", type=float, default=0.0, metavar="S", help="see --seam-check")
    parser.add_argument("--child", nargs=2, metavar=("ARCH", "PHASE"), help=argparse.SUPPRESS)
    parser.add_argument("--bitstream", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--decoded", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tile and (args.tile < 0 or args.tile % 128):
        parser.error("--tile must be a positive multiple of 128")
    if args.child:
        arch, phase = args.child
        row = child(arch, phase, args.size, args.bitstream, args.threads, args.tile, args.decoded)
        print(json.dumps(row))
        return 0
    if args.seam_check:
        if not args.tile:
            parser.error("--seam-check needs --tile")
        rows = [
            seam_check(a, args.seam_check, args.tile, args.threads, args.wake)
            for a in args.archs.split(",")
        ]
        for row in rows:
            print(json.dumps(row), flush=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return 0
    if args.no_untiled and not args.tile:
        parser.error("--no-untiled needs --tile")

    tiles = ([] if args.no_untiled else [0]) + ([args.tile] if args.tile else [])
    rows, comparisons = [], []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for arch in args.archs.split(","):
            for tile_px in tiles:
                bitstream = work / f"{arch}-{tile_px}.bin"
                decoded = work / f"{arch}-{tile_px}.npy"
                for phase in ("encode", "decode"):
                    if phase == "decode" and not bitstream.exists():
                        rows.append(
                            {
                                "arch": arch,
                                "phase": phase,
                                "tile_px": tile_px,
                                "error": ["no bitstream"],
                            }
                        )
                        continue
                    row = measure(arch, phase, tile_px, args, bitstream, decoded)
                    rows.append(row)
                    print(_line(row), flush=True)
            comparison = compare(arch, work, tiles)
            if comparison:
                comparisons.append(comparison)
                print(_compared(comparison), flush=True)
    over = [r for r in rows if r.get("stopped") or r.get("peak_rss_gb", 0) > FLAG_GB]
    tiling = f", tiled runs with tile={args.tile}" if args.tile else ""
    print(f"\n{args.size}, CPU, {os.cpu_count()} CPUs{tiling}; peak RSS of each operation")
    for row in rows:
        print("  " + _line(row))
    if args.tile and not args.no_untiled:
        print(_table(rows, args.tile))
    for comparison in comparisons:
        print("  " + _compared(comparison))
    failed = [r for r in rows if "error" in r]
    if over:
        print(
            f"over {FLAG_GB:g} GB: "
            + ", ".join(f"{r['arch']} {r['phase']} tile={r['tile_px']}" for r in over)
        )
    elif not failed:
        print(f"every configuration stays under {FLAG_GB:g} GB")
    if failed:
        print(
            "not measured: "
            + ", ".join(f"{r['arch']} {r['phase']} tile={r['tile_px']}" for r in failed)
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "comparisons": comparisons}, indent=1))
    return 1 if over or failed else 0


def _peak(row: dict | None) -> str:
    if row is None or "error" in row:
        return "–"
    return f"> {row['peak_rss_gb']:.1f}" if row.get("stopped") else f"{row['peak_rss_gb']:.2f}"


def _table(rows: list[dict], tile_px: int) -> str:
    """Peak GB and wall seconds, untiled vs tiled, per architecture and operation."""
    lines = [f"\n  {'':15} {'':7} {'untiled GB':>10} {f'tile={tile_px} GB':>13} {'s':>7} {'s':>7}"]
    for arch in dict.fromkeys(r["arch"] for r in rows):
        for phase in ("encode", "decode"):
            pair = [
                next(
                    (r for r in rows if (r["arch"], r["phase"], r["tile_px"]) == (arch, phase, t)),
                    None,
                )
                for t in (0, tile_px)
            ]
            seconds = [
                f"{r['seconds']:7.0f}" if r and "seconds" in r else f"{'–':>7}" for r in pair
            ]
            peaks = f"{_peak(pair[0]):>10} {_peak(pair[1]):>13}"
            lines.append(f"  {arch:<15} {phase:<7} {peaks} {' '.join(seconds)}")
    return "\n".join(lines)


def _compared(row: dict) -> str:
    return (
        f"{row['arch']:<15} tile={row['tile_px']} vs untiled: bitstreams "
        f"{'identical' if row['bytes_identical'] else 'differ'}; decoded pixels differ by at most "
        f"{row['decoded_max_abs_difference']} level(s), "
        f"{row['decoded_pixels_differing']:.4%} of them"
    )


def _line(row: dict) -> str:
    name = f"{row['arch']:<15} {row['phase']:<7} tile={row.get('tile_px', 0):<5}"
    if "error" in row:
        return f"{name} failed: {' '.join(row['error'])}"
    if row.get("stopped"):
        return f"{name} > {row['peak_rss_gb']:.1f} GB (stopped at the limit)"
    return (
        f"{name} peak {row['peak_rss_gb']:6.2f} GB (model alone {row['model_rss_gb']:.2f} GB, "
        f"{row['parameters'] / 1e6:.1f} M parameters), {row['seconds']:.0f} s wall, "
        f"{row['cpu_seconds']:.0f} s CPU, {row['threads']} threads, "
        f"load {row['load_before']:.1f}→{row['load_after']:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main())
