"""The fixed cost of a learned run: licbench against CompressAI's ``eval_model``, side by side.

Both tools evaluate the same CompressAI ``mbt2018-mean`` checkpoint on the same few Kodak
images (default 4), one rate point:

* ``python -m compressai.utils.eval_model checkpoint IMAGES -a mbt2018-mean -p CKPT``: one
  process, one intra-op thread (eval_model sets ``torch.set_num_threads(1)``);
* ``licbench run --dataset folder:IMAGES --codecs compressai:model=mbt2018-mean,ckpt=CKPT``
  (the same spec as the anchor, so nothing else runs), ``--workers 1`` by default: one worker
  process of one thread computes the jobs, as eval_model does; the main process plans, stores
  and writes the outputs (report, viewer pictures, complexity). Its default metrics are
  eval_model's two (PSNR-RGB, MS-SSIM-RGB);

in several rounds, interleaved (eval_model, licbench cold, licbench again), so that a change in
the machine's load hits both tools alike; medians are printed with the ratio. *Cold* is a fresh
store and output folder; *again* is the same command once more (a finished run: nothing is
computed, the outputs are current). Goal: cold ≤ 1.0× eval_model (issue 21, item 5).

Without ``--ckpt`` a checkpoint is made here: ``compressai.zoo.mbt2018_mean(quality=3)`` with
random weights (seed 0), its ``state_dict`` saved with ``torch.save`` (eval_model loads it with
``from_state_dict`` and ``update(force=True)``, as licbench does). The time per image does not
depend on the weights' values beyond the rate; both tools code the same checkpoint.

Bytecode: by default both tools run as installed packages do, with compiled bytecode cached in
a temporary ``PYTHONPYCACHEPREFIX`` (some development machines set ``PYTHONDONTWRITEBYTECODE``,
under which a source checkout is compiled at every start while torch and compressai read the
bytecode pip wrote); ``--bytecode env`` times the environment as found. The licbench measured
is the one ``python -c 'import licbench'`` finds (``PYTHONPATH`` set to a snapshot measures that
commit); its path is printed.

    python benchmarks/learned_fixed_cost.py [--kodak DIR] [--images 4] [--workers 1]
        [--rounds 3] [--ckpt FILE] [--json out.json]

KODAK is ``--kodak``, else ``$LICBENCH_MIRROR/kodak``, else ``../shared/datasets/kodak``.
Timings are ratios measured side by side on one machine, never absolute gates; the load average
is printed with every round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.0
ARCH = "mbt2018-mean"
#: the licbench command as the measured commit ships it (``python -m licbench.cli`` runs what
#: its console script runs)
LICBENCH = [sys.executable, "-m", "licbench.cli"]


def default_kodak() -> Path | None:
    candidates = []
    if os.environ.get("LICBENCH_MIRROR"):
        candidates.append(Path(os.environ["LICBENCH_MIRROR"]) / "kodak")
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "kodak")
    return next((c for c in candidates if c.is_dir()), None)


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def make_checkpoint(path: Path, env: dict[str, str]) -> None:
    """A random-weights mbt2018-mean (quality 3 sizes) state dict, made in a child process."""
    code = (
        "import sys, torch\n"
        "from compressai.zoo import mbt2018_mean\n"
        "torch.manual_seed(0)\n"
        "torch.save(mbt2018_mean(quality=3, pretrained=False).state_dict(), sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True)


def eval_model_psnr(stdout: str) -> float:
    """The mean PSNR-RGB of eval_model's JSON output."""
    return float(json.loads(stdout[stdout.index("{") :])["results"]["psnr-rgb"][0])


