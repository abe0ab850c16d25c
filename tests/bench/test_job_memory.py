"""Peak memory measured inside a worker (licbench.bench.job_memory): the figure is plausible.

The allocation cases run in a fresh child process: they set a worker's malloc thresholds,
which would outlive the test in this one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from licbench.bench.job_memory import PeakMemory, peak_resettable

pytestmark = pytest.mark.skipif(peak_resettable() is not None, reason=str(peak_resettable()))

#: 200 MB (10^6 bytes) in eight blocks of 25 MB: under the 32 MiB a worker's malloc keeps for
#: reuse (licbench.core.memory), so a second allocation reuses the first one's freed pages
CHILD = """
import json, sys
import numpy as np
from licbench.bench import job_memory
from licbench.core.memory import keep_freed_memory

def allocate():
    blocks = [np.ones(25_000_000 // 8) for _ in range(8)]  # ones: every page touched
    return sum(int(b.nbytes) for b in blocks)

kept = keep_freed_memory()  # as in a worker
if sys.argv[1] == "no-give-back":  # what the figure would be without giving freed memory back
    job_memory.give_back_freed_memory = lambda: None
allocate()  # a job before: its 200 MB freed, kept by malloc
peaks = job_memory.PeakMemory()
with peaks.measure("encode"):
    size = allocate()
with peaks.measure("decode"):
    pass
print(json.dumps({"kept": kept, "bytes": size, **peaks.figures}))
"""


def child(mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_block_that_allocates_200_mb_measures_at_least_that():
    figures = child("measure")
    assert figures["bytes"] == 200_000_000
    encode = figures["encode"]
    # the 200 MB and not much else (numpy's bookkeeping, the interpreter's few pages)
    assert 200 <= encode["above_start_mb"] < 215, encode
    assert encode["peak_rss_mb"] == pytest.approx(
        encode["start_rss_mb"] + encode["above_start_mb"], abs=0.2
    )
    # a block that allocates nothing measures next to nothing, though the peak of the process
    # (the 200 MB just freed) was higher: the mark is reset before each block
    assert figures["decode"]["above_start_mb"] < 5, figures["decode"]
    assert figures["decode"]["peak_rss_mb"] < encode["peak_rss_mb"] - 150


def test_freed_memory_is_given_back_first_or_the_figure_would_be_too_small():
    figures = child("no-give-back")
    if not figures["kept"]:
        pytest.skip("not glibc: freed memory is not kept, nothing to give back")
    # the second allocation reused the first one's kept pages: the resident set hardly rose
    assert figures["encode"]["above_start_mb"] < 50, figures["encode"]


def test_the_figures_are_in_mb_of_the_operation_named():
    peaks = PeakMemory()
    with peaks.measure("decode"):
        block = bytearray(20_000_000)  # zeroed by the kernel: touched when written
        block[::4096] = b"\x01" * len(block[::4096])
    assert set(peaks.figures) == {"decode"}
    assert set(peaks.figures["decode"]) >= {"start_rss_mb", "peak_rss_mb", "above_start_mb"}
    assert peaks.figures["decode"]["above_start_mb"] >= 19
