"""Training: the loss goes down, the CCA term is exactly a difference of bits, resume is exact."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from licbench.codecs.learned.cca_loss import AuxiliarySliceModel, RateDistortionCCALoss, bits
from licbench.codecs.learned.configs import create_model
from licbench.codecs.learned.train import (
    CropSampler,
    TrainConfig,
    Trainer,
    check_training_folder,
    image_files,
    training_forward,
)
from tests.conftest import synthetic_image


@pytest.fixture
def train_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "train"
    folder.mkdir()
    for seed in range(3):
        Image.fromarray(synthetic_image(96, 96, seed)).save(folder / f"{seed}.png")
    return folder


def config(folder: Path, out: Path, arch: str = "convnext-charm", alpha: float = 1.0):
    return TrainConfig(
        arch=arch,
        config="tiny",
        lmbda=0.01,
        alpha=alpha,
        data=str(folder),
        val=None,
        steps=10,
        out=str(out),
        batch_size=2,
        crop=64,
        lr=1e-3,
    )


class ConstantLikelihood(nn.Module):
    """A stand-in auxiliary model: every symbol has probability 1/2 (exactly 1 bit)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, y, means, scales):
        return torch.full_like(y, 0.5) + 0 * self.weight


def test_cca_term_is_the_difference_of_bits_hand_checked():
    target = torch.zeros(1, 3, 32, 32)
    y = torch.zeros(1, 4, 2, 2, requires_grad=True)
    output = {
        "x_hat": target.clone(),
        "likelihoods": {"y": torch.full((1, 4, 2, 2), 0.25), "z": torch.ones(1, 2, 1, 1)},
        "y": y,
        "means": torch.zeros(1, 4, 2, 2),
        "scales": torch.ones(1, 4, 2, 2),
    }
    losses = RateDistortionCCALoss(lmbda=0.01, alpha=1.0)(output, target, ConstantLikelihood())
    # main: 16 symbols × 2 bits; auxiliary: 16 × 1 bit; 1024 pixels
    assert float(losses["cca"]) == pytest.approx((32 - 16) / 1024, abs=1e-12)
    assert float(losses["aux_fit"]) == pytest.approx(16 / 1024, abs=1e-12)
    assert float(losses["bpp"]) == pytest.approx(32 / 1024, abs=1e-12)
    # the CCA term weighs α·λ/0.05 = 0.2 here: the paper's balance against the distortion
    assert float(losses["loss"]) == pytest.approx(32 / 1024 + 0.2 * 16 / 1024, abs=1e-8)
    off = RateDistortionCCALoss(lmbda=0.01, alpha=0.0)(output, target, ConstantLikelihood())
    assert float(off["cca"]) == 0.0 and float(off["loss"]) == pytest.approx(32 / 1024)


def test_cca_term_with_the_real_auxiliary_model(train_folder, tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(config(train_folder, tmp_path / "c.pt", arch="cca"))
    batch = CropSampler(image_files(train_folder), 64, 0).batch(2)
    trainer.model.eval()
    trainer.auxiliary.eval()
    with torch.no_grad():
        output = training_forward(trainer.model, batch)
        losses = trainer.criterion(output, batch, trainer.auxiliary)
        aux_bits = bits(trainer.auxiliary(output["y"], output["means"], output["scales"]))
    expected = (bits(output["likelihoods"]["y"]) - aux_bits) / (2 * 64 * 64)
    assert float(losses["cca"]) == pytest.approx(float(expected), rel=1e-6)


def test_auxiliary_model_skips_the_newest_slice():
    aux = AuxiliarySliceModel(create_model("cca", "tiny").latent)
    assert [list(aux.support_slices(i)) for i in (0, 1, 2, 4)] == [[], [], [0], [0, 1, 2]]


def test_cca_gradient_reaches_the_encoder_but_not_the_auxiliary_model(train_folder, tmp_path):
    trainer = Trainer(config(train_folder, tmp_path / "c.pt", arch="cca"))
    batch = CropSampler(image_files(train_folder), 64, 0).batch(2)
    output = training_forward(trainer.model, batch)
    losses = trainer.criterion(output, batch, trainer.auxiliary)
    losses["cca"].backward()
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.model.g_a.parameters()
    )
    assert all(p.grad is None for p in trainer.auxiliary.parameters())


@pytest.mark.parametrize("arch", ["convnext-charm", "cca"])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(train_folder, tmp_path, arch):
    torch.manual_seed(0)
    trainer = Trainer(config(train_folder, tmp_path / "c.pt", arch=arch))
    batch = CropSampler(image_files(train_folder), 64, 0).batch(2)
    first = trainer.step(batch)["loss"]
    for _ in range(8):
        last = trainer.step(batch)["loss"]
    assert math.isfinite(last) and last < 0.7 * first


