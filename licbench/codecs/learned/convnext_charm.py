"""ConvNeXt-ChARM transforms (Ghorbel, Hamidouche, Morin 2023): ConvNeXt stages everywhere.

Resampling is a 2×2 stride-2 convolution (down) or transposed convolution (up), preceded by a
channel LayerNorm except for the stem, which is followed by one. The authors' code is TF2 and
released no weights, so module names here are our own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from torch import Tensor, nn

from licbench.codecs.learned.latent_codec import ChannelARLatentCodec
from licbench.codecs.learned.layers import ConvNeXtBlock, LayerNorm2d, slice_transform
from licbench.codecs.learned.model import LearnedCompressionModel
from licbench.codecs.learned.tiling import Step

if TYPE_CHECKING:  # the configuration is declared with the architecture
    from licbench.codecs.learned.archs.convnext_charm import ConvNeXtCharmConfig


def _stage_steps(stage: nn.Sequential) -> list[Step]:
    """ConvNeXt blocks: the k×k depthwise convolution reads (k−1)/2 units each side."""
    return [Step(block, halo=block.dwconv.kernel_size[0] // 2) for block in stage]


def _stage(dim: int, depth: int, cfg: ConvNeXtCharmConfig) -> nn.Sequential:
    return nn.Sequential(
        *[ConvNeXtBlock(dim, cfg.kernel_size, cfg.mlp_ratio, cfg.layer_scale) for _ in range(depth)]
    )


class ConvNeXtAnalysis(nn.Module):
    """Downsample then stage, per level: dims[i] → dims[i+1] with ``depths[i]`` blocks after it.

    With ``stem`` the first downsampling is conv + LayerNorm (from pixels); otherwise every
    downsampling is LayerNorm + conv.
    """

    def __init__(
        self, dims: Sequence[int], depths: Sequence[int], cfg: ConvNeXtCharmConfig, stem: bool
    ) -> None:
        super().__init__()
        self.downsample = nn.ModuleList()
        for i in range(len(depths)):
            step = nn.Conv2d(dims[i], dims[i + 1], 2, stride=2)
            if i == 0 and stem:
                self.downsample.append(nn.Sequential(step, LayerNorm2d(dims[1])))
            else:
                self.downsample.append(nn.Sequential(LayerNorm2d(dims[i]), step))
        self.stages = nn.ModuleList(_stage(dims[i + 1], d, cfg) for i, d in enumerate(depths))

    def forward(self, x: Tensor) -> Tensor:
        for down, stage in zip(self.downsample, self.stages, strict=True):
            x = stage(down(x))
        return x

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps (2×2 stride-2 cells: halo 0, on the stride grid)."""
        steps: list[Step] = []
        for down, stage in zip(self.downsample, self.stages, strict=True):
            steps += [Step(down, down=2, align=2), *_stage_steps(stage)]
        return steps


class ConvNeXtSynthesis(nn.Module):
    """Stage then upsample, per level: ``depths[i]`` blocks at dims[i], then up to dims[i+1]."""

    def __init__(
        self, dims: Sequence[int], depths: Sequence[int], cfg: ConvNeXtCharmConfig
    ) -> None:
        super().__init__()
        self.stages = nn.ModuleList(_stage(dims[i], d, cfg) for i, d in enumerate(depths))
        self.upsample = nn.ModuleList(
            nn.Sequential(
                LayerNorm2d(dims[i]), nn.ConvTranspose2d(dims[i], dims[i + 1], 2, stride=2)
            )
            for i in range(len(depths))
        )

    def forward(self, x: Tensor) -> Tensor:
        for stage, up in zip(self.stages, self.upsample, strict=True):
            x = up(stage(x))
        return x

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps (2×2 stride-2 transposed cells: halo 0)."""
        steps: list[Step] = []
        for stage, up in zip(self.stages, self.upsample, strict=True):
            steps += [*_stage_steps(stage), Step(up, up=2)]
        return steps


def build_convnext_charm(
    cfg: ConvNeXtCharmConfig, *, arch: str = "convnext-charm", config_name: str = ""
) -> LearnedCompressionModel:
    lat = cfg.latent
    m, z = lat.latent_channels, lat.hyper_channels
    g_a = ConvNeXtAnalysis([3, *cfg.dims, m], cfg.analysis_depths, cfg, stem=True)
    g_s = ConvNeXtSynthesis([m, *reversed(cfg.dims), 3], cfg.synthesis_depths, cfg)
    h_a = ConvNeXtAnalysis([m, z, z], cfg.hyper_analysis_depths, cfg, stem=False)

    def hyper_synthesis() -> nn.Module:
        return ConvNeXtSynthesis([z, z, m], cfg.hyper_synthesis_depths, cfg)

    def param_net(kind: str, index: int, in_ch: int, out_ch: int) -> nn.Module:
        return slice_transform(in_ch, out_ch, cfg.slice_hidden, cfg.slice_kernels, nn.ReLU)

    latent = ChannelARLatentCodec(
        lat, h_a=h_a, h_s=(hyper_synthesis(), hyper_synthesis()), param_net=param_net
    )
    return LearnedCompressionModel(g_a, g_s, latent, arch=arch, config_name=config_name, config=cfg)
