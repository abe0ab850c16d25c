"""CI gate: compare a candidate run with a baseline run, codec by codec, on deterministic numbers.

For every codec label present in both runs' summary.json:

* **BD-rate** (%) of the candidate's RD curve against the baseline's curve of the same codec, on
  one quality metric (default ``psnr-rgb``; MS-SSIM on its dB scale), with the baseline run's
  interpolation method. Positive means the candidate needs more bits for the same quality.
* **bpp at equal quality setting**: for each quality setting present in both curves, the relative
  bpp change ``100 * (bpp_candidate / bpp_baseline - 1)``; the maximum over settings is gated.

A codec fails when its BD-rate exceeds ``max_bd_rate`` or its largest bpp increase exceeds
``max_bpp_increase`` (both in percent), when its BD-rate cannot be computed (the gate never
passes a codec it could not measure), when it failed on more images than in the baseline,
or when more of its bitstreams failed ``--decode-check``
(another numeric setup decoded them to something else) in the candidate than in the baseline.
Timings are never gated: they depend on the machine.
Exit status of ``licbench check``: 0 pass, 1 regression, 2 usage error (missing files, no codec
in common, unknown metric, a metric the baseline has no value of, a summary that is not one).

**Per group.** When both runs' images sit in the same subfolder groups (summary.json's
``groups``: the same groups, each of the same images), every group is gated too, with the same
limits: BD-rate of the group's mean curve, bpp at equal quality, the interval with
``gate_on_interval``. A codec that regresses on one group only (screenshots) fails, naming the
group, even when the whole set's average hides it. That is the default because a CI user who
sorted images into groups asked where a codec wins; ``per_group=False`` turns it off, and
``per_group=True`` demands it (exit 2 when the runs have no common groups to compare).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from licbench.core.files import atomic_write
from licbench.core.text import terminal_safe, xml_safe
from licbench.metrics.derived import bd_series
from licbench.results.jsonsafe import json_safe
from licbench.results.series import higher_is_better
from licbench.results.summary import RunSummary, SummaryError

DEFAULT_MAX_BD_RATE = 0.5
DEFAULT_MAX_BPP_INCREASE = 1.0
DEFAULT_METRIC = "psnr-rgb"


class CheckUsageError(ValueError):
    """The comparison cannot be made as asked (exit status 2)."""


def load_summary(path: str | Path) -> tuple[Path, RunSummary]:
    """A run folder or a summary.json file → (the summary.json path, its summary)."""
    try:
        return RunSummary.load(path)
    except SummaryError as exc:
        raise CheckUsageError(str(exc)) from None


@dataclass
class CodecCheck:
    codec: str
    passed: bool = True
    bd_rate: float | None = None
    bd_rate_error: str | None = None
    #: per quality setting present in both: baseline bpp, candidate bpp, change in %
    bpp_changes: list[dict[str, float]] = field(default_factory=list)
    max_bpp_increase: float | None = None
    max_bpp_increase_quality: float | None = None
    baseline_version: str | None = None
    candidate_version: str | None = None
    #: the mean of the per-image BD-rates (candidate's image curve against the baseline's)
    bd_rate_per_image_mean: float | None = None
    #: its 95% bootstrap interval over images, [low, high] (None without per-image curves)
    bd_rate_interval: list[float] | None = None
    #: bitstreams that failed ``--decode-check``: baseline, candidate (None: not checked)
    decode_check_failed: list[int | None] = field(default_factory=lambda: [None, None])
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: group → the same comparison on the group's images (empty: not gated per group)
    groups: dict[str, GroupCheck] = field(default_factory=dict)

    def message(self) -> str:
        return "; ".join(self.failures) if self.failures else "ok"


@dataclass
class GroupCheck:
    """One codec on one group of images: its group curves compared as the codec's are."""

    group: str
    images: int
    passed: bool = True
    bd_rate: float | None = None
    bd_rate_error: str | None = None
    bpp_changes: list[dict[str, float]] = field(default_factory=list)
    max_bpp_increase: float | None = None
    max_bpp_increase_quality: float | None = None
    bd_rate_per_image_mean: float | None = None
    bd_rate_interval: list[float] | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    baseline: str
    candidate: str
    metric: str
    curve: str
    method: str
    max_bd_rate: float
    max_bpp_increase: float
    gate_on_interval: bool
    codecs: list[CodecCheck]
    only_in_baseline: list[str]
    only_in_candidate: list[str]
    #: the groups gated (empty: none) and why groups were not, where the runs have some
    per_group: list[str] = field(default_factory=list)
    group_notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.codecs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["codecs"] = {c.codec: {**asdict(c), "message": c.message()} for c in self.codecs}
        return json_safe(data)


