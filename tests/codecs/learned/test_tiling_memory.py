"""Tiling bounds what is whole, not only what a block's temporaries take (issue 20, item 6).

At 24 MP the maps at half the image's side were the peak of a tiled job (0.78 GB each for
CCA-tiny, two of them alive per step). Now the steps around them run fused, so no tensor of that
size is ever made; steps that keep their map's shape write into it, band by band; the 8-bit
image is read and the 8-bit picture written tile by tile. Every tensor an operation makes is
seen here through torch's dispatch (no timing, no RSS: deterministic on every machine).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from licbench.codecs.learned import create_model
from licbench.codecs.learned.tiling import Step, _run_step, run_steps


class LargestTensor(TorchDispatchMode):
    """The most elements of any tensor an operation made while active."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in out if isinstance(out, tuple | list) else (out,):
            if isinstance(value, torch.Tensor):
                self.largest = max(self.largest, value.numel())
        return out


def _wake(model: torch.nn.Module) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.rsplit(".", 1)[-1] in ("beta", "gamma"):
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    return model


@pytest.mark.parametrize("arch", ["cca", "convnext-charm", "swint-charm"])
def test_no_half_resolution_map_is_ever_whole(arch):
    torch.manual_seed(0)
    model = _wake(create_model(arch, "tiny").eval())
    height, width = 384, 512  # 3×4 tiles of 128 px: a tile's temporaries (4× MLPs,
    # attention: 0.74 M values) are then half a whole half-resolution map (1.57 M)
    half_map = model.g_a.tile_steps()  # the first step's output: the finest map
    image = torch.randint(0, 256, (1, 3, height, width), dtype=torch.uint8)
    with torch.no_grad():
        level = half_map[0].fn(image.float() / 255)
    whole = level.numel()  # (per-step tiling made it, twice)

    with LargestTensor() as seen:
        y = model.analyze(image, 128)
    assert seen.largest < whole, (seen.largest, whole)
    with LargestTensor() as seen:
        picture = model.synthesize(y, 128, pixels=True)
    assert picture.dtype == torch.uint8 and picture.shape == (1, 3, height, width)
    assert seen.largest < whole, (seen.largest, whole)

    # and the numbers are the untiled ones (to float rounding: test_tiling.py's bounds)
    with torch.no_grad():
        untiled = model.g_a(image.float() / 255)
    assert float((y - untiled).abs().max()) < 4e-6


def test_a_step_in_place_reads_every_halo_as_it_was():
    """Bands are written back one band late: the band below still reads the rows above it
    as they were, so the result equals the whole-map computation and the map is the input's."""
    conv = torch.nn.Conv2d(4, 4, 5, padding=2)
    step = Step(conv, halo=2)
    x = torch.randn(1, 4, 40, 56, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        expected = conv(x)
        kept = x.clone()
        out_of_place = _run_step(step, kept, 16)
        pointer = kept.data_ptr()
        in_place = _run_step(step, kept, 16, in_place=True)
    assert in_place.data_ptr() == pointer  # written into its input
    torch.testing.assert_close(out_of_place, expected, rtol=0, atol=1e-5)
    assert torch.equal(in_place, out_of_place)


def test_the_callers_map_is_never_written():
    steps = [Step(torch.nn.Conv2d(3, 3, 3, padding=1), halo=1)] * 2
    x = torch.randn(1, 3, 64, 64)
    before = x.clone()
    run_steps(steps, x, 128, Fraction(1, 4))
    assert torch.equal(x, before)
