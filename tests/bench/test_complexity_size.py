"""The image size a run's complexity figure is counted on: a rule of the images, not of key order.

The store returns records in job-key order, and a job's key changes with its codec's version (a
learned codec's key digests its code): with two sizes equally common, taking the first one met
made the figure's size flip with an edit of the codec's code (the golden run's two crops did).
"""

from __future__ import annotations

from dataclasses import dataclass

from licbench.bench.complexity import common_size


@dataclass
class Row:
    height: int
    width: int
    ok: bool = True


def test_the_most_common_size_then_the_largest_whatever_the_order() -> None:
    tie = [Row(176, 192), Row(192, 176)]
    assert common_size(tie) == common_size(tie[::-1]) == (192, 176)  # same pixels: the taller
    bigger = [Row(64, 96), Row(96, 96)]
    assert common_size(bigger) == common_size(bigger[::-1]) == (96, 96)
    common = [Row(512, 768), Row(512, 768), Row(2000, 3000), Row(4000, 6000, ok=False)]
    assert common_size(common) == common_size(common[::-1]) == (512, 768)
    assert common_size([Row(0, 0), Row(10, 10, ok=False)]) is None
