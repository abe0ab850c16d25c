"""Training a learned codec with the rate–distortion loss and, for every ChARM model, the CCA loss.

``licbench train`` calls :func:`train`. What it does, in order: random crops (with flips) from an
image folder, Adam on the model, a second Adam on the CCA auxiliary model, a third on the entropy
bottleneck's quantiles (CompressAI's auxiliary loss), gradient clipping, periodic validation on
centre crops (loss, bpp from the likelihoods, PSNR), and checkpoints.

Files written
-------------
``OUT`` is a licbench checkpoint (see :mod:`checkpoints`): the model only, what the codec loads.
``OUT.state`` beside it holds what resuming needs: the three optimizers, the auxiliary model, the
step, the random-number states and the training arguments. ``--resume OUT`` continues exactly
where it stopped (the next step equals the one an uninterrupted run would take); ``--init CKPT``
starts from another checkpoint's weights (a warm start from another λ) with fresh optimizers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from licbench.codecs.learned.cca_loss import (
    AuxiliarySliceModel,
    RateDistortionCCALoss,
    split_parameters,
)
from licbench.codecs.learned.checkpoints import load_weights, read_checkpoint, save_checkpoint
from licbench.codecs.learned.configs import create_model
from licbench.codecs.learned.model import LearnedCompressionModel
from licbench.codecs.learned.train_config import TrainConfig
from licbench.core.files import atomic_writer

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm")
#: evaluation sets: training on them would make every licbench number on them meaningless
FORBIDDEN_TRAINING_SETS = ("kodak", "clic", "tecnick")


def image_files(folder: str | Path) -> list[Path]:
    files = sorted(
        p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not files:
        raise FileNotFoundError(f"{folder}: no training images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def check_training_folder(folder: str | Path) -> None:
    """Refuse evaluation sets as training data (by folder name)."""
    parts = {p.lower() for p in Path(folder).resolve().parts}
    for name in FORBIDDEN_TRAINING_SETS:
        if any(part == name or part.startswith(name + "-") for part in parts):
            raise ValueError(
                f"{folder}: looks like the {name} evaluation set; licbench never trains on "
                "Kodak, CLIC or Tecnick (results on them would be meaningless)"
            )


def check_config(config: TrainConfig) -> None:
    """Refuse values that would train nothing useful, before any time is spent.

    λ ≤ 0 or NaN makes the distortion term vanish or poisons every gradient, and the run would
    only show it as a checkpoint of garbage after hours.
    """
    limits = {
        "lmbda": (config.lmbda, "more than 0", lambda v: v > 0),
        "alpha": (config.alpha, "0 or more", lambda v: v >= 0),
        "lr": (config.lr, "more than 0", lambda v: v > 0),
    }
    for name, (value, rule, ok) in limits.items():
        if not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
            raise ValueError(f"--{name} must be a finite number {rule}, got {value!r}")
    for name in ("steps", "batch_size", "crop"):
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise ValueError(
                f"--{name.replace('_', '-')} must be a positive integer, got {value!r}"
            )


def _decode(path: Path) -> np.ndarray:
    """The whole image as RGB; a file Pillow cannot decode is a ValueError naming it."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, bomb errors...
        raise ValueError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None


class CropSampler:
    """Random crops with flips from images held in memory, driven by one numpy Generator.

    The generator's state is saved with the checkpoint, so a resumed run draws the same crops.
    """

    def __init__(self, files: Sequence[Path], crop: int, seed: int) -> None:
        self.images = []
        for path in files:  # every file fully decoded here, before the first training step
            array = _decode(path)
            if min(array.shape[:2]) >= crop:
                self.images.append(array)
        if not self.images:
            raise ValueError(f"no training image is at least {crop}x{crop}")
        self.crop = crop
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> Tensor:
        crops = []
        for _ in range(size):
            image = self.images[self.rng.integers(len(self.images))]
            top = self.rng.integers(image.shape[0] - self.crop + 1)
            left = self.rng.integers(image.shape[1] - self.crop + 1)
            crop = image[top : top + self.crop, left : left + self.crop]
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            crops.append(np.ascontiguousarray(crop))
        return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0


def centre_crops(files: Sequence[Path], crop: int, count: int) -> Tensor:
    crops = []
    for path in files[:count]:
        array = _decode(path)
        h, w = array.shape[:2]
        size = min(crop, h, w) // 64 * 64
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(torch.from_numpy(array[top : top + size, left : left + size].copy()))
    size = min(c.shape[0] for c in crops)
    return torch.stack([c[:size, :size] for c in crops]).permute(0, 3, 1, 2).float() / 255.0


