"""Visual comparison crops, made while the run computes so that a report only reads.

The store keeps numbers, not decoded images; a report still wants to show what a codec does at
a common rate. So after the job grid, the run picks the few (codec, quality, image) triples the
report shows and stores the centre crop of each decoded image (and of each original) as PNG,
keyed by the job key, beside the results. ``licbench report DIR`` then rebuilds from the store
alone and never creates a codec.

The choice: the target rate is the anchor's median bpp over its successful jobs; the images are
the ones most codecs succeeded on (then by name); for each codec and image, the job whose bpp on
that image is closest to the target (ties: the lower quality), among the sweep and the points a
``--target-bpp`` search chose. Each crop is made by encoding the original again with the same
codec and quality; a codec that does not give the stored bytes again is noted on its tile.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Record, Store

#: how many images the comparison shows, and the side of the centre crop
DEFAULT_IMAGES = 2
DEFAULT_CROP = 192


def centre_box(width: int, height: int, size: int = DEFAULT_CROP) -> tuple[int, int, int, int]:
    """The centre ``size``×``size`` square (smaller when the image is): x, y, w, h."""
    side = min(size, height, width)
    return (width - side) // 2, (height - side) // 2, side, side


def box_text(box: tuple[int, int, int, int] | list[int]) -> str:
    return ",".join(str(int(v)) for v in box)


def original_key(sha256: str) -> str:
    """The crop key of an original image."""
    return f"image:{sha256}"


def plan_visual(
    manifest: RunManifest,
    records: Mapping[str, Record],
    extra: Mapping[str, Record] | None = None,
    images: int = DEFAULT_IMAGES,
    crop: int = DEFAULT_CROP,
) -> dict[str, Any]:
    """Which crops the report shows (the manifest's ``visual`` entry); pure bookkeeping."""
    plan: dict[str, Any] = {"target_bpp": None, "crop": crop, "images": [], "notes": []}
    ok = [r for r in records.values() if r.ok and r.bpp is not None]
    pool = {r.job_key: r for r in ok}
    for record in (extra or {}).values():
        if record.ok and record.bpp is not None:
            pool.setdefault(record.job_key, record)
    if not ok or images <= 0:
        if records and not ok:
            plan["notes"].append("no successful job to show")
        return plan
    anchor_rates = [r.bpp for r in ok if r.codec == manifest.anchor]
    target = statistics.median(anchor_rates or [r.bpp for r in ok])
    plan["target_bpp"] = target
    coverage: dict[str, set[str]] = {}
    for record in ok:
        coverage.setdefault(record.image_sha256, set()).add(record.codec)

    names = manifest.image_names()

    def name_of(sha: str) -> str:
        return names.get(sha, sha)

    order = sorted(coverage, key=lambda sha: (-len(coverage[sha]), name_of(sha)))
    for sha in order:
        if len(plan["images"]) >= images:
            break
        if not manifest.image_paths.get(sha):
            plan["notes"].append(f"{name_of(sha)}: not shown, the run did not record its path")
            continue
        sample = next(r for r in ok if r.image_sha256 == sha)
        box = centre_box(sample.width or 0, sample.height or 0, crop)
        tiles: dict[str, dict[str, Any]] = {}
        for label in manifest.codecs:
            candidates = [r for r in pool.values() if r.codec == label and r.image_sha256 == sha]
            if not candidates:
                tiles[label] = {"note": "no successful job on this image"}
                continue
            best = min(candidates, key=lambda r: (abs(r.bpp - target), r.quality))
            tiles[label] = {
                "job_key": best.job_key,
                "quality": best.quality,
                "bpp": best.bpp,
                "psnr": best.metrics.get("psnr-rgb"),
                "bytes": best.bytes,
            }
        plan["images"].append(
            {"sha256": sha, "name": name_of(sha), "box": list(box), "tiles": tiles}
        )
    return plan


def _png(array: Any) -> bytes:
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _cut(array: Any, box: list[int]) -> Any:
    x, y, w, h = box
    return array[y : y + h, x : x + w]


def compute_crops(manifest: RunManifest, plan: Mapping[str, Any], store: Store) -> int:
    """Store every crop of ``plan`` not stored yet; the number made. Failures become notes."""
    from licbench.bench.images import ImageLoadError, load_rgb
    from licbench.codecs import create_codec
    from licbench.datasets import ImageRef

    made = 0
    codecs: dict[str, Any] = {}
    for entry in plan.get("images", []):
        box = entry["box"]
        where = box_text(box)
        keys = [original_key(entry["sha256"])]
        keys += [t["job_key"] for t in entry["tiles"].values() if t.get("job_key")]
        stored = store.get_crops(keys, where)
        if all(key in stored for key in keys):
            continue
        ref = ImageRef(entry["name"], Path(manifest.image_paths[entry["sha256"]]), entry["sha256"])
        try:
            original = load_rgb(ref)
        except ImageLoadError as exc:
            for key in keys:
                store.put_crop(
                    key, where, None, f"image not readable when the crops were made: {exc}"
                )
            made += len(keys)
            continue
        if keys[0] not in stored:
            store.put_crop(keys[0], where, _png(_cut(original, box)))
            made += 1
        for label, tile in entry["tiles"].items():
            key = tile.get("job_key")
            if not key or key in stored:
                continue
            png, note = None, ""
            try:
                if label not in codecs:
                    codecs[label] = create_codec(label)
                codec = codecs[label]
                data = bytes(codec.encode(original, tile["quality"]))
                decoded = codec.decode(data)
                png = _png(_cut(decoded, box))
                if tile.get("bytes") is not None and len(data) != int(tile["bytes"]):
                    note = (
                        f"re-encoded to {len(data)} bytes, the run stored {int(tile['bytes'])} "
                        "(the codec is not deterministic)"
                    )
            except Exception as exc:  # a crop that cannot be made only leaves its tile empty
                note = f"re-encoding failed: {type(exc).__name__}: {exc}"
            store.put_crop(key, where, png, note)
            made += 1
    return made


__all__ = [
    "DEFAULT_CROP",
    "DEFAULT_IMAGES",
    "box_text",
    "centre_box",
    "compute_crops",
    "original_key",
    "plan_visual",
]
