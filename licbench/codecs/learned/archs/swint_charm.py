"""SwinT-ChARM (Zhu, Yang, Cohen, ICLR 2022): its configurations and its codec ``swint-charm``.

Facts behind the paper configuration: Swin stages (head dim 32, MLP ratio 4), window 8 in
g_a/g_s and 4 in h_a/h_s, channels (128, 192, 256, 320), depths (2, 2, 6, 2), hyper 192 with
depths (5, 1); slice transforms with the hidden widths of the authors' training log, no LRP,
every slice sees all earlier ones. 32.6M parameters. The network is
:mod:`licbench.codecs.learned.swint_charm`.
"""

from __future__ import annotations

from dataclasses import dataclass

from licbench.codecs.learned.codec import LearnedCodec
from licbench.codecs.learned.configs import register_architecture
from licbench.codecs.learned.latent_config import LatentConfig


@dataclass(frozen=True)
class SwinTCharmConfig:
    latent: LatentConfig
    dims: tuple[int, int, int] = (128, 192, 256)
    analysis_depths: tuple[int, int, int, int] = (2, 2, 6, 2)
    synthesis_depths: tuple[int, int, int, int] = (2, 6, 2, 2)
    hyper_analysis_depths: tuple[int, int] = (5, 1)
    hyper_synthesis_depths: tuple[int, int] = (1, 5)
    head_dim: int = 32
    window: int = 8
    hyper_window: int = 4
    mlp_ratio: float = 4.0
    # hidden widths of the two first 3×3 convolutions of each slice transform (slice 0..9)
    slice_hidden0: tuple[int, ...] = (64, 64, 85, 106, 128, 149, 170, 192, 213, 234)
    slice_hidden1: tuple[int, ...] = (32, 32, 42, 53, 64, 74, 85, 96, 106, 117)


@register_architecture(
    "swint-charm",
    builder="licbench.codecs.learned.swint_charm:build_swint_charm",
    configs={
        "paper": SwinTCharmConfig(LatentConfig(320, 192, (32,) * 10, "slice", None, False)),
        "tiny": SwinTCharmConfig(
            LatentConfig(80, 48, (8,) * 10, "slice", None, False),
            dims=(32, 48, 64),
            analysis_depths=(2, 2, 2, 2),
            synthesis_depths=(2, 2, 2, 2),
            hyper_analysis_depths=(2, 1),
            hyper_synthesis_depths=(1, 2),
            head_dim=16,
            slice_hidden0=(16, 16, 21, 26, 32, 37, 42, 48, 53, 58),
            slice_hidden1=(8, 8, 10, 13, 16, 18, 21, 24, 26, 29),
        ),
    },
    description="SwinT-ChARM (Zhu et al., ICLR 2022): Swin stages (windows 8 and 4), 10×32 slices",
)
class SwinTCharm(LearnedCodec):
    pass