def compare(
    baseline: str | Path,
    candidate: str | Path,
    *,
    metric: str = DEFAULT_METRIC,
    max_bd_rate: float = DEFAULT_MAX_BD_RATE,
    max_bpp_increase: float = DEFAULT_MAX_BPP_INCREASE,
    method: str | None = None,
    gate_on_interval: bool = False,
    per_group: bool | None = None,
) -> CheckResult:
    """Compare two runs codec by codec; raises :class:`CheckUsageError` for exit status 2.

    With ``gate_on_interval`` a BD-rate fails only when the whole 95% interval of the per-image
    mean lies above ``max_bd_rate`` (its low end crosses it): a regression the images cannot
    explain as noise. Without per-image curves in both runs, the point value is gated.
    ``per_group``: gate each group of images too; None (default) when both runs have the same
    groups, True to demand it (usage error when they have not), False never.
    """
    from licbench.results.compare import compare as compare_curves  # (scipy: only when comparing)
    from licbench.results.statistics import per_image_bd, subset

    for name, limit in (("max_bd_rate", max_bd_rate), ("max_bpp_increase", max_bpp_increase)):
        # no comparison with NaN is true, so a NaN limit would pass any regression
        if not isinstance(limit, int | float) or not math.isfinite(limit):
            raise CheckUsageError(f"{name} must be a finite number of percent, got {limit!r}")
    base_file, base = load_summary(baseline)
    cand_file, cand = load_summary(candidate)
    curve = bd_series(metric)
    if higher_is_better(metric) is None:
        raise CheckUsageError(
            f"unknown metric {metric!r}: its direction (higher or lower is better) is not "
            "registered; use one of the run's metrics, e.g. psnr-rgb or ms-ssim-rgb"
        )
    method = method or base.method
    by_content, identities = require_same_dataset(base, cand)
    common = [c for c in base.codecs if c in cand.codecs]
    if not common:
        raise CheckUsageError(
            f"no codec in common: baseline has {sorted(base.codecs)}, "
            f"candidate has {sorted(cand.codecs)}"
        )
    _baseline_has(base, base_file, [base.codecs[c] for c in common], metric, curve)
    groups, group_notes = _paired_groups(base, cand, by_content, per_group)
    limits = (metric, method, max_bd_rate, max_bpp_increase, gate_on_interval)
    checks = []
    for codec in common:
        b_curve, c_curve = base.codecs[codec], cand.codecs[codec]
        check = CodecCheck(
            codec, baseline_version=b_curve.version, candidate_version=c_curve.version
        )
        if check.baseline_version != check.candidate_version:
            check.notes.append(
                f"codec version changed: {check.baseline_version} -> {check.candidate_version}"
            )
        bd = compare_curves(b_curve, c_curve, metric, method)
        check.notes.extend(bd.warnings)
        b_images, c_images = base.image_curves.get(codec), cand.image_curves.get(codec)
        if by_content:
            b_images, c_images = (
                keyed_by_content(b_images, identities[0]),
                keyed_by_content(c_images, identities[1]),
            )
        stats = None
        if b_images and c_images:
            stats = per_image_bd(b_images, c_images, metric, method, bd.value)
        elif gate_on_interval:
            check.notes.append("no per-image curves in both runs: the point BD-rate is gated")
        _gate_rate(check, bd, stats, b_curve, c_curve, limits)
        _gate_failures(check, base.incomplete().get(codec), cand.incomplete().get(codec))
        _gate_decode_check(check, base.decode_check, cand.decode_check)
        for group, members in groups.items():
            found = [run.groups[group].codecs.get(codec) for run in (base, cand)]
            if found[0] is None or found[1] is None:
                check.notes.append(f"group {group}: no curve in both runs, not compared")
                continue
            group_check = GroupCheck(group, len(members))
            group_bd = compare_curves(found[0], found[1], metric, method)
            group_check.notes.extend(group_bd.warnings)
            group_stats = subset(stats, members, group_bd.value) if stats else None
            if not any(c.has(curve) for c in found):  # e.g. MS-SSIM on thumbnails
                group_check.notes.append(f"{metric} is undefined for every image of the group")
            else:
                _gate_rate(group_check, group_bd, group_stats, *found, limits)
            group_check.passed = not group_check.failures
            check.failures.extend(f"group {group}: {f}" for f in group_check.failures)
            check.groups[group] = group_check
        check.passed = not check.failures
        checks.append(check)
    return CheckResult(
        baseline=str(base_file),
        candidate=str(cand_file),
        metric=metric,
        curve=curve,
        method=method,
        max_bd_rate=max_bd_rate,
        max_bpp_increase=max_bpp_increase,
        gate_on_interval=gate_on_interval,
        codecs=checks,
        only_in_baseline=[c for c in base.codecs if c not in cand.codecs],
        only_in_candidate=[c for c in cand.codecs if c not in base.codecs],
        per_group=list(groups),
        group_notes=group_notes,
    )


