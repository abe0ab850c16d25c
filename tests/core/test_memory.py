"""keep_freed_memory: large blocks freed and allocated again come back without page faults."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

MEASURE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from licbench.core.memory import keep_freed_memory

    kept = keep_freed_memory() if sys.argv[1] == "keep" else None

    def job():  # a metric's pattern: several 3 MiB planes alive at once, then all freed
        planes = [np.ones(3 << 20, dtype=np.uint8) for _ in range(8)]
        del planes

    for _ in range(3):  # the heap grows once
        job()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        job()
    print(kept, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 80)
    """
)


def faults_per_allocation(mode: str) -> tuple[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, mode], capture_output=True, text=True, check=True
    )
    kept, faults = done.stdout.split()
    return kept, float(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_without_page_faults() -> None:
    _, default_faults = faults_per_allocation("default")
    kept, faults = faults_per_allocation("keep")
    assert kept == "True"
    # by default glibc gives the freed heap top back: ~768 pages faulted in per 3 MiB block
    assert default_faults > 500
    assert faults < 5
