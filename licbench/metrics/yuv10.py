"""The pictures the JPEG AI metrics look at: BT.709 YUV 4:4:4 and RGB, both at 10-bit precision.

JPEG AI's quality assessment framework (the ``metrics`` module of its reference software) does
not measure the 8-bit RGB files directly. It scales RGB to [0, 1], rounds it to 10 bits
(``round(x · 1023) / 1023``), converts that to full-range BT.709 YUV::

    Y = 0.2126 R + 0.7152 G + 0.0722 B    U = (B − Y) / 1.8556 + 0.5    V = (R − Y) / 1.5748 + 0.5

clips to [0, 1] and rounds each plane to 10 bits again. Every metric of the set then reads those
planes: MS-SSIM, VIF, NLPD, IW-SSIM, PSNR-HVS and VMAF the Y plane, PSNR each of Y, U and V, FSIM
the 10-bit RGB. This module reproduces that conversion in float32 with the same order of
operations, so the planes are the framework's to the last bit.

It is written here rather than taken from :mod:`licbench.codecs` because metrics sit below codecs
in the import order, and because this is not the anchors' conversion (theirs is 8-bit and
truncates; this one is 10-bit and rounds).

Converting one Kodak image costs ~7 ms (the 8-to-10-bit step is a lookup table); the JPEG AI set
calls it from ten metric functions per decoded image, so :func:`planes` keeps the last few
conversions (by object identity and a CRC of the pixels): a job converts each of its two images
once, a worker converts an original once for all the decoded versions it measures against it,
and what metrics derive from an original alone stays with its planes (:attr:`Planes.features`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and torch are imported where used: the metric table stays light
    import numpy as np

#: BT.709 luma weights (Kr, Kg, Kb) and the chroma divisors 2(1 − Kb), 2(1 − Kr)
KR, KG, KB = 0.2126, 0.7152, 0.0722
U_DIVISOR, V_DIVISOR = 1.8556, 1.5748
BITS = 10
PEAK = (1 << BITS) - 1  # 1023


@dataclass(frozen=True)
class Planes:
    """One image as the JPEG AI metrics see it: float32 tensors in [0, 1] on 10-bit steps.

    ``yuv`` is 1×3×H×W (Y, U, V); ``rgb`` is 1×3×H×W (R, G, B, rounded to 10 bits).
    """

    yuv: Any
    rgb: Any
    #: the Y plane as its own 1×1×H×W tensor (the metrics on Y read it)
    y: Any
    #: what a metric derives from this image alone when it is the reference (IW-SSIM's pyramid
    #: and GSM, VIF's local statistics, …), by metric name: a sweep measures many decoded
    #: versions of one original, and this lives as long as the conversion is remembered (about
    #: 31 MB for a Kodak original with the whole JPEG AI set: ~80 bytes per pixel)
    features: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def codes(self) -> np.ndarray:
        """Y, U and V as integer 10-bit code values: a read-only 3×H×W float64 array.

        Computed once per image: PSNR-Y/U/V/YUV and VMAF read it.
        """
        import numpy as np

        codes = np.rint(self.yuv[0].double().numpy() * PEAK)
        codes.flags.writeable = False
        return codes


def _round(values: Any) -> Any:
    return values.mul(PEAK).round().div(PEAK)


@cache
def _rgb10_table() -> np.ndarray:
    """The 10-bit value of each 8-bit code, ``round(c / 255 · 1023) / 1023`` in float32: the same
    float32 operations as on the full image, so a lookup gives the same bits (and one gather per
    channel instead of five passes over the picture)."""
    import torch

    return _round(torch.arange(256, dtype=torch.float32) / 255.0).numpy()


def to_planes(image: np.ndarray) -> Planes:
    """HxWx3 uint8 RGB → :class:`Planes`, as the JPEG AI framework converts a PNG."""
    import numpy as np
    import torch

    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    table = _rgb10_table()
    rgb = torch.empty((1, 3, height, width), dtype=torch.float32)
    for channel in range(3):
        np.take(table, image[..., channel], out=rgb[0, channel].numpy())
    r, g, b = rgb[0]
    # the framework's float32 operations in its order (each rounds): Y, then U and V from Y
    y = KR * r + KG * g + KB * b
    yuv = torch.empty((1, 3, height, width), dtype=torch.float32)
    torch.clamp(y, 0.0, 1.0, out=yuv[0, 0])
    torch.clamp((b - y) / U_DIVISOR + 0.5, 0.0, 1.0, out=yuv[0, 1])
    torch.clamp((r - y) / V_DIVISOR + 0.5, 0.0, 1.0, out=yuv[0, 2])
    yuv.mul_(PEAK).round_().div_(PEAK)
    return Planes(yuv=yuv, rgb=rgb, y=yuv[:, 0:1].clone())


#: (image object, CRC32 of its bytes, planes), most recent last
_cache: list[tuple[Any, int, Planes]] = []
CACHE_SIZE = 4
#: inside :func:`unchanged`: the ids of the images already checked against the cache (per thread
#: and task: a block in one does not vouch for another's images)
_checked: ContextVar[set[int] | None] = ContextVar("licbench_yuv10_checked", default=None)


def planes(image: np.ndarray) -> Planes:
    """:func:`to_planes`, remembered for the last few images (a job's original and decoded).

    The cache holds the array itself (so its id cannot be reused while cached) and a CRC32 of its
    pixels (so an array changed in place is converted again). Inside :func:`unchanged` an image
    is checked once; later lookups of the same array find it by identity alone.
    """
    import numpy as np

    # one entry per array: a conversion made again after an in-place change replaces the old one
    index = next((i for i, entry in enumerate(_cache) if entry[0] is image), None)
    checked = _checked.get()
    if index is not None and checked is not None and id(image) in checked:
        _cache.append(_cache.pop(index))
        return _cache[-1][2]
    checksum = zlib.crc32(np.ascontiguousarray(image).data)
    if checked is not None:
        checked.add(id(image))
    if index is not None:
        entry = _cache.pop(index)
        if entry[1] == checksum:
            _cache.append(entry)
            return entry[2]
    result = to_planes(image)
    _cache.append((image, checksum, result))
    del _cache[:-CACHE_SIZE]
    return result


@contextmanager
def unchanged() -> Iterator[None]:
    """A block in which the images measured do not change (one job's metrics): each is checked
    against the cache once, not at every metric's lookup. The CRC32 of a Kodak image takes
    0.4 ms, and a JPEG AI job looks its two images up 26 times."""
    token = _checked.set(set())
    try:
        yield
    finally:
        _checked.reset(token)


def clear_cache() -> None:
    """Forget remembered conversions (tests; a long-lived process that wants the memory back)."""
    _cache.clear()
