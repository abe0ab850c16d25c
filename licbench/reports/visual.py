"""Visual comparison: the same crop of a few images, original and each codec at about one bpp.

Decoded images are not stored (the store keeps numbers, not pixels), so the report re-encodes
only the few (codec, quality, image) triples it shows, with the codec made from the same spec.
The target rate is the anchor's median bpp over its jobs; for each codec and image the quality
whose stored bpp on that image is closest to it is shown (ties: the lower quality). Captions give
the stored numbers of that job (bpp, PSNR on the whole image). Anything that cannot be redone
here (codec unavailable or changed version, image moved or edited) is skipped with a note.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from licbench.bench.images import ImageLoadError, load_rgb
from licbench.bench.manifest import RunManifest
from licbench.datasets import ImageRef
from licbench.reports.plots import png_uri

#: how many images the comparison shows, and the side of the centre crop
DEFAULT_IMAGES = 2
DEFAULT_CROP = 192


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
    original: str
    tiles: list[Tile] = field(default_factory=list)


def centre_crop(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The centre ``size``×``size`` square (smaller when the image is), and its x, y, w, h."""
    height, width = image.shape[:2]
    h = w = min(size, height, width)
    y, x = (height - h) // 2, (width - w) // 2
    return image[y : y + h, x : x + w], (x, y, w, h)


def _png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), "RGB").save(buffer, format="PNG")
    return png_uri(buffer.getvalue())


def target_rate(frame: pd.DataFrame, anchor: str) -> float:
    """The anchor's median bpp over its successful jobs (all jobs when the anchor has none)."""
    ok = frame[frame["error"] == ""]
    rows = ok[ok["codec"] == anchor]
    values = (rows if not rows.empty else ok)["bpp"].dropna()
    return float(values.median()) if not values.empty else math.nan


def _closest(rows: pd.DataFrame, target: float) -> pd.Series:
    distance = (rows["bpp"] - target).abs()
    ordered = rows.assign(_distance=distance).sort_values(["_distance", "quality"], kind="stable")
    return ordered.iloc[0]


def visual_comparison(
    manifest: RunManifest,
    frame: pd.DataFrame,
    *,
    images: int = DEFAULT_IMAGES,
    crop: int = DEFAULT_CROP,
    extra: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """``{"target_bpp", "crop", "rows": [Row], "notes": [str]}`` for the report.

    ``frame`` is the run's per-image table; ``extra`` more stored jobs of the same codecs and
    images to choose from (the points a ``--target-bpp`` search chose), which bring each codec
    closer to the common rate than the sweep alone.
    """
    from licbench.codecs import codec_info, create_codec, list_codecs

    notes: list[str] = []
    result: dict[str, Any] = {"target_bpp": math.nan, "crop": crop, "rows": [], "notes": notes}
    if frame.empty or images <= 0:
        return result
    ok = frame[(frame["error"] == "") & frame["bpp"].notna()]
    if ok.empty:
        notes.append("no successful job to show")
        return result
    target = target_rate(frame, manifest.anchor)
    result["target_bpp"] = target
    if extra is not None and not extra.empty:
        pool = pd.concat([ok, extra[(extra["error"] == "") & extra["bpp"].notna()]])
        ok = pool.drop_duplicates(subset=["job_key"], keep="first")

    # images that most codecs succeeded on, by name
    coverage = ok.groupby(["image_sha256", "image"])["codec"].nunique().reset_index()
    coverage = coverage.sort_values(["codec", "image"], ascending=[False, True], kind="stable")

    codecs: dict[str, Any] = {}
    for label in manifest.codecs:
        try:
            name = label.split(":", 1)[0]
            if name in list_codecs() and not codec_info(name).availability.ok:
                raise RuntimeError(codec_info(name).availability.reason)
            codec = create_codec(label)
            version = codec.version()
        except Exception as exc:  # any failure to make the codec here only skips its crops
            notes.append(f"{label}: not shown, the codec cannot be made here ({exc})")
            continue
        recorded = manifest.codecs[label].get("version")
        if recorded and version != recorded:
            notes.append(
                f"{label}: not shown, its version here ({version}) differs from the run's "
                f"({recorded}), so a crop would not be the measured output"
            )
            continue
        codecs[label] = codec

    shown = 0
    for sha, name in zip(coverage["image_sha256"], coverage["image"], strict=True):
        if shown >= images:
            break
        path = manifest.image_paths.get(sha)
        if not path:
            notes.append(f"{name}: not shown, the run did not record where the image is")
            continue
        try:
            original = load_rgb(ImageRef(name, Path(path), sha))
        except ImageLoadError as exc:
            notes.append(f"{name}: not shown ({exc})")
            continue
        original_crop, box = centre_crop(original, crop)
        row = Row(str(name), box, _png(original_crop))
        for label in manifest.codecs:
            rows = ok[(ok["codec"] == label) & (ok["image_sha256"] == sha)]
            if rows.empty:
                row.tiles.append(Tile(label, note="no successful job on this image"))
                continue
            point = _closest(rows, target)
            tile = Tile(
                label,
                quality=float(point["quality"]),
                bpp=float(point["bpp"]),
                psnr=float(point["psnr_rgb"]) if "psnr_rgb" in point else None,
            )
            codec = codecs.get(label)
            if codec is None:
                tile.note = "codec unavailable here (see the notes below)"
                row.tiles.append(tile)
                continue
            try:
                data = codec.encode(original, tile.quality)
                decoded = codec.decode(bytes(data))
            except Exception as exc:
                tile.note = f"re-encoding failed: {type(exc).__name__}: {exc}"
                row.tiles.append(tile)
                continue
            if len(data) != int(point["bytes"]):
                tile.note = (
                    f"re-encoded to {len(data)} bytes, the run stored {int(point['bytes'])} "
                    "(the codec is not deterministic)"
                )
            x, y, w, h = box
            tile.uri = _png(decoded[y : y + h, x : x + w])
            row.tiles.append(tile)
        result["rows"].append(row)
        shown += 1
    return result
