"""The ``licbench`` command: parses arguments, calls the API, prints. Nothing else lives here.

Exit status: 0 on success, 2 for a usage error, 1 when every job of a run failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence


def _qualities(text: str) -> list[float]:
    try:
        return [float(q) for q in text.split(",") if q.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of numbers") from None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="licbench",
        description="Benchmark image codecs on real bitstreams: bpp, PSNR, MS-SSIM, BD-rate.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run codecs over a dataset and write a report")
    run.add_argument("--dataset", default="kodak-sample", help="NAME or folder:PATH")
    run.add_argument(
        "--codecs",
        nargs="+",
        metavar="SPEC",
        help="codec specs: NAME or NAME:key=value,...; 'jpeg,webp' also works (default: all "
        "available)",
    )
    run.add_argument("--qualities", type=_qualities, help="override the sweep, e.g. 10,30,50")
    run.add_argument("--anchor", default="jpeg", help="BD-rate anchor codec (default jpeg)")
    run.add_argument("--method", default="pchip", choices=["pchip", "akima", "cubic"])
    run.add_argument("--out", help="output folder (default licbench-results/DATASET)")
    run.add_argument("--store", help="SQLite result store (default $LICBENCH_HOME/results.sqlite)")
    run.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="processes")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    report = commands.add_parser("report", help="rebuild a run's outputs from the store")
    report.add_argument("folder")
    report.add_argument("--store", help="use this store instead of the one the run recorded")

    codecs = commands.add_parser("codecs", help="list codecs, available or not, and why")
    codecs.add_argument("pattern", nargs="?", default="*")

    datasets = commands.add_parser("datasets", help="list datasets; 'fetch NAME' downloads one")
    datasets.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    datasets.add_argument("name", nargs="?")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from licbench.api import run

    result = run(
        args.dataset,
        args.codecs,
        qualities=args.qualities,
        anchor=args.anchor,
        out=args.out,
        store=args.store,
        workers=args.workers,
        method=args.method,
        progress=not args.no_progress,
    )
    counts = result.counts
    print(
        f"{counts['total']} jobs: {counts['cached']} from the store, "
        f"{counts['computed']} computed, {result.summary['jobs_failed']} failed"
    )
    bd = result.summary["bd_rate"]
    for codec, value in bd.get("psnr-rgb", {}).items():
        print(f"  BD-rate (PSNR) of {codec} against {bd['anchor']}: {value:+.2f}%")
    print(f"report: {result.out / 'report.html'}")
    return 1 if result.all_failed else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from licbench.api import report

    report(args.folder, args.store)
    print(f"report: {Path(args.folder) / 'report.html'}")
    return 0


def _cmd_codecs(args: argparse.Namespace) -> int:
    from licbench.codecs import codec_info, list_codecs

    for name in list_codecs(args.pattern):
        info = codec_info(name)
        if info.availability.ok:
            print(f"{name:<18} available    {info.description}")
        else:
            print(f"{name:<18} unavailable  {info.availability.reason}")
            if info.availability.hint:
                print(f"{'':<18}              install: {info.availability.hint}")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from licbench import datasets

    if args.action == "fetch":
        if not args.name:
            raise _Usage("licbench datasets fetch NAME: which dataset?")
        images = datasets.fetch(args.name)
        print(f"{args.name}: {len(images)} images verified")
        return 0
    for name in datasets.list_datasets():
        info = datasets.describe(name)
        print(
            f"{name:<14} {str(info.get('count', '?')):>4} images  "
            f"verified by {info.get('verification', '?'):<18} {info.get('description', '')}"
        )
    return 0


class _Usage(Exception):
    pass


COMMANDS = {
    "run": _cmd_run,
    "report": _cmd_report,
    "codecs": _cmd_codecs,
    "datasets": _cmd_datasets,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from licbench.api import UsageError
    from licbench.codecs.base import CodecSpecError
    from licbench.datasets import DatasetError
    from licbench.registry import RegistryError

    try:
        return COMMANDS[args.command](args)
    except (_Usage, UsageError, CodecSpecError, RegistryError, DatasetError) as exc:
        print(f"licbench {args.command}: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"licbench {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
