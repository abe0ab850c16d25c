"""Shared fixtures: every test runs offline, with its own cache and no mirror unless it asks.

The real network is blocked for the whole folder (``open_url`` raises), so a test that forgets to
mock it fails fast instead of downloading. Images the tests need are made small in ``tmp_path``;
the shared mirror (real Kodak and Tecnick files) is only read, never copied into the repository.
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.datasets import download
from tests.data_paths import shared

# captured before the autouse fixture clears it, so a developer's own mirror can be used
_USER_MIRROR = os.environ.get("LICBENCH_MIRROR")


def _find_shared_mirror() -> Path | None:
    candidates = [Path(_USER_MIRROR)] if _USER_MIRROR else []
    candidates.append(shared("datasets"))  # CI: shared/ beside the clone
    return next((c for c in candidates if (c / "kodak" / "kodim01.png").is_file()), None)


SHARED_MIRROR = _find_shared_mirror()


@pytest.fixture(autouse=True)
def offline_and_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache per test, no mirror, and a network that refuses every URL."""

    def no_network(url: str, *, timeout: float = 0) -> None:
        raise urllib.error.URLError(f"network disabled in tests ({url})")

    monkeypatch.setattr(download, "open_url", no_network)
    cache = tmp_path / "cache"
    monkeypatch.setenv("LICBENCH_DATA", str(cache))
    monkeypatch.delenv("LICBENCH_MIRROR", raising=False)
    return cache


@pytest.fixture
def shared_mirror() -> Path:
    """The read-only shared mirror holding kodak/ and tecnick-sample/; skip when absent."""
    if SHARED_MIRROR is None:
        pytest.skip(
            f"needs the real Kodak images: no kodak/kodim01.png in {shared('datasets')} "
            "or $LICBENCH_MIRROR"
        )
    return SHARED_MIRROR


def make_png(path: Path, width: int = 32, height: int = 24, seed: int = 0) -> Path:
    """A small RGB PNG with seeded noise, so different seeds give different bytes and sums."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def png():
    """The ``make_png`` helper as a fixture (test modules here are not a package)."""
    return make_png
