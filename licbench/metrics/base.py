"""What a metric is: a function of (original, decoded) 8-bit images plus its direction.

Each metric declares whether higher is better so plots, BD-rate signs and CI gates never guess
a direction from a name (the pyiqa convention), and a ``version`` that goes into every job key:
an implementation change that moves values, however slightly, must not be mixed with stored
results computed the old way. ``range`` and ``colour_space`` say what a value can be and what it
was computed on, for reports and for readers comparing numbers with a paper's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy only in annotations: a re-run that computes nothing never imports it
    import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    unit: str
    description: str
    compute: Callable[[np.ndarray, np.ndarray], float]
    version: str = "1"
    #: how reports and plots name it (default: ``name (unit)``)
    label: str = ""
    #: the values it can take, (low, high); ``math.inf`` for an open end (e.g. PSNR: (0, inf))
    range: tuple[float, float] = (-math.inf, math.inf)
    #: what it looks at: "RGB", "Y (BT.709, 10-bit)", ... (so "PSNR" never hides which planes)
    colour_space: str = "RGB"
    #: the most it can be: a PSNR's value for a reconstruction identical to (or closer than
    #: this to) its original, declared finite (:func:`psnr_ceiling`) so no mean becomes inf
    ceiling: float | None = None
    #: why it can have no value (NaN) for an image, e.g. too small for its filters: such an
    #: image is left out of this metric's mean curves and BD-rates, counted with this reason
    undefined: str = ""
    #: whether computing it imports torch: a run's parent imports torch once before forking
    #: its workers only when a job needs it (a classical run with PSNR never imports it)
    needs_torch: bool = False

    @property
    def display_label(self) -> str:
        """What a table header or plot axis shows: the declared label, else ``name (unit)``."""
        if self.label:
            return self.label
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def identity(self) -> str:
        """``name@version``: what a job key records of this metric."""
        return f"{self.name}@{self.version}"

    def __call__(self, original: np.ndarray, decoded: np.ndarray) -> float:
        value = float(self.compute(original, decoded))
        if self.ceiling is not None and value > self.ceiling:  # (NaN stays NaN)
            return self.ceiling
        return value

    def at_ceiling(self, value: float) -> bool:
        """Whether ``value`` is the declared ceiling (a lossless or near-lossless point)."""
        return self.ceiling is not None and value >= self.ceiling


def psnr_ceiling(bits: int) -> float:
    """The PSNR of a lossless reconstruction at ``bits`` per sample: 6·bits + 12 dB (60 dB at
    8 bits, 72 at 10), libvmaf's convention (its ``psnr`` feature clips at ``6 * bpc + 12``).

    Higher values (an identical image's infinity, or one value off by one in a large image,
    over 100 dB) are clipped to it, so a near-lossless point cannot dominate a mean curve.
    """
    return 6.0 * bits + 12.0
