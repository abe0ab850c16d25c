"""viewer.html: two decodes of one image side by side at matched rate (split slider, A/B flip,
1:1 and 2:1 zoom, one pan for both).

The pictures are the PNGs the run wrote into ``viewer/`` (:mod:`licbench.bench.viewer`); this
module only reads: which pictures are there, and the numbers of their jobs from the run's
per-image tables (the sweep and the rate-target points). The page refers to the pictures by
relative path, so it opens from the run folder as it is (or a copy of it), offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from licbench.bench.viewer import FOLDER, decoded_name, original_name, pictures, read_notes
from licbench.reports.assets import rounded, script_json, scripts, styles

PAGE = "viewer.html"


def _rows(frame: Any, columns: Sequence[tuple[str, str, int]], present: set[str]) -> list[dict]:
    """The successful jobs of ``frame`` that have a picture, as plain rows."""
    if frame is None or frame.empty:
        return []
    ok = frame[(frame["error"] == "") & frame["job_key"].map(lambda k: decoded_name(k) in present)]
    wanted = ["job_key", "image", "image_sha256", "codec", "quality", "bpp", "width", "height"]
    wanted += [c for c, _, _ in columns if c in ok]
    return ok[wanted].to_dict("records")


def _point(row: Mapping[str, Any], columns: Sequence[tuple[str, str, int]]) -> list[Any]:
    """``[quality, bpp, file, value per metric column...]``: what the page shows of a job."""
    values = [rounded(_num(row.get(c)), digits + 1) for c, _, digits in columns]
    file = f"{FOLDER}/{decoded_name(row['job_key'])}"
    return [_num(row["quality"]), rounded(_num(row["bpp"]), 5), file, *values]


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def viewer_data(
    folder: Path,
    frame: Any,
    target_frame: Any,
    choices: Mapping[str, Any],
    columns: Sequence[tuple[str, str, int]],
    anchor: str,
    codecs: Sequence[str],
) -> dict[str, Any] | None:
    """What viewer.html shows; None when the run folder has no viewer picture.

    ``columns`` are the report's per-image metric columns ``(frame column, label, decimals)``;
    ``choices`` the manifest's rate-target choices (codec → target → image sha256 → job key).
    """
    present = pictures(folder / FOLDER)
    if not present:
        return None
    rows = _rows(frame, columns, present)
    rows += _rows(target_frame, columns, present)
    images: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        sha = str(row["image_sha256"])
        entry = images.setdefault(
            sha,
            {
                "name": str(row["image"]),
                "width": int(row["width"]),
                "height": int(row["height"]),
                "original": f"{FOLDER}/{original_name(sha)}"
                if original_name(sha) in present
                else None,
                "points": {},
                "targets": {},
            },
        )
        if (sha, row["job_key"]) in seen:  # a target point that is also a sweep point
            continue
        seen.add((sha, row["job_key"]))
        entry["points"].setdefault(str(row["codec"]), []).append(_point(row, columns))
        for target, per_image in (choices.get(str(row["codec"])) or {}).items():
            if (per_image.get(sha) or {}).get("job_key") == row["job_key"]:
                entry["targets"].setdefault(str(row["codec"]), {})[target] = _point(row, columns)
    for entry in images.values():
        for points in entry["points"].values():
            points.sort(key=lambda p: (p[1] is None, p[1]))
    targets = sorted(
        {t for per in choices.values() for t in per}, key=lambda t: float(t)
    )  # fmt: skip
    ordered = sorted(images.values(), key=lambda e: e["name"])
    return {
        "anchor": anchor,
        "codecs": [c for c in codecs if any(c in e["points"] for e in ordered)],
        "metrics": [{"label": label, "digits": digits} for _, label, digits in columns],
        "targets": targets,
        "images": ordered,
        "notes": read_notes(folder / FOLDER),
    }


def render_viewer(data: Mapping[str, Any], dataset: str) -> str:
    """viewer.html for ``data`` (:func:`viewer_data`)."""
    from licbench.reports.html import render

    return render(
        "viewer.html.j2",
        {
            "dataset": dataset,
            "data": script_json(data),
            "images": len(data["images"]),
            "notes": data["notes"],
            "scripts": scripts("viewer.js"),
            "styles": styles(),
        },
    )


__all__ = ["PAGE", "render_viewer", "viewer_data"]
