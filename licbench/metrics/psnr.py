"""PSNR over the three RGB channels of 8-bit images (peak 255), and PSNR of their BT.709 luma.

Per image; a dataset's figure is the arithmetic mean of per-image values, as CompressAI reports
it (not the PSNR of the mean MSE).

The squared error of two 8-bit images is summed in integers, band by band of rows
(:data:`BAND_VALUES` values a band): the sum is exact in any order, and so is its float64 sum
while it is below 2**53 (at most 65025 a value: 4.6·10**10 pixels), so the MSE, the sum divided by
N and rounded once, is what the whole-image float64 ``mean`` gave, bit for bit, without its float64
copies of both images and their difference (1.7 GB at 24 MP; now one band's 16 MB).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: a re-run that computes nothing never imports numpy
    import numpy as np


#: values (pixels × channels) in one band of rows: its int32 differences take 4 bytes each
BAND_VALUES = 1 << 22


def squared_error_sum(original: np.ndarray, decoded: np.ndarray, *, band_rows: int = 0) -> int:
    """Σ (original − decoded)² over every value of two equal-shaped 8-bit arrays, exact: int64
    per band of ``band_rows`` rows (0: :data:`BAND_VALUES` values' worth), a Python int in all."""
    import numpy as np

    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    if original.dtype != np.uint8 or decoded.dtype != np.uint8:
        raise TypeError(f"8-bit images expected, got {original.dtype} and {decoded.dtype}")
    row_values = max(1, original[:1].size)
    rows = band_rows or max(1, BAND_VALUES // row_values)
    total = 0
    for top in range(0, original.shape[0], rows):
        difference = original[top : top + rows].astype(np.int32)
        difference -= decoded[top : top + rows]
        np.multiply(difference, difference, out=difference)  # at most 255²: fits int32
        total += int(difference.sum(dtype=np.int64))
    return total


def mean_squared_error(original: np.ndarray, decoded: np.ndarray) -> float:
    """The mean of the squared differences: for 8-bit images the exact integer sum divided once
    (rounded once); other arrays (never a job's) in float64 whole, as before."""
    import numpy as np

    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    if original.dtype != np.uint8 or decoded.dtype != np.uint8 or original.size == 0:
        difference = original.astype(np.float64) - decoded.astype(np.float64)
        return float(np.mean(difference * difference))
    return squared_error_sum(original, decoded) / original.size


def psnr_rgb(original: np.ndarray, decoded: np.ndarray) -> float:
    """10·log10(255² / MSE); ``inf`` for identical images."""
    mse = mean_squared_error(original, decoded)
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def psnr_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of the BT.709 luma of the two 8-bit RGB images (peak 255), ``inf`` if identical.

    Luma is ``0.2126·R + 0.7152·G + 0.0722·B`` of the 8-bit RGB values, in floating point (not
    quantised), so it is a property of the RGB images, whatever colour space a codec used inside.
    The weights come from the one colour module every codec shares (``licbench.core.colour``).
    """
    import numpy as np

    from licbench.core.colour import luma

    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    difference = luma(original) - luma(decoded)
    mse = float(np.mean(difference * difference))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
