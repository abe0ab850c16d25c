"""PSNR over the three RGB channels of 8-bit images (peak 255).

Per image; a dataset's figure is the arithmetic mean of per-image values, as CompressAI reports
it (not the PSNR of the mean MSE).
"""

from __future__ import annotations

import math

import numpy as np


def mean_squared_error(original: np.ndarray, decoded: np.ndarray) -> float:
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    difference = original.astype(np.float64) - decoded.astype(np.float64)
    return float(np.mean(difference * difference))


def psnr_rgb(original: np.ndarray, decoded: np.ndarray) -> float:
    """10·log10(255² / MSE); ``inf`` for identical images."""
    mse = mean_squared_error(original, decoded)
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