def training_forward(model: LearnedCompressionModel, x: Tensor) -> dict[str, Any]:
    """The model's forward plus what the CCA loss needs: y and the hyper means and scales."""
    y = model.g_a(x)
    y_hat, likelihoods, (means, scales) = model.latent(y, return_hyper=True)
    return {
        "x_hat": model.g_s(y_hat),
        "likelihoods": likelihoods,
        "y": y,
        "means": means,
        "scales": scales,
    }


class Trainer:
    """One training run; :meth:`step` is a single optimisation step (tests call it directly)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        torch.manual_seed(config.seed)
        self.model = create_model(config.arch, config.config)
        self.auxiliary = AuxiliarySliceModel(self.model.latent) if config.alpha else None
        self.criterion = RateDistortionCCALoss(config.lmbda, config.alpha)
        main, quantiles = split_parameters(self.model)
        self.optimizer = torch.optim.Adam(main, lr=config.lr)
        self.quantile_optimizer = torch.optim.Adam(quantiles, lr=config.aux_lr)
        self.aux_optimizer = (
            torch.optim.Adam(self.auxiliary.parameters(), lr=config.lr) if self.auxiliary else None
        )
        self.step_index = 0
        self.wall_seconds = 0.0
        self.sampler: CropSampler | None = None
        #: the checkpoint this run started from and, nested, the ones before it (see warm_start)
        self.warm_start_from: dict[str, Any] | None = None

    # ----------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        return {
            "step": self.step_index,
            "wall_seconds": self.wall_seconds,
            "config": asdict(self.config),
            "optimizer": self.optimizer.state_dict(),
            "quantile_optimizer": self.quantile_optimizer.state_dict(),
            "aux_optimizer": self.aux_optimizer.state_dict() if self.aux_optimizer else None,
            "auxiliary": self.auxiliary.state_dict() if self.auxiliary else None,
            "torch_rng": torch.get_rng_state(),
            "sampler_rng": self.sampler.rng.bit_generator.state if self.sampler else None,
        }

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        path = Path(path)
        self.model.update(force=True)
        info = {
            "step": self.step_index,
            "arch": self.config.arch,
            "config": self.config.config,
            "lmbda": self.config.lmbda,
            "alpha": self.config.alpha,
            "batch_size": self.config.batch_size,
            "crop": self.config.crop,
            "lr": self.config.lr,
            "data": self.config.data,
            "wall_seconds": round(self.wall_seconds, 1),
            "torch": str(torch.__version__),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"warm_start_from": self.warm_start_from} if self.warm_start_from else {}),
            **(metadata or {}),
        }
        save_checkpoint(path, self.model, lmbda=self.config.lmbda, metadata=info)
        state_path = path.with_name(path.name + ".state")
        with atomic_writer(state_path) as f:
            torch.save(self.state(), f)
        return path

    def resume(self, path: str | Path) -> None:
        path = Path(path)
        payload = read_checkpoint(path)
        load_weights(self.model, payload, source=str(path))
        self.warm_start_from = payload["metadata"].get("warm_start_from")
        state = torch.load(path.with_name(path.name + ".state"), weights_only=True)
        self.step_index = int(state["step"])
        self.wall_seconds = float(state["wall_seconds"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.quantile_optimizer.load_state_dict(state["quantile_optimizer"])
        if self.aux_optimizer is not None and state["aux_optimizer"] is not None:
            self.aux_optimizer.load_state_dict(state["aux_optimizer"])
            assert self.auxiliary is not None
            self.auxiliary.load_state_dict(state["auxiliary"])
        torch.set_rng_state(state["torch_rng"])
        if self.sampler is not None and state["sampler_rng"] is not None:
            self.sampler.rng.bit_generator.state = state["sampler_rng"]

    def warm_start(self, path: str | Path) -> None:
        """Start from another checkpoint's weights, keeping this model's constant bounds.

        The entropy models' bounds (likelihoods ≥ 1e-9, scales ≥ 0.11) are buffers, so they are
        saved with the weights, but they are constants of the architecture, not learned. A
        float16 bundle stores 1e-9 as 0, and a likelihood of 0 makes the rate infinite and the
        next step NaN (a warm start from the bundled cca-tiny diverged within ~100 steps).

        The source's training record (its λ, steps, wall time and, nested, where it started) is
        kept as ``warm_start_from`` in this run's checkpoints, so a series trained as a chain
        of warm starts says in its ``training.json`` everything each rate point went through.
        """
        path = Path(path)
        bounds = {k: v.clone() for k, v in self.model.state_dict().items() if k.endswith("bound")}
        payload = read_checkpoint(path)
        load_weights(self.model, payload, source=str(path))
        self.model.load_state_dict(bounds, strict=False)
        self.warm_start_from = {"file": path.name, "lmbda": payload["lmbda"], **payload["metadata"]}

    # ----------------------------------------------------------------- steps
    def learning_rate(self) -> float:
        drop = self.step_index >= self.config.lr_drop_at * self.config.steps
        return self.config.lr * (0.1 if drop else 1.0)

    def step(self, batch: Tensor) -> dict[str, float]:
        self.model.train()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        output = training_forward(self.model, batch)
        losses = self.criterion(output, batch, self.auxiliary)
        self.optimizer.zero_grad(set_to_none=True)
        if self.aux_optimizer is not None:
            self.aux_optimizer.zero_grad(set_to_none=True)
        (losses["loss"] + losses["aux_fit"]).backward()
        if self.config.clip > 0:
            nn.utils.clip_grad_norm_(self.optimizer.param_groups[0]["params"], self.config.clip)
        self.optimizer.step()
        if self.aux_optimizer is not None:
            self.aux_optimizer.step()
        self.quantile_optimizer.zero_grad(set_to_none=True)
        quantile_loss = self.model.latent.entropy_bottleneck.loss()
        quantile_loss.backward()
        self.quantile_optimizer.step()
        self.step_index += 1
        result = {k: float(v.detach()) for k, v in losses.items()}
        result["quantile_loss"] = float(quantile_loss.detach())
        return result

    @torch.no_grad()
    def validate(self, images: Tensor) -> dict[str, float]:
        """Loss terms on validation crops, one image at a time, without training noise."""
        self.model.eval()
        totals: dict[str, float] = {}
        for image in images.split(1):
            output = training_forward(self.model, image)
            for key, value in self.criterion(output, image, None).items():
                totals[key] = totals.get(key, 0.0) + float(value)
        return {k: v / len(images) for k, v in totals.items()}


def train(
    config: TrainConfig,
    *,
    resume: str | None = None,
    init: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Run a training job to ``config.steps`` steps; returns the checkpoint path.

    Every input is checked before the model is built: the numbers, the folders, and every image
    (decoded in full, so an unreadable file stops the run at once, named, not hours later).
    """
    check_config(config)
    check_training_folder(config.data)
    if config.val:
        check_training_folder(config.val)
    sampler = CropSampler(image_files(config.data), config.crop, config.seed)
    validation = None
    if config.val:
        validation = centre_crops(image_files(config.val), config.crop, config.val_images)
    if config.threads:
        torch.set_num_threads(config.threads)
    trainer = Trainer(config)
    trainer.sampler = sampler
    if resume:
        trainer.resume(resume)
        log(f"resumed {resume} at step {trainer.step_index}")
    elif init:
        trainer.warm_start(init)
        log(f"warm start from {init}")
    from tqdm.auto import tqdm

    best: dict[str, float] = {}
    with tqdm(
        total=config.steps, initial=trainer.step_index, disable=not progress, unit="step"
    ) as bar:
        while trainer.step_index < config.steps:
            start = time.perf_counter()
            losses = trainer.step(trainer.sampler.batch(config.batch_size))
            trainer.wall_seconds += time.perf_counter() - start
            bar.update()
            bar.set_postfix(
                loss=f"{losses['loss']:.3f}",
                bpp=f"{losses['bpp']:.3f}",
                psnr=f"{losses['psnr']:.2f}",
                cca=f"{losses['cca']:.4f}",
            )
            step = trainer.step_index
            if validation is not None and (step % config.val_every == 0 or step == config.steps):
                best = trainer.validate(validation)
                bar.write(
                    f"step {step}: validation loss {best['loss']:.4f} bpp {best['bpp']:.4f} "
                    f"PSNR {best['psnr']:.2f} dB"
                )
            if step % config.save_every == 0 or step == config.steps:
                trainer.save(config.out, {"validation": best} if best else None)
    log(
        f"{config.out}: {trainer.step_index} steps, {trainer.wall_seconds / 60:.1f} min of training"
    )
    return Path(config.out)
