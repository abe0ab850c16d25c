"""Decoded images for the side-by-side viewer (``viewer.html``), written while the run computes.

The store keeps numbers, not pictures. The viewer shows what a codec does to an image at a given
rate, so the run writes, for a bounded number of images (``--viewer-images``), each job's own
decoded image as a lossless PNG into ``OUT/viewer/``, named by job key, and each original as the
jobs measured it.

* A job computed in this run writes its decode in the worker that decoded it
  (:func:`keep_decoded`, called by :func:`licbench.bench.job_body.run_job` for jobs planned with
  ``viewer`` set): no second encode.
* A job served from the store (a re-run into a new folder, a run that had the viewer off) has no
  decode in this run; its job is run once more for the viewer, its record compared with the
  stored one and never stored (:func:`missing_jobs`); a decode of other bytes is noted.

Disk: a decoded picture takes about 1.1 bytes per pixel as a PNG (measured: 1.07 over the 219
decodes of the default run on the bundled Kodak sample, eleven codecs; a Kodak image, 768×512, is
0.40–0.45 MB; zlib level 1, 35 ms a picture: level 6 saves a tenth for three times the time).
So each viewer image costs about width × height × 1.1 B × (its jobs + rate-target points + 1).
The default, ``auto``, takes images in dataset order while that estimate stays within
:data:`BUDGET_MB` (at least one image): every image of the bundled sample with jpeg and webp
(20 pictures an image: 22 MB measured), 3 Kodak images with the eleven codecs of a default run
(74 pictures an image: 93 MB measured), one 2-megapixel image.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from licbench.bench.jobs import Job
from licbench.core.files import atomic_write
from licbench.datasets import ImageRef

#: the folder beside report.html that holds the viewer's images
FOLDER = "viewer"
#: ``--viewer-images auto`` (the default): images while their estimated pictures fit the budget
AUTO = "auto"
#: the disk ``auto`` may fill, in MB (estimated before the run, from each image's size)
BUDGET_MB = 100.0
#: the most images ``auto`` takes, whatever their size: a viewer is looked at one image at a
#: time, and a set of many small images would otherwise write thousands of pictures (2,000
#: 128-px crops with jpeg and webp: 1,800 pictures, 16 s of a 28 s run)
AUTO_MAX_IMAGES = 24
#: PNG bytes per pixel of a decoded picture, for the estimate (measured 1.07, see above)
BYTES_PER_PIXEL = 1.1
#: zlib level of the PNGs: fast; a higher level saves little on decoded photographs
PNG_LEVEL = 1


def parse_count(text: str | int | None) -> int | str | None:
    """``--viewer-images``: a count (``0`` or ``none``: no viewer), ``all`` (None: every image)
    or ``auto`` (:data:`AUTO`, the default: as many as fit :data:`BUDGET_MB`, at most
    :data:`AUTO_MAX_IMAGES`); ValueError with
    one line otherwise."""
    if text is None:
        return AUTO
    if isinstance(text, int):
        value = text
    elif text.strip().lower() in ("all", "none", AUTO):
        return {"all": None, "none": 0, AUTO: AUTO}[text.strip().lower()]
    else:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(
                f"--viewer-images takes a number of images, 'auto', 'all' or 'none', not {text!r}"
            ) from None
    if value < 0:
        raise ValueError(f"--viewer-images must be 0 or more, not {value}")
    return value


def decoded_name(job_key: str) -> str:
    return f"{job_key}.png"


def original_name(sha256: str) -> str:
    return f"original-{sha256[:32]}.png"


def chosen_images(
    images: Sequence[ImageRef], count: int | str | None, pictures: int = 1
) -> list[ImageRef]:
    """The images the viewer gets, distinct by content, in dataset order: the first ``count``;
    every one when ``count`` is None; for :data:`AUTO`, as many as keep the estimated disk of
    ``pictures`` PNGs per image within :data:`BUDGET_MB` (at least one, at most
    :data:`AUTO_MAX_IMAGES`)."""
    seen: dict[str, ImageRef] = {}
    budget, spent = BUDGET_MB * 1e6, 0.0
    for image in images:
        if image.sha256 in seen:
            continue
        if count == AUTO:
            if len(seen) >= AUTO_MAX_IMAGES:
                break
            cost = _pixels(image) * BYTES_PER_PIXEL * pictures
            if seen and spent + cost > budget:
                break
            spent += cost
        elif count is not None and len(seen) >= int(count):
            break
        seen[image.sha256] = image
    return list(seen.values())


def _pixels(image: ImageRef) -> int:
    """Width × height from the file's header (nothing decoded); 0 when it cannot be read (its
    jobs will say why). Only a regular file is opened: reading a FIFO would wait for a writer
    forever."""
    import stat

    from PIL import Image

    try:
        if not stat.S_ISREG(os.stat(image.path).st_mode):
            return 0
        with Image.open(image.path) as opened:
            width, height = opened.size
    except Exception:  # (any unreadable file: its own jobs report it)
        return 0
    return width * height


def png_bytes(array: Any) -> bytes:
    """An 8-bit RGB array as a PNG (lossless)."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), "RGB").save(
        buffer, format="PNG", compress_level=PNG_LEVEL
    )
    return buffer.getvalue()


def save_png(path: Path, array: Any) -> bool:
    """Write ``array`` to ``path`` as a PNG, atomically; False when it cannot be written (a
    full disk, a remote worker without the folder): the viewer then lacks that picture."""
    try:
        atomic_write(path, png_bytes(array))
        return True
    except OSError:
        return False


