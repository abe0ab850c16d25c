"""What ``--decode-check`` costs, as a ratio to the same run without it, and what it finds.

Whole ``licbench run`` calls on the bundled Kodak sample (three images) with ``cca-tiny`` and
``convnext-charm-tiny`` (and the ``jpeg`` anchor a run adds), each into a fresh store and run
folder: without the check and with ``--decode-check`` (the default setups: sse41 and another
thread count), alternating ``--repeats`` times so that a change in the machine's load falls on
both alike. It prints every time, the ratio of the medians (goal ≤ 1.5×), the load average
before and after, and the check's table (per codec and setup: bit-exact, failed, largest
difference, largest PSNR drop).

``--compressai`` adds a CompressAI model: ``mbt2018-mean`` with seeded random weights, livened
(g_a and g_s rescaled so that latents have a spread of a few units and reconstructions use every
level, as a trained model's do; the zoo's trained weights cannot be downloaded everywhere) and
saved as a checkpoint. ``--setups`` names other setups (e.g. ``sse41,avx2,threads=2``).

    python benchmarks/decode_check_cost.py [--repeats N] [--compressai] [--setups S,...]
                                           [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODECS = ["cca-tiny", "convnext-charm-tiny"]


def livened_mbt2018_mean(folder: Path) -> str:
    """A seeded random mbt2018-mean, livened, as a checkpoint; its codec spec."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from licbench.codecs import create_codec
    from licbench.datasets import load_dataset

    net = create_codec("compressai:model=mbt2018-mean,weights=random,seed=1").model(1)
    ref = load_dataset("kodak-sample").images()[0]
    with Image.open(ref.path) as picture:
        image = np.asarray(picture.convert("RGB"))
    with torch.no_grad():
        x = torch.from_numpy(image.transpose(2, 0, 1).copy()).float()[None] / 255
        x = F.pad(x, (0, -x.shape[3] % 64, 0, -x.shape[2] % 64))
        factor = 4.0 / float(net.g_a(x).std())
        net.g_a[-1].weight.mul_(factor)
        net.g_a[-1].bias.mul_(factor)
        x_hat = net.g_s(net.g_a(x).round())
        scale = 0.15 / float(x_hat.std())
        net.g_s[-1].weight.mul_(scale)
        net.g_s[-1].bias.add_(0.5 - float(x_hat.mean()) * scale)
    net.update(force=True)
    ckpt = folder / "mbt2018-mean-livened.pth"
    torch.save(net.state_dict(), ckpt)
    return f"compressai:model=mbt2018-mean,ckpt={ckpt}"


def timed_run(codecs: list[str], folder: Path, check: str | None) -> float:
    out = Path(tempfile.mkdtemp(dir=folder))
    command = [sys.executable, "-m", "licbench.cli", "run", "--codecs", *codecs]
    command += ["--out", str(out / "run"), "--store", str(out / "store.sqlite"), "--no-progress"]
    command += ["--decode-check", check] if check else []
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if check:
        timed_run.last_summary = json.loads((out / "run" / "summary.json").read_text())
    return seconds


def table(section: dict) -> list[str]:
    lines = [
        f"{'codec':<34} {'setup':<10} {'jobs':>4} {'exact':>5} {'failed':>6} {'max Δ':>5} "
        f"{'max drop dB':>11} {'share moved':>11}"
    ]
    for codec, found in section["codecs"].items():
        for setup, row in found["per_setup"].items():
            lines.append(
                f"{codec[:34]:<34} {setup:<10} {row['jobs']:>4} {row['bit_exact']:>5} "
                f"{row['failed']:>6} {row['max_abs_diff']:>5} {row['max_psnr_drop_db']:>11.3g} "
                f"{row['max_differing_share']:>11.2e}"
            )
    for setup in section["setups"]:
        lines.append(f"  {setup['name']}: {setup['description']}; observed {setup['observed']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compressai", action="store_true", help="add a CompressAI model")
    parser.add_argument("--setups", default="auto", help="--decode-check's value")
    parser.add_argument("--json", help="write the times and the check's section here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="decode-check-cost-") as scratch:
        folder = Path(scratch)
        codecs = CODECS + ([livened_mbt2018_mean(folder)] if args.compressai else [])
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {"without": [], "with": []}
        timed_run(codecs, folder, None)  # warm-up: files cached, bytecode compiled
        for _ in range(args.repeats):
            times["without"].append(timed_run(codecs, folder, None))
            times["with"].append(timed_run(codecs, folder, args.setups))
        load_after = os.getloadavg()
    median = {k: statistics.median(v) for k, v in times.items()}
    ratio = median["with"] / median["without"]
    print(f"codecs: {', '.join(codecs)} (+ jpeg), kodak-sample (3 images), default workers")
    for kind, values in times.items():
        print(f"  {kind:<8} --decode-check: " + ", ".join(f"{v:.1f} s" for v in values))
    print(f"ratio of medians: {ratio:.2f}x (goal <= 1.5x)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    section = timed_run.last_summary["decode_check"]
    print("\n".join(table(section)))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"times": times, "ratio": ratio, "decode_check": section}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
