"""Decoded images for the side-by-side viewer (``viewer.html``), written while the run computes.

The store keeps numbers, not pictures. The viewer shows what a codec does to an image at a given
rate, so the run writes, for a bounded number of images (``--viewer-images``, default
:data:`DEFAULT_IMAGES`: the first images of the dataset), each job's own decoded image as a
lossless PNG into ``OUT/viewer/``, named by job key, and each original as the jobs measured it.

* A job computed in this run writes its decode in the worker that decoded it
  (:func:`keep_decoded`, called by :func:`licbench.bench.job_body.run_job` for jobs planned with
  ``viewer`` set): no second encode.
* A job served from the store (a re-run into a new folder, a run that had the viewer off) has no
  decode in this run; its job is run once more for the viewer, its record compared with the
  stored one and never stored (:func:`missing_jobs`); a decode of other bytes is noted.

Disk: a Kodak image (768×512) is 0.40 MB as a decoded PNG (fast zlib level 1: 35 ms a picture;
level 6 saves a tenth for three times the time), so each viewer image costs about
0.4 MB × (its jobs + 1); the default run on the bundled sample (jpeg, webp: 15 jobs and 4 rate
target points per image) writes 3 × 20 × 0.4 ≈ 24 MB.
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
#: ``--viewer-images``: how many images (the first of the dataset) the viewer gets by default
DEFAULT_IMAGES = 4
#: zlib level of the PNGs: fast; a higher level saves little on decoded photographs
PNG_LEVEL = 1


def parse_count(text: str | int | None) -> int | None:
    """``--viewer-images``: a count (``0`` or ``none``: no viewer), or ``all`` (None: every
    image); ValueError with one line otherwise."""
    if text is None:
        return DEFAULT_IMAGES
    if isinstance(text, int):
        value = text
    elif text.strip().lower() == "all":
        return None
    elif text.strip().lower() == "none":
        return 0
    else:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(
                f"--viewer-images takes a number of images, 'all' or 'none', not {text!r}"
            ) from None
    if value < 0:
        raise ValueError(f"--viewer-images must be 0 or more, not {value}")
    return value


def decoded_name(job_key: str) -> str:
    return f"{job_key}.png"


def original_name(sha256: str) -> str:
    return f"original-{sha256[:32]}.png"


def chosen_images(images: Sequence[ImageRef], count: int | None) -> list[ImageRef]:
    """The images the viewer gets: the first ``count`` distinct ones (by content) in dataset
    order; every one when ``count`` is None."""
    seen: dict[str, ImageRef] = {}
    for image in images:
        if count is not None and len(seen) >= count:
            break
        seen.setdefault(image.sha256, image)
    return list(seen.values())


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
    "DEFAULT_IMAGES",
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
    "read_notes",
    "target_jobs",
    "write_originals",
]
