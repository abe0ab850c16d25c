"""What the input policy did to a file shows in per_image.csv, summary.json and the report.

Palette images, multi-frame files (animated GIF, PNG and WebP, multi-page TIFF; the first
frame is measured) and EXIF orientation (pixels as stored) each leave a note on their rows.
"""

from __future__ import annotations

import csv
import json

import numpy as np
from PIL import Image

import licbench
from licbench.bench.images import load_image
from licbench.core.files import file_sha256
from licbench.datasets import ImageRef

FIRST_OF_3 = "multi-frame file (3 frames): only the first frame is measured"
PALETTE = "palette image converted to RGB (lossless)"
ROTATED = "EXIF orientation 6 (rotated 90° clockwise for display) ignored: measured as stored"


def _frames(count: int = 3) -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)) for _ in range(count)
    ]


def test_every_note_reaches_every_output(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    frames = _frames()
    frames[0].save(folder / "plain.png")
    frames[0].quantize(16).save(folder / "palette.png")
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "animated.png", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "animated.webp", save_all=True, append_images=frames[1:], lossless=True)
    frames[0].save(folder / "pages.tif", save_all=True, append_images=frames[1:])
    exif = Image.Exif()
    exif[0x0112] = 6
    frames[0].save(folder / "rotated.jpg", exif=exif, quality=95)

    result = licbench.run(
        f"folder:{folder}",
        ["jpeg"],
        qualities=[50],
        metrics=["psnr-rgb"],
        workers=1,
        progress=False,
        out=tmp_path / "out",
        store=tmp_path / "store.sqlite",
    )

    expected = {
        "animated.gif": [FIRST_OF_3, PALETTE],
        "animated.png": [FIRST_OF_3],
        "animated.webp": [FIRST_OF_3],
        "pages.tif": [FIRST_OF_3],
        "palette.png": [PALETTE],
        "rotated.jpg": [ROTATED],
    }
    with open(result.out / "per_image.csv", newline="") as f:
        rows = {row["image"]: row for row in csv.DictReader(f)}
    assert {name: row["notes"] for name, row in rows.items()} == {
        "plain.png": "",
        **{name: "; ".join(notes) for name, notes in expected.items()},
    }
    assert all(row["error"] == "" for row in rows.values())
    assert rows["rotated.jpg"]["width"] == "32"  # as stored: not turned to 24 wide
    assert json.loads((result.out / "summary.json").read_text())["notes"] == expected
    html = (result.out / "report.html").read_text()
    assert html.count(FIRST_OF_3) == 4 and ROTATED in html


def test_multi_frame_files_measure_their_first_frame(tmp_path):
    frames = _frames()
    for suffix, options in (("png", {}), ("webp", {"lossless": True}), ("tif", {})):
        path = tmp_path / f"animated.{suffix}"
        frames[0].save(path, save_all=True, append_images=frames[1:], **options)
        loaded = load_image(ImageRef(path.name, path, file_sha256(path)))
        assert np.array_equal(loaded.array, np.asarray(frames[0])), suffix
        assert loaded.notes == [FIRST_OF_3]
