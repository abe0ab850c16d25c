"""bpg and vtm run for real: libbpg 0.9.8 and VTM 18.0 built from ``../shared/vendor``.

``.ci/run`` builds both with ``../shared/vendor/build-tools.sh`` into a cache outside the clone
and puts them on PATH, as a user would; without them these tests skip and say how to build them.
The pictures are crops of a Kodak photograph shipped in the package (``kodak-sample``), small
enough that VTM, the slowest codec there is, takes about a second each.

The PSNR ranges are those of this content at these QPs (measured: BPG 28.5, 34.9, 41.5 dB on the
96×128 crop at QP 42, 32, 22; VTM 29.3, 34.7, 40.0 dB on the 64×64 crop), wide enough (±2.5 dB)
for any build of the same tool versions and narrow enough to catch a colour conversion, chroma
format or QP mapping gone wrong (each costs several dB or halves the bytes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import licbench.datasets
from licbench.codecs import codec_info, create_codec
from licbench.metrics.psnr import psnr_rgb

KODIM03 = Path(licbench.datasets.__file__).parent / "sample" / "kodim03.png"
BUILD_HINT = (
    "build it with ../shared/vendor/build-tools.sh PREFIX and put PREFIX/bin on PATH (.ci/run "
    "does this)"
)


def _require(name: str) -> None:
    availability = codec_info(name).availability
    if not availability.ok:
        pytest.skip(f"{name} unavailable here: {availability.reason}; {BUILD_HINT}")


def _crop(height: int, width: int) -> np.ndarray:
    """A crop of kodim03 (the hat and the wall: texture, an edge and flat areas)."""
    with Image.open(KODIM03) as image:
        pixels = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(pixels[200 : 200 + height, 300 : 300 + width])


def _decode_elsewhere(spec: str, data: bytes, tmp_path: Path) -> np.ndarray:
    """Decode ``data`` in a new Python process that knows only the spec and the bytes."""
    bits, out = tmp_path / "bitstream", tmp_path / "decoded.npy"
    bits.write_bytes(data)
    program = (
        "import sys, numpy as np\n"
        "from licbench.codecs import create_codec\n"
        "data = open(sys.argv[2], 'rb').read()\n"
        "np.save(sys.argv[3], create_codec(sys.argv[1]).decode(data))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, spec, str(bits), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return np.load(out)


def _sweep(spec: str, image: np.ndarray, qualities: list[int], tmp_path: Path):
    """Encode at each quality; decode here and in a fresh process; bytes and PSNR per point."""
    codec = create_codec(spec)
    sizes, psnrs = [], []
    for quality in qualities:
        data = codec.encode(image, quality)
        decoded = codec.decode(data)
        assert decoded.dtype == np.uint8 and decoded.shape == image.shape
        sizes.append(len(data))
        psnrs.append(psnr_rgb(image, decoded))
        if quality == qualities[1]:  # integer decoders: the same pixels in any process
            assert np.array_equal(_decode_elsewhere(spec, data, tmp_path), decoded)
            assert codec.encode(image, quality) == data  # and a deterministic encoder
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes
    assert psnrs == sorted(psnrs), psnrs
    return sizes, psnrs


def test_bpg_real_tools(tmp_path, private_tmp):
    _require("bpg")
    image = _crop(96, 128)
    codec = create_codec("bpg")
    version = codec.version()
    assert "bpgenc=0.9.8" in version and "bpgdec=0.9.8" in version
    qps = [42, 32, 22]
    sizes, psnrs = _sweep("bpg", image, [51 - qp for qp in qps], tmp_path)
    data = codec.encode(image, 51 - 32)
    assert data[:4] == b"BPG\xfb"  # the BPG file itself: its header is counted in bpp
    for psnr, expected in zip(psnrs, [28.5, 34.9, 41.5], strict=True):
        assert abs(psnr - expected) < 2.5, psnrs
    bpp = [8 * s / image[..., 0].size for s in sizes]
    assert 0.08 < bpp[0] < 0.3 and 0.35 < bpp[1] < 1.0 and 1.2 < bpp[2] < 2.8, bpp
    odd = _crop(47, 61)  # odd sides: BPG codes them (4:4:4), the PNG comes back at that size
    decoded = codec.decode(codec.encode(odd, 51 - 32))
    assert decoded.shape == odd.shape and psnr_rgb(odd, decoded) > 32
    assert list(private_tmp.iterdir()) == []


def test_vtm_real_tools(tmp_path, private_tmp):
    _require("vtm")
    image = _crop(64, 64)
    codec = create_codec("vtm")  # the intra cfg found beside the encoder (PREFIX/cfg)
    version = codec.version()
    assert "encoder=18.0" in version and "decoder=18.0" in version
    assert "config=encoder_intra_vtm.cfg;config.sha256=" in version and "chroma=444" in version
    qps = [42, 32, 22]
    sizes, psnrs = _sweep("vtm", image, [63 - qp for qp in qps], tmp_path)
    data = codec.encode(image, 63 - 32)
    assert data[:4] == (64).to_bytes(2, "big") * 2  # width and height, then the VVC stream
    assert data[4:8] == b"\x00\x00\x00\x01"  # an Annex-B start code
    for psnr, expected in zip(psnrs, [29.3, 34.7, 40.0], strict=True):
        assert abs(psnr - expected) < 2.5, psnrs
    bpp = [8 * s / image[..., 0].size for s in sizes]
    assert 0.12 < bpp[0] < 0.5 and 0.3 < bpp[1] < 1.0 and 0.9 < bpp[2] < 2.5, bpp
    odd = _crop(47, 61)  # not a multiple of VTM's 8-pixel grid: padded by VTM, cropped back
    decoded = codec.decode(codec.encode(odd, 63 - 32))
    assert decoded.shape == odd.shape and psnr_rgb(odd, decoded) > 32
    assert list(private_tmp.iterdir()) == []


def test_vtm_420_real_tools(tmp_path):
    """4:2:0: fewer bytes than 4:4:4 at the same QP, and less PSNR-RGB (chroma is halved)
    (measured on this crop at QP 32: 279 vs 298 bytes, 33.65 vs 34.73 dB; odd sides 32.9 dB)."""
    _require("vtm")
    image = _crop(64, 64)
    full, half = create_codec("vtm"), create_codec("vtm:chroma=420")
    assert "chroma=420" in half.version()
    data_full, data_half = full.encode(image, 63 - 32), half.encode(image, 63 - 32)
    decoded = half.decode(data_half)
    assert len(data_half) < len(data_full)
    assert 31.5 < psnr_rgb(image, decoded) < psnr_rgb(image, full.decode(data_full))
    assert np.array_equal(_decode_elsewhere("vtm:chroma=420", data_half, tmp_path), decoded)
    odd = _crop(47, 61)  # padded to 48×62 for 4:2:0, cropped back
    decoded = half.decode(half.encode(odd, 63 - 32))
    assert decoded.shape == odd.shape and psnr_rgb(odd, decoded) > 30.5


def test_run_with_bpg_and_vtm(tmp_path):
    """Both through `licbench run` (worker processes, the store, the outputs)."""
    _require("bpg")
    _require("vtm")
    from licbench.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(_crop(64, 80)).save(folder / "crop.png")
    out = tmp_path / "out"
    spec = "vtm"
    args = ["run", "--dataset", f"folder:{folder}", "--codecs", "bpg", spec, "--anchor", "bpg"]
    args += ["--qualities", "19,29", "--metrics", "psnr-rgb", "--out", str(out), "--no-progress"]
    assert main([*args, "--store", str(tmp_path / "store.sqlite"), "--workers", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["jobs_failed"] == 0
    bpg, vtm = summary["codecs"]["bpg"], summary["codecs"][spec]
    assert "bpgenc=0.9.8" in bpg["version"] and "encoder=18.0" in vtm["version"]
    assert "config.sha256=" in vtm["version"]
    # quality 19 and 29: BPG at QP 32 and 22, VTM at QP 44 and 34 (each its own 51/63 − QP)
    assert 33 < bpg["results"]["psnr-rgb"][0] < 38 and 39 < bpg["results"]["psnr-rgb"][1] < 45
    assert 26 < vtm["results"]["psnr-rgb"][0] < 31 and 31 < vtm["results"]["psnr-rgb"][1] < 36
    assert all(0.05 < bpp < 2.5 for bpp in bpg["results"]["bpp"] + vtm["results"]["bpp"])
