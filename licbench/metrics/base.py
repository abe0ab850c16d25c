"""What a metric is: a function of (original, decoded) 8-bit images plus its direction.

Each metric declares whether higher is better so plots, BD-rate signs and CI gates never guess
a direction from a name (the pyiqa convention), and a ``version`` that goes into every job key:
an implementation change that moves values, however slightly, must not be mixed with stored
results computed the old way.
"""

from __future__ import annotations

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

    @property
    def identity(self) -> str:
        """``name@version``: what a job key records of this metric."""
        return f"{self.name}@{self.version}"

    def __call__(self, original: np.ndarray, decoded: np.ndarray) -> float:
        return float(self.compute(original, decoded))
