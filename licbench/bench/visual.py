"""Visual comparison crops, kept by the jobs themselves so that a report only reads.

The store keeps numbers, not decoded images; a report still wants to show what a codec does at
a common rate. So the worker that decodes a job of an image the report may show keeps the
centre crop of its decode (and of the original) as PNG, and the record carries them into the
store's crops table, keyed by job key and box, in the same transaction as the record. After the
job grid the run picks the few (codec, quality, image) triples the report shows among the jobs
that kept a crop; ``licbench report DIR`` rebuilds from the store alone and never creates a
codec. Nothing is encoded twice, and no codec runs in the main process: a 6000×4000 image with a
learned codec used to be re-encoded and decoded there (minutes, gigabytes) for a 192-px crop.

Why the crop is chosen before the run: which image and which quality the report shows depend
on all results, but the *box* does not (the centre :data:`DEFAULT_CROP` square of the image),
nor does the set of images that may be shown, fixed here before any job runs: the first
:data:`CANDIDATES` distinct images of the dataset (by content, in dataset order; the rule of
:func:`licbench.bench.viewer.chosen_images`). Every job on those images keeps its crop (two PNGs
of 192×192, about 0.1 MB, for the few dozen jobs of four images); so whichever of them the plan
picks afterwards, its crop is already stored, also for a re-run that computes nothing. The
alternatives cost more: spooling every decode (a 24 MP decode is 72 MB) or a crop of every job
of every image (0.1 MB × 100,000 jobs).

The choice: the target rate is the anchor's median bpp over its successful jobs; the images are
the candidates most codecs succeeded on (then by name); for each codec and image, the job whose
bpp on that image is closest to the target (ties: the lower quality), among the sweep and the
points a ``--target-bpp`` search chose, that kept a crop. Jobs computed by an older licbench
kept none: their tiles say so (a crop the old code made by re-encoding stays usable).
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Record, Store

if TYPE_CHECKING:
    from licbench.bench.jobs import Job
    from licbench.datasets import ImageRef

#: how many images the comparison shows, and the side of the centre crop
DEFAULT_IMAGES = 2
DEFAULT_CROP = 192
#: how many images may be shown: their jobs keep crops (spares for images that fail)
CANDIDATES = DEFAULT_IMAGES + 2


def centre_box(width: int, height: int, size: int = DEFAULT_CROP) -> tuple[int, int, int, int]:
    """The centre ``size``×``size`` square (smaller when the image is): x, y, w, h."""
    side = min(size, height, width)
    return (width - side) // 2, (height - side) // 2, side, side


def box_text(box: tuple[int, int, int, int] | list[int]) -> str:
    return ",".join(str(int(v)) for v in box)


def original_key(sha256: str) -> str:
    """The crop key of an original image."""
    return f"image:{sha256}"


def crop_images(images: Sequence[ImageRef]) -> set[str]:
    """The sha256 of the images the report may show (see the module docstring)."""
    from licbench.bench.viewer import chosen_images

    return {image.sha256 for image in chosen_images(images, CANDIDATES)}


def mark_crops(jobs: Sequence[Job], images: Collection[str], crop: int = DEFAULT_CROP) -> list[Job]:
    """``jobs`` with :attr:`Job.crop` set on those of ``images`` (sha256s): their workers keep
    the crops the report may show."""
    from dataclasses import replace

    return [replace(job, crop=crop) if job.image.sha256 in images else job for job in jobs]


def job_crops(job: Job, original: Any, decoded: Any) -> list[tuple[str, str, bytes]]:
    """In the worker: the crops of ``job``'s decode and of its original, as
    :attr:`Record.crops` carries them into the store."""
    height, width = original.shape[:2]
    box = list(centre_box(width, height, job.crop))
    where = box_text(box)
    return [
        (job.key, where, _png(_cut(decoded, box))),
        (original_key(job.image.sha256), where, _png(_cut(original, box))),
    ]


def plan_visual(
    manifest: RunManifest,
    records: Mapping[str, Record],
    extra: Mapping[str, Record] | None = None,
    images: int = DEFAULT_IMAGES,
    crop: int = DEFAULT_CROP,
    cropped: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Which crops the report shows (the manifest's ``visual`` entry); pure bookkeeping.

    ``cropped`` (job key → boxes with a stored crop, :meth:`Store.cropped`): only jobs that
    kept their crop are shown, and only images with one; None: any job (the crops are made
    some other way).
    """
    plan: dict[str, Any] = {"target_bpp": None, "crop": crop, "images": [], "notes": []}
    ok = [r for r in records.values() if r.ok and r.bpp is not None]
    pool = {r.job_key: r for r in ok}
    for record in (extra or {}).values():
        if record.ok and record.bpp is not None:
            pool.setdefault(record.job_key, record)

    def kept(record: Record) -> bool:
        if cropped is None:
            return True
        box = box_text(centre_box(record.width or 0, record.height or 0, crop))
        return box in cropped.get(record.job_key, ())

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

    shown = {r.image_sha256 for r in pool.values() if kept(r)}
    order = sorted(shown, key=lambda sha: (-len(coverage.get(sha, ())), name_of(sha)))
    if not order:
        plan["notes"].append("no job kept a crop (its results were computed by an older licbench)")
    for sha in order:
        if len(plan["images"]) >= images:
            break
        if not manifest.image_paths.get(sha):
            plan["notes"].append(f"{name_of(sha)}: not shown, the run did not record its path")
            continue
        sample = next(r for r in pool.values() if r.image_sha256 == sha)
        box = centre_box(sample.width or 0, sample.height or 0, crop)
        tiles: dict[str, dict[str, Any]] = {}
        for label in manifest.codecs:
            candidates = [r for r in pool.values() if r.codec == label and r.image_sha256 == sha]
            if not candidates:
                tiles[label] = {"note": "no successful job on this image"}
                continue
            candidates = [r for r in candidates if kept(r)]
            if not candidates:
                tiles[label] = {
                    "note": "its jobs on this image kept no crop (computed by an older licbench)"
                }
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
    """Store every crop of ``plan`` that is not stored yet; the number stored. Failures become
    notes.

    The jobs keep their crops (:func:`job_crops`): what is left is an original's crop when the
    store lost it (read from the image file: no codec runs) and, for a tile whose crop is gone,
    a note saying so. Nothing is encoded here.
    """
    from licbench.bench.images import ImageLoadError, load_rgb
    from licbench.datasets import ImageRef

    made = 0
    for entry in plan.get("images", []):
        box = entry["box"]
        where = box_text(box)
        keys = [original_key(entry["sha256"])]
        keys += [t["job_key"] for t in entry["tiles"].values() if t.get("job_key")]
        stored = store.get_crops(keys, where)
        missing = [key for key in keys if key not in stored]
        if not missing:
            continue
        if keys[0] in missing:
            ref = ImageRef(
                entry["name"], Path(manifest.image_paths[entry["sha256"]]), entry["sha256"]
            )
            try:
                original = load_rgb(ref)
            except ImageLoadError as exc:
                for key in missing:
                    store.put_crop(
                        key, where, None, f"image not readable when the crops were made: {exc}"
                    )
                made += len(missing)
                continue
            store.put_crop(keys[0], where, _png(_cut(original, box)))
            made += 1
        for key in missing[1:] if keys[0] in missing else missing:
            store.put_crop(key, where, None, "its job kept no crop (the store lost it)")
            made += 1
    return made


__all__ = [
    "CANDIDATES",
    "DEFAULT_CROP",
    "DEFAULT_IMAGES",
    "box_text",
    "centre_box",
    "compute_crops",
    "crop_images",
    "job_crops",
    "mark_crops",
    "original_key",
    "plan_visual",
]