def licbench_psnr(out: Path) -> float:
    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["codecs"].values()
    return float(entry["results"]["psnr-rgb"][0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kodak", type=Path, default=default_kodak(), help="the Kodak PNGs")
    parser.add_argument("--images", type=int, default=4, help="the first N Kodak images")
    parser.add_argument("--workers", type=int, default=1, help="licbench --workers")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--ckpt", type=Path, help="an mbt2018-mean checkpoint (default: random)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", type=Path, help="work here (stores, outputs) and keep it")
    parser.add_argument("--bytecode", choices=["cache", "env"], default="cache")
    args = parser.parse_args(argv)
    if args.kodak is None or not args.kodak.is_dir():
        parser.error("no Kodak folder: pass --kodak DIR or set LICBENCH_MIRROR")
    pictures = sorted(args.kodak.glob("*.png"))[: args.images]
    if len(pictures) < args.images:
        parser.error(f"{args.kodak}: fewer than {args.images} PNG images")

    work = args.keep or Path(tempfile.mkdtemp(prefix="licbench-fixed-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    images = work / "images"
    images.mkdir(exist_ok=True)
    for picture in pictures:
        if not (images / picture.name).exists():
            shutil.copyfile(picture, images / picture.name)
    env = {**os.environ, "LICBENCH_HOME": str(work / "home"), "PYTHONWARNINGS": "ignore"}
    if args.bytecode == "cache":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    ckpt = args.ckpt or work / f"{ARCH}-random.pth.tar"
    if args.ckpt is None and not ckpt.exists():
        make_checkpoint(ckpt, env)
    where = subprocess.run(
        [sys.executable, "-c", "import licbench; print(licbench.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    eval_model = [
        sys.executable,
        "-m",
        "compressai.utils.eval_model",
        "checkpoint",
        str(images),
        "-a",
        ARCH,
        "-p",
        str(ckpt),
    ]
    spec = f"compressai:model={ARCH},ckpt={ckpt}"

    def licbench(store: Path, out: Path) -> list[str]:
        return [
            *LICBENCH,
            "run",
            "--dataset",
            f"folder:{images}",
            "--codecs",
            spec,
            "--anchor",
            spec,
            "--workers",
            str(args.workers),
            "--store",
            str(store),
            "--out",
            str(out),
            "--no-progress",
        ]

    if args.bytecode == "cache":  # fill the bytecode cache, untimed
        timed(eval_model, env)
        warm = work / "warm"
        timed(licbench(warm / "store.sqlite", warm / "out"), env)
        shutil.rmtree(warm)
    print(f"images: {len(pictures)} of {args.kodak}; checkpoint {ckpt}")
    print(f"licbench: {where}; --workers {args.workers}; eval_model: one thread")
    print(f"machine: {os.cpu_count()} CPUs; bytecode: {args.bytecode}")

    rows: list[dict[str, float | str]] = []
    psnrs: tuple[float, float] | None = None
    for index in range(args.rounds):
        before = load()
        reference_s, reference_out = timed(eval_model, env)
        store, out = work / f"store-{index}.sqlite", work / f"out-{index}"
        command = licbench(store, out)
        cold_s, _ = timed(command, env)
        again_s, _ = timed(command, env)
        psnrs = (licbench_psnr(out), eval_model_psnr(reference_out))
        rows.append(
            {
                "eval_model_s": reference_s,
                "cold_s": cold_s,
                "again_s": again_s,
                "load_before": before,
                "load_after": load(),
            }
        )
        print(
            f"round {index + 1}: eval_model {reference_s:6.2f} s   licbench cold {cold_s:6.2f} s "
            f"({cold_s / reference_s:.2f}×)   again {again_s:5.2f} s   load {before} → "
            f"{rows[-1]['load_after']}"
        )

    def median(name: str) -> float:
        return statistics.median(float(row[name]) for row in rows)

    reference_s, cold_s, again_s = median("eval_model_s"), median("cold_s"), median("again_s")
    ratios = [float(r["cold_s"]) / float(r["eval_model_s"]) for r in rows]
    ratio = statistics.median(ratios)
    print(
        f"\nmedians of {len(rows)}: eval_model {reference_s:.2f} s, licbench cold {cold_s:.2f} s, "
        f"again {again_s:.2f} s"
    )
    print(f"licbench cold / eval_model: {ratio:.3f} (median of the rounds' ratios)")
    if psnrs is not None:
        print(f"mean PSNR-RGB: licbench {psnrs[0]:.6f} dB, eval_model {psnrs[1]:.6f} dB")
    met = ratio <= GOAL
    print(f"  {'PASS' if met else 'FAIL'}  cold ≤ {GOAL}× eval_model")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "images": len(pictures),
                    "workers": args.workers,
                    "licbench": where,
                    "bytecode": args.bytecode,
                    "rounds": rows,
                    "median_ratio": ratio,
                    "goal": GOAL,
                },
                indent=1,
            )
        )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
