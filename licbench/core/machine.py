"""The processor's name, as records and codec environments show it.

One reading of ``/proc/cpuinfo``: the run's environment record and the learned codecs' latency
notes must name the same machine in the same words.
"""

from __future__ import annotations

from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows of it."""
    import platform  # (here: a re-run that records nothing never needs it)

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
