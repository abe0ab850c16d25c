"""How the shared channel-wise latent codec is shaped: its channels, slices and what each sees.

A module of its own so that the imports form no loop: the table of named configurations
(``configs``, no torch) holds one per model and names the model class it builds, that model
holds the latent codec (``latent_codec``, torch), and the latent codec is built from this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HyperSupport = Literal["full", "slice"]


@dataclass(frozen=True)
class LatentConfig:
    """The channel-wise autoregressive latent codec shared by all three architectures.

    ``hyper_support``: ``"full"`` gives every slice network all M hyper means (or scales) — CCA;
    ``"slice"`` gives it only the hyper channels of its own slice — ConvNeXt-/SwinT-ChARM.
    ``max_support``: ``None`` lets slice i see all earlier slices; ``k`` only the first ``k`` of
    them (the Minnen–Singh convention, ``y_hat_slices[:k]``).
    """

    latent_channels: int
    hyper_channels: int
    slices: tuple[int, ...]
    hyper_support: HyperSupport = "full"
    max_support: int | None = None
    lrp: bool = True
    scale_min: float = 0.11
    scale_max: float = 256.0
    scale_levels: int = 64

    def __post_init__(self) -> None:
        if sum(self.slices) != self.latent_channels:
            raise ValueError(f"slices {self.slices} do not add up to {self.latent_channels}")
        if self.hyper_support not in ("full", "slice"):
            raise ValueError(f"hyper_support must be 'full' or 'slice', not {self.hyper_support!r}")
