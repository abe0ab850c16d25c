"""Whether something optional (a codec, a metric) can run on this machine, and if not, why.

Lives in core because codecs and metrics both answer the question the same way, and the
reports and the command line print the answer without knowing which room asked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Availability:
    """Whether a codec (or metric) can run here; when not, why and what to install."""

    ok: bool
    reason: str = ""
    hint: str = ""

    @classmethod
    def yes(cls) -> Availability:
        return cls(True)
