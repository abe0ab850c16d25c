"""ConvNeXt-ChARM (Ghorbel et al. 2023): configurations, the codec ``convnext-charm`` and the
bundled ``convnext-charm-tiny``.

Facts behind the paper configuration: ConvNeXt stages, depths [3, 3, 9, 3] analysis and
[3, 9, 3, 3] synthesis, channels 128→192→256→320; hyper depths [5, 1] / [1, 5] at 192; slice
transforms 5×5→224, 5×5→128, 3×3→32 with ReLU; each slice sees its own 32 hyper channels and at
most the first 5 earlier slices; LRP. The network is :mod:`licbench.codecs.learned.convnext_charm`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from licbench.codecs.learned.bundled import Bundled
from licbench.codecs.learned.codec import LearnedCodec
from licbench.codecs.learned.configs import register_architecture, register_codec
from licbench.codecs.learned.latent_config import LatentConfig


@dataclass(frozen=True)
class ConvNeXtCharmConfig:
    latent: LatentConfig
    dims: tuple[int, int, int] = (128, 192, 256)
    analysis_depths: tuple[int, int, int, int] = (3, 3, 9, 3)
    synthesis_depths: tuple[int, int, int, int] = (3, 9, 3, 3)
    hyper_analysis_depths: tuple[int, int] = (5, 1)
    hyper_synthesis_depths: tuple[int, int] = (1, 5)
    kernel_size: int = 7
    mlp_ratio: int = 4
    layer_scale: float = 1e-6
    slice_hidden: tuple[int, int] = (224, 128)
    slice_kernels: tuple[int, int, int] = (5, 5, 3)


TINY = ConvNeXtCharmConfig(
    LatentConfig(80, 48, (8,) * 10, "slice", 5, True),
    dims=(32, 48, 64),
    analysis_depths=(1, 1, 1, 1),
    synthesis_depths=(1, 1, 1, 1),
    hyper_analysis_depths=(1, 1),
    hyper_synthesis_depths=(1, 1),
    slice_hidden=(24, 16),
    slice_kernels=(3, 3, 3),
)


@register_architecture(
    "convnext-charm",
    builder="licbench.codecs.learned.convnext_charm:build_convnext_charm",
    configs={
        "paper": ConvNeXtCharmConfig(LatentConfig(320, 192, (32,) * 10, "slice", 5, True)),
        "tiny": TINY,
        # 128 latent channels in 8 slices and wider stages: tiny's transforms cap PSNR near
        # 31 dB whatever λ (see the cca "small" configuration)
        "small": replace(
            TINY, latent=LatentConfig(128, 48, (16,) * 8, "slice", 5, True), dims=(48, 64, 96)
        ),
    },
    description="ConvNeXt-ChARM (Ghorbel et al. 2023): ConvNeXt stages, 10×32 slices, LRP",
)
class ConvNeXtCharm(LearnedCodec):
    pass


@register_codec("convnext-charm-tiny")
class ConvNeXtCharmTiny(Bundled, ConvNeXtCharm):
    bundle = "convnext-charm-tiny"
    description = (
        "ConvNeXt-ChARM, bundled: CPU-trained checkpoints of the small configuration, "
        "λ 0.0009-0.0483 (see training.json)"
    )
