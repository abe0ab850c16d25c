"""The learned architectures, one ``Registry`` of them, and ``create_model`` / ``list_models``.

Why one table: the paper configurations, the tiny test configurations and the names users type
(``cca``, ``convnext-charm``, ``swint-charm`` × ``paper``, ``tiny``) live here and nowhere else,
timm-style. They sit in the same generic :class:`~licbench.registry.Registry` as codecs, datasets
and metrics (:data:`MODELS`), so a name is registered once and an unknown one answers with close
matches. This module imports no torch, so listing models and parsing specs stay cheap; the
builders are named lazily (``"module:function"``) and imported only by :func:`create_model`.

Facts behind the paper configurations (see ``shared/reference/README.md``):

* CCA (Han et al. 2024, official code LabShuHangGU/CCA): analysis 3→192→224→256→320 with 5×5
  stride-2 convolutions, 3 residual-bottleneck + 4 NAF blocks after each of the first three;
  hyperprior 320→256→256→192 (z), separate mean and scale synthesis; 5 slices ∝ i^1.7 =
  [8, 28, 56, 92, 136]; per slice NAF support transforms (224 ch, 4 blocks), 3×3 convolutions
  →224→128→slice, LRP. Shapes match the official state dict key by key.
* ConvNeXt-ChARM (Ghorbel et al. 2023): ConvNeXt stages, depths [3, 3, 9, 3] analysis and
  [3, 9, 3, 3] synthesis, channels 128→192→256→320; hyper depths [5, 1] / [1, 5] at 192; slice
  transforms 5×5→224, 5×5→128, 3×3→32 with ReLU; each slice sees its own 32 hyper channels and
  at most the first 5 earlier slices; LRP.
* SwinT-ChARM (Zhu et al. 2022): Swin stages (head dim 32, MLP ratio 4), window 8 in g_a/g_s and
  4 in h_a/h_s, channels (128, 192, 256, 320), depths (2, 2, 6, 2), hyper 192 with depths (5, 1);
  slice transforms with the hidden widths of the authors' training log, no LRP, every slice sees
  all earlier ones. 32.6M parameters.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from licbench.codecs.learned.latent_config import LatentConfig
from licbench.registry import Registry, RegistryError, import_object

if TYPE_CHECKING:  # pragma: no cover
    from licbench.codecs.learned.model import LearnedCompressionModel


def proportional_slices(channels: int, count: int, power: float) -> tuple[int, ...]:
    """Slice sizes ∝ i^power, as CCA computes them: floor each share, the remainder to the last.

    ``proportional_slices(320, 5, 1.7) == (8, 28, 56, 92, 136)``.
    """
    props = [(i + 1) ** power for i in range(count)]
    sizes = [math.floor(channels / sum(props) * p) for p in props]
    sizes[-1] += channels - sum(sizes)
    if min(sizes) < 1:
        raise ValueError(f"{count} slices of {channels} channels leave an empty slice: {sizes}")
    return tuple(sizes)


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


ModelConfig = CCAConfig | ConvNeXtCharmConfig | SwinTCharmConfig


@dataclass(frozen=True)
class Arch:
    """One architecture: its builder (imported lazily) and its named configurations."""

    builder: str
    configs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


#: the learned architectures by name; each entry's builder is imported on first ``create_model``
MODELS: Registry[Arch] = Registry("learned architecture")

_BUILTIN: dict[str, Arch] = {
    "cca": Arch(
        "licbench.codecs.learned.cca:build_cca",
        {
            "paper": CCAConfig(
                LatentConfig(320, 192, proportional_slices(320, 5, 1.7), "full", None, True)
            ),
            "tiny": CCAConfig(
                LatentConfig(48, 32, proportional_slices(48, 5, 1.7), "full", None, True),
                ae_dim=(32, 40, 48),
                naf_blocks=(1, 1, 1),
                res_blocks=1,
                em_dim=32,
                em_blocks=1,
                cc_hidden=(32, 24),
            ),
        },
        "CCA (Han et al., NeurIPS 2024): residual-bottleneck + NAF CNN, 5 uneven slices",
    ),
    "convnext-charm": Arch(
        "licbench.codecs.learned.convnext_charm:build_convnext_charm",
        {
            "paper": ConvNeXtCharmConfig(LatentConfig(320, 192, (32,) * 10, "slice", 5, True)),
            "tiny": ConvNeXtCharmConfig(
                LatentConfig(80, 48, (8,) * 10, "slice", 5, True),
                dims=(32, 48, 64),
                analysis_depths=(1, 1, 1, 1),
                synthesis_depths=(1, 1, 1, 1),
                hyper_analysis_depths=(1, 1),
                hyper_synthesis_depths=(1, 1),
                slice_hidden=(24, 16),
                slice_kernels=(3, 3, 3),
            ),
        },
        "ConvNeXt-ChARM (Ghorbel et al. 2023): ConvNeXt stages, 10×32 slices, LRP",
    ),
    "swint-charm": Arch(
        "licbench.codecs.learned.swint_charm:build_swint_charm",
        {
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
        "SwinT-ChARM (Zhu et al., ICLR 2022): Swin stages (windows 8 and 4), 10×32 slices",
    ),
}
for _name, _arch in _BUILTIN.items():
    MODELS.register(_name, _arch)
del _BUILTIN


class _RegistryView(Mapping[str, Arch]):
    """``ARCHS``: the registry read as a mapping, for callers that look names up with ``in``,
    ``[]`` and ``.values()`` (the CLI's choices, the codecs' spec checks); it holds nothing."""

    def __getitem__(self, name: str) -> Arch:
        if name not in MODELS:
            raise KeyError(name)
        return MODELS.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(MODELS.names())

    def __len__(self) -> int:
        return len(MODELS.names())


ARCHS: Mapping[str, Arch] = _RegistryView()


def _split_name(arch: str, config: str | None) -> tuple[str, str]:
    if config is None and "/" in arch:
        arch, config = arch.split("/", 1)
    return arch, config or "paper"


def get_config(arch: str, config: str | None = None) -> ModelConfig:
    """The configuration object for ``arch`` (``"cca"``) and ``config`` (``"paper"``, ``"tiny"``).

    ``arch`` may also be ``"cca/tiny"``. Unknown names raise ``KeyError`` naming the choices.
    """
    arch, config = _split_name(arch, config)
    try:
        configs = MODELS.get(arch).configs
    except RegistryError as error:
        raise KeyError(str(error)) from None
    if config not in configs:
        raise KeyError(f"{arch} has no config {config!r}; choose from {sorted(configs)}")
    return configs[config]


def list_models(pattern: str = "*") -> list[str]:
    """Names ``arch/config`` matching a shell wildcard, e.g. ``list_models("*/tiny")``."""
    names = [f"{a}/{c}" for a, entry in MODELS.items() for c in entry.configs]
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def create_model(arch: str, config: str | None = None) -> LearnedCompressionModel:
    """Build ``arch`` with the named ``config`` and freshly initialised (untrained) weights.

    Builds on the current default device, so ``with torch.device("meta"): create_model(...)``
    counts parameters without allocating them. Load weights with
    :func:`licbench.codecs.learned.checkpoints.load_weights`.
    """
    arch, config = _split_name(arch, config)
    cfg = get_config(arch, config)
    builder = import_object(MODELS.get(arch).builder)
    return builder(cfg, arch=arch, config_name=config)