def keep_decoded(job: Job, decoded: Any) -> None:
    """In the worker: write ``job``'s decoded image for the viewer, if it was planned with one."""
    if job.viewer:
        save_png(Path(job.viewer) / decoded_name(job.key), decoded)


def mark(jobs: Sequence[Job], folder: Path, images: Iterable[ImageRef]) -> list[Job]:
    """``jobs`` with the viewer folder set on those of ``images`` (the others as they are)."""
    from dataclasses import replace

    wanted = {image.sha256 for image in images}
    target = str(folder)
    return [replace(job, viewer=target) if job.image.sha256 in wanted else job for job in jobs]


def missing_jobs(jobs: Iterable[Job], folder: Path, records: Mapping[str, Any]) -> list[Job]:
    """The viewer's jobs whose stored record succeeded but whose decoded image is not in
    ``folder`` (served from the store, or written by a worker that could not)."""
    return [
        job
        for job in jobs
        if job.viewer
        and (record := records.get(job.key)) is not None
        and record.ok
        and not (folder / decoded_name(job.key)).is_file()
    ]


def write_originals(images: Iterable[ImageRef], folder: Path, max_pixels: int) -> list[str]:
    """Each image as the jobs measured it (the input policy applied), once; notes for those
    that cannot be read or written."""
    from licbench.bench.images import ImageLoadError, load_image

    notes = []
    for image in images:
        path = folder / original_name(image.sha256)
        if path.is_file():
            continue
        try:
            array = load_image(image, max_pixels).array
        except ImageLoadError as exc:
            notes.append(f"{image.name}: original not shown: {exc}")
            continue
        if not save_png(path, array):
            notes.append(f"{image.name}: original not written to {folder}")
    return notes


def target_jobs(
    codecs: Sequence[Any],
    choices: Mapping[str, Any],
    images: Iterable[ImageRef],
    metrics: Sequence[str],
    folder: Path,
) -> list[Job]:
    """The jobs ``--target-bpp`` chose for ``images`` (each codec, target), with the viewer
    folder set: the run's points at matched rate. Made as the search made them (same key)."""
    from dataclasses import replace

    from licbench.bench.jobs import codec_key

    jobs: dict[str, Job] = {}
    for image in images:
        for codec in codecs:
            for per_image in (choices.get(codec.label) or {}).values():
                entry = per_image.get(image.sha256) or {}
                if entry.get("job_key") and entry.get("quality") is not None:
                    # (as rate_target.make_job makes it: same key, checked below)
                    key = codec_key(codec)
                    job = Job(codec.label, key, float(entry["quality"]), image, tuple(metrics))
                    if job.key == entry["job_key"]:
                        jobs.setdefault(job.key, replace(job, viewer=str(folder)))
    return list(jobs.values())


def export_missing(
    jobs: Sequence[Job], executor: Any, stored: Mapping[str, Any], folder: Path
) -> list[str]:
    """Run ``jobs`` (:func:`missing_jobs`) once more for their decoded images; records are
    compared with the stored ones and never stored. Notes for what could not be shown."""
    notes = []
    for record in executor.run(jobs):
        before = stored.get(record.job_key)
        what = f"{record.image} ({record.codec} at quality {record.quality:g})"
        if not record.ok:
            notes.append(f"{what}: not shown: {record.error}")
        elif not (folder / decoded_name(record.job_key)).is_file():
            notes.append(f"{what}: not shown: the worker could not write to {folder}")
        elif before is not None and before.bytes != record.bytes:
            notes.append(
                f"{what}: the picture comes from an encode of {record.bytes} bytes, the stored "
                f"job has {before.bytes} (the codec is not deterministic)"
            )
    return notes


NOTES = "notes.json"


def prune(folder: Path, jobs: Iterable[Job], images: Iterable[ImageRef]) -> int:
    """Remove the folder's pictures that are not of ``jobs`` or ``images`` (a codec whose
    version changed has new job keys: its old pictures would only take disk); how many."""
    keep = {decoded_name(job.key) for job in jobs} | {original_name(i.sha256) for i in images}
    removed = 0
    for name in pictures(folder) - keep:
        try:
            (folder / name).unlink()
            removed += 1
        except OSError:
            pass
    return removed


def pictures(folder: Path) -> set[str]:
    """The PNG files in the viewer folder."""
    try:
        return {p.name for p in folder.iterdir() if p.suffix == ".png"}
    except OSError:
        return set()


def add_notes(folder: Path, notes: Sequence[str]) -> None:
    """Keep ``notes`` (beside those of earlier runs) in the folder's notes.json."""
    if not notes:
        return
    kept = read_notes(folder)
    merged = list(dict.fromkeys([*kept, *notes]))
    try:
        atomic_write(folder / NOTES, json.dumps(merged, indent=1))
    except OSError:
        pass


def read_notes(folder: Path) -> list[str]:
    try:
        found = json.loads((folder / NOTES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(n) for n in found] if isinstance(found, list) else []


def folder_of(out: Path) -> Path:
    return Path(os.fspath(out)) / FOLDER


__all__ = [
    "AUTO",
    "BUDGET_MB",
    "FOLDER",
    "chosen_images",
    "decoded_name",
    "add_notes",
    "export_missing",
    "folder_of",
    "keep_decoded",
    "mark",
    "missing_jobs",
    "original_name",
    "parse_count",
    "pictures",
    "prune",
    "read_notes",
    "target_jobs",
    "write_originals",
]
