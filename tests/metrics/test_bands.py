"""The default metrics in bounded memory (issue 20, item 6): PSNR and MS-SSIM band by band of rows.

At 24 MP the whole-image metrics took 7.5 GB (PSNR's float64 copies, pytorch-msssim's ~20 maps of
the whole image). The banded versions must give the same values (PSNR: exactly, an integer sum;
MS-SSIM: the library's, for any band height) and must not make what the whole-image code made;
what is made is seen through tracemalloc (numpy) and torch's dispatch (every tensor an operation
makes): deterministic, no RSS, no timing.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim
from torch.utils._python_dispatch import TorchDispatchMode

import licbench.metrics.ms_ssim as ms_ssim_module
import licbench.metrics.psnr as psnr_module
from licbench.metrics.ms_ssim import ms_ssim_rgb
from licbench.metrics.psnr import mean_squared_error, psnr_rgb, squared_error_sum
from tests.conftest import synthetic_image


def _pair(height: int, width: int, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    original = synthetic_image(height, width, seed)
    noise = np.random.default_rng(seed + 100).normal(0, sigma, original.shape)
    return original, np.clip(original + noise, 0, 255).astype(np.uint8)


def _library_ms_ssim(original: np.ndarray, decoded: np.ndarray) -> float:
    """pytorch-msssim on the whole images, tensors built as CompressAI's bench builds them."""

    def tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(image, dtype=np.float32)).unsqueeze(0).permute(0, 3, 1, 2)

    with torch.no_grad():
        return float(ms_ssim(tensor(original), tensor(decoded), data_range=255.0))


# -- PSNR --------------------------------------------------------------------------------------


@pytest.mark.parametrize("band_rows", [0, 1, 2, 5, 36, 37, 1000])
def test_banded_squared_error_is_the_exact_integer_sum(band_rows):
    rng = np.random.default_rng(11)
    a = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sides: a short last band
    b = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    b[0, 0] = 255 - a[0, 0]  # the extremes too: 255² a value
    a[1, 1], b[1, 1] = 0, 255
    exact = int(((a.astype(np.int64) - b.astype(np.int64)) ** 2).sum())
    assert squared_error_sum(a, b, band_rows=band_rows) == exact


def test_banded_mse_is_the_whole_image_float64_mean_bit_for_bit():
    """The old formula (float64 copies, numpy's pairwise mean): the same float, not close."""
    for height, width, sigma, seed in ((37, 53, 40.0, 1), (203, 171, 3.0, 2), (160, 161, 0.4, 3)):
        a, b = _pair(height, width, sigma, seed)
        difference = a.astype(np.float64) - b.astype(np.float64)
        whole = float(np.mean(difference * difference))
        assert whole > 0
        assert mean_squared_error(a, b) == whole
        assert psnr_rgb(a, b) == 10.0 * np.log10(255.0**2 / whole)


def test_banded_psnr_holds_one_band_of_int32_not_float64_images(monkeypatch):
    """The whole-image PSNR held two float64 copies and their difference (24 bytes a value);
    numpy reports its buffers to tracemalloc, so what the call allocates is known exactly."""
    a, b = _pair(300, 400, 5.0, 4)  # 360,000 values
    monkeypatch.setattr(psnr_module, "BAND_VALUES", 400 * 3 * 10)  # 10 rows a band
    tracemalloc.start()
    try:
        psnr_rgb(a, b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one band of int32 differences (48 kB) and numpy's int64 casting buffer of the sum (64 kB):
    # 180 kB, under an eighth of one float64 copy of one image (the whole-image code: 8.6 MB)
    assert peak < a.size * 8 / 8, peak


def test_squared_error_sum_refuses_other_than_8_bit():
    a = np.zeros((4, 4, 3), np.uint16)
    with pytest.raises(TypeError, match="8-bit"):
        squared_error_sum(a, a)
    assert mean_squared_error(a.astype(np.float32), a.astype(np.float32) + 2) == 4.0


# -- MS-SSIM -----------------------------------------------------------------------------------

#: A banded MS-SSIM equals the library's to the last bit on the development machine (the same
#: kernels compute each map value, and the same reduction the means; benchmarks/README.md). The
#: tolerance allows a machine whose oneDNN picks another kernel for a band's height (a float32
#: rounding of a map value: ~1e-7 on the value); a band read one row off or a pooling window
#: misplaced moves it by 4e-5 to 7e-5 on these images (measured), 40x more.
BAND_TOLERANCE = 1e-6


@pytest.mark.parametrize(
    "height, width, band_rows",
    [(203, 171, 7), (161, 161, 1), (161, 161, 16), (240, 322, 7), (250, 333, 16), (250, 333, 0)],
)  # odd, even and mixed sides (ms_ssim's pooling pads each odd side); one row a band; one band
def test_banded_ms_ssim_is_the_librarys_whole_image_value(height, width, band_rows):
    original, decoded = _pair(height, width, 6.0, height + width)
    expected = _library_ms_ssim(original, decoded)
    assert 0.5 < expected < 0.999
    assert ms_ssim_rgb(original, decoded, band_rows=band_rows) == pytest.approx(
        expected, abs=BAND_TOLERANCE
    )


def test_banded_ms_ssim_default_bands_split_a_large_image(monkeypatch):
    """With the default band size scaled down, an image is cut into several bands at every scale
    (as a 24 MP image is at full size): still the library's value."""
    original, decoded = _pair(331, 405, 10.0, 5)
    monkeypatch.setattr(ms_ssim_module, "BAND_PIXELS", 40 * 405)  # 40 rows a band at full size
    assert ms_ssim_rgb(original, decoded) == pytest.approx(
        _library_ms_ssim(original, decoded), abs=BAND_TOLERANCE
    )


class Made(TorchDispatchMode):
    """(operation, elements) of each tensor that operations made while active (views make none)."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[tuple[str, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not (func.is_view or func._schema.is_mutable):  # (in place: nothing new either)
            for value in out if isinstance(out, tuple | list) else (out,):
                if isinstance(value, torch.Tensor):
                    self.made.append((str(func), value.numel()))
        return out

    def at_least(self, size: int) -> list[str]:
        return [name for name, numel in self.made if numel >= size]


def test_banded_ms_ssim_keeps_one_map_of_the_finest_scale_not_twenty():
    """pytorch-msssim makes ~20 maps of the finest scale (filtered images, squares, products,
    the SSIM and contrast maps); banded, only the contrast map is ever whole there."""
    height, width = 480, 320
    original, decoded = _pair(height, width, 6.0, 6)
    finest_map = (height - 10) * (width - 10) * 3

    with Made() as library:
        _library_ms_ssim(original, decoded)
    assert len(library.at_least(finest_map // 2)) >= 15  # (what the whole-image code makes)

    with Made() as banded:
        ms_ssim_rgb(original, decoded, band_rows=32)
    assert banded.at_least(finest_map // 2) == ["aten.empty.memory_format"]  # the contrast map
    # nothing else reaches half a half-size image but the two pooled images and the next scale's
    # contrast map: every filter, product and quotient is a band's (42 rows of 480)
    half_of_quarter = height * width * 3 // 8
    assert banded.at_least(half_of_quarter) == ["aten.empty.memory_format"] * 4
