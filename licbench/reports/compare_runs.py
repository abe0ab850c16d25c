"""``licbench compare RUN [RUN ...] --out DIR``: one page (``compare.html``, and ``compare.json``)
for several runs on the same images: their curves overlaid, each run's BD-rates against a
baseline run with per-image intervals, and a timeline of BD-rate per codec when the runs are
ordered by time or git commit: the history view a CI pipeline keeps (xiph's AWCY, webm's
codec-compare).

Two BD-rates per run and codec, both against the **baseline run** (default: the first in the
order, ``--baseline`` to choose):

* *against the same codec in the baseline*: a build of one codec against the baseline's build
  (what ``licbench check`` gates); n/a when the baseline has no codec of that name;
* *against the baseline's anchor* (its ``--anchor``, or ``--anchor CODEC``): every codec of
  every run against one fixed curve, so different codecs and builds line up; the timeline
  plots this one.

Each has the mean of the per-image BD-rates with its 95% bootstrap interval (images paired by
content, as ``check`` pairs them). Runs on different datasets are refused exactly as ``check``
refuses them (:func:`licbench.reports.check.require_same_dataset`): exit 2, one line.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licbench.core.files import atomic_write
from licbench.reports.assets import script_json, scripts, styles
from licbench.reports.check import (
    CheckUsageError,
    keyed_by_content,
    load_summary,
    require_same_dataset,
)
from licbench.reports.html import for_readers
from licbench.reports.interactive import curve_data
from licbench.results.jsonsafe import json_safe
from licbench.results.summary import RunSummary

ORDERS = ("auto", "time", "commit", "given")


class CompareUsageError(CheckUsageError):
    """The runs cannot be compared as asked (exit status 2)."""


@dataclass
class Run:
    """One run as the page names it: its label, where it is, when and from which commit."""

    label: str
    path: Path
    summary: RunSummary
    #: run.json's creation time (ISO 8601), None when the folder has none
    created: str | None
    commit: str | None
    dirty: bool

    def describe(self) -> dict[str, Any]:
        codecs = self.summary.codecs
        return {
            "label": self.label,
            "path": str(self.path),
            "dataset": self.summary.dataset,
            "images": self.summary.images,
            "created": self.created,
            "commit": self.commit,
            "dirty": self.dirty,
            "anchor": self.summary.anchor,
            "codecs": {name: curve.version for name, curve in codecs.items()},
        }


def _created(summary_file: Path) -> str | None:
    try:
        found = json.loads((summary_file.parent / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = found.get("created") if isinstance(found, dict) else None
    return value if isinstance(value, str) else None


def load_runs(paths: list[str | Path], labels: list[str] | None = None) -> list[Run]:
    """Each run folder (or summary.json) read, labelled by its folder's name (made unique)."""
    if len(paths) < 1:
        raise CompareUsageError("give at least one run folder")
    if labels and len(labels) != len(paths):
        raise CompareUsageError(f"--label given {len(labels)} times for {len(paths)} runs")
    runs, used = [], set()
    for index, path in enumerate(paths):
        file, summary = load_summary(path)
        label = labels[index] if labels else file.parent.name or f"run{index + 1}"
        base, n = label, 2
        while label in used:
            label, n = f"{base} ({n})", n + 1
        used.add(label)
        git = summary.environment.get("git") or {}
        commit = git.get("commit") if isinstance(git, dict) else None
        runs.append(
            Run(
                label,
                file.parent,
                summary,
                _created(file),
                str(commit) if commit else None,
                bool(git.get("dirty")) if isinstance(git, dict) else False,
            )
        )
    return runs


