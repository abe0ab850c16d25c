"""What a metric is: a function of (original, decoded) 8-bit images plus its direction.

Each metric declares whether higher is better so plots, BD-rate signs and CI gates never guess
a direction from a name (the pyiqa convention).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool
    unit: str
    description: str
    compute: Callable[[np.ndarray, np.ndarray], float]

    def __call__(self, original: np.ndarray, decoded: np.ndarray) -> float:
        return float(self.compute(original, decoded))
