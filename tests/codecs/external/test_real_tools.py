"""The codecs whose tools are installed here, run for real: bytes, round trip, PSNR ranges.

Tools (see the issue note for the install lines): x265 (Debian x265), cjxl/djxl (Debian
libjxl-tools), ffmpeg with libvvenc and the VVC/HEVC decoders (imageio-ffmpeg wheel), and the
Pillow plugins pillow-jxl-plugin and pillow-heif. A codec whose tool is missing is skipped with
the reason licbench gives.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from licbench.codecs import codec_info, create_codec
from licbench.metrics.psnr import psnr_rgb


def _require(name: str) -> None:
    availability = codec_info(name).availability
    if not availability.ok:
        pytest.skip(f"{name} unavailable here: {availability.reason}")


def _sweep(codec, image, qualities):
    sizes, psnrs = [], []
    for quality in qualities:
        data = codec.encode(image, quality)
        assert isinstance(data, bytes) and len(data) > 0
        fresh = create_codec(str(codec.spec))  # decode from the bytes alone, in a new instance
        decoded = fresh.decode(data)
        assert decoded.dtype == np.uint8 and decoded.shape == image.shape
        sizes.append(len(data))
        psnrs.append(psnr_rgb(image, decoded))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes
    assert psnrs == sorted(psnrs), psnrs
    return sizes, psnrs


def test_x265_raw_hevc_444(rgb_image, private_tmp):
    _require("x265")
    codec = create_codec("x265")
    version = codec.version()
    assert "x265=" in version and "ffmpeg=" in version and "preset=veryslow" in version
    # QP 42, 27, 12 (quality = 51 - QP)
    sizes, psnrs = _sweep(codec, rgb_image, [9, 24, 39])
    data = codec.encode(rgb_image, 24)
    assert data[:4] == b"\x00\x00\x00\x01"  # an Annex-B HEVC stream, no container
    assert 27 < psnrs[0] < 35 and 33 < psnrs[1] < 41 and psnrs[2] > 40
    assert 0.05 < 8 * sizes[0] / (176 * 200) < 1.0
    assert list(private_tmp.iterdir()) == []


def test_x265_odd_sizes_and_presets(private_tmp):
    _require("x265")
    image = np.random.default_rng(5).integers(0, 256, (37, 45, 3), dtype=np.uint8)
    codec = create_codec("x265:preset=ultrafast")
    decoded = codec.decode(codec.encode(image, 51 - 4))  # QP 4: nearly lossless
    assert decoded.shape == image.shape
    assert psnr_rgb(image, decoded) > 38  # noise survives QP 4; limited by the 8-bit YCbCr trip


def test_vvenc_through_ffmpeg(rgb_image, private_tmp):
    _require("vvenc")
    codec = create_codec("vvenc:preset=faster")
    assert "ffmpeg=" in codec.version()
    sizes, psnrs = _sweep(codec, rgb_image, [63 - 42, 63 - 32, 63 - 22])
    data = codec.encode(rgb_image, 63 - 32)
    assert data[:4] == (200).to_bytes(2, "big") + (176).to_bytes(2, "big")  # size prefix
    assert 27 < psnrs[0] < 35 and 31 < psnrs[1] and psnrs[2] > 33  # 4:2:0 caps chroma
    odd = np.ascontiguousarray(rgb_image[:171, :199])  # 4:2:0 pads to even sides, crops back
    decoded = codec.decode(codec.encode(odd, 63 - 27))
    assert decoded.shape == odd.shape and psnr_rgb(odd, decoded) > 31
    assert list(private_tmp.iterdir()) == []


def test_cjxl_command_line(rgb_image, private_tmp):
    _require("cjxl")
    codec = create_codec("cjxl:effort=3")
    assert "cjxl=" in codec.version() and "djxl=" in codec.version()
    sizes, psnrs = _sweep(codec, rgb_image, [30, 70, 95])
    data = codec.encode(rgb_image, 70)
    assert data[:2] == b"\xff\x0a"  # a bare JPEG XL codestream
    assert 27 < psnrs[0] < 36 and psnrs[2] > 34
    lossless = codec.encode(rgb_image, 100)
    assert np.array_equal(codec.decode(lossless), rgb_image)
    assert list(private_tmp.iterdir()) == []


def test_jpegxl_in_process(rgb_image):
    _require("jpegxl")
    codec = create_codec("jpegxl")
    assert "pillow-jxl-plugin=" in codec.version()
    sizes, psnrs = _sweep(codec, rgb_image, [30, 70, 94])
    assert 27 < psnrs[0] < 36 and psnrs[2] > 34
    data = codec.encode(rgb_image, 70)
    assert data == codec.encode(rgb_image, 70)  # deterministic


def test_heic_in_process(rgb_image):
    _require("heic")
    codec = create_codec("heic")
    assert "libheif=" in codec.version() and "x265" in codec.version()
    sizes, psnrs = _sweep(codec, rgb_image, [10, 50, 90])
    assert 22 < psnrs[0] < 32 and psnrs[2] > 40


def test_run_with_external_codecs_references_and_psnr_y(tmp_path, image_folder):
    _require("x265")
    _require("cjxl")
    from licbench.cli import main

    out = tmp_path / "out"
    status = main(
        [
            "run",
            "--dataset",
            f"folder:{image_folder}",
            "--codecs",
            "x265:preset=ultrafast",
            "cjxl",
            "--qualities",
            "14,24,34",
            "--metrics",
            "psnr-rgb,psnr-y",
            "--reference",
            "compressai-kodak-vtm",
            "--reference",
            "compressai-kodak-bpg",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["references"] == ["compressai-kodak-vtm", "compressai-kodak-bpg"]
    assert manifest["metrics"] == ["psnr-rgb", "psnr-y"]
    assert summary["jobs_failed"] == 0
    x265 = summary["codecs"]["x265:preset=ultrafast"]
    assert len(x265["results"]["psnr-y"]) == 3
    assert set(summary["references"]) == {"compressai-kodak-vtm", "compressai-kodak-bpg"}
    assert summary["references"]["compressai-kodak-vtm"]["provenance"]["dataset"] == "kodak"
    table = summary["bd_rate_references"]
    assert set(table["compressai-kodak-vtm"]) == {"psnr-rgb"}  # no psnr-y in the published file
    assert set(table["compressai-kodak-vtm"]["psnr-rgb"]) == {
        "jpeg",
        "x265:preset=ultrafast",
        "cjxl",
    }
    notes = summary["bd_rate_references_notes"]
    assert notes["method"] == "pchip"
    assert any("different images" in w for w in notes["warnings"])
    # psnr-y is in the per-image table, next to psnr-rgb
    import csv

    with open(out / "per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["codec"] == "cjxl"]
    assert len(rows) == 9 and all(20 < float(r["psnr_y"]) < 60 for r in rows)
