"""Fixtures for the learned-codec tests: test images and 'livened' random models.

Random initialisations leave some latents almost zero (CCA's NAF blocks start as the identity),
which would make the entropy coder's job trivial; ``liven`` rescales the last layer of g_a so
that y has a standard deviation of a few units, like a trained model's, and rebuilds the tables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from licbench.codecs.learned.model import LearnedCompressionModel, pad_image


def make_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients, a checkerboard edge pattern and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(3):
        f = rng.uniform(0.05, 0.2, 2)
        base = 128 + 80 * np.sin(f[0] * xx + c) * np.cos(f[1] * yy)
        base += np.where((xx // 9 + yy // 7) % 2 == 0, 20, -20) + rng.normal(0, 3, xx.shape)
        planes.append(base)
    return np.clip(np.stack(planes, -1), 0, 255).round().astype(np.uint8)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0


def reference_decode(model: LearnedCompressionModel, image: np.ndarray) -> np.ndarray:
    """The model's own quantised reconstruction, cropped and rounded like the codec does."""
    h, w = image.shape[:2]
    x_hat = model.reconstruct(pad_image(to_tensor(image)))[0, :, :h, :w]
    return x_hat.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def _last_analysis_layer(model: LearnedCompressionModel) -> torch.nn.Module:
    if model.arch == "cca":
        return model.g_a.down[-1]
    if model.arch == "convnext-charm":
        return model.g_a.downsample[-1][1]
    return model.g_a.merges[-1].reduction


@torch.no_grad()
def liven_model(model: LearnedCompressionModel, target_std: float = 4.0) -> LearnedCompressionModel:
    x = pad_image(to_tensor(make_image(64, 64, 1)))
    layer = _last_analysis_layer(model)
    factor = target_std / float(model.g_a(x).std())
    layer.weight.mul_(factor)
    if layer.bias is not None:
        layer.bias.mul_(factor)
    model.update(force=True)
    return model


@pytest.fixture
def small_image() -> np.ndarray:
    """70 wide, 45 high: odd, and not a multiple of anything."""
    return make_image(45, 70, 3)


@pytest.fixture
def image_maker() -> Callable[..., np.ndarray]:
    return make_image


@pytest.fixture
def liven() -> Callable[[LearnedCompressionModel], LearnedCompressionModel]:
    return liven_model


@pytest.fixture
def reference() -> Callable[[LearnedCompressionModel, np.ndarray], np.ndarray]:
    return reference_decode
