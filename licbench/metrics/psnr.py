"""PSNR over the three RGB channels of 8-bit images (peak 255), and PSNR of their BT.709 luma.

Per image; a dataset's figure is the arithmetic mean of per-image values, as CompressAI reports
it (not the PSNR of the mean MSE).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: a re-run that computes nothing never imports numpy
    import numpy as np


def mean_squared_error(original: np.ndarray, decoded: np.ndarray) -> float:
    import numpy as np

    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    difference = original.astype(np.float64) - decoded.astype(np.float64)
    return float(np.mean(difference * difference))


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