def _baseline_has(
    base: RunSummary, where: Path, curves: list[Any], metric: str, series: str
) -> None:
    """A usage error when the baseline has no value of ``metric`` for any codec in common.

    The question asked cannot be answered: that is exit 2, never exit 1 ("regression"), which
    a CI pipeline reads as the candidate's fault. A candidate without the metric stays a
    failure of its codecs: the baseline had it, the candidate lost it.
    """
    if any(curve.has(series) for curve in curves):
        return
    measured = sorted(
        {k for c in base.codecs.values() for k in c.results if higher_is_better(k) is not None}
    )
    recorded = any(series in c.results for c in curves)
    why = "has no finite value of it" if recorded else "did not measure it"
    raise CheckUsageError(
        f"--metric {metric}: the baseline {where} {why}; its metrics: "
        f"{', '.join(measured) or 'none'} (choose one, or make a baseline that measures "
        f"{metric})"
    )


def _gate_rate(
    check: CodecCheck | GroupCheck,
    bd: Any,
    stats: Any,
    b_curve: Any,
    c_curve: Any,
    limits: tuple[str, str, float, float, bool],
) -> None:
    """The BD-rate (``bd``, with the per-image ``stats`` for its interval) and the bpp at equal
    quality of ``c_curve`` against ``b_curve``, gated by ``limits`` (metric, method, largest
    BD-rate, largest bpp increase, gate on the interval); what fails goes to ``check``."""
    metric, method, max_bd_rate, max_bpp_increase, gate_on_interval = limits
    interval = None
    if stats is not None:
        if stats.values:
            check.bd_rate_per_image_mean = stats.mean
        if stats.mean_ci.ok:
            interval = stats.mean_ci
            check.bd_rate_interval = interval.to_json()
    if not bd.ok:
        check.bd_rate_error = bd.error or ("; ".join(bd.warnings) or "no overlapping quality range")
        check.failures.append(f"BD-rate ({metric}) cannot be computed: {check.bd_rate_error}")
    else:
        check.bd_rate = bd.value
        if gate_on_interval and interval is not None:
            if interval.low > max_bd_rate:
                check.failures.append(
                    f"BD-rate ({metric}, {method}): the 95% interval of the per-image mean "
                    f"{interval} lies above {max_bd_rate:+.3f}% allowed"
                )
        elif bd.value > max_bd_rate:
            check.failures.append(
                f"BD-rate ({metric}, {method}) {bd.value:+.3f}% > {max_bd_rate:+.3f}% allowed"
            )
    b_points, c_points = b_curve.bpp_by_quality(), c_curve.bpp_by_quality()
    for quality in sorted(set(b_points) & set(c_points)):
        before, after = b_points[quality], c_points[quality]
        change = (after / before - 1.0) * 100.0 if before > 0 else math.inf
        check.bpp_changes.append(
            {"quality": quality, "baseline": before, "candidate": after, "change": change}
        )
    if check.bpp_changes:
        worst = max(check.bpp_changes, key=lambda p: p["change"])
        check.max_bpp_increase = worst["change"]
        check.max_bpp_increase_quality = worst["quality"]
        if worst["change"] > max_bpp_increase:
            check.failures.append(
                f"bpp at quality {worst['quality']:g} grew {worst['change']:+.3f}% "
                f"({worst['baseline']:.5f} -> {worst['candidate']:.5f}) > "
                f"{max_bpp_increase:+.3f}% allowed"
            )
    else:
        check.notes.append("no quality setting in common: bpp at equal quality not compared")