def _commit_order(commits: list[str], repository: Path) -> dict[str, int]:
    """Each commit's position in ``repository``'s history (oldest first)."""
    done = subprocess.run(
        ["git", "-C", str(repository), "rev-list", "--topo-order", "--reverse", "--all"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CompareUsageError(
            f"--order commit needs the runs' git repository: {repository} is not one "
            "(run it there, or --order time)"
        )
    position = {sha: i for i, sha in enumerate(done.stdout.split())}
    unknown = sorted({c for c in commits if c not in position})
    if unknown:
        raise CompareUsageError(
            f"--order commit: commit {unknown[0][:12]} is not in the history of {repository} "
            "(fetch it, or --order time)"
        )
    return position


def order_runs(runs: list[Run], order: str, repository: Path | None = None) -> tuple[list, str]:
    """The runs in ``order`` and what that order is: ``time`` (run.json's creation time),
    ``commit`` (git history), ``given``, or ``auto`` (time when every run has one, else
    given)."""
    if order not in ORDERS:
        raise CompareUsageError(f"unknown --order {order!r}; choose from {', '.join(ORDERS)}")
    if order == "auto":
        order = "time" if all(r.created for r in runs) else "given"
    if order == "time":
        missing = [r.label for r in runs if not r.created]
        if missing:
            raise CompareUsageError(
                f"--order time: {missing[0]} has no run.json with its creation time"
            )
        return sorted(runs, key=lambda r: r.created or ""), order
    if order == "commit":
        missing = [r.label for r in runs if not r.commit]
        if missing:
            raise CompareUsageError(f"--order commit: {missing[0]} recorded no git commit")
        position = _commit_order([r.commit or "" for r in runs], repository or Path.cwd())
        return sorted(runs, key=lambda r: (position[r.commit or ""], r.created or "")), order
    return list(runs), order


def _bd(anchor_run: RunSummary, anchor: str, run: RunSummary, codec: str, metric: str, method,
        identities: tuple) -> dict[str, Any]:  # fmt: skip
    """BD-rate of ``run``'s ``codec`` against ``anchor_run``'s ``anchor`` curve, and the mean of
    the per-image BD-rates with its interval (images paired by content where both know it)."""
    from licbench.results.compare import compare
    from licbench.results.statistics import per_image_bd

    found: dict[str, Any] = {"value": None, "per_image_mean": None, "interval": None}
    bd = compare(anchor_run.codecs[anchor], run.codecs[codec], metric, method)
    found["warnings"] = list(bd.warnings)
    if bd.ok:
        found["value"] = bd.value
    else:
        found["error"] = bd.error or "; ".join(bd.warnings) or "the curves do not overlap"
    before, after = anchor_run.image_curves.get(anchor), run.image_curves.get(codec)
    if identities[0] is not None and identities[1] is not None:
        before, after = (
            keyed_by_content(before, identities[0]),
            keyed_by_content(after, identities[1]),
        )
    if before and after:
        stats = per_image_bd(before, after, metric, method, bd.value if bd.ok else math.nan)
        found["images"] = len(stats.values)
        if stats.values:
            found["per_image_mean"] = stats.mean
        if stats.mean_ci.ok:
            found["interval"] = stats.mean_ci.to_json()
    return found


def compare_runs(
    paths: list[str | Path],
    *,
    baseline: str | Path | None = None,
    anchor: str | None = None,
    metric: str = "psnr-rgb",
    order: str = "auto",
    labels: list[str] | None = None,
    repository: Path | None = None,
) -> dict[str, Any]:
    """Everything compare.json holds (and compare.html shows); :class:`CompareUsageError` (a
    :class:`~licbench.reports.check.CheckUsageError`) for exit status 2."""
    from licbench.results.series import higher_is_better

    if higher_is_better(metric) is None:
        raise CompareUsageError(f"unknown metric {metric!r}; use one of the runs' metrics")
    runs = load_runs(paths, labels)
    runs, order = order_runs(runs, order, repository)
    base = runs[0]
    if baseline is not None:
        wanted = load_summary(baseline)[0].parent.resolve()
        chosen = [r for r in runs if r.path.resolve() == wanted or r.label == str(baseline)]
        if not chosen:
            raise CompareUsageError(f"--baseline {baseline} is not one of the runs compared")
        base = chosen[0]
    anchor = anchor or base.summary.anchor
    if anchor not in base.summary.codecs:
        raise CompareUsageError(
            f"--anchor {anchor}: the baseline run {base.label} has no such codec "
            f"(it has {', '.join(base.summary.codecs)})"
        )
    identities = {}
    for run in runs:
        if run is base:
            continue
        try:
            identities[run.label] = require_same_dataset(base.summary, run.summary)[1]
        except CheckUsageError as exc:
            raise CompareUsageError(f"{run.label} against {base.label}: {exc}") from None
    method = base.summary.method
    rows = []
    for run in runs:
        pair = (base.summary.image_sha256(), run.summary.image_sha256())
        for codec in run.summary.codecs:
            row: dict[str, Any] = {"run": run.label, "codec": codec, "notes": []}
            if run is base and codec == anchor:
                row["against_anchor"] = {"value": 0.0, "per_image_mean": 0.0, "interval": None}
                row["notes"].append("the anchor")
            else:
                row["against_anchor"] = _bd(base.summary, anchor, run.summary, codec, metric,
                                            method, pair)  # fmt: skip
            if run is base:
                row["against_same"] = None
            elif codec in base.summary.codecs:
                row["against_same"] = _bd(base.summary, codec, run.summary, codec, metric,
                                          method, pair)  # fmt: skip
                before, after = (
                    base.summary.codecs[codec].version,
                    run.summary.codecs[codec].version,
                )
                if before != after:
                    row["notes"].append(f"version {before} → {after}")
            else:
                row["against_same"] = None
                row["notes"].append(f"not in the baseline run {base.label}")
            failed = run.summary.incomplete().get(codec)
            if failed:
                row["notes"].append(f"incomplete: failed on {failed.get('images')} image(s)")
            pairs = [("the same codec", row["against_same"])]
            if codec != anchor:  # (for the anchor both BD-rates are one comparison)
                pairs.append((anchor, row["against_anchor"]))
            for what, found in pairs:
                if found and found.get("error"):
                    row["notes"].append(f"against {what}: not computed ({found['error']})")
                row["notes"] += [f"against {what}: {w}" for w in (found or {}).get("warnings", [])]
            row["notes"] = [for_readers(note) for note in row["notes"]]
            rows.append(row)
    return json_safe(
        {
            "metric": metric,
            "method": method,
            "order": order,
            "baseline": base.label,
            "anchor": anchor,
            "runs": [run.describe() for run in runs],
            "rows": rows,
            "timeline": _timeline(runs, rows),
            "_curves": _curves(runs),
        }
    )


def _timeline(runs: list[Run], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per codec, its BD-rate against the baseline's anchor in each run (None where the run has
    no such codec), in run order."""
    labels = [r.label for r in runs]
    codecs = list(dict.fromkeys(row["codec"] for row in rows))
    series = {}
    for codec in codecs:
        found = {row["run"]: row["against_anchor"] for row in rows if row["codec"] == codec}
        series[codec] = [
            {
                "value": (found.get(label) or {}).get("value"),
                "interval": (found.get(label) or {}).get("interval"),
            }
            for label in labels
        ]
    return {"runs": labels, "codecs": series}


def _curves(runs: list[Run]) -> dict[str, Any]:
    """The runs' mean curves for the page (metric keys of every run)."""
    from licbench.reports.interactive import metric_keys

    keys: list[str] = []
    for run in runs:
        metrics = [m for m in _run_metrics(run.summary) if m]
        for key in metric_keys(run.summary, metrics):
            if key not in keys:
                keys.append(key)
    return {
        "keys": keys,
        "curves": [
            {"run": run.label, "codec": codec, "curve": curve_data(curve, keys)}
            for run in runs
            for codec, curve in run.summary.codecs.items()
        ],
    }


def _run_metrics(summary: RunSummary) -> list[str]:
    """The metrics a run's curves have (registered metrics; derived series follow from them)."""
    from licbench.metrics import METRICS

    found = {key for curve in summary.codecs.values() for key in curve.results}
    return [name for name in METRICS.names() if name in found]


def write_compare(result: dict[str, Any], out: Path) -> Path:
    """``out``/compare.html and ``out``/compare.json; the page's path."""
    from licbench.datasets.names import printable
    from licbench.reports.html import render
    from licbench.results import series as shown

    curves = result["_curves"]
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "compare.json", json.dumps(public, indent=1))
    data = {
        **{k: public[k] for k in ("metric", "baseline", "anchor", "order")},
        "runs": [r["label"] for r in public["runs"]],
        "metrics": [
            {
                "key": k,
                "label": shown.label(k),
                "digits": shown.digits(k),
                "lower": shown.higher_is_better(k) is False,
            }
            for k in curves["keys"]
        ],  # fmt: skip
        "curves": curves["curves"],
        "timeline": public["timeline"],
    }
    page = render(
        "compare.html.j2",
        {
            "result": public,
            "data": script_json(data),
            "scripts": scripts("compare.js"),
            "styles": styles(),
            "fmt": _fmt,
            "short_commit": short_commit,
        },
    )
    atomic_write(out / "compare.html", printable(page))
    return out / "compare.html"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:+.{digits}f}"


def short_commit(commit: str | None) -> str:
    return commit[:10] if commit and re.fullmatch(r"[0-9a-f]{7,64}", commit) else (commit or "")


__all__ = [
    "ORDERS",
    "CompareUsageError",
    "Run",
    "compare_runs",
    "load_runs",
    "order_runs",
    "short_commit",
    "write_compare",
]
