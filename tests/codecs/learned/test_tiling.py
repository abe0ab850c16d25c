"""Tiled analysis and synthesis (``tiling``): the same numbers as the whole map, up to rounding.

Random initialisations make NAF blocks the identity (beta = gamma = 0) and ConvNeXt blocks almost
so (layer scale 1e-6), which would hide a halo that is too small or a channel mean taken over a
tile instead of the whole map; ``_wake`` gives those scales random values first. The bounds are
about 2.5× the largest differences measured on these inputs (float32 rounding: convolution
kernels block their sums differently for other tile shapes; the NAF means are summed tile by
tile). Each test takes a few CPU seconds.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
import torch

from licbench.codecs.base import CodecSpecError
from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm, create_model
from licbench.codecs.learned.codec import AUTO_TILE, AUTO_TILE_ABOVE
from licbench.codecs.learned.tiling import run_steps

ARCHS = ("cca", "convnext-charm", "swint-charm")
CODECS = {cls.arch: cls for cls in (CCA, ConvNeXtCharm, SwinTCharm)}
#: max |tiled - untiled| allowed; measured (x̂ within about ±1, y within about ±3), synthesis /
#: analysis: CCA 6.0e-7 / 2.2e-7, ConvNeXt-ChARM 1.7e-6 / 1.4e-6, SwinT-ChARM 0 / 0 (no
#: convolution after the patch embedding; the bound leaves room for other kernels)
BOUND = {"cca": 1.5e-6, "convnext-charm": 4e-6, "swint-charm": 1e-6}


@torch.no_grad()
def _wake(model: torch.nn.Module) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(1)
    for name, parameter in model.named_parameters():
        if name.rsplit(".", 1)[-1] in ("beta", "gamma"):
            parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    return model


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return _wake(create_model(arch, "tiny").eval())


def _latent(model, height: int = 16, width: int = 24) -> torch.Tensor:
    channels = model.latent.config.latent_channels
    return 3 * torch.randn(1, channels, height, width, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("arch", ARCHS)
def test_tiled_synthesis_equals_untiled(arch) -> None:
    model = _model(arch)
    y = _latent(model)  # 256×384 px: 2×3 tiles of 128 px at every level
    with torch.no_grad():
        whole = model.g_s(y)
    tiled = model.synthesize(y, 128)
    assert tiled.shape == whole.shape == (1, 3, 256, 384)
    difference = float((tiled - whole).abs().max())
    assert difference <= BOUND[arch], f"{arch}: max abs difference {difference:.3g}"


@pytest.mark.parametrize("arch", ARCHS)
def test_tiled_analysis_equals_untiled(arch) -> None:
    model = _model(arch)
    x = torch.rand(1, 3, 256, 384, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        whole = model.g_a(x)
    tiled = model.analyze(x, 128)
    assert tiled.shape == whole.shape == (1, model.latent.config.latent_channels, 16, 24)
    difference = float((tiled - whole).abs().max())
    assert difference <= BOUND[arch], f"{arch}: max abs difference {difference:.3g}"


@pytest.mark.parametrize("arch", ARCHS)
def test_the_halos_and_global_means_are_needed(arch) -> None:
    """Without halos (and with CCA's channel means taken per tile) tiles show: the tests above
    would catch a halo that is too small."""
    model = _model(arch)
    y = _latent(model)
    steps = [
        dataclasses.replace(s, halo=0, pooled=None) if not s.whole else s
        for s in model.g_s.tile_steps()
    ]
    with torch.no_grad():
        whole = model.g_s(y)
        seamed = run_steps(steps, y, 128, Fraction(1, 16))
    assert float((seamed - whole).abs().max()) > 1e-3


@pytest.mark.parametrize("arch", ARCHS)
def test_codec_with_tiling_forced_on(arch, image_maker, liven) -> None:
    codec = CODECS[arch](config="tiny", weights="random", tile="128")
    model = liven(_wake(codec.model(1)))
    image = image_maker(200, 300, seed=4)  # padded 256×320: 2×3 tiles of 128 px
    data = codec.encode(image, 1)
    tiled = codec.decode(data)
    assert np.array_equal(codec.decode(data), tiled)  # deterministic

    codec.tile = 0
    untiled = codec.decode(data)
    # measured: CCA and SwinT-ChARM identical, ConvNeXt-ChARM 3 of 180 000 values one level apart
    difference = np.abs(tiled.astype(np.int16) - untiled)
    share = np.mean(difference > 0)
    assert difference.max() <= 1, f"{arch}: max difference {difference.max()} levels"
    assert share <= 5e-5, f"{arch}: {share:.4%} of the values differ"
    # tiled encoding: the same latents up to rounding, so (here) the same bytes
    assert codec.encode(image, 1) == data
    assert model is codec.model(1)


def test_tile_parameter() -> None:
    codec = CCA(config="tiny", weights="random")
    assert codec.tile is None and "tile=auto:" in codec.version()
    assert codec.tile_size(768, 512) == 0  # Kodak: untouched
    assert codec.tile_size(2048, 2048) == AUTO_TILE and 2048 * 2048 > AUTO_TILE_ABOVE
    off = CCA(config="tiny", weights="random", tile="0")
    assert off.tile_size(4096, 4096) == 0 and "tile=0" in off.version()
    forced = CCA(config="tiny", weights="random", tile="256")
    assert forced.tile_size(64, 64) == 256 and forced.version() != codec.version()
    for bad in ("100", "-128", "big"):
        with pytest.raises(CodecSpecError, match="multiple of 128"):
            CCA(config="tiny", weights="random", tile=bad)
