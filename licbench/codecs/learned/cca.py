"""CCA transforms (Han et al., NeurIPS 2024): residual-bottleneck + NAF-block CNN, no attention.

Module names and shapes follow the official ``LICAutoencoder`` (``g_a.down.i``, ``g_a.blocks.i.j``,
``g_s.up.i``, ...) so official checkpoints load; only the entropy-model part is renamed, by the
explicit table ``checkpoints.CCA_KEY_MAP``. CCA's auxiliary training model (the CCA loss's
second entropy model) is not part of this coding model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from licbench.codecs.learned.latent_codec import ChannelARLatentCodec
from licbench.codecs.learned.layers import (
    NAFBlock,
    NAFSupportTransform,
    ResidualBottleneckBlock,
    conv,
    deconv,
    slice_transform,
)
from licbench.codecs.learned.model import LearnedCompressionModel
from licbench.codecs.learned.tiling import Step

if TYPE_CHECKING:  # the configuration is declared with the architecture
    from licbench.codecs.learned.archs.cca import CCAConfig


def _block_steps(blocks: nn.Sequential) -> list[Step]:
    """NAF blocks (3×3 depthwise, global channel means) and RB blocks (3×3): halo 1."""
    return [
        Step(block, halo=1, pooled=block.gated) if isinstance(block, NAFBlock) else Step(block, 1)
        for block in blocks
    ]


class CCAAnalysis(nn.Module):
    """Four 5×5 stride-2 convolutions; after each of the first three, RB blocks then NAF blocks."""

    def __init__(self, cfg: CCAConfig) -> None:
        super().__init__()
        dims = [3, *cfg.ae_dim, cfg.latent.latent_channels]
        self.down = nn.ModuleList(conv(dims[i], dims[i + 1]) for i in range(4))
        self.blocks = nn.ModuleList(
            nn.Sequential(
                *[ResidualBottleneckBlock(d) for _ in range(cfg.res_blocks)],
                *[NAFBlock(d) for _ in range(n)],
            )
            for d, n in zip(cfg.ae_dim, cfg.naf_blocks, strict=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        for down, blocks in zip(self.down, self.blocks, strict=False):
            x = blocks(down(x))
        return self.down[-1](x)

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps: a 5×5 stride-2 convolution reads 2 input units."""
        steps: list[Step] = []
        for i, down in enumerate(self.down):
            steps.append(Step(down, halo=2, down=2, align=2))
            if i < len(self.blocks):
                steps += _block_steps(self.blocks[i])
        return steps


class CCASynthesis(nn.Module):
    """The mirror: 5×5 stride-2 transposed convolutions, NAF blocks then RB blocks."""

    def __init__(self, cfg: CCAConfig) -> None:
        super().__init__()
        dims = [3, *cfg.ae_dim, cfg.latent.latent_channels]
        self.up = nn.ModuleList(deconv(dims[i + 1], dims[i]) for i in reversed(range(4)))
        self.blocks = nn.ModuleList(
            nn.Sequential(
                *[NAFBlock(cfg.ae_dim[i]) for _ in range(cfg.naf_blocks[i])],
                *[ResidualBottleneckBlock(cfg.ae_dim[i]) for _ in range(cfg.res_blocks)],
            )
            for i in reversed(range(3))
        )

    def forward(self, x: Tensor) -> Tensor:
        for up, blocks in zip(self.up, self.blocks, strict=False):
            x = blocks(up(x))
        return self.up[-1](x)

    def tile_steps(self) -> list[Step]:
        """:meth:`forward` as tiling steps: a 5×5 stride-2 transposed convolution reads 1."""
        steps: list[Step] = []
        for i, up in enumerate(self.up):
            steps.append(Step(up, halo=1, up=2))
            if i < len(self.blocks):
                steps += _block_steps(self.blocks[i])
        return steps


def build_cca(
    cfg: CCAConfig, *, arch: str = "cca", config_name: str = ""
) -> LearnedCompressionModel:
    lat = cfg.latent
    m, mid, z = lat.latent_channels, cfg.ae_dim[2], lat.hyper_channels
    h_a = nn.Sequential(conv(m, mid, 3, 1), nn.GELU(), conv(mid, mid), nn.GELU(), conv(mid, z))

    def hyper_synthesis() -> nn.Sequential:
        return nn.Sequential(
            deconv(z, mid), nn.GELU(), deconv(mid, mid), nn.GELU(), deconv(mid, m, 3, 1)
        )

    def param_net(kind: str, index: int, in_ch: int, out_ch: int) -> nn.Module:
        return slice_transform(in_ch, out_ch, cfg.cc_hidden, (3, 3, 3), nn.GELU)

    def support_net(kind: str, index: int, channels: int) -> nn.Module:
        return NAFSupportTransform(channels, cfg.em_dim, cfg.em_blocks)

    latent = ChannelARLatentCodec(
        lat,
        h_a=h_a,
        h_s=(hyper_synthesis(), hyper_synthesis()),
        param_net=param_net,
        support_net=support_net,
    )
    return LearnedCompressionModel(
        CCAAnalysis(cfg), CCASynthesis(cfg), latent, arch=arch, config_name=config_name, config=cfg
    )
