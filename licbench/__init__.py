"""licbench: benchmark image codecs on real bitstreams, with numbers a reviewer can trust.

The public API is imported lazily (PEP 562) so that ``licbench codecs`` or a plugin lookup does
not pay for pandas, matplotlib and torch.
"""

from __future__ import annotations

from typing import Any

_API = {
    "run": "licbench.api",
    "report": "licbench.api",
    "UsageError": "licbench.api",
    "create_codec": "licbench.codecs",
    "list_codecs": "licbench.codecs",
    "create_model": "licbench.codecs.learned",
    "list_models": "licbench.codecs.learned",
    "bd_rate": "licbench.metrics.bdrate",
    "load_reference": "licbench.references",
    "list_references": "licbench.references",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'licbench' has no attribute {name!r}")
