"""SwinT-ChARM transforms (Zhu, Yang, Cohen, ICLR 2022): Swin stages in all four transforms.

Analysis: a 2×2 stride-2 patch embedding, then per level a Swin stage followed by patch merging
(none after the last). Synthesis: per level a Swin stage followed by patch splitting, the last one
a biased linear 'unpack' to pixels (or, in the hyper synthesis, to 2·M means and scales). No
official code exists; the configuration follows the paper's appendix and the authors' training
log as reported by public re-implementations (32.6M parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from torch import Tensor, nn

from licbench.codecs.learned.latent_codec import ChannelARLatentCodec
from licbench.codecs.learned.layers import slice_transform
from licbench.codecs.learned.model import LearnedCompressionModel
from licbench.codecs.learned.swin import PatchMerging, PatchSplitting, SwinStage
from licbench.codecs.learned.tiling import Step

if TYPE_CHECKING:  # the configuration is declared with the architecture
    from licbench.codecs.learned.archs.swint_charm import SwinTCharmConfig


def _nhwc(x: Tensor) -> Tensor:
    return x.permute(0, 2, 3, 1)


def _nchw(x: Tensor) -> Tensor:
    return x.permute(0, 3, 1, 2)


def _stage_steps(stage: SwinStage) -> list[Step]:
    """Swin blocks on the window grid: a shifted block reads w/2 beyond a tile (see tiling)."""
    return [
        Step(b, halo=b.window // 2 if b.shift else 0, align=b.window, channels_last=True)
        for b in stage.blocks
    ]


class SwinAnalysis(nn.Module):
    def __init__(
        self,
        in_ch: int,
        dims: Sequence[int],
        depths: Sequence[int],
        head_dim: int,
        window: int,
        mlp_ratio: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Conv2d(in_ch, dims[0], 2, stride=2)
        self.stages = nn.ModuleList(
            SwinStage(d, n, head_dim, window, mlp_ratio) for d, n in zip(dims, depths, strict=True)
        )
        self.merges = nn.ModuleList(
            PatchMerging(dims[i], dims[i + 1]) for i in range(len(dims) - 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.embed(x).permute(0, 2, 3, 1)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        return x.permute(0, 3, 1, 2)

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps (patch embedding and merging: 2×2 cells, halo 0)."""
        steps = [Step(self.embed, down=2, align=2), Step(_nhwc, whole=True)]
        for i, stage in enumerate(self.stages):
            steps += _stage_steps(stage)
            if i < len(self.merges):
                steps.append(Step(self.merges[i], down=2, align=2, channels_last=True))
        return [*steps, Step(_nchw, whole=True)]


class SwinSynthesis(nn.Module):
    def __init__(
        self,
        dims: Sequence[int],
        out_ch: int,
        depths: Sequence[int],
        head_dim: int,
        window: int,
        mlp_ratio: float,
    ) -> None:
        super().__init__()
        outs = [*dims[1:], out_ch]
        self.stages = nn.ModuleList(
            SwinStage(d, n, head_dim, window, mlp_ratio) for d, n in zip(dims, depths, strict=True)
        )
        self.splits = nn.ModuleList(
            PatchSplitting(d, o, final=i == len(dims) - 1)
            for i, (d, o) in enumerate(zip(dims, outs, strict=True))
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        for stage, split in zip(self.stages, self.splits, strict=True):
            x = split(stage(x))
        return x.permute(0, 3, 1, 2)

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps (patch splitting: one token to 2×2, halo 0)."""
        steps = [Step(_nhwc, whole=True)]
        for stage, split in zip(self.stages, self.splits, strict=True):
            steps += [*_stage_steps(stage), Step(split, up=2, channels_last=True)]
        return [*steps, Step(_nchw, whole=True)]


def build_swint_charm(
    cfg: SwinTCharmConfig, *, arch: str = "swint-charm", config_name: str = ""
) -> LearnedCompressionModel:
    lat = cfg.latent
    m, z = lat.latent_channels, lat.hyper_channels
    dims = [*cfg.dims, m]
    hd, w, wh, r = cfg.head_dim, cfg.window, cfg.hyper_window, cfg.mlp_ratio
    g_a = SwinAnalysis(3, dims, cfg.analysis_depths, hd, w, r)
    g_s = SwinSynthesis(dims[::-1], 3, cfg.synthesis_depths, hd, w, r)
    h_a = SwinAnalysis(m, [z, z], cfg.hyper_analysis_depths, hd, wh, r)
    h_s = SwinSynthesis([z, z], 2 * m, cfg.hyper_synthesis_depths, hd, wh, r)
    if len(cfg.slice_hidden0) != len(lat.slices) or len(cfg.slice_hidden1) != len(lat.slices):
        raise ValueError("slice_hidden0/1 need one width per slice")

    def param_net(kind: str, index: int, in_ch: int, out_ch: int) -> nn.Module:
        hidden = (cfg.slice_hidden0[index], cfg.slice_hidden1[index])
        return slice_transform(in_ch, out_ch, hidden, (3, 3, 3), nn.ReLU)

    latent = ChannelARLatentCodec(lat, h_a=h_a, h_s=h_s, param_net=param_net)
    return LearnedCompressionModel(g_a, g_s, latent, arch=arch, config_name=config_name, config=cfg)
