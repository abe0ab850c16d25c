"""The report's visual comparison: crops the run stored (see :mod:`licbench.bench.visual`).

Only reads: the manifest says which crops to show, the store holds them. A run whose crops are
missing (made by an older licbench) shows an empty tile saying so; nothing is re-encoded here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.bench.visual import box_text, original_key


@dataclass
class Tile:
    codec: str
    quality: float | None = None
    bpp: float | None = None
    psnr: float | None = None
    uri: str | None = None
    note: str = ""


@dataclass
class Row:
    image: str
    crop: tuple[int, int, int, int]  #: x, y, width, height
    original: str | None
    tiles: list[Tile] = field(default_factory=list)


def _uri(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


def visual_section(manifest: RunManifest, store: Store) -> dict[str, Any]:
    """``{"target_bpp", "crop", "rows": [Row], "notes": [str]}`` for the report."""
    plan = manifest.visual or {}
    section: dict[str, Any] = {
        "target_bpp": plan.get("target_bpp"),
        "crop": plan.get("crop"),
        "rows": [],
        "notes": list(plan.get("notes") or []),
    }
    missing = "no crop in the store (the run was made by an older licbench; run it again)"
    for entry in plan.get("images") or []:
        where = box_text(entry["box"])
        keys = [original_key(entry["sha256"])]
        keys += [t["job_key"] for t in entry["tiles"].values() if t.get("job_key")]
        crops = store.get_crops(keys, where)
        original, _ = crops.get(keys[0], (None, ""))
        row = Row(entry["name"], tuple(entry["box"]), _uri(original))
        for label, tile in entry["tiles"].items():
            shown = Tile(label, tile.get("quality"), tile.get("bpp"), tile.get("psnr"))
            if not tile.get("job_key"):
                shown.note = tile.get("note", "")
            else:
                png, note = crops.get(tile["job_key"], (None, missing))
                shown.uri, shown.note = _uri(png), note
            row.tiles.append(shown)
        section["rows"].append(row)
    return section


__all__ = ["Row", "Tile", "visual_section"]
