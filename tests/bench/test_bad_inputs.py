"""One run over a folder of awkward files: it completes, and each file gets exactly its verdict.

The policy (README, "Bad inputs"): palette and fully opaque RGBA are converted losslessly and
noted; tiny images are measured (MS-SSIM NaN); everything else is an error row naming the file.
"""

from __future__ import annotations

import errno
import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.bench.executors import LocalExecutor, WorkerSettings
from licbench.bench.jobs import plan_jobs
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import create_codec
from licbench.datasets import load_dataset

MAX_PIXELS = 40_000  # 200×200: small enough that a test image can go over it


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _png(width: int, height: int, depth: int, colour_type: int, rows: bytes | None) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    body = _png_chunk(b"IDAT", zlib.compress(rows)) if rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + body + _png_chunk(b"IEND", b"")


def _save(image: Image.Image, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)


def make_folder(folder: Path) -> None:
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    _save(photo, folder / "good.png")
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    (folder / "truncated.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("shopping list: eggs, milk\n")
    _save(photo.convert("L"), folder / "gray.png")
    _save(photo.convert("RGBA"), folder / "rgba-opaque.png")
    translucent = photo.convert("RGBA")
    translucent.putalpha(128)
    _save(translucent, folder / "rgba-translucent.png")
    rows16 = b"".join(
        b"\x00" + rng.integers(0, 65535, 8 * 3).astype(">u2").tobytes() for _ in range(6)
    )
    (folder / "deep.png").write_bytes(_png(8, 6, 16, 2, rows16))
    _save(photo.convert("CMYK"), folder / "cmyk.jpg", format="JPEG")
    _save(photo.quantize(16), folder / "palette.png")
    _save(Image.new("RGB", (1, 1), (200, 10, 10)), folder / "one.png")
    _save(photo.resize((3, 5)), folder / "three-by-five.png")
    _save(photo.resize((250, 200)), folder / "large.png")  # 50,000 pixels > MAX_PIXELS
    (folder / "bomb.png").write_bytes(_png(30000, 30000, 8, 2, None))  # header only, 900 MP
    _save(photo.transpose(Image.Transpose.FLIP_TOP_BOTTOM), folder / "vanishes.png")
    _save(photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT), folder / "unreadable.png")


def expected_errors(folder: Path) -> dict[str, str | None]:
    gray = (
        "grayscale image (mode L): licbench measures RGB codecs; a gray image replicated into "
        "RGB has no chroma and would skew a colour dataset's means (convert it to RGB "
        "explicitly to measure it anyway)"
    )
    verdicts = {
        "good.png": None,
        "truncated.png": "not a readable image: truncated or corrupt data",
        "empty.png": "empty file (0 bytes)",
        "notes.jpg": "not an image file (Pillow does not recognise the format)",
        "gray.png": gray,
        "rgba-opaque.png": None,
        "rgba-translucent.png": "has transparency (3072 of 3072 pixels not opaque): licbench "
        "measures RGB codecs and will not pick a background; flatten it or drop the alpha "
        "channel first",
        "deep.png": "16-bit image (mode RGB): licbench measures 8-bit codecs; reduce it to 8 "
        "bits per sample yourself (the harness will not choose between truncating, rounding "
        "and dithering)",
        "cmyk.jpg": "CMYK image: converting it to RGB correctly needs its colour profile; "
        "convert it to RGB with a colour-managed tool first",
        "palette.png": None,
        "one.png": None,
        "three-by-five.png": None,
        "large.png": "250×200 = 50,000 pixels is over the limit of 40,000 pixels (--max-pixels)",
        "bomb.png": "900,000,000 pixels is over the limit of 40,000 pixels (--max-pixels; "
        "refused by Pillow's decompression-bomb guard)",
        "vanishes.png": "cannot read: No such file or directory",
        "unreadable.png": "cannot read: Permission denied",
    }
    return {
        name: None if text is None else f"{folder / name}: {text}"
        for name, text in verdicts.items()
    }


def test_one_run_over_bad_inputs(tmp_path, monkeypatch):
    folder = tmp_path / "awkward"
    make_folder(folder)
    images = load_dataset(f"folder:{folder}").images()
    codecs = [create_codec("jpeg"), create_codec("webp")]
    jobs = plan_jobs(codecs, images, ["psnr-rgb", "ms-ssim-rgb"], {"jpeg": [50], "webp": [50]})
    expected = expected_errors(folder)
    assert {image.name for image in images} == set(expected)

    # after planning, one file disappears and one cannot be read (as root, a mode of 000 would
    # not stop us, so reading it raises what the kernel would say; workers are forked and
    # inherit the patch)
    (folder / "vanishes.png").unlink()
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "unreadable.png":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)

    settings = WorkerSettings(timeout=120, max_pixels=MAX_PIXELS)
    with Store(tmp_path / "r.sqlite") as store, LocalExecutor(2, settings) as executor:
        counts = execute(jobs, store, executor=executor, progress=False)
        records = store.get(job.key for job in jobs)
    assert counts["computed"] == len(jobs) == len(records) == 2 * len(expected)

    for record in records.values():
        assert record.error == expected[record.image], record.image
    by_image = {}
    for record in records.values():
        by_image.setdefault(record.image, []).append(record)
    for name in ("palette.png",):
        assert {r.notes for r in by_image[name]} == {"palette image converted to RGB (lossless)"}
    assert {r.notes for r in by_image["rgba-opaque.png"]} == {
        "alpha channel dropped (fully opaque)"
    }
    assert {r.notes for r in by_image["good.png"]} == {None}
    for name, size in (("one.png", (1, 1)), ("three-by-five.png", (3, 5))):
        for record in by_image[name]:
            assert (record.width, record.height) == size
            assert record.bpp > 0 and record.metrics["psnr-rgb"] > 0
            assert math.isnan(record.metrics["ms-ssim-rgb"])  # undefined below 161 px


@pytest.mark.parametrize(
    ("mode", "note"),
    [("P", "palette image converted to RGB (lossless)"), ("RGBA", "alpha channel dropped")],
)
def test_conversions_are_lossless(tmp_path, mode, note):
    from licbench.bench.images import load_image
    from licbench.core.files import file_sha256
    from licbench.datasets import ImageRef

    rgb = Image.fromarray(np.random.default_rng(3).integers(0, 255, (9, 7, 3), dtype=np.uint8))
    source = rgb.quantize(32) if mode == "P" else rgb.convert("RGBA")
    path = tmp_path / "x.png"
    source.save(path)
    loaded = load_image(ImageRef("x.png", path, file_sha256(path)))
    assert np.array_equal(loaded.array, np.asarray(source.convert("RGB")))
    assert loaded.notes and loaded.notes[0].startswith(note)
