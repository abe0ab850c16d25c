"""Complexity of large images: counted on a bounded size, scaled per padded pixel (issue 20,
item 6).

Counting on the meta device costs no arithmetic, but a run's figure should not depend on how
large its images are; :func:`counting_size` bounds the counted size and the MACs scale with
the padded area. How exact that is, per architecture, against a full count on the meta device
(a second each): convolutions scale exactly, CCA's per-image channel attention and Swin's window
padding by a little (the bounds are about twice the differences measured at these sizes).
"""

from __future__ import annotations

import pytest

from licbench.codecs.learned import complexity as cx

#: |scaled − full| / full of the encoder's and decoder's kMAC/px allowed: measured at
#: 1920×1080 (tiny / paper): CCA 5e-6 / 1.1e-5, ConvNeXt-ChARM 0, SwinT-ChARM 1.0e-3 / 9.7e-4
BOUND = {"cca": 3e-5, "convnext-charm": 1e-9, "swint-charm": 2.5e-3}


def test_the_counting_size_is_bounded_and_keeps_the_aspect():
    assert cx.counting_size(512, 768) == (512, 768)  # Kodak: counted as it is
    assert cx.counting_size(500, 700) == (512, 704)  # (its padded size)
    for height, width in ((1080, 1920), (4000, 6000), (6000, 4000), (64, 20000)):
        h, w = cx.counting_size(height, width)
        assert h * w <= cx.COUNT_PIXELS and h % 64 == 0 and w % 64 == 0
        assert h >= 64 and w >= 64
        if min(height, width) >= 1000:  # about the same aspect (to one grid step)
            assert abs(h / w - height / width) <= 128 / min(h, w)


@pytest.mark.parametrize("arch", ["cca", "convnext-charm", "swint-charm"])
def test_scaled_counts_match_a_full_count(arch):
    height, width = 1080, 1920
    full = cx.model_complexity(arch, "tiny", height, width)
    scaled = cx.model_complexity(arch, "tiny", height, width, count_pixels=cx.COUNT_PIXELS)
    assert full.counted is None and scaled.counted == cx.counting_size(height, width)
    assert scaled.padded == full.padded == (1088, 1920)
    assert scaled.params == full.params
    exact, approximate = full.kmac_per_pixel(), scaled.kmac_per_pixel()
    for part in ("encoder", "decoder"):
        assert approximate[part] == pytest.approx(exact[part], rel=BOUND[arch], abs=0)
    figure = scaled.to_dict()
    assert figure["input"] == [1080, 1920] and figure["counted_input"] == list(scaled.counted)
    assert "scaled by the padded area" in figure["scaled"]


def test_a_small_image_is_counted_as_it_is():
    small = cx.model_complexity("cca", "tiny", 256, 384, count_pixels=cx.COUNT_PIXELS)
    assert small.counted is None
    assert small.macs == cx.model_complexity("cca", "tiny", 256, 384).macs
    assert small.to_dict()["scaled"] is None