def test_resume_gives_the_same_next_step(train_folder, tmp_path):
    out = tmp_path / "run.pt"
    cfg = config(train_folder, out)
    trainer = Trainer(cfg)
    trainer.sampler = CropSampler(image_files(train_folder), cfg.crop, cfg.seed)
    for _ in range(3):
        trainer.step(trainer.sampler.batch(cfg.batch_size))
    trainer.save(out)
    expected = trainer.step(trainer.sampler.batch(cfg.batch_size))

    resumed = Trainer(cfg)
    resumed.sampler = CropSampler(image_files(train_folder), cfg.crop, cfg.seed)
    resumed.resume(out)
    assert resumed.step_index == 3
    got = resumed.step(resumed.sampler.batch(cfg.batch_size))
    for key in ("loss", "bpp", "mse", "cca"):
        assert got[key] == pytest.approx(expected[key], rel=1e-5, abs=1e-7)


def test_warm_start_from_a_float16_bundle_keeps_the_likelihood_bounds(train_folder, tmp_path):
    """float16 stores the 1e-9 likelihood bound as 0: loaded as is, a likelihood of 0 makes the
    rate infinite (the bundled cca-tiny diverged ~100 steps into a warm start)."""
    from licbench.codecs.learned.checkpoints import read_checkpoint

    source = Trainer(config(train_folder, tmp_path / "a.pt"))
    source.save(tmp_path / "a.pt")
    payload = read_checkpoint(tmp_path / "a.pt")
    half = {k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    assert half["latent.gaussian_conditional.likelihood_lower_bound.bound"].item() == 0.0
    torch.save({**payload, "state_dict": half}, tmp_path / "half.pt")

    trainer = Trainer(config(train_folder, tmp_path / "b.pt"))
    trainer.warm_start(tmp_path / "half.pt")
    state = trainer.model.state_dict()
    for name in (
        "latent.gaussian_conditional.likelihood_lower_bound.bound",
        "latent.entropy_bottleneck.likelihood_lower_bound.bound",
    ):
        assert state[name].item() == pytest.approx(1e-9)
    weight = next(k for k, v in half.items() if k.endswith("weight") and v.dim() == 4)
    assert torch.equal(state[weight], half[weight].float())  # the weights themselves did load
    likelihoods = training_forward(trainer.model, torch.zeros(1, 3, 64, 64) + 0.5)["likelihoods"]
    assert all(float(v.min()) >= 1e-9 * (1 - 1e-6) for v in likelihoods.values())


def test_checkpoint_loads_as_a_codec(train_folder, tmp_path):
    from licbench.codecs import create_codec

    cfg = config(train_folder, tmp_path / "ckpt" / "q.pt")
    trainer = Trainer(cfg)
    trainer.save(cfg.out, {"note": "test"})
    codec = create_codec(f"convnext-charm:ckpt={tmp_path / 'ckpt'}")
    image = synthetic_image(70, 45, 3)
    decoded = codec.decode(codec.encode(image, 1))
    assert decoded.shape == image.shape and decoded.dtype == np.uint8


def test_evaluation_sets_are_refused_as_training_data(tmp_path):
    for name in ("kodak", "clic", "tecnick-sample"):
        (tmp_path / name).mkdir()
        with pytest.raises(ValueError, match="never trains on"):
            check_training_folder(tmp_path / name)
    check_training_folder(tmp_path)  # an ordinary folder is fine


def test_a_chain_of_warm_starts_records_every_run_it_went_through(train_folder, tmp_path):
    """A rate point fine-tuned from another keeps that run's record (λ, steps, wall time) and,
    nested, the records before it: training.json's history comes from the checkpoints."""
    from licbench.codecs.learned.bundled import total_training_seconds, training_lineage
    from licbench.codecs.learned.checkpoints import read_checkpoint

    def run(name: str, lmbda: float, steps: int, init: Path | None) -> Path:
        cfg = config(train_folder, tmp_path / name)
        cfg.lmbda = lmbda
        trainer = Trainer(cfg)
        trainer.sampler = CropSampler(image_files(train_folder), cfg.crop, cfg.seed)
        if init is not None:
            trainer.warm_start(init)
        for _ in range(steps):
            trainer.step(trainer.sampler.batch(cfg.batch_size))
        trainer.wall_seconds = float(steps)  # a known figure to add up
        return trainer.save(tmp_path / name)

    top = run("top.pt", 0.05, 2, None)
    mid = run("mid.pt", 0.01, 1, top)
    low = run("low.pt", 0.002, 3, mid)
    records = [read_checkpoint(p)["metadata"] for p in (top, mid, low)]
    chain = list(training_lineage(records[2]))
    assert [(r["lmbda"], r["step"]) for r in chain] == [(0.002, 3), (0.01, 1), (0.05, 2)]
    assert [r.get("file") for r in chain[1:]] == ["mid.pt", "top.pt"]
    # the shared runs (top, mid) are counted once
    assert total_training_seconds(records) == pytest.approx(2 + 1 + 3)

    resumed = Trainer(config(train_folder, low))
    resumed.resume(low)
    resumed.save(tmp_path / "again.pt")
    again = read_checkpoint(tmp_path / "again.pt")["metadata"]
    assert again["warm_start_from"] == records[2]["warm_start_from"]
