"""Shared fixtures: small synthetic photographs made on the fly (no image files in the repo)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def synthetic_image(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth gradients, a few edges and mild noise: compresses like a photo, not like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = []
    for c in range(3):
        fx, fy, phase = rng.uniform(0.01, 0.08, 2).tolist() + [rng.uniform(0, 6.28)]
        base = 128 + 90 * np.sin(fx * x + phase) * np.cos(fy * y + c)
        base += np.where((x // 37 + y // 29) % 2 == 0, 25, -25)
        channels.append(base + rng.normal(0, 4, (height, width)))
    return np.clip(np.stack(channels, axis=-1), 0, 255).round().astype(np.uint8)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own LICBENCH_HOME and data cache: tests never touch the user's."""
    home = tmp_path_factory.mktemp("licbench-home")
    monkeypatch.setenv("LICBENCH_HOME", str(home))
    monkeypatch.setenv("LICBENCH_DATA", str(home / "data"))
    return home


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Three small RGB PNGs (one in a subfolder), large enough for MS-SSIM (≥ 161 px)."""
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    sizes = [(176, 192), (168, 200), (192, 176)]
    names = ["a.png", "b.png", "sub/c.png"]
    for seed, (name, (h, w)) in enumerate(zip(names, sizes, strict=True)):
        Image.fromarray(synthetic_image(h, w, seed)).save(folder / name)
    return folder


@pytest.fixture
def rgb_image() -> np.ndarray:
    return synthetic_image(176, 200, 7)