def _paired_groups(
    base: RunSummary, cand: RunSummary, by_content: bool, wanted: bool | None
) -> tuple[dict[str, set[str]], list[str]]:
    """The groups to gate, each with its images as the per-image statistics key them (sha256
    when both runs recorded their images, else names), and why groups are not gated.

    Groups are gated when both runs have the same groups of the same images: a group whose
    images moved between folders is another group. ``wanted`` None: that is the default;
    True: anything else is a usage error; False: never.
    """
    from licbench.results.groups import group_of

    if wanted is False or not (base.groups or cand.groups or wanted):
        return {}, []
    members: list[dict[str, set[str]]] = []
    for run in (base, cand):
        names = run.image_sha256() if by_content else None
        keys = names or {n: n for per in run.image_curves.values() for n in per}
        found: dict[str, set[str]] = {group: set() for group in run.groups}
        for name, key in keys.items():
            found.setdefault(group_of(name), set()).add(key)
        members.append({g: found[g] for g in run.groups})
    if members[0] and members[0] == members[1]:
        return members[0], []
    if not members[0] or not members[1]:
        which = "neither run has" if not (members[0] or members[1]) else "only one run has"
        why = f"not gated per group: {which} groups of images (subfolders)"
    else:
        differ = sorted(
            g for g in set(members[0]) | set(members[1]) if members[0].get(g) != members[1].get(g)
        )
        why = f"not gated per group: the runs' groups differ ({', '.join(differ)})"
    if wanted:
        raise CheckUsageError(why.replace("not gated per group: ", "cannot gate per group: "))
    return {}, [why]


def require_same_dataset(
    base: RunSummary, cand: RunSummary
) -> tuple[bool, tuple[dict[str, str] | None, dict[str, str] | None]]:
    """Refuse (:class:`CheckUsageError`, exit 2) two runs on different images; whether their
    images pair by content (both summaries recorded them: name → sha256, returned), or only by
    name (a summary written before runs recorded their images). ``check`` and ``compare`` both
    ask this."""
    identities = base.image_sha256(), cand.image_sha256()
    by_content = None not in identities
    if by_content:
        _same_dataset(base, cand, *identities)  # type: ignore[arg-type]
    return by_content, identities


def _same_dataset(
    base: RunSummary, cand: RunSummary, before: dict[str, str], after: dict[str, str]
) -> None:
    """Refuse (exit 2) two runs on different images (``before``/``after``: name → sha256):
    their curves are not comparable.

    Images are identified by content, so a renamed file is the same image and two different
    files under one name are not. (Summaries written before runs recorded their images are
    compared as before, by name.)
    """
    old, new = set(before.values()), set(after.values())
    if old != new:
        raise CheckUsageError(
            f"different datasets: the baseline ({base.dataset}) has {len(old)} distinct images, "
            f"the candidate ({cand.dataset}) {len(new)}, {len(old & new)} in common; compare "
            "runs on the same images"
        )


