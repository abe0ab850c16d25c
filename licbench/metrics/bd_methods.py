"""The BD interpolation methods by name, in a module light enough for the command line to read.

:mod:`licbench.metrics.bdrate` (which needs numpy and scipy) explains each method.
"""

from __future__ import annotations

#: every method :mod:`licbench.metrics.bdrate` implements; the first is the default
METHODS: tuple[str, ...] = ("pchip", "akima", "cubic")
DEFAULT_METHOD = METHODS[0]

__all__ = ["DEFAULT_METHOD", "METHODS"]
