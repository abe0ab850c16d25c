"""The ``decode_check`` section of summary.json: per codec, what ``--decode-check`` found.

The stored rows (one per job and numeric setup, see :mod:`licbench.bench.decode_check`) are
counted per codec: how many jobs were checked, how many decoded bit-exactly in every setup,
how many *failed* in at least one (raised, another shape, or PSNR moved by more than the
threshold),
the largest difference in levels and the largest PSNR loss, and the same per setup.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: failures listed by name per codec (the count is always complete)
LISTED_FAILURES = 10


def row_failed(row: Mapping[str, Any], threshold_db: float) -> bool:
    """A check that raised, gave another shape, or moved PSNR by more than ``threshold_db``.

    Either way: a desynchronised decoder of a trained model loses PSNR, but one of an untrained
    model (or a lucky image) may land above the run's decode, and it is no less broken.
    """
    if row.get("error") or not row.get("decoded"):
        return True
    change = row.get("psnr_change_db")
    return isinstance(change, int | float) and abs(change) > threshold_db


def _drop(row: Mapping[str, Any]) -> float:
    change = row.get("psnr_change_db")
    if not isinstance(change, int | float) or math.isnan(change) or math.isinf(change):
        return 0.0
    return max(0.0, -float(change))


def _counts(rows: list[Mapping[str, Any]], threshold_db: float) -> dict[str, Any]:
    decoded = [row for row in rows if row.get("decoded") and not row.get("error")]
    return {
        "jobs": len(rows),
        "bit_exact": sum(1 for row in decoded if row.get("identical")),
        "failed": sum(1 for row in rows if row_failed(row, threshold_db)),
        "max_abs_diff": max((int(row.get("max_abs_diff") or 0) for row in decoded), default=0),
        "max_psnr_drop_db": max((_drop(row) for row in decoded), default=0.0),
        "max_differing_share": max(
            (row.get("differing_values", 0) / max(1, row.get("values", 1)) for row in decoded),
            default=0.0,
        ),
    }


def decode_check_section(
    entry: Mapping[str, Any],
    jobs: Iterable[tuple[str, str, str]],
    rows: Mapping[tuple[str, str], Mapping[str, Any]],
) -> dict[str, Any]:
    """The summary's section from the manifest's ``entry``, the run's ``jobs`` as (job key,
    codec label, what the job is) and the stored ``rows``; empty when the run had no check."""
    if not entry:
        return {}
    threshold = float(entry.get("threshold_db", 0.01))
    setups = [str(item["name"]) for item in entry.get("setups", [])]
    by_codec: dict[str, dict[str, Any]] = {}
    for key, codec, what in dict.fromkeys(jobs):
        per = [(setup, rows[key, setup]) for setup in setups if (key, setup) in rows]
        if not per:
            continue
        found = by_codec.setdefault(codec, {"rows": {s: [] for s in setups}, "jobs": []})
        found["jobs"].append((what, per))
        for setup, row in per:
            found["rows"][setup].append(row)
    codecs: dict[str, Any] = {}
    for codec, found in by_codec.items():
        jobs_rows = found["jobs"]
        failures = [
            f"{what}, {setup}: {row.get('error') or _loss_text(row)}"
            for what, per in jobs_rows
            for setup, row in per
            if row_failed(row, threshold)
        ]
        all_rows = [row for _, per in jobs_rows for _, row in per]
        overall = _counts(all_rows, threshold)
        codecs[codec] = {
            "setups": setups,
            "jobs": len(jobs_rows),
            "bit_exact": sum(
                1
                for _, per in jobs_rows
                if len(per) == len(setups) and all(r.get("identical") for _, r in per)
            ),
            "failed": sum(
                1 for _, per in jobs_rows if any(row_failed(r, threshold) for _, r in per)
            ),
            "max_abs_diff": overall["max_abs_diff"],
            "max_psnr_drop_db": overall["max_psnr_drop_db"],
            "max_differing_share": overall["max_differing_share"],
            "per_setup": {setup: _counts(found["rows"][setup], threshold) for setup in setups},
            "failures": failures[:LISTED_FAILURES],
        }
    return {
        "threshold_db": threshold,
        "setups": [dict(item) for item in entry.get("setups", [])],
        "codecs": codecs,
        "skipped": dict(entry.get("skipped", {})),
        "notes": list(entry.get("notes", [])),
    }


def _loss_text(row: Mapping[str, Any]) -> str:
    change = row.get("psnr_change_db")
    return f"PSNR {change:+.4f} dB, {row.get('max_abs_diff')} levels at most"


def describe(codec: str, found: Mapping[str, Any]) -> str:
    """The terminal's line for ``codec``: what the check found."""
    setups = ", ".join(found.get("setups", []))
    verdict = "FAILED" if found.get("failed") else "ok"
    return (
        f"decode check {codec}: {verdict}: {found.get('jobs')} bitstreams × "
        f"{len(found.get('setups', []))} setups ({setups}): {found.get('bit_exact')} bit-exact "
        f"in every setup, {found.get('failed')} failed; largest difference "
        f"{found.get('max_abs_diff')} level(s), largest PSNR drop "
        f"{found.get('max_psnr_drop_db', 0.0):.2g} dB"
    )
