"""What one training run is: architecture, rate point, data and schedule.

Its own module, without torch, so the command line reads its defaults from here (one source)
without importing the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    arch: str
    config: str
    lmbda: float
    alpha: float
    data: str
    val: str | None
    steps: int
    out: str
    batch_size: int = 8
    crop: int = 256
    lr: float = 1e-4
    aux_lr: float = 1e-3
    clip: float = 1.0
    lr_drop_at: float = 0.9
    val_every: int = 500
    val_images: int = 8
    save_every: int = 500
    seed: int = 0
    threads: int | None = None
    #: the architecture's configuration when ``--config`` is not given
    default_config = "tiny"


__all__ = ["TrainConfig"]
