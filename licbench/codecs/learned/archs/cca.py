"""CCA (Han et al., NeurIPS 2024): configurations, the codec ``cca``, the bundled ``cca-tiny``.

Facts behind the paper configuration (official code LabShuHangGU/CCA; see
``shared/reference/README.md``): analysis 3→192→224→256→320 with 5×5 stride-2 convolutions,
3 residual-bottleneck + 4 NAF blocks after each of the first three; hyperprior 320→256→256→192
(z), separate mean and scale synthesis; 5 slices ∝ i^1.7 = [8, 28, 56, 92, 136]; per slice NAF
support transforms (224 ch, 4 blocks), 3×3 convolutions →224→128→slice, LRP. Shapes match the
official state dict key by key. The network is :mod:`licbench.codecs.learned.cca`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from licbench.codecs.learned.bundled import Bundled
from licbench.codecs.learned.codec import LearnedCodec
from licbench.codecs.learned.configs import (
    proportional_slices,
    register_architecture,
    register_codec,
)
from licbench.codecs.learned.latent_config import LatentConfig


@dataclass(frozen=True)
class CCAConfig:
    """CCA's CNN transforms (names and shapes follow the official ``LICAutoencoder``)."""

    latent: LatentConfig
    ae_dim: tuple[int, int, int] = (192, 224, 256)
    naf_blocks: tuple[int, int, int] = (4, 4, 4)
    res_blocks: int = 3
    em_dim: int = 224
    em_blocks: int = 4
    cc_hidden: tuple[int, int] = (224, 128)


TINY = CCAConfig(
    LatentConfig(48, 32, proportional_slices(48, 5, 1.7), "full", None, True),
    ae_dim=(32, 40, 48),
    naf_blocks=(1, 1, 1),
    res_blocks=1,
    em_dim=32,
    em_blocks=1,
    cc_hidden=(32, 24),
)


@register_architecture(
    "cca",
    builder="licbench.codecs.learned.cca:build_cca",
    configs={
        "paper": CCAConfig(
            LatentConfig(320, 192, proportional_slices(320, 5, 1.7), "full", None, True)
        ),
        "tiny": TINY,
        # tiny with 128 latent channels: 48 cap what any λ can reach (g_s(g_a(x)) without
        # quantisation stays below 31 dB on Kodak; PCA's 48 of 768 dims per 16×16 block reach
        # 31.2 dB, its 128 37.2 dB)
        "small": replace(
            TINY,
            latent=LatentConfig(128, 32, proportional_slices(128, 5, 1.7), "full", None, True),
            ae_dim=(32, 48, 64),
            em_dim=24,
            cc_hidden=(24, 16),
        ),
    },
    description="CCA (Han et al., NeurIPS 2024): residual-bottleneck + NAF CNN, 5 uneven slices",
)
class CCA(LearnedCodec):
    official_weights = True  # `licbench fetch-weights cca`: the paper's four checkpoints


@register_codec("cca-tiny")
class CCATiny(Bundled, CCA):
    bundle = "cca-tiny"
    description = (
        "CCA, bundled: CPU-trained checkpoints of the small configuration, CCA loss α=1, "
        "λ 0.0009-0.0483 (see training.json)"
    )
