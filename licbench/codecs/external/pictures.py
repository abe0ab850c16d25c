"""The files a command-line codec reads and writes: PNG/PPM, raw planar YUV and Y4M.

RGB ↔ YCbCr happens here in Python (:mod:`licbench.core.colour`), never inside the tool, so
every YUV codec uses the same conversion as the published anchors. Raw YUV files are planar
(all Y, then Cb, then Cr), 8-bit samples as bytes and deeper ones as little-endian 16-bit words,
as VTM, x265 and ffmpeg's ``rawvideo`` read them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from licbench.codecs.external.definition import YUV
from licbench.core import colour


def coded_size(width: int, height: int, yuv: YUV) -> tuple[int, int]:
    """The picture size handed to the tool: 4:2:0 needs even sides (last row/column repeated)."""
    if yuv.chroma == "420":
        return width + width % 2, height + height % 2
    return width, height


def _plane_shapes(width: int, height: int, yuv: YUV) -> list[tuple[int, int]]:
    if yuv.chroma == "420":
        return [(height, width), (height // 2, width // 2), (height // 2, width // 2)]
    return [(height, width)] * 3


def _sample_dtype(yuv: YUV) -> np.dtype:
    return np.dtype(np.uint8) if yuv.bit_depth <= 8 else np.dtype("<u2")


def rgb_to_planes(image: np.ndarray, yuv: YUV) -> list[np.ndarray]:
    """RGB image → the Y, Cb, Cr planes as container samples, at the coded size."""
    ycbcr = colour.rgb_to_ycbcr(image)
    if yuv.chroma == "420":
        ycbcr = colour.pad_even(ycbcr)
        planes = [ycbcr[0], colour.subsample_420(ycbcr[1]), colour.subsample_420(ycbcr[2])]
    else:
        planes = [ycbcr[0], ycbcr[1], ycbcr[2]]
    out = []
    for plane in planes:
        samples = colour.quantize(plane, yuv.precision, yuv.rounding)  # type: ignore[arg-type]
        out.append(colour.to_container(samples, yuv.precision, yuv.bit_depth))
    return out


def planes_to_rgb(planes: list[np.ndarray], yuv: YUV, width: int, height: int) -> np.ndarray:
    """Container planes → HxWx3 uint8 RGB cropped to ``width`` × ``height``.

    The only crop is the 4:2:0 padding (one repeated row or column of an odd side, see
    :func:`coded_size`); planes of any other size are a :class:`ValueError`, never cut to fit.
    """
    full_h, full_w = planes[0].shape
    if (full_w, full_h) != coded_size(width, height, yuv) and (full_w, full_h) != (width, height):
        raise ValueError(f"decoded picture is {full_w}x{full_h}; the original is {width}x{height}")
    floats = [
        colour.dequantize(colour.from_container(p, yuv.precision, yuv.bit_depth), yuv.precision)
        for p in planes
    ]
    full_h, full_w = floats[0].shape
    if yuv.chroma == "420":
        floats[1] = colour.upsample_420(floats[1], full_h, full_w)
        floats[2] = colour.upsample_420(floats[2], full_h, full_w)
    rgb = colour.ycbcr_to_rgb(np.stack(floats)[:, :height, :width])
    return colour.rgb_from_float(rgb, yuv.rounding)  # type: ignore[arg-type]


def write_yuv(path: Path, planes: list[np.ndarray], yuv: YUV) -> None:
    dtype = _sample_dtype(yuv)
    with open(path, "wb") as f:
        for plane in planes:
            f.write(np.ascontiguousarray(plane, dtype=dtype).tobytes())


def read_yuv(path: Path, yuv: YUV, width: int, height: int) -> list[np.ndarray]:
    """Read one raw frame of the given coded size; the file must hold exactly that."""
    dtype = _sample_dtype(yuv)
    shapes = _plane_shapes(width, height, yuv)
    data = path.read_bytes()
    expected = sum(h * w for h, w in shapes) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"decoded YUV file has {len(data)} bytes; a {width}x{height} {yuv.chroma} "
            f"{yuv.bit_depth}-bit frame has {expected}"
        )
    return _split_planes(data, shapes, dtype)


def _split_planes(data: bytes, shapes: list[tuple[int, int]], dtype: np.dtype) -> list[np.ndarray]:
    planes, offset = [], 0
    for h, w in shapes:
        count = h * w
        planes.append(np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(h, w))
        offset += count * dtype.itemsize
    return planes


_Y4M_COLOURSPACE = {
    ("444", 8): "444",
    ("420", 8): "420jpeg",
}


def _y4m_tag(yuv: YUV) -> str:
    if yuv.bit_depth == 8:
        return _Y4M_COLOURSPACE[(yuv.chroma, 8)]
    return f"{yuv.chroma}p{yuv.bit_depth}"


def read_y4m(path: Path, yuv: YUV) -> tuple[list[np.ndarray], int, int]:
    """Read the first frame of a Y4M file: (planes, width, height); checks its colour space."""
    data = path.read_bytes()
    end = data.find(b"\n")
    if not data.startswith(b"YUV4MPEG2 ") or end < 0:
        raise ValueError(f"{path.name} is not a Y4M file")
    fields = data[:end].decode("ascii", errors="replace").split()[1:]
    params = {f[0]: f[1:] for f in fields if f}
    width, height = int(params.get("W", 0)), int(params.get("H", 0))
    space = params.get("C", "420jpeg")
    accepted = {_y4m_tag(yuv)}
    if yuv.chroma == "420" and yuv.bit_depth == 8:
        accepted |= {"420", "420mpeg2", "420paldv"}
    if space not in accepted:
        raise ValueError(
            f"decoder wrote Y4M colour space C{space}; this codec expects C{_y4m_tag(yuv)}"
        )
    frame = data.find(b"\n", end + 1)
    if data[end + 1 : end + 6] != b"FRAME" or frame < 0:
        raise ValueError(f"{path.name} holds no frame")
    dtype = _sample_dtype(yuv)
    shapes = _plane_shapes(width, height, yuv)
    payload = data[frame + 1 :]
    needed = sum(h * w for h, w in shapes) * dtype.itemsize
    if len(payload) != needed:  # short, or more than one frame: never cut to fit
        raise ValueError(
            f"{path.name}: its frame data has {len(payload)} bytes; one {width}x{height} "
            f"{yuv.chroma} {yuv.bit_depth}-bit frame has {needed}"
        )
    return _split_planes(payload, shapes, dtype), width, height


def write_image(path: Path, image: np.ndarray, fmt: str) -> None:
    options = {"compress_level": 1} if fmt == "png" else {}  # lossless either way; fast
    Image.fromarray(image, "RGB").save(path, format=fmt.upper(), **options)


def read_image(path: Path) -> np.ndarray:
    with Image.open(path) as decoded:
        if decoded.mode != "RGB":
            raise ValueError(
                f"decoder wrote a {decoded.mode} {decoded.format} image; expected 8-bit RGB"
            )
        return np.asarray(decoded).copy()