def keyed_by_content(curves: dict | None, names: dict[str, str]) -> dict | None:
    """Per-image curves keyed by the image's sha256 (``names``: name → sha256), so a baseline
    and a candidate pair the same picture whatever its file is called."""
    if not curves:
        return curves
    return {names.get(name, name): curve for name, curve in curves.items()}


def _gate_failures(check: CodecCheck, before: dict | None, after: dict | None) -> None:
    """A codec that fails on more images than in the baseline regressed, whatever its curve
    (which leaves those images out) says."""
    failed_before = int((before or {}).get("images", 0))
    failed_after = int((after or {}).get("images", 0))
    if failed_after > failed_before:
        names = ", ".join(after.get("failed_on", [])) if after else ""
        check.failures.append(
            f"failed on {failed_after} image(s), the baseline on {failed_before}"
            + (f" ({names})" if names else "")
        )


def _gate_decode_check(check: CodecCheck, base: dict, cand: dict) -> None:
    """More bitstreams that decode differently under a numeric setup than in the baseline, in
    a setup both runs checked: a regression. Counts of setups only one side ran (or of a check
    one side did not run) are shown, never gated: they were measured under other conditions."""
    found = [(run.get("codecs") or {}).get(check.codec) for run in (base, cand)]
    check.decode_check_failed = [f.get("failed") if f else None for f in found]
    before, after = found
    if after is None:
        if before is not None:
            check.notes.append("decode check: the baseline ran it, the candidate did not")
        return
    if before is None:
        check.notes.append(
            f"decode check: {after.get('failed')} bitstream(s) failed in the candidate; the "
            "baseline did not run it (run both with --decode-check to gate it)"
        )
        return
    old, new = before.get("per_setup") or {}, after.get("per_setup") or {}
    for setup in [s for s in new if s in old]:
        if int(new[setup].get("failed", 0)) > int(old[setup].get("failed", 0)):
            check.failures.append(
                f"decode check: {new[setup]['failed']} bitstream(s) decode differently under "
                f"setup {setup}, the baseline {old[setup]['failed']}"
            )
    others = sorted(set(old) ^ set(new))
    if others:
        check.notes.append(f"decode check: setups not in both runs, not gated: {', '.join(others)}")


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:+.{digits}f}"


def format_table(result: CheckResult) -> str:
    """The table ``licbench check`` prints."""
    header = (
        f"{'codec':<24} {'BD-rate %':>10} {'95% CI (per image)':>20} {'max bpp chg%':>12} "
        f"{'at q':>7} {'qualities':>9}  status"
    )
    lines = [
        f"baseline:  {result.baseline}",
        f"candidate: {result.candidate}",
        f"metric {result.metric} (BD-rate on {result.curve}, {result.method}); limits: BD-rate "
        f"<= {result.max_bd_rate:+g}%, bpp increase at equal quality <= "
        f"{result.max_bpp_increase:+g}%"
        + ("; BD-rate gated on its interval" if result.gate_on_interval else ""),
        header,
        "-" * len(header),
    ]
    for check in result.codecs:
        quality = (
            f"{check.max_bpp_increase_quality:g}"
            if check.max_bpp_increase_quality is not None
            else "-"
        )
        status = "PASS" if check.passed else "FAIL: " + check.message()
        interval = (
            f"[{_fmt(check.bd_rate_interval[0], 2)}, {_fmt(check.bd_rate_interval[1], 2)}]"
            if check.bd_rate_interval
            else "n/a"
        )
        lines.append(
            f"{check.codec:<24} {_fmt(check.bd_rate):>10} {interval:>20} "
            f"{_fmt(check.max_bpp_increase):>12} {quality:>7} {len(check.bpp_changes):>9}  {status}"
        )
    for codec in result.only_in_baseline:
        lines.append(f"{codec:<24} only in the baseline: not compared")
    for codec in result.only_in_candidate:
        lines.append(f"{codec:<24} only in the candidate: not compared")
    lines.extend(_group_lines(result))
    failed = sum(not c.passed for c in result.codecs)
    verdict = "PASS" if result.passed else f"FAIL ({failed} of {len(result.codecs)} codecs)"
    lines.append(verdict)
    return "\n".join(terminal_safe(line) for line in lines)


