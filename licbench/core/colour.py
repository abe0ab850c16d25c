"""RGB ↔ YCbCr as the published anchors do it, written once for every codec and metric.

It lives in ``core`` because codecs (the YUV files of command-line tools) and metrics (psnr-y's
luma) both need it and neither may import the other. It imports numpy at the top: only code
that handles pixels imports this module (a re-run that computes nothing never does).

The anchors that learned-compression papers compare against (CompressAI's VTM, HM and AV1 runs)
convert 8-bit RGB to full-range YCbCr with the ITU-R BT.709 weights, code it 4:4:4 and measure
PSNR back on RGB. This module reproduces that conversion bit for bit (float32 arithmetic in the
same order as ``compressai.transforms.functional``), including its choice of *truncating* when a
float becomes an integer sample (``(x * 255).astype(uint8)``): a VTM run through licbench then
gives the same bytes and PSNR as CompressAI's bench, so its numbers compare with the published
anchor files. ``rounding="round"`` is available for definitions that want unbiased quantisation.

Full range means Y in [0, 1] and Cb, Cr centred on 0.5 (no 16–235 headroom)::

    Y  = Kr·R + Kg·G + Kb·B                       Kr, Kg, Kb = 0.2126, 0.7152, 0.0722
    Cb = 0.5·(B − Y) / (1 − Kb) + 0.5
    Cr = 0.5·(R − Y) / (1 − Kr) + 0.5

For tools that only take 4:2:0, chroma is averaged over 2×2 blocks (CompressAI's
``yuv_444_to_420``) and brought back with bilinear interpolation (``align_corners=False``, its
``yuv_420_to_444`` default). Samples may sit in a wider container than their precision (8-bit
values in a 10-bit file, as VTM stores 8-bit input internally): they are shifted left on the way
in and brought back with a rounding right shift, as VTM's ``-d 8`` output does.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

#: ITU-R BT.709 luma weights (Kr, Kg, Kb)
BT709: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)

Rounding = Literal["truncate", "round"]
ROUNDINGS: tuple[str, ...] = ("truncate", "round")


def _check_rgb(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")


def luma(image: np.ndarray) -> np.ndarray:
    """BT.709 luma of an 8-bit RGB image on the 0–255 scale, float64, not quantised."""
    _check_rgb(image)
    rgb = image.astype(np.float64)
    kr, kg, kb = BT709
    return kr * rgb[..., 0] + kg * rgb[..., 1] + kb * rgb[..., 2]


def rgb_to_ycbcr(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB → 3xHxW float32 full-range YCbCr in [0, 1] (clipped)."""
    _check_rgb(image)
    rgb = image.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    r, g, b = rgb[0], rgb[1], rgb[2]
    kr, kg, kb = (np.float32(k) for k in BT709)
    y = kr * r + kg * g + kb * b
    cb = np.float32(0.5) * (b - y) / np.float32(1 - BT709[2]) + np.float32(0.5)
    cr = np.float32(0.5) * (r - y) / np.float32(1 - BT709[0]) + np.float32(0.5)
    return np.clip(np.stack([y, cb, cr]), 0, 1)


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """3xHxW float YCbCr in [0, 1] → 3xHxW float32 RGB (not clipped)."""
    y, cb, cr = (np.asarray(c, dtype=np.float32) for c in ycbcr)
    kr, kg, kb = (np.float32(k) for k in BT709)
    half = np.float32(0.5)
    r = y + np.float32(2 - 2 * BT709[0]) * (cr - half)
    b = y + np.float32(2 - 2 * BT709[2]) * (cb - half)
    g = (y - kr * r - kb * b) / kg
    return np.stack([r, g, b])


def quantize(values: np.ndarray, bits: int, rounding: Rounding = "truncate") -> np.ndarray:
    """Float samples in [0, 1] → integers in [0, 2^bits − 1] (uint8 up to 8 bits, else uint16)."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    scaled = np.clip(values, 0, 1).astype(np.float32) * np.float32(2**bits - 1)
    if rounding == "round":
        scaled = np.floor(scaled + np.float32(0.5))
    return scaled.astype(np.uint8 if bits <= 8 else np.uint16)


def dequantize(samples: np.ndarray, bits: int) -> np.ndarray:
    """Integer samples of ``bits`` precision → float32 in [0, 1]."""
    return samples.astype(np.float32) / np.float32(2**bits - 1)


def to_container(samples: np.ndarray, precision: int, bit_depth: int) -> np.ndarray:
    """Samples of ``precision`` bits into a ``bit_depth``-bit container (left shift)."""
    if bit_depth < precision:
        raise ValueError(f"a {bit_depth}-bit container cannot hold {precision}-bit samples")
    dtype = np.uint8 if bit_depth <= 8 else np.uint16
    return (samples.astype(np.uint32) << (bit_depth - precision)).astype(dtype)


def from_container(samples: np.ndarray, precision: int, bit_depth: int) -> np.ndarray:
    """Container samples back to ``precision`` bits: rounding right shift, clipped."""
    shift = bit_depth - precision
    if shift < 0:
        raise ValueError(f"a {bit_depth}-bit container cannot hold {precision}-bit samples")
    wide = samples.astype(np.uint32)
    if shift:
        wide = (wide + (1 << (shift - 1))) >> shift
    return np.minimum(wide, 2**precision - 1).astype(np.uint8 if precision <= 8 else np.uint16)


def rgb_from_float(rgb: np.ndarray, rounding: Rounding = "truncate") -> np.ndarray:
    """3xHxW float RGB (any range) → HxWx3 uint8, clipped to [0, 1] first."""
    return quantize(rgb, 8, rounding).transpose(1, 2, 0).copy()


def pad_even(plane: np.ndarray) -> np.ndarray:
    """Repeat the last row/column so both sides are even (4:2:0 needs that)."""
    h, w = plane.shape[-2:]
    pad = [(0, 0)] * (plane.ndim - 2) + [(0, h % 2), (0, w % 2)]
    return np.pad(plane, pad, mode="edge") if (h % 2 or w % 2) else plane


def subsample_420(plane: np.ndarray) -> np.ndarray:
    """HxW float plane (even sides) → (H/2)x(W/2) by 2×2 averaging."""
    h, w = plane.shape
    if h % 2 or w % 2:
        raise ValueError(f"4:2:0 subsampling needs even sides, got {w}x{h}")
    blocks = plane.astype(np.float32).reshape(h // 2, 2, w // 2, 2)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _upsample_axis(plane: np.ndarray, axis: int, size: int) -> np.ndarray:
    n = plane.shape[axis]
    src = (np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5
    src = np.clip(src, 0, None)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    weight = (src - i0).astype(np.float32)
    shape = [1, 1]
    shape[axis] = size
    weight = weight.reshape(shape)
    a = np.take(plane, i0, axis=axis)
    b = np.take(plane, i1, axis=axis)
    return a * (np.float32(1) - weight) + b * weight


def upsample_420(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H/2)x(W/2) float plane → height x width, bilinear with ``align_corners=False``.

    ``height`` and ``width`` may be one less than twice the plane's size (odd pictures padded
    before subsampling): the result is cropped.
    """
    plane = plane.astype(np.float32)
    full = _upsample_axis(_upsample_axis(plane, 0, plane.shape[0] * 2), 1, plane.shape[1] * 2)
    return full[:height, :width]
