"""``Availability`` for the metrics, from the lowest module that has it.

The class is moving from ``licbench.codecs.base`` to ``licbench.core.availability`` (metrics must
not import codecs); this shim takes it from there when that exists, so both rooms keep one type.
"""

from __future__ import annotations

try:
    from licbench.core.availability import Availability
except ImportError:  # before licbench.core exists
    from licbench.codecs.base import Availability

__all__ = ["Availability"]
