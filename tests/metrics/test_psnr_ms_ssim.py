from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim

from licbench.metrics import METRICS
from licbench.metrics.ms_ssim import ms_ssim_rgb, to_decibels
from licbench.metrics.psnr import psnr_rgb


def test_psnr_hand_checked():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # MSE = 256 / 48
    assert psnr_rgb(a, b) == pytest.approx(10 * math.log10(255**2 * 48 / 256), abs=1e-12)
    assert psnr_rgb(a, a) == math.inf


def test_psnr_uses_full_precision_not_uint8_wraparound():
    a = np.full((2, 2, 3), 250, np.uint8)
    b = np.full((2, 2, 3), 5, np.uint8)
    assert psnr_rgb(a, b) == pytest.approx(10 * math.log10(255**2 / 245**2), abs=1e-12)


def test_ms_ssim_matches_pytorch_msssim_directly(rgb_image):
    rng = np.random.default_rng(3)
    noisy = np.clip(rgb_image + rng.normal(0, 8, rgb_image.shape), 0, 255).astype(np.uint8)
    x = torch.tensor(rgb_image, dtype=torch.float32).permute(2, 0, 1)[None]
    y = torch.tensor(noisy, dtype=torch.float32).permute(2, 0, 1)[None]
    expected = float(ms_ssim(x, y, data_range=255))
    assert ms_ssim_rgb(rgb_image, noisy) == pytest.approx(expected, abs=1e-7)
    assert 0.8 < expected < 1.0
    assert ms_ssim_rgb(rgb_image, rgb_image) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_is_bit_identical_to_compressai_bench(rgb_image):
    """CompressAI's bench is the reference licbench is compared against: same float, not close."""
    from compressai.utils.bench.codecs import compute_metrics

    rng = np.random.default_rng(5)
    for sigma in (2, 8, 30):
        noisy = np.clip(rgb_image + rng.normal(0, sigma, rgb_image.shape), 0, 255).astype(np.uint8)
        expected = compute_metrics(rgb_image, noisy, ["ms-ssim-rgb"])["ms-ssim-rgb"]
        assert ms_ssim_rgb(rgb_image, noisy) == expected


def test_metric_version_is_part_of_its_identity():
    assert METRICS.get("ms-ssim-rgb").identity == "ms-ssim-rgb@2"
    assert METRICS.get("psnr-rgb").identity == "psnr-rgb@2"


@pytest.mark.parametrize(
    "name, ceiling",
    [("psnr-rgb", 60.0), ("psnr-y", 60.0), ("psnr-y10", 72.0), ("psnr-u", 72.0),
     ("psnr-v", 72.0), ("psnr-yuv", 72.0), ("psnr-hvs-y", 72.0)],
)  # fmt: skip
def test_a_lossless_psnr_is_the_declared_ceiling(name, ceiling, rgb_image):
    """libvmaf's convention, 6·bitdepth + 12 dB: finite, so no mean curve becomes inf."""
    from licbench.metrics import metric_availability

    metric = METRICS.get(name)
    if not metric_availability(name).ok:
        pytest.skip(metric_availability(name).reason)
    assert metric.ceiling == ceiling
    assert metric(rgb_image, rgb_image) == ceiling and metric.at_ceiling(ceiling)
    one_off = rgb_image.copy()
    one_off[0, 0, 0] ^= 1  # one value off by one: over 100 dB raw, clipped to the ceiling
    assert metric(rgb_image, one_off) <= ceiling
    noise = np.random.default_rng(1).normal(0, 9, rgb_image.shape)
    noisy = np.clip(rgb_image + noise, 0, 255).astype(np.uint8)
    assert metric(rgb_image, noisy) < ceiling - 10  # an ordinary value is left alone


def test_ms_ssim_is_nan_below_its_minimum_size():
    small = np.zeros((100, 300, 3), np.uint8)
    assert math.isnan(ms_ssim_rgb(small, small))


def test_decibels():
    assert to_decibels(0.99) == pytest.approx(20.0)
    assert to_decibels(0.9) == pytest.approx(10.0)
    assert to_decibels(1.0) == 60.0  # lossless: the same ceiling as 8-bit PSNR, not inf
    assert math.isnan(to_decibels(math.nan))


def test_metrics_declare_direction():
    assert METRICS.get("psnr-rgb").higher_is_better
    assert METRICS.get("ms-ssim-rgb").higher_is_better
