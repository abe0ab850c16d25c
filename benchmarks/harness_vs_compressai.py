"""licbench against CompressAI's bench on the same machine, in one go: wall time and bpp.

Runs, one after the other on the 24 Kodak images:

1. ``python -m compressai.utils.bench jpeg KODAK -q 10,30,50,70,90,95 -j 2`` (its JSON output),
2. the same sweep through licbench: a fresh temporary store, ``--workers 2``, the same
   qualities, PSNR-RGB and MS-SSIM-RGB (a *cold* run: nothing in the store),
3. the same licbench command again (a *re-run* of a finished run; the best of ``--reruns``),

and prints the wall times, the ratios (licbench cold / CompressAI, re-run / cold) and whether
the per-quality mean bpp agrees with CompressAI's to ``--tolerance`` (1e-9). Goals: cold ≤ 0.5×
CompressAI with identical bpp, re-run ≤ 0.02× cold. Exit status 0 when every goal is met.

Timings are ratios measured in one go on one machine, never absolute gates: the machine may be
shared, so the load average before and after is printed too.

Bytecode: by default (``--bytecode cache``) both tools run as installed packages do, with their
compiled bytecode cached: some development machines set ``PYTHONDONTWRITEBYTECODE=1``, under
which an editable licbench is compiled from source at every start (~0.2 s, a third of a re-run)
while CompressAI and torch read the bytecode pip wrote. The cache goes to a temporary
``PYTHONPYCACHEPREFIX`` (the source tree is not touched) and is filled, untimed, by importing
both tools once. The re-run is also timed in the environment as found and printed beside it;
``--bytecode env`` times everything that way.

    python benchmarks/harness_vs_compressai.py [--kodak DIR] [--workers 2] [--json out.json]

KODAK is ``--kodak``, else ``$LICBENCH_MIRROR/kodak``, else ``../shared/datasets/kodak``.
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

GOAL_COLD = 0.5
GOAL_RERUN = 0.02


def default_kodak() -> Path | None:
    candidates = []
    if os.environ.get("LICBENCH_MIRROR"):
        candidates.append(Path(os.environ["LICBENCH_MIRROR"]) / "kodak")
    # the local mirror beside a checkout (../shared/datasets), as CI has it
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "kodak")
    return next((c for c in candidates if c.is_dir()), None)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return elapsed, done


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", type=Path, default=default_kodak(), help="the 24 Kodak PNGs")
    parser.add_argument("--qualities", default="10,30,50,70,90,95")
    parser.add_argument("--workers", type=int, default=2, help="-j of CompressAI, --workers")
    parser.add_argument("--reruns", type=int, default=3, help="re-runs timed (best is kept)")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="bpp agreement")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", type=Path, help="licbench's store and outputs go here")
    parser.add_argument(
        "--bytecode",
        choices=["cache", "env"],
        default="cache",
        help="cache: both tools with cached bytecode, as installed (default); env: as found",
    )
    args = parser.parse_args(argv)
    if args.kodak is None or not args.kodak.is_dir():
        parser.error("no Kodak folder: pass --kodak DIR or set LICBENCH_MIRROR")
    count = len(list(args.kodak.glob("*.png")))
    qualities = [int(q) for q in args.qualities.split(",")]

    work = args.keep or Path(tempfile.mkdtemp(prefix="licbench-vs-compressai-"))
    work.mkdir(parents=True, exist_ok=True)
    found_env = {**os.environ, "LICBENCH_HOME": str(work / "home")}
    env = dict(found_env)
    if args.bytecode == "cache":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        warm = (
            "import compressai.utils.bench.__main__, compressai.utils.bench.codecs, torch, "
            "pytorch_msssim, licbench.cli, licbench.api, licbench.bench.executors, "
            "licbench.reports.outputs, licbench.codecs.pillow, tqdm.auto"
        )
        subprocess.run([sys.executable, "-c", warm], env=env, check=True, capture_output=True)
    print(f"Kodak: {args.kodak} ({count} images), qualities {qualities}, {args.workers} workers")
    print(f"machine: {os.cpu_count()} CPUs, load average before: {load()}")
    print(f"bytecode: {args.bytecode}")

    compressai_command = [
        sys.executable,
        "-m",
        "compressai.utils.bench",
        "jpeg",
        str(args.kodak),
        "-q",
        args.qualities,
        "-j",
        str(args.workers),
    ]
    compressai_s, done = timed(compressai_command, env)
    reference = json.loads(done.stdout)
    print(f"CompressAI bench:        {compressai_s:8.2f} s")

    store, out = work / "store.sqlite", work / "out"
    store.unlink(missing_ok=True)
    licbench_command = [
        sys.executable,
        "-m",
        "licbench.cli",
        "run",
        "--dataset",
        f"folder:{args.kodak}",
        "--codecs",
        "jpeg",
        "--qualities",
        args.qualities,
        "--metrics",
        "psnr-rgb,ms-ssim-rgb",
        "--workers",
        str(args.workers),
        "--store",
        str(store),
        "--out",
        str(out),
        "--no-progress",
    ]
    cold_s, done = timed(licbench_command, env)
    print(f"licbench, cold:          {cold_s:8.2f} s   ({done.stdout.splitlines()[0]})")
    reruns = []
    for _ in range(max(1, args.reruns)):
        seconds, done = timed(licbench_command, env)
        reruns.append(seconds)
    rerun_s = min(reruns)
    print(
        f"licbench, re-run:        {rerun_s:8.2f} s   (best of "
        f"{', '.join(f'{s:.2f}' for s in reruns)}; {done.stdout.splitlines()[0]})"
    )
    as_found = []
    if args.bytecode == "cache":
        for _ in range(max(1, args.reruns)):
            as_found.append(timed(licbench_command, found_env)[0])
        print(
            f"licbench, re-run as found: {min(as_found):6.2f} s   (environment unchanged: "
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})"
        )
    print(f"load average after: {load()}")

    summary = json.loads((out / "summary.json").read_text())
    ours = summary["codecs"]["jpeg"]["results"]
    by_quality = dict(
        zip(ours["quality"], zip(ours["bpp"], ours["psnr-rgb"], strict=True), strict=True)
    )
    rows = []
    for index, quality in enumerate(sorted(qualities)):
        bpp, psnr = by_quality[float(quality)]
        theirs_bpp = reference["results"]["bpp"][index]
        theirs_psnr = reference["results"]["psnr-rgb"][index]
        rows.append((quality, bpp, theirs_bpp, abs(bpp - theirs_bpp), psnr - theirs_psnr))
    print("\nquality   licbench bpp   CompressAI bpp   |Δbpp|     ΔPSNR (dB, informative)")
    for quality, bpp, theirs, delta, dpsnr in rows:
        print(f"{quality:>7}   {bpp:12.9f}   {theirs:14.9f}   {delta:.1e}   {dpsnr:+.2e}")
    worst = max(row[3] for row in rows)
    bpp_ok = worst <= args.tolerance

    cold_ratio = cold_s / compressai_s
    rerun_ratio = rerun_s / cold_s
    verdicts = {
        f"cold ≤ {GOAL_COLD}× CompressAI": cold_ratio <= GOAL_COLD,
        f"bpp identical (≤ {args.tolerance:g})": bpp_ok,
        f"re-run ≤ {GOAL_RERUN}× cold": rerun_ratio <= GOAL_RERUN,
    }
    print(f"\nlicbench cold / CompressAI: {cold_ratio:.3f}")
    print(f"licbench re-run / cold:     {rerun_ratio:.4f}")
    if as_found:
        print(f"  (re-run as found / cold:  {min(as_found) / cold_s:.4f})")
    print(f"bpp agreement: worst |Δbpp| = {worst:.2e}")
    for goal, met in verdicts.items():
        print(f"  {'PASS' if met else 'FAIL'}  {goal}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "kodak": str(args.kodak),
                    "images": count,
                    "qualities": qualities,
                    "workers": args.workers,
                    "compressai_s": compressai_s,
                    "licbench_cold_s": cold_s,
                    "licbench_rerun_s": reruns,
                    "licbench_rerun_as_found_s": as_found,
                    "bytecode": args.bytecode,
                    "cold_ratio": cold_ratio,
                    "rerun_ratio": rerun_ratio,
                    "worst_bpp_difference": worst,
                    "goals": verdicts,
                },
                indent=1,
            )
        )
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
