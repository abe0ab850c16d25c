"""``Availability`` for the metrics, from the lowest module that has it.

The class lives in ``licbench.core.availability`` (metrics must not import codecs); the metric
modules import it from here, so both rooms keep one type.
"""

from __future__ import annotations

from licbench.core.availability import Availability

__all__ = ["Availability"]
