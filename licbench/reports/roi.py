"""Return on investment: what a codec switch saves in storage and bandwidth, for management.

Everything is computed from a finished run's summary.json plus a handful of business inputs, and
every number from the run is cited by its place in summary.json, so a reader can check it.

The model, per codec C against the anchor A (both measured in the run):

* ``BD`` = BD-rate of C against A in percent, on one quality metric: the average difference in
  bytes needed *for the same quality*, over the quality range both codecs reach (negative: C
  needs fewer bytes). With images of mean size ``M`` MB at A's rate, the same images with C
  average ``M × (1 + BD/100)`` MB; each saves ``M × (−BD/100)`` MB.
* ``N`` images are added per month. Monthly new data saved: ``S = N × M × (−BD/100) / 1000`` GB.
* Storage: images are kept, so stored data accumulates: at month k the store holds k months of
  images and saves ``k × S`` GB, worth ``k × S × price per GB-month``. The first year saves
  ``(1 + 2 + … + 12) × S = 78 × S`` GB-months.
* Egress (bandwidth): each image is delivered ``D`` times (default 1), in the month it is added;
  each month saves ``D × S`` GB of transfer, worth ``D × S × price per GB``; a year is 12 months.
* 1 GB = 1000 MB (decimal units, as cloud price lists use).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from licbench.core.files import atomic_write
from licbench.metrics.derived import bd_series
from licbench.reports.roi_compute import (
    DEFAULT_CPU_HOUR_COST,
    DEFAULT_GPU_HOUR_COST,
    break_even_month,
    compute_cost,
)
from licbench.results.compare import compare
from licbench.results.jsonsafe import json_safe
from licbench.results.series import higher_is_better, label
from licbench.results.summary import RunSummary

MONTHS = 12
#: storage GB-months saved in the first year per GB of monthly new data: 1 + 2 + … + 12
FIRST_YEAR_STORAGE_FACTOR = MONTHS * (MONTHS + 1) // 2


class ROIUsageError(ValueError):
    """Inputs that cannot make an estimate (missing value, missing run, unknown codec)."""


@dataclass
class ROIInputs:
    run: str | None = None
    anchor: str | None = None
    images_per_month: float | None = None
    mean_image_mb: float | None = None
    storage_cost_per_gb_month: float | None = None
    egress_cost_per_gb: float | None = None
    deliveries_per_image: float = 1.0
    cpu_hour_cost: float = DEFAULT_CPU_HOUR_COST
    gpu_hour_cost: float = DEFAULT_GPU_HOUR_COST
    metric: str = "psnr-rgb"
    currency: str = "USD"
    out: str | None = None

    REQUIRED = (
        "run",
        "images_per_month",
        "mean_image_mb",
        "storage_cost_per_gb_month",
        "egress_cost_per_gb",
    )


_NUMBERS = {
    "images_per_month",
    "mean_image_mb",
    "storage_cost_per_gb_month",
    "egress_cost_per_gb",
    "deliveries_per_image",
    "cpu_hour_cost",
    "gpu_hour_cost",
}

_TEXTS = {"run", "anchor", "metric", "currency", "out"}


def load_config(path: str | Path) -> dict[str, Any]:
    """ROI inputs from a TOML file: top-level keys, or a ``[roi]`` table; ``-`` or ``_``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ROIUsageError(f"{path}: no such config file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ROIUsageError(f"{path}: not a readable TOML file ({exc})") from exc
    if isinstance(data.get("roi"), dict):
        data = data["roi"]
    known = {f.name for f in fields(ROIInputs)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ROIUsageError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        values[name] = value
    return values


def merge_inputs(config: dict[str, Any] | None, cli: dict[str, Any]) -> tuple[ROIInputs, dict]:
    """Inputs from TOML overridden by the command line; also where each value came from."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, given in (("config file", config or {}), ("command line", cli)):
        for key, value in given.items():
            if value is not None:
                values[key] = value
                origin[key] = source
    for key in _NUMBERS:
        if key in values:
            try:
                if isinstance(values[key], bool):  # float(true) would be a silent 1.0
                    raise TypeError
                values[key] = float(values[key])
            except (TypeError, ValueError):
                raise ROIUsageError(f"{key} must be a number, got {values[key]!r}") from None
            if not math.isfinite(values[key]) or values[key] < 0:
                raise ROIUsageError(
                    f"{key} must be a finite, non-negative number, got {values[key]!r}"
                )
    for key in _TEXTS:  # a TOML number or list where a path or name belongs
        if key in values and not isinstance(values[key], str):
            raise ROIUsageError(f"{key} must be a string, got {values[key]!r}")
    missing = [k for k in ROIInputs.REQUIRED if values.get(k) is None]
    if missing:
        flags = ", ".join("--" + k.replace("_", "-") for k in missing)
        raise ROIUsageError(f"missing {flags} (give them on the command line or in --config)")
    inputs = ROIInputs(**values)
    for f in fields(ROIInputs):
        origin.setdefault(f.name, "default")
    return inputs, origin


def _cite(path: list[str], value: Any) -> dict[str, Any]:
    return {"where": "summary.json → " + " → ".join(path), "value": value}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def estimate(inputs: ROIInputs, origin: dict[str, str] | None = None) -> dict[str, Any]:
    """The whole estimate as a JSON-able dict (also what the HTML page shows).

    ``origin`` says where each input came from (command line, config file, default).
    """
    run = Path(inputs.run or "")
    file = run / "summary.json" if run.is_dir() else run
    if not file.is_file():
        raise ROIUsageError(f"{run}: no summary.json there; give a licbench run folder")
    raw = file.read_bytes()
    try:
        summary = RunSummary.from_json(json.loads(raw), str(file))
    except (ValueError, RecursionError) as exc:  # SummaryError, not JSON, absurdly deep
        raise ROIUsageError(f"{file}: not a readable summary.json ({exc})") from None
    bd = summary.bd_rate
    anchor = inputs.anchor or bd.anchor
    if anchor not in summary.codecs:
        raise ROIUsageError(
            f"anchor {anchor!r} is not in the run (codecs: {', '.join(summary.codecs)})"
        )
    metric = inputs.metric
    if higher_is_better(metric) is None:
        raise ROIUsageError(f"unknown metric {metric!r}; use one of the run's, e.g. psnr-rgb")
    curve = bd_series(metric)
    method = bd.method
    M = inputs.mean_image_mb
    N = inputs.images_per_month
    D = inputs.deliveries_per_image
    X = inputs.storage_cost_per_gb_month
    Y = inputs.egress_cost_per_gb

    def decode_facts(codec: str) -> dict[str, Any]:
        row = summary.latency.get(codec)
        facts: dict[str, Any] = {"sources": {}}
        if row is None:
            facts.update(
                decode_median_s=None,
                device="cpu",
                gpu_needed=False,
                decoder_kmac_per_pixel=summary.decoder_kmac_per_pixel(codec),
                decode_peak_memory_mb=None,
            )
            facts["sources"]["device"] = {
                "where": f"summary.json has no latency entry for {codec}: assumed cpu",
                "value": "cpu",
            }
            return facts
        if _finite(row.decode_median_s):
            facts["decode_median_s"] = row.decode_median_s
            facts["sources"]["decode_median_s"] = _cite(
                ["latency", codec, "decode_median_s"], row.decode_median_s
            )
        else:
            facts["decode_median_s"] = None
        facts["device"] = row.device
        facts["gpu_needed"] = row.gpu
        facts["sources"]["device"] = _cite(["latency", codec, "device"], row.device)
        kmac = summary.decoder_kmac_per_pixel(codec)
        facts["decoder_kmac_per_pixel"] = kmac
        memory = ((summary.complexity.get(codec) or {}).get("peak_memory") or {}).get("decode")
        peak = memory.get("peak_rss_mb") if isinstance(memory, dict) else None
        facts["decode_peak_memory_mb"] = peak if _finite(peak) else None
        if facts["decode_peak_memory_mb"] is not None:
            facts["sources"]["decode_peak_memory_mb"] = _cite(
                ["complexity", codec, "peak_memory", "decode", "peak_rss_mb"], peak
            )
        if kmac is not None:
            facts["sources"]["decoder_kmac_per_pixel"] = _cite(
                ["complexity", codec, "kmac_per_pixel", "decoder"], kmac
            )
        return facts

    def savings(bd_value: float) -> dict[str, float]:
        """Storage and bandwidth saved at a BD-rate of ``bd_value`` % (see the module doc)."""
        saved_mb = M * (-bd_value / 100.0)
        monthly_gb = N * saved_mb / 1000.0
        money = {
            "size_ratio": 1.0 + bd_value / 100.0,
            "mean_image_mb": M * (1.0 + bd_value / 100.0),
            "saved_mb_per_image": saved_mb,
            "new_data_saved_gb_per_month": monthly_gb,
            "storage_saving_month_1": monthly_gb * X,
            "storage_saving_month_12": MONTHS * monthly_gb * X,
            "storage_saving_year_1": FIRST_YEAR_STORAGE_FACTOR * monthly_gb * X,
            "egress_gb_saved_per_month": D * monthly_gb,
            "egress_saving_per_month": D * monthly_gb * Y,
            "egress_saving_year_1": MONTHS * D * monthly_gb * Y,
        }
        money["total_saving_year_1"] = (
            money["storage_saving_year_1"] + money["egress_saving_year_1"]
        )
        return money

    prices = (inputs.cpu_hour_cost, inputs.gpu_hour_cost)
    anchor_compute = compute_cost(summary.latency.get(anchor), *prices)

    def net_of_compute(entry: dict[str, Any], codec: str, interval: Any) -> dict[str, Any]:
        """The compute the switch adds per month, and the saving left after paying for it."""
        cost = compute_cost(summary.latency.get(codec), *prices)
        mine, theirs = cost.per_month(N, D), anchor_compute.per_month(N, D)
        out: dict[str, Any] = {
            "device": "gpu" if cost.gpu else "cpu",
            "price_per_hour": cost.price_per_hour,
            "compute_per_month": mine,
            "anchor_compute_per_month": theirs,
        }
        if mine is None or theirs is None or not entry["estimable"]:
            out["estimable"] = False
            return out
        extra = mine - theirs
        out.update(
            estimable=True,
            extra_compute_per_month=extra,
            net_saving_year_1=entry["total_saving_year_1"] - MONTHS * extra,
        )
        out["net_saving_year_1_interval"] = None
        month = break_even_month(
            entry["storage_saving_month_1"], entry["egress_saving_per_month"], extra
        )
        out["break_even_month"] = month
        out["break_even_stored_gb"] = (
            month * N * entry["mean_image_mb"] / 1000.0 if month is not None else None
        )
        if interval is not None:
            out["net_saving_year_1_interval"] = [
                savings(interval.high)["total_saving_year_1"] - MONTHS * extra,
                savings(interval.low)["total_saving_year_1"] - MONTHS * extra,
            ]
        return out

    anchor_decode = decode_facts(anchor)
    codecs: dict[str, Any] = {}
    for codec in summary.codecs:
        if codec == anchor:
            continue
        entry: dict[str, Any] = {"codec": codec, "sources": {}}
        entry["warnings"] = bd.warnings_for(codec, metric)
        for name in (codec, anchor):  # a codec that fails on some images cannot replace another
            failed = summary.incomplete().get(name)
            if failed:
                entry["warnings"].append(
                    f"{name} is incomplete: it failed on {failed['images']} image(s) of the run; "
                    "the estimate covers only the images every codec decoded, and the images it "
                    "failed on would have to stay in the old format"
                )
        comparison = compare(summary.codecs[anchor], summary.codecs[codec], metric, method)
        stored = bd.value(metric, codec) if bd.anchor == anchor else None
        if stored is not None:
            value = stored
            entry["sources"]["bd_rate_percent"] = _cite(["bd_rate", metric, codec], value)
        else:
            value = comparison.value if comparison.ok else None
            entry["warnings"].extend(f"{codec} {metric}: {m}" for m in comparison.messages())
            entry["sources"]["bd_rate_percent"] = {
                "where": f"computed by licbench.bd_rate({method}) from summary.json → codecs → "
                f"{anchor} → results and codecs → {codec} → results ({curve} against bpp)",
                "value": value,
            }
        entry["bd_rate_percent"] = float(value) if _finite(value) else None
        overlap = comparison.overlap
        entry["quality_range"] = list(overlap) if overlap else None
        if entry["quality_range"]:
            entry["sources"]["quality_range"] = {
                "where": f"summary.json → codecs → {anchor}/{codec} → results → {curve}: "
                "the range both curves reach",
                "value": entry["quality_range"],
            }
        bd_value = entry["bd_rate_percent"]
        entry["estimable"] = bd_value is not None
        if bd_value is not None:
            entry.update(savings(bd_value))
        stats = summary.bd_rate.statistics(metric, codec)
        interval = stats.mean_ci if stats is not None and stats.mean_ci.ok else None
        entry["bd_rate_interval"] = interval.to_json() if interval else None
        entry["total_saving_year_1_interval"] = None
        if interval is not None and entry["estimable"]:
            entry["bd_rate_interval_of"] = (
                f"the mean of {len(stats.values)} per-image BD-rates, 95% {stats.interval} "
                f"bootstrap interval over images ({stats.resamples} resamples, seed {stats.seed})"
            )
            entry["sources"]["bd_rate_interval"] = _cite(
                ["bd_rate", "per_image", metric, codec, "mean_ci"], entry["bd_rate_interval"]
            )
            entry["total_saving_year_1_interval"] = [
                savings(interval.high)["total_saving_year_1"],
                savings(interval.low)["total_saving_year_1"],
            ]
        entry["compute"] = net_of_compute(entry, codec, interval)
        decode = decode_facts(codec)
        entry["decode"] = decode
        if (
            _finite(decode.get("decode_median_s"))
            and _finite(anchor_decode.get("decode_median_s"))
            and anchor_decode["decode_median_s"] > 0
        ):
            entry["decode_vs_anchor"] = decode["decode_median_s"] / anchor_decode["decode_median_s"]
        else:
            entry["decode_vs_anchor"] = None
        codecs[codec] = entry

    environment = summary.environment
    return {
        "run": str(file.parent),
        "summary": str(file),
        "summary_sha256": hashlib.sha256(raw).hexdigest(),
        "dataset": summary.dataset,
        "images_in_run": summary.images,
        "machine": {"cpu": environment.get("cpu"), "platform": environment.get("platform")},
        "anchor": anchor,
        "anchor_decode": anchor_decode,
        "metric": metric,
        "metric_label": label(curve),
        "method": method,
        "currency": inputs.currency,
        "inputs": {
            "images_per_month": N,
            "mean_image_mb": M,
            "storage_cost_per_gb_month": X,
            "egress_cost_per_gb": Y,
            "deliveries_per_image": D,
            "cpu_hour_cost": inputs.cpu_hour_cost,
            "gpu_hour_cost": inputs.gpu_hour_cost,
        },
        "chart": saving_chart(codecs, inputs.currency),
        "input_sources": dict(origin or {}),
        "codecs": codecs,
        "assumptions": assumptions(inputs, anchor, label(curve), method, summary),
    }


def assumptions(
    inputs: ROIInputs, anchor: str, label: str, method: str, summary: RunSummary
) -> list[str]:
    M, N, D = inputs.mean_image_mb, inputs.images_per_month, inputs.deliveries_per_image
    return [
        f"“Same quality” means the same {label}. Other quality measures (or people) may judge "
        "the codecs differently.",
        f"The size difference is the BD-rate ({method} interpolation) against {anchor}: an "
        "average over the quality range that both codecs reach in this run (shown per codec), "
        "not a promise for every image or every quality setting.",
        f"The savings apply to your mean image size of {M:g} MB, taken to be the size of your "
        f"images encoded with {anchor} at the quality you use, and that quality lies within "
        "the range above.",
        f"The run's images ({summary.dataset}, {summary.images} images) are "
        "taken to be representative of yours.",
        f"Storage: {N:,.0f} new images are stored every month and kept; stored data accumulates, "
        "so the saving in month k is k months' worth of images, and the first year adds up "
        f"months 1 to 12 ({FIRST_YEAR_STORAGE_FACTOR} months' worth of new images).",
        f"Egress (bandwidth): each image is delivered {D:g} time(s) on average, all in the month "
        "it is added; "
        "deliveries of older images are not counted. A year is 12 equal months.",
        "1 GB = 1000 MB (decimal units, as cloud price lists use); prices are per GB stored per "
        "month and per GB delivered.",
        f"Compute: every new image is encoded once and every delivery decoded once, at the run's "
        f"median times, priced at {inputs.currency} {inputs.cpu_hour_cost:g} per CPU-hour and "
        f"{inputs.currency} {inputs.gpu_hour_cost:g} per GPU-hour (the device each codec ran on; "
        f"defaults {DEFAULT_CPU_HOUR_COST:g} and {DEFAULT_GPU_HOUR_COST:g} unless you gave "
        "yours); one process per core, no batching. Set the prices to 0 for decoding your "
        "clients pay for on their own devices.",
        "The interval beside a saving is the saving at either end of the 95% bootstrap interval "
        "of the per-image mean BD-rate: how much the figure could move on other, similar images.",
        "Not counted: re-encoding images you already have, support for the new format in "
        "viewers and browsers, CDN or caching effects, engineering time.",
        "Decode latency is the median over every image and quality of the run, measured on the "
        f"run's machine ({summary.environment.get('cpu', 'unknown CPU')}); it "
        "grows with image size and differs on other hardware.",
    ]


def render(result: dict[str, Any]) -> str:
    import jinja2

    from licbench.reports.html import _environment

    environment: jinja2.Environment = _environment()
    environment.filters["money"] = _money
    environment.filters["grouped"] = lambda v: f"{v:,.0f}" if _finite(v) else "n/a"
    return environment.get_template("roi.html.j2").render(**result)


def _money(value: Any) -> str:
    if not _finite(value):
        return "n/a"
    return f"{abs(value):,.2f}"


def write(result: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "roi.json", out / "roi.html"
    atomic_write(json_path, json.dumps(json_safe(result), indent=1))
    atomic_write(html_path, render(result))
    return html_path, json_path


__all__ = [
    "ROIInputs",
    "ROIUsageError",
    "estimate",
    "load_config",
    "merge_inputs",
    "render",
    "write",
]


def saving_chart(codecs: dict[str, Any], currency: str) -> str | None:
    """Net first-year saving per codec, with its interval as an error bar: a data URI."""
    rows = [
        (name, entry["compute"]) for name, entry in codecs.items() if entry["compute"]["estimable"]
    ]
    if not rows:
        return None
    from licbench.reports.plots import figure_uri, plt

    figure, axes = plt.subplots(figsize=(7, 0.6 + 0.5 * len(rows)), dpi=110)
    for row, (_, compute) in enumerate(rows):
        value = compute["net_saving_year_1"]
        axes.barh(row, value, color="#0a6b2e" if value >= 0 else "#a31515")
        low_high = compute.get("net_saving_year_1_interval")
        if low_high:
            axes.plot(low_high, [row, row], color="black")
    axes.axvline(0.0, color="grey", linewidth=0.8)
    axes.set_yticks(range(len(rows)), [name.replace("$", r"\$") for name, _ in rows])
    axes.set_xlabel(f"first-year saving net of compute ({currency}); bar: 95% interval")
    axes.grid(True, axis="x", alpha=0.3)
    figure.tight_layout()
    return figure_uri(figure)