def _group_lines(result: CheckResult) -> list[str]:
    """The per-group part of the table (nothing when groups were not gated), and why groups
    were not gated."""
    lines = [f"groups: {note}" for note in result.group_notes]
    if not result.per_group:
        return lines
    header = (
        f"{'group':<16} {'codec':<20} {'images':>6} {'BD-rate %':>10} {'max bpp chg%':>12}  status"
    )
    lines += ["per group (same limits):", header, "-" * len(header)]
    for group in result.per_group:
        for check in result.codecs:
            found = check.groups.get(group)
            if found is None:
                continue
            status = "PASS" if found.passed else "FAIL: " + "; ".join(found.failures)
            lines.append(
                f"{group:<16} {check.codec:<20} {found.images:>6} {_fmt(found.bd_rate):>10} "
                f"{_fmt(found.max_bpp_increase):>12}  {status}"
            )
    return lines


def junit_xml(result: CheckResult) -> str:
    """JUnit XML: one testcase per compared codec, a failure with the numbers when it fails."""
    failures = sum(not c.passed for c in result.codecs)
    skipped = len(result.only_in_baseline) + len(result.only_in_candidate)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="licbench check",
        tests=str(len(result.codecs) + skipped),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    properties = ET.SubElement(suite, "properties")
    for name in ("baseline", "candidate", "metric", "method", "max_bd_rate", "max_bpp_increase"):
        value = xml_safe(str(getattr(result, name)))
        ET.SubElement(properties, "property", name=name, value=value)
    for check in result.codecs:
        case = ET.SubElement(
            suite, "testcase", classname="licbench.check", name=xml_safe(check.codec)
        )
        details = [
            f"BD-rate ({result.metric}, {result.method}): {_fmt(check.bd_rate)}%",
            "per-image mean: "
            + (
                f"{_fmt(check.bd_rate_per_image_mean)}% (95% interval "
                f"[{_fmt(check.bd_rate_interval[0])}, {_fmt(check.bd_rate_interval[1])}])"
                if check.bd_rate_interval and check.bd_rate_per_image_mean is not None
                else "n/a"
            ),
            f"max bpp change at equal quality: {_fmt(check.max_bpp_increase)}%",
            *(
                f"quality {p['quality']:g}: bpp {p['baseline']:.5f} -> {p['candidate']:.5f} "
                f"({p['change']:+.3f}%)"
                for p in check.bpp_changes
            ),
            *check.notes,
            *(
                f"group {group} ({found.images} images): BD-rate {_fmt(found.bd_rate)}%, max bpp "
                f"change {_fmt(found.max_bpp_increase)}%"
                + ("" if found.passed else " FAIL: " + "; ".join(found.failures))
                for group, found in check.groups.items()
            ),
        ]
        if not check.passed:
            failure = ET.SubElement(
                case, "failure", message=xml_safe(check.message()), type="regression"
            )
            failure.text = xml_safe("\n".join(details))
        else:
            ET.SubElement(case, "system-out").text = xml_safe("\n".join(details))
    for codec in result.only_in_baseline + result.only_in_candidate:
        case = ET.SubElement(suite, "testcase", classname="licbench.check", name=xml_safe(codec))
        where = "baseline" if codec in result.only_in_baseline else "candidate"
        ET.SubElement(case, "skipped", message=f"only in the {where} run: not compared")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def write_reports(result: CheckResult, json_path: str | Path | None, junit: str | Path | None):
    if json_path:
        atomic_write(json_path, json.dumps(result.to_dict(), indent=1))
    if junit:
        atomic_write(junit, junit_xml(result))


__all__ = [
    "CheckResult",
    "CheckUsageError",
    "CodecCheck",
    "GroupCheck",
    "compare",
    "format_table",
    "junit_xml",
    "load_summary",
    "write_reports",
]
