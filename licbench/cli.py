"""The ``licbench`` command: parses arguments, calls the API, prints. Nothing else lives here.

Exit status: 0 on success, 2 for a usage error (and a store or output file that cannot be
used: one line says which and why), 1 when every job of a run failed, 130 after Ctrl-C and 143
after SIGTERM (one line says how many jobs are stored; the same command resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from licbench.core.text import one_line

if TYPE_CHECKING:
    from licbench.results.summary import RunSummary


class _Parser(argparse.ArgumentParser):
    """argparse's parser with its errors on one line, as every other usage error of licbench:
    CI logs show the reason, not a screenful of usage that ``--help`` prints anyway."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def _number(text: str) -> float:
    """A finite number. ``float`` alone takes "nan", which passes every threshold (no comparison
    with NaN is true), and "inf", which turns a limit off without saying so."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 or more")
    return value


def _qualities(text: str) -> list[float]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one number")
    values = []
    for item in items:
        try:
            values.append(_number(item))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(
                exc if len(items) == 1 else f"{text!r}: {exc}"
            ) from None
    return values


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be a finite number of seconds, or 0 for no limit"
        )
    return value


#: Dask's network protocols; inproc:// addresses exist only inside the Python process that made
#: them, so no address of that kind can reach a scheduler from the command line
_DASK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def _scheduler(text: str) -> str:
    """A Dask scheduler address (``[tcp://]host:port``, ``tls://``, ...) or a scheduler file
    (``dask scheduler --scheduler-file``), checked before anything starts: Dask takes any string
    and fails only when its connection timeout runs out."""
    address = text.strip()
    if os.path.isfile(address):
        try:
            with open(address, encoding="utf-8") as f:
                address = json.load(f)["address"]
        except (OSError, ValueError, KeyError, TypeError):
            raise argparse.ArgumentTypeError(
                f"{text!r} is a file, but not a Dask scheduler file (JSON with an address)"
            ) from None
        if not isinstance(address, str):
            raise argparse.ArgumentTypeError(f"{text!r}: its address is not a string")
    protocol, sep, location = address.rpartition("://")
    protocol = protocol if sep else "tcp"  # Dask's default
    if protocol not in _DASK_PROTOCOLS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the protocol must be one of {', '.join(_DASK_PROTOCOLS)} "
            "(e.g. tcp://10.0.0.5:8786)"
        )
    host, colon, port = location.rpartition(":")
    if (
        not colon
        or not host
        or any(c.isspace() or c in "/?#@" for c in host)
        or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a scheduler address: give {protocol}://HOST:PORT "
            "(e.g. tcp://10.0.0.5:8786) or a scheduler file"
        )
    return address


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    # every default and choice comes from where it is defined: the API and the registries
    from licbench.api import DEFAULT_ANCHOR, DEFAULT_DATASET, WEIGHTS
    from licbench.bench.executors import DEFAULT_TIMEOUT, EXECUTORS
    from licbench.bench.images import DEFAULT_MAX_PIXELS
    from licbench.codecs.learned.configs import ARCHS
    from licbench.codecs.learned.train_config import TrainConfig
    from licbench.metrics import DEFAULT_METRICS, METRIC_GROUPS, METRICS
    from licbench.metrics.bd_methods import DEFAULT_METHOD, METHODS
    from licbench.reports import check as gate
    from licbench.reports.roi_compute import DEFAULT_CPU_HOUR_COST, DEFAULT_GPU_HOUR_COST
    from licbench.results.statistics import AGGREGATES, DEFAULT_AGGREGATE

    config_names = sorted({name for arch in ARCHS.values() for name in arch.configs})
    parser = _Parser(
        prog="licbench",
        description="Benchmark image codecs on real bitstreams: bpp, PSNR, MS-SSIM, BD-rate.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run codecs over a dataset and write a report")
    run.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"NAME or folder:PATH (default {DEFAULT_DATASET})",
    )
    run.add_argument(
        "--codecs",
        nargs="+",
        metavar="SPEC",
        help="codec specs: NAME or NAME:key=value,...; 'jpeg,webp' also works (default: all "
        "available)",
    )
    run.add_argument("--qualities", type=_qualities, help="override the sweep, e.g. 10,30,50")
    run.add_argument(
        "--anchor", default=DEFAULT_ANCHOR, help=f"BD-rate anchor codec (default {DEFAULT_ANCHOR})"
    )
    run.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS)
    run.add_argument(
        "--bd-aggregate",
        default=DEFAULT_AGGREGATE,
        choices=AGGREGATES,
        help="the BD-rate the report leads with: of the mean curve (default, as published), or "
        "the mean or median of the per-image BD-rates (each with a 95%% bootstrap interval)",
    )
    run.add_argument("--out", help="output folder (default licbench-results/DATASET)")
    run.add_argument("--store", help="SQLite result store (default $LICBENCH_HOME/results.sqlite)")
    run.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="processes")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default=next(iter(EXECUTORS)),
        help="where jobs run: local processes (default) or Dask workers",
    )
    run.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="ADDRESS",
        help="with --executor dask: an existing cluster (tcp://host:8786, or a scheduler "
        "file); default: a new local cluster of --workers processes",
    )
    run.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="a job running longer is stopped and its worker replaced "
        f"(default {DEFAULT_TIMEOUT:g}; 0: never)",
    )
    run.add_argument(
        "--max-pixels",
        type=_positive_int,
        metavar="N",
        help=f"images with more pixels are refused before decoding (default {DEFAULT_MAX_PIXELS})",
    )
    run.add_argument(
        "--target-bpp",
        type=_qualities,
        metavar="BPP,...",
        help="also find, per codec and image, the largest quality with bpp <= each target "
        "(e.g. 0.25,0.5) and report the codecs at those rates",
    )

    run.add_argument(
        "--metrics",
        type=_names,
        metavar="NAME,...",
        help=f"metrics or metric groups to compute (default {','.join(DEFAULT_METRICS)}; "
        f"groups: {', '.join(METRIC_GROUPS)}; metrics: {', '.join(METRICS.names())})",
    )
    run.add_argument(
        "--decode-check",
        nargs="?",
        const=["auto"],
        metavar="SETUP,...",
        type=_names,
        help="decode every learned codec's bitstreams again in fresh processes under other "
        "numeric setups and compare (sse41, avx2, avx512, threads=N, cuda, cuda-encode; "
        "default: sse41, another thread count, and both GPU directions when there is a GPU)",
    )
    run.add_argument(
        "--viewer-images",
        metavar="N|auto|all|none",
        help="write the decoded pictures of the first N images for viewer.html, the "
        "side-by-side viewer beside the report (about 1.1 bytes per pixel per job: 0.4 MB for a "
        "Kodak image); auto (default): as many images as fit 100 MB, at least one",
    )
    run.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="NAME",
        help="a published RD curve to compare every codec with (repeatable), e.g. "
        "compressai-kodak-vtm",
    )

    fetch = commands.add_parser(
        "fetch-weights", help="download pretrained weights a metric or codec needs (needs internet)"
    )
    fetch.add_argument(
        "name",
        choices=list(WEIGHTS),
        help="; ".join(f"{name}: {what}" for name, (what, _) in WEIGHTS.items()),
    )

    report = commands.add_parser("report", help="rebuild a run's outputs from the store")
    report.add_argument("folder")
    report.add_argument("--store", help="use this store instead of the one the run recorded")

    roi = commands.add_parser(
        "roi", help="what a codec switch saves in storage and bandwidth (HTML + JSON)"
    )
    roi.add_argument("--run", help="a licbench run folder (with summary.json)")
    roi.add_argument("--anchor", help="the codec used today (default: the run's anchor)")
    roi.add_argument("--images-per-month", type=float, help="new images stored per month")
    roi.add_argument("--mean-image-mb", type=float, help="mean image size today, in MB")
    roi.add_argument("--storage-cost-per-gb-month", type=float, help="price per GB per month")
    roi.add_argument("--egress-cost-per-gb", type=float, help="price per GB delivered")
    roi.add_argument(
        "--deliveries-per-image", type=float, help="times each image is delivered (default 1)"
    )
    roi.add_argument(
        "--cpu-hour-cost",
        type=float,
        help=f"price of one CPU-hour of encoding/decoding (default {DEFAULT_CPU_HOUR_COST:g})",
    )
    roi.add_argument(
        "--gpu-hour-cost",
        type=float,
        help=f"price of one GPU-hour (default {DEFAULT_GPU_HOUR_COST:g})",
    )
    roi.add_argument("--metric", help="quality metric for 'equal quality' (default psnr-rgb)")
    roi.add_argument("--currency", help="currency label (default USD)")
    roi.add_argument("--config", help="TOML file with these values (the command line wins)")
    roi.add_argument("--out", help="where to write roi.html and roi.json (default: the run)")

    check = commands.add_parser(
        "check", help="CI gate: compare a candidate run with a baseline run, codec by codec"
    )
    check.add_argument("--baseline", required=True, help="run folder or summary.json")
    check.add_argument("--candidate", required=True, help="run folder or summary.json")
    check.add_argument(
        "--max-bd-rate",
        type=_number,
        default=gate.DEFAULT_MAX_BD_RATE,
        help=f"largest BD-rate allowed, %% ({gate.DEFAULT_MAX_BD_RATE:g})",
    )
    check.add_argument(
        "--max-bpp-increase",
        type=_number,
        default=gate.DEFAULT_MAX_BPP_INCREASE,
        help=f"largest bpp increase at an equal quality setting, %% "
        f"({gate.DEFAULT_MAX_BPP_INCREASE:g})",
    )
    check.add_argument(
        "--metric",
        default=gate.DEFAULT_METRIC,
        help=f"BD-rate metric ({gate.DEFAULT_METRIC})",
    )
    check.add_argument(
        "--gate-on-interval",
        action="store_true",
        help="fail a BD-rate only when the 95%% interval of the per-image mean lies above "
        "--max-bd-rate (a regression beyond what the images' spread explains)",
    )
    check.add_argument(
        "--per-group",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="gate each subfolder group of images too, with the same limits, and fail naming "
        "the group that regressed (default: when both runs have the same groups; --per-group "
        "demands it, --no-per-group turns it off)",
    )
    check.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    check.add_argument("--json", metavar="PATH", help="write the comparison as JSON here")

    compare = commands.add_parser(
        "compare",
        help="one page comparing runs on the same images: curves, BD-rates against a baseline "
        "run, BD-rate over time or commits",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run folders (or summary.json)")
    compare.add_argument("--out", required=True, help="folder for compare.html and compare.json")
    compare.add_argument(
        "--baseline", help="the run the others are compared with (default: the first in order)"
    )
    compare.add_argument(
        "--anchor",
        help="the baseline run's codec every codec is compared with (default: its anchor)",
    )
    compare.add_argument(
        "--metric", default=gate.DEFAULT_METRIC, help=f"BD-rate metric ({gate.DEFAULT_METRIC})"
    )
    compare.add_argument(
        "--order",
        default="auto",
        choices=["auto", "time", "commit", "given"],
        help="order of the runs: time (when each was made), commit (git history of the current "
        "folder's repository), given; auto: time when every run recorded one, else given",
    )
    compare.add_argument(
        "--label", action="append", help="a name per run, in the order given (repeat)"
    )

    train = commands.add_parser(
        "train", help="train a learned codec (rate-distortion + CCA loss) on an image folder"
    )
    train.add_argument("--arch", required=True, choices=list(ARCHS))
    train.add_argument("--config", default=TrainConfig.default_config, choices=config_names)
    train.add_argument("--lmbda", type=_positive, required=True, help="λ of λ·255²·MSE + bpp")
    train.add_argument("--alpha", type=_non_negative, default=1.0, help="CCA-loss weight (0: off)")
    train.add_argument("--data", required=True, help="folder of training images")
    train.add_argument("--val", help="folder of validation images")
    train.add_argument("--steps", type=_positive_int, required=True)
    train.add_argument("--out", required=True, help="checkpoint file to write")
    train.add_argument("--resume", help="continue from this checkpoint (and its .state file)")
    train.add_argument("--init", help="warm start from this checkpoint's weights")
    train.add_argument("--batch-size", type=_positive_int, default=TrainConfig.batch_size)
    train.add_argument(
        "--crop", type=_positive_int, default=TrainConfig.crop, help="multiple of 64"
    )
    train.add_argument("--lr", type=_positive, default=TrainConfig.lr)
    train.add_argument("--val-every", type=_positive_int, default=TrainConfig.val_every)
    train.add_argument("--save-every", type=_positive_int, default=TrainConfig.save_every)
    train.add_argument("--seed", type=int, default=TrainConfig.seed)
    train.add_argument("--threads", type=_positive_int, help="torch threads")
    train.add_argument("--no-progress", action="store_true")

    codecs = commands.add_parser("codecs", help="list codecs, available or not, and why")
    codecs.add_argument("pattern", nargs="?", default="*")

    datasets = commands.add_parser("datasets", help="list datasets; 'fetch NAME' downloads one")
    datasets.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    datasets.add_argument("name", nargs="?")

    references = commands.add_parser(
        "references", help="list the published curves --reference NAME can overlay"
    )
    references.add_argument("pattern", nargs="?", default="*")
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from licbench.api import RunRequest, run_request

    request = RunRequest.from_options(
        args.dataset,
        args.codecs,
        qualities=args.qualities,
        anchor=args.anchor,
        out=args.out,
        store=args.store,
        workers=args.workers,
        method=args.method,
        bd_aggregate=args.bd_aggregate,
        progress=not args.no_progress,
        target_bpp=args.target_bpp,
        **({"metrics": args.metrics} if args.metrics else {}),
        references=args.reference,
        executor=args.executor,
        scheduler=args.scheduler,
        **({"timeout": args.timeout} if args.timeout is not None else {}),
        **({"max_pixels": args.max_pixels} if args.max_pixels is not None else {}),
        decode_check=args.decode_check,
        **({"viewer_images": args.viewer_images} if args.viewer_images is not None else {}),
    )
    result = run_request(request)
    counts = result.counts
    summary = result.summary
    same = counts.get("same_bytes", 0)
    print(
        f"{counts['total']} jobs: {counts['cached']} from the store, "
        f"{counts['computed']} computed, "
        + (f"{same} on files with the same bytes as another (computed once), " if same else "")
        + f"{summary.jobs_failed} failed"
        + (
            f"; {counts['skipped']} skipped while listing the dataset"
            if counts.get("skipped")
            else ""
        )
    )
    common = summary.extra.get("common_images") or {}
    if common and common.get("images") != common.get("of"):
        print(
            f"  curves and BD-rates on the {common.get('images')} of {common.get('of')} images "
            "every codec measured at every point"
        )
    for metric, found in summary.undefined().items():
        print(
            f"  {metric}: curves and BD-rates leave out the {found.get('images')} of "
            f"{found.get('of')} images it is undefined for ({found.get('reason')}): "
            + ", ".join(str(n) for n in found.get("names", []))
            + (" ..." if len(found.get("names", [])) < (found.get("images") or 0) else "")
        )
    incomplete = summary.incomplete()
    capped = (summary.extra.get("capped") or {}).get("psnr-rgb") or {}
    for codec, value in summary.bd_rate.get("psnr-rgb").items():
        line = f"  BD-rate (PSNR) of {codec} against {summary.anchor}: {value:+.2f}%"
        for warning in summary.bd_rate.warnings_for(codec, "psnr-rgb"):  # as the report says
            line += f" [{warning.removeprefix(f'{codec} psnr-rgb: ')}]"
        for name in (codec, summary.anchor):
            if name in incomplete:
                line += f" [{name} incomplete: failed on {incomplete[name]['images']} image(s)]"
            if capped.get("codecs", {}).get(name):
                line += (
                    f" [{name}: {capped['codecs'][name]} lossless point(s) at the "
                    f"{capped['ceiling']:g} dB ceiling]"
                )
        stats = summary.bd_rate.statistics("psnr-rgb", codec)
        if stats is not None and stats.values:
            line += (
                f" (per image: mean {stats.mean:+.2f}% {stats.mean_ci}, median "
                f"{stats.median:+.2f}% {stats.median_ci}, fewer bits on "
                f"{round(stats.win_share * len(stats.values))}/{len(stats.values)})"
            )
        print(line)
    _print_groups(summary)
    if summary.references is not None:
        for reference, per_metric in summary.references.bd.items():
            # the caveat the report gives these numbers: measured on other images
            other = [w for w in summary.references.warnings if w.startswith(f"{reference} was")]
            for codec, value in per_metric.get("psnr-rgb", {}).items():
                print(f"  BD-rate (PSNR) of {codec} against {reference} (published): {value:+.2f}%")
            for warning in other:
                print(f"    caveat: {warning}")
    if summary.target_bpp is not None:
        print(f"rate targets: {counts.get('target_probes', 0)} probe jobs computed")
        for codec, per_target in summary.target_bpp.codecs.items():
            for target, entry in per_target.items():
                psnr = entry.get("psnr-rgb")
                print(
                    f"  {codec} at {target} bpp: mean {entry.bpp:.4f} bpp, "
                    f"{psnr if psnr is not None else float('nan'):.2f} dB PSNR "
                    f"({entry.at_target}/{entry.images} images at the target)"
                )
    if summary.decode_check:
        from licbench.results.decode_check import describe

        for codec, found in summary.decode_check.get("codecs", {}).items():
            print(describe(codec, found))
        for note in summary.decode_check.get("notes", []):
            print(f"  decode check: {note}")
    print(f"report: {result.out / 'report.html'}")
    return 1 if result.all_failed else 0


def _print_groups(summary: RunSummary) -> None:
    """One line per group of images (subfolders): its PSNR BD-rates against the anchor and the
    caveats the report's group table gives them."""
    from licbench.results.summary import TOP_LEVEL

    if not summary.groups:
        return
    print(f"  per group (BD-rate (PSNR) against {summary.anchor}; the report has every metric):")
    for name, group in summary.groups.items():
        values = group.bd_rate.get("psnr-rgb")
        cells = ", ".join(
            f"{codec} {value:+.2f}%" if math.isfinite(value) else f"{codec} n/a"
            for codec, value in values.items()
        )
        shown = "(top level)" if name == TOP_LEVEL else name
        line = f"    {shown} ({group.common_images} of {group.images} images): {cells or 'n/a'}"
        for metric, count in group.undefined.items():
            line += f" [{metric} undefined for {count}]"
        for codec, count in group.incomplete.items():
            line += f" [{codec} failed on {count}]"
        print(line)


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from licbench.api import report

    summary = report(args.folder, args.store)
    if summary.jobs_missing:  # as the report says it: numbers on what is stored so far
        from licbench.core.lock import holder

        owner = holder(args.folder)
        print(
            f"run incomplete: {summary.jobs_missing} of {summary.jobs} jobs missing "
            + (
                f"(a run is writing {args.folder}: {one_line(str(owner))})"
                if owner is not None
                else "(interrupted: the same licbench run command computes them)"
            )
        )
    print(f"report: {Path(args.folder) / 'report.html'}")
    return 0


def _cmd_roi(args: argparse.Namespace) -> int:
    from licbench.reports import roi

    try:
        config = roi.load_config(args.config) if args.config else None
        cli = {
            name: getattr(args, name)
            for name in (
                "run",
                "anchor",
                "images_per_month",
                "mean_image_mb",
                "storage_cost_per_gb_month",
                "egress_cost_per_gb",
                "deliveries_per_image",
                "cpu_hour_cost",
                "gpu_hour_cost",
                "metric",
                "currency",
                "out",
            )
        }
        inputs, origin = roi.merge_inputs(config, cli)
        result = roi.estimate(inputs, origin)
    except roi.ROIUsageError as exc:
        raise _Usage(str(exc)) from None
    html_path, json_path = roi.write(result, inputs.out or result["run"])
    for codec, entry in result["codecs"].items():
        if entry["estimable"]:
            total = entry["total_saving_year_1"]
            print(
                f"{codec}: {entry['bd_rate_percent']:+.2f}% bytes vs {result['anchor']} "
                f"({result['metric']}); first year {result['currency']} {abs(total):,.2f} "
                f"{'saved' if total >= 0 else 'extra cost'}"
                + _net_of_compute(entry["compute"], result["currency"])
            )
        else:
            print(f"{codec}: no estimate (no BD-rate against {result['anchor']})")
    print(f"roi: {html_path}\nroi: {json_path}")
    return 0


def _net_of_compute(compute: dict, currency: str) -> str:
    if not compute.get("estimable"):
        return ""
    net = compute["net_saving_year_1"]
    return f"; net of compute {currency} {abs(net):,.2f} {'saved' if net >= 0 else 'lost'}"


def _cmd_check(args: argparse.Namespace) -> int:
    from licbench.reports import check

    try:
        result = check.compare(
            args.baseline,
            args.candidate,
            metric=args.metric,
            max_bd_rate=args.max_bd_rate,
            max_bpp_increase=args.max_bpp_increase,
            gate_on_interval=args.gate_on_interval,
            per_group=args.per_group,
        )
    except check.CheckUsageError as exc:
        raise _Usage(str(exc)) from None
    print(check.format_table(result))
    check.write_reports(result, args.json, args.junit)
    return 0 if result.passed else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from licbench.reports.check import CheckUsageError
    from licbench.reports.compare_runs import compare_runs, write_compare

    try:
        result = compare_runs(
            args.runs,
            baseline=args.baseline,
            anchor=args.anchor,
            metric=args.metric,
            order=args.order,
            labels=args.label,
        )
    except CheckUsageError as exc:
        raise _Usage(str(exc)) from None
    page = write_compare(result, Path(args.out))
    print(f"{len(result['runs'])} runs against {result['baseline']} ({result['anchor']}): {page}")
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


def _cmd_references(args: argparse.Namespace) -> int:
    from licbench.references import list_references, reference_info

    for name in list_references(args.pattern):
        info = reference_info(name)
        points, low, high = info.rate_span()
        print(
            f"{name:<50} {info.dataset or '-':<8} {points:>3} points  "
            f"bpp {low:.3f}-{high:.3f}  {info.codec}"
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from licbench.codecs.learned.train import train
    from licbench.codecs.learned.train_config import TrainConfig

    if args.crop % 64:
        raise _Usage(f"--crop {args.crop} is not a multiple of 64")
    config = TrainConfig(
        arch=args.arch,
        config=args.config,
        lmbda=args.lmbda,
        alpha=args.alpha,
        data=args.data,
        val=args.val,
        steps=args.steps,
        out=args.out,
        batch_size=args.batch_size,
        crop=args.crop,
        lr=args.lr,
        val_every=args.val_every,
        save_every=args.save_every,
        seed=args.seed,
        threads=args.threads,
    )
    try:
        train(config, resume=args.resume, init=args.init, progress=not args.no_progress)
    except (FileNotFoundError, ValueError) as exc:
        raise _Usage(str(exc)) from exc
    return 0


class _Usage(Exception):
    pass


def _cmd_fetch_weights(args: argparse.Namespace) -> int:
    from licbench.api import WeightsFetchFailed, fetch_weights

    try:
        paths = fetch_weights(args.name, report=print)
    except WeightsFetchFailed as exc:
        print(f"licbench fetch-weights: {one_line(str(exc))}", file=sys.stderr)
        return 1
    where = sorted({str(p.parent) for p in paths})
    print(f"{args.name}: {len(paths)} file(s) in {', '.join(where) or '(none)'}")
    return 0


COMMANDS = {
    "run": _cmd_run,
    "fetch-weights": _cmd_fetch_weights,
    "report": _cmd_report,
    "roi": _cmd_roi,
    "check": _cmd_check,
    "compare": _cmd_compare,
    "codecs": _cmd_codecs,
    "datasets": _cmd_datasets,
    "references": _cmd_references,
    "train": _cmd_train,
}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so a run stops and cleans up as after Ctrl-C."""

    signum = signal.SIGTERM


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM raise once; another one while the run cleans up is ignored.

    The first signal stops the run (its workers are stopped, the store rolls back nothing it
    committed); a second one would only turn that clean-up into a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        raise _Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is not signal.SIG_IGN:  # started with SIGINT ignored: keep it
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _os_error(exc: OSError) -> str:
    """One line for a file that cannot be written or read (disk full, read-only, ...)."""
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return (
            f"{where}disk full (No space left on device); every finished job is in the store and "
            "no output is left half-written: free some space and run the same command again"
        )
    return f"{where}{exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from licbench.api import UsageError
    from licbench.bench.executors import ExecutorError
    from licbench.bench.runner import RunInterrupted
    from licbench.bench.store import StoreError
    from licbench.codecs.base import CodecSpecError
    from licbench.datasets import DatasetError
    from licbench.registry import RegistryError

    usage = (_Usage, UsageError, CodecSpecError, RegistryError, DatasetError, ExecutorError)
    try:
        with _interruptible():
            return COMMANDS[args.command](args)
    except (*usage, StoreError) as exc:
        print(f"licbench {args.command}: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"licbench {args.command}: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"licbench {args.command}: {one_line(_os_error(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        interrupted = RunInterrupted.of(exc, None, None)
        line = interrupted.message() if args.command == "run" else "interrupted"
        print(f"licbench {args.command}: {line}", file=sys.stderr)
        return 128 + interrupted.signum


def console() -> NoReturn:
    """The ``licbench`` command (its entry point): :func:`main`, then the process ends without
    the interpreter's teardown.

    Once torch is loaded, Python's teardown takes a second or more after the last line is
    printed (measured: 0.6 s after ``import torch``, 1.4 s after a CompressAI model, on a 2-CPU
    machine): every module's objects freed one by one and libtorch's operator registrations
    unwound, memory the kernel frees at once anyway. Here the atexit handlers still run
    (logging, multiprocessing, temporary folders) and the standard streams are flushed; only
    that freeing is skipped. :func:`main` itself returns, for callers in Python.
    """
    status = main()
    import atexit

    atexit._run_exitfuncs()  # (what a normal exit runs first; then only the teardown is left)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # (a closed pipe: nothing more to say there)
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    console()
