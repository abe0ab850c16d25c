"""The JPEG AI metric set: each metric against a second implementation or a reference value.

Fixture: a 288×256 synthetic photo-like image and a blurred, noisy copy (deterministic: numpy's
PCG64 generator). Second implementations: piq for MS-SSIM, IQA-pytorch (what JPEG AI's framework
runs) for VIF and FSIM, psnr-hvsm's NumPy backend for PSNR-HVS, vmaf-torch for VMAF, a NumPy NLPD
and a NumPy 10-bit conversion written here, and for IW-SSIM the value JPEG AI's own IW-SSIM code
(its ``IW_SSIM_PyTorch.py``, CPU float64 path) gives on this fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from licbench.metrics import (
    JPEG_AI_HEADLINE,
    METRIC_GROUPS,
    METRICS,
    OptionalMetric,
    expand_metric_names,
    metric_availability,
    yuv10,
)
from tests.conftest import synthetic_image

JPEG_AI = METRIC_GROUPS["jpeg-ai"]
ALL_NEW = (*JPEG_AI, "ssimulacra2", "butteraugli")


def degrade(image: np.ndarray, seed: int, noise: float = 3.0) -> np.ndarray:
    """A 5-tap blur plus Gaussian noise: a plausible, deterministic coding loss."""
    rng = np.random.default_rng(seed)
    f = image.astype(np.float64)
    blurred = (f + np.roll(f, 1, 0) + np.roll(f, -1, 0) + np.roll(f, 1, 1) + np.roll(f, -1, 1)) / 5
    return np.clip(blurred + rng.normal(0, noise, image.shape), 0, 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    original = synthetic_image(256, 288, 14)
    return original, degrade(original, 15)


def available(name: str) -> None:
    status = metric_availability(name)
    if not status.ok:
        pytest.skip(f"{name}: {status.reason}")


# ------------------------------------------------------------------------------- declarations


def test_group_and_headline() -> None:
    assert JPEG_AI_HEADLINE == (
        "ms-ssim-y",
        "vif-y",
        "nlpd-y",
        "iw-ssim-y",
        "psnr-hvs-y",
        "fsim-rgb",
        "vmaf-y",
    )
    assert JPEG_AI[:7] == JPEG_AI_HEADLINE
    assert set(JPEG_AI[7:]) == {"psnr-y10", "psnr-u", "psnr-v", "psnr-yuv"}
    assert expand_metric_names(["psnr-rgb", "jpeg-ai", "vif-y"]) == ["psnr-rgb", *JPEG_AI]
    assert expand_metric_names(["jpeg-xl"]) == ["ssimulacra2", "butteraugli"]


@pytest.mark.parametrize("name", ALL_NEW)
def test_declared(name: str) -> None:
    metric = METRICS.get(name)
    assert isinstance(metric, OptionalMetric)
    assert metric.identity == f"{name}@{metric.version}"
    low, high = metric.range
    assert low < high
    assert metric.colour_space and metric.description
    assert metric.higher_is_better is (name not in ("nlpd-y", "butteraugli"))


def test_version_is_part_of_identity() -> None:
    import dataclasses

    metric = METRICS.get("vif-y")
    assert dataclasses.replace(metric, version=metric.version + "1").identity != metric.identity


def test_existing_psnr_y_untouched() -> None:
    # JPEG AI's PSNR-Y is a new name; the 8-bit float luma PSNR keeps its definition (version 2:
    # a lossless point is its 60 dB ceiling)
    assert METRICS.get("psnr-y").identity == "psnr-y@2"
    assert METRICS.get("psnr-y").colour_space == "RGB"


# ------------------------------------------------------------------------------- 10-bit planes


def numpy_planes(image: np.ndarray) -> np.ndarray:
    """An independent float64 version of JPEG AI's conversion: 3×H×W 10-bit code values."""
    rgb = np.rint(image.astype(np.float64) / 255 * 1023) / 1023
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    yuv = np.stack([y, (b - y) / 1.8556 + 0.5, (r - y) / 1.5748 + 0.5])
    return np.rint(np.clip(yuv, 0, 1) * 1023)


def test_planes_match_float64_conversion(pair) -> None:
    original, _ = pair
    converted = yuv10.to_planes(original)
    codes = converted.codes
    reference = numpy_planes(original)
    # float32 vs float64 may round a value sitting on .5 differently: at most 1 code, rarely
    assert np.abs(codes - reference).max() <= 1
    assert np.mean(codes != reference) < 1e-3
    assert codes.min() >= 0 and codes.max() <= 1023


def test_planes_cache_sees_in_place_changes(pair) -> None:
    image = pair[0].copy()
    first = yuv10.planes(image)
    assert yuv10.planes(image) is first
    image[0, 0] = 255 - image[0, 0]
    assert yuv10.planes(image) is not first


@pytest.mark.parametrize(("name", "plane"), [("psnr-y10", 0), ("psnr-u", 1), ("psnr-v", 2)])
def test_plane_psnr_formula(pair, name: str, plane: int) -> None:
    original, decoded = pair
    difference = numpy_planes(original)[plane] - numpy_planes(decoded)[plane]
    expected = 10 * math.log10(1023**2 / np.mean(difference**2))
    assert METRICS.get(name)(original, decoded) == pytest.approx(expected, abs=0.01)


def test_psnr_yuv_is_jvet_weighted(pair) -> None:
    values = {name: METRICS.get(name)(*pair) for name in ("psnr-y10", "psnr-u", "psnr-v")}
    expected = (6 * values["psnr-y10"] + values["psnr-u"] + values["psnr-v"]) / 8
    assert METRICS.get("psnr-yuv")(*pair) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------------------- second impls


def y_tensors(pair) -> tuple[torch.Tensor, torch.Tensor]:
    return yuv10.to_planes(pair[0]).y, yuv10.to_planes(pair[1]).y


def test_ms_ssim_y_against_piq(pair) -> None:
    available("ms-ssim-y")
    import piq

    ref, dist = y_tensors(pair)
    expected = float(piq.multi_scale_ssim(dist, ref, data_range=1.0))
    value = METRICS.get("ms-ssim-y")(*pair)
    assert value == pytest.approx(expected, abs=1e-5)
    assert 0.9 < value < 1.0


def test_vif_y_against_jpeg_ai_iqa_pytorch(pair) -> None:
    available("vif-y")
    from IQA_pytorch import VIFs

    ref, dist = y_tensors(pair)
    expected = float(VIFs(channels=1)(dist, ref, as_loss=False))
    assert METRICS.get("vif-y")(*pair) == pytest.approx(expected, abs=1e-5)


def numpy_nlpd(reference: np.ndarray, distorted: np.ndarray) -> float:
    """NLPD (Laparra et al. 2016) in NumPy/SciPy with IQA-pytorch's constants and boundary rules."""
    from scipy import ndimage

    lap = np.outer([0.05, 0.25, 0.4, 0.25, 0.05], [0.05, 0.25, 0.4, 0.25, 0.05])
    sigmas = [0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782]
    dn = [
        [[0, 0.1011, 0], [0.1493, 0, 0.1460], [0, 0.1015, 0]],
        [[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]],
        [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]],
        [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]],
        [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]],
        [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]],
    ]

    def correlate_valid(x: np.ndarray, kernel: np.ndarray, pad: int) -> np.ndarray:
        padded = np.pad(x, pad, mode="reflect")
        full = ndimage.correlate(padded, np.asarray(kernel, dtype=np.float64), mode="constant")
        return full[pad:-pad, pad:-pad] if pad else full

    def upsample2(x: np.ndarray) -> np.ndarray:  # bilinear, align_corners=True
        h, w = x.shape
        ys = np.linspace(0, h - 1, 2 * h)
        xs = np.linspace(0, w - 1, 2 * w)
        return ndimage.map_coordinates(x, np.meshgrid(ys, xs, indexing="ij"), order=1)

    def pyramid(image: np.ndarray) -> list[np.ndarray]:
        levels, current = [], image
        for k in range(6):
            low = correlate_valid(current, lap, 2)[::2, ::2]
            up = correlate_valid(upsample2(low), lap, 2)
            if up.shape != current.shape:  # nearest-neighbour resize, as F.interpolate's default
                rows = np.floor(np.arange(current.shape[0]) * up.shape[0] / current.shape[0])
                cols = np.floor(np.arange(current.shape[1]) * up.shape[1] / current.shape[1])
                up = up[rows.astype(int)][:, cols.astype(int)]
            band = current - up
            levels.append(band / (sigmas[k] + correlate_valid(np.abs(band), dn[k], 1)))
            current = low
        return levels

    bands = zip(pyramid(reference), pyramid(distorted), strict=True)
    distances = [np.sqrt(np.mean((a - b) ** 2)) for a, b in bands]
    return float(np.mean(distances))


def test_nlpd_y_against_numpy_nlpd(pair) -> None:
    available("nlpd-y")
    ref, dist = y_tensors(pair)
    expected = numpy_nlpd(ref[0, 0].double().numpy(), dist[0, 0].double().numpy())
    assert METRICS.get("nlpd-y")(*pair) == pytest.approx(expected, rel=1e-4)


#: JPEG AI's IW_SSIM_PyTorch.py (CPU, float64, Y·255 of this fixture's 10-bit planes, pyrtools
#: Laplacian pyramid): measured once with that code, which licbench does not ship
JPEG_AI_IW_SSIM_ON_FIXTURE = 0.9879021497061444


def test_iw_ssim_y_against_jpeg_ai_value(pair) -> None:
    available("iw-ssim-y")
    assert METRICS.get("iw-ssim-y")(*pair) == pytest.approx(JPEG_AI_IW_SSIM_ON_FIXTURE, abs=1e-5)


def test_fsim_rgb_against_jpeg_ai_iqa_pytorch(pair, monkeypatch) -> None:
    available("fsim-rgb")

    # IQA-pytorch 0.1 calls torch.rfft/torch.ifft (gone since torch 1.8); JPEG AI's framework
    # carries a copy with exactly these calls moved to torch.fft, which these stand-ins reproduce
    def rfft(x, signal_ndim, onesided=False):
        return torch.view_as_real(torch.fft.fft(torch.fft.fft(x, dim=-2), dim=-1))

    def ifft(x, signal_ndim):
        spectrum = torch.view_as_complex(x.contiguous())
        return torch.view_as_real(torch.fft.ifft(torch.fft.ifft(spectrum, dim=-2), dim=-1))

    monkeypatch.setattr(torch, "rfft", rfft, raising=False)
    monkeypatch.setattr(torch, "ifft", ifft, raising=False)
    from IQA_pytorch import FSIM

    ref, dist = yuv10.to_planes(pair[0]).rgb, yuv10.to_planes(pair[1]).rgb
    expected = float(FSIM(channels=3)(dist, ref, as_loss=False))
    assert METRICS.get("fsim-rgb")(*pair) == pytest.approx(expected, abs=1e-5)


def test_psnr_hvs_y_against_numpy_backend(pair) -> None:
    available("psnr-hvs-y")
    from psnr_hvsm.numpy import psnr_hvs_hvsm

    ref, dist = y_tensors(pair)
    expected = psnr_hvs_hvsm(ref[0, 0].double().numpy(), dist[0, 0].double().numpy())[0]
    assert METRICS.get("psnr-hvs-y")(*pair) == pytest.approx(expected, abs=1e-6)


def test_vmaf_y_against_vmaf_torch(pair) -> None:
    available("vmaf-y")
    vmaf_torch = pytest.importorskip("vmaf_torch")
    ref, dist = y_tensors(pair)
    model = vmaf_torch.VMAF(enable_motion=False)
    with torch.no_grad():  # libvmaf reads 10-bit samples on the 8-bit scale (code / 4)
        expected = float(model(ref * 1023 / 4, dist * 1023 / 4))
    assert METRICS.get("vmaf-y")(*pair) == pytest.approx(expected, abs=0.05)


# ------------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("name", ALL_NEW)
def test_identity_best_and_direction(pair, name: str) -> None:
    available(name)
    metric = METRICS.get(name)
    original, slight = pair
    heavy = degrade(original, 16, noise=12.0)
    same, mild, worse = (metric(original, image) for image in (original.copy(), slight, heavy))
    better = (lambda a, b: a > b) if metric.higher_is_better else (lambda a, b: a < b)
    assert better(same, mild) or same == mild == math.inf
    assert better(mild, worse), (name, mild, worse)
    low, high = metric.range
    assert all(low <= v <= high for v in (same, mild, worse) if not math.isinf(v))
    if name in ("ms-ssim-y", "vif-y", "iw-ssim-y", "fsim-rgb"):
        assert same == pytest.approx(1.0, abs=1e-6)
    if name in ("nlpd-y", "butteraugli"):
        assert same == pytest.approx(0.0, abs=1e-6)
    if name == "ssimulacra2":
        assert same == pytest.approx(100.0)


@pytest.mark.parametrize("name", ["ms-ssim-y", "vif-y", "nlpd-y", "iw-ssim-y", "psnr-hvs-y"])
def test_small_images_are_padded_not_refused(name: str) -> None:
    available(name)
    original = synthetic_image(40, 52, 3)
    value = METRICS.get(name)(original, degrade(original, 4))
    assert math.isfinite(value)


def test_missing_package_is_unavailable_with_hint(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "psnr_hvsm" else real(n, *a)
    )
    status = metric_availability("psnr-hvs-y")
    assert not status.ok and "psnr-hvsm" in status.reason and status.hint == "pip install psnr-hvsm"
    assert metric_availability("fsim-rgb").ok  # written here: needs torch only


def test_missing_butteraugli_tool_is_unavailable_with_hint(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    status = metric_availability("butteraugli")
    assert not status.ok and "apt-get install butteraugli" in status.hint


# ------------------------------------------------------------------------------- fast paths


@pytest.mark.parametrize(("size", "stride"), [(3, 1), (11, 1), (17, 1), (5, 2)])
def test_separable_filter_equals_2d_convolution(size: int, stride: int) -> None:
    from torch.nn import functional

    from licbench.metrics.separable import filter_reflected, filter_valid, gaussian_taps

    image = torch.rand(
        1, 1, 37, 53, generator=torch.Generator().manual_seed(size), dtype=torch.float64
    )
    taps = gaussian_taps(size, size / 5.0)
    assert math.fsum(taps) == pytest.approx(1.0, abs=1e-15)
    kernel = torch.tensor(taps, dtype=torch.float64)
    full = functional.conv2d(image, torch.outer(kernel, kernel)[None, None])
    assert torch.allclose(filter_valid(image, taps), full, atol=1e-13)
    padded = functional.pad(image, (size // 2,) * 4, mode="reflect")
    reflected = functional.conv2d(padded, torch.outer(kernel, kernel)[None, None], stride=stride)
    assert torch.allclose(filter_reflected(image, taps, stride), reflected, atol=1e-13)


def test_vif_matches_piq_in_float64(pair) -> None:
    # the float64 runs agree to rounding; in float32 the centred statistics stay within 1e-6
    import piq

    from licbench.metrics.vif import vif_pixel

    ref, dist = y_tensors(pair)
    expected = float(piq.vif_p(dist.double(), ref.double(), data_range=1.0))
    assert vif_pixel(ref.double(), dist.double()) == pytest.approx(expected, abs=1e-12)
    assert vif_pixel(ref, dist) == pytest.approx(expected, abs=1e-6)


def test_iw_ssim_matches_piq_in_float64(pair) -> None:
    import piq

    from licbench.metrics.iw_ssim import iw_ssim

    ref, dist = y_tensors(pair)
    expected = float(piq.information_weighted_ssim(dist.double(), ref.double(), data_range=1.0))
    assert iw_ssim(ref.double(), dist.double()) == pytest.approx(expected, abs=1e-10)
    assert iw_ssim(ref, dist) == pytest.approx(expected, abs=1e-6)


def test_ms_ssim_y_equals_pytorch_msssim_in_float64(pair) -> None:
    from pytorch_msssim import ms_ssim as library_ms_ssim

    from licbench.metrics.ms_ssim_y import ms_ssim

    ref, dist = (t.double() * 1023 for t in y_tensors(pair))
    expected = float(library_ms_ssim(ref, dist, data_range=1023.0))
    assert ms_ssim(ref, dist, 1023.0) == pytest.approx(expected, abs=1e-13)
    assert ms_ssim(ref.float(), dist.float(), 1023.0) == pytest.approx(expected, abs=1e-6)


def test_fsim_equals_piq_in_float64(pair) -> None:
    # same definition, float64 throughout: equal to rounding; in float32 closer to piq's float64
    # value than piq's own float32 run (~1e-7), hence the 1e-6
    import piq

    from licbench.metrics.fsim import fsim

    odd = synthetic_image(131, 97, 3)  # odd sides: the MATLAB grid's (n − 1) normalisation
    for original, decoded in (pair, (odd, degrade(odd, 4))):
        ref, dist = yuv10.to_planes(original).rgb, yuv10.to_planes(decoded).rgb
        expected = float(piq.fsim(dist.double(), ref.double(), data_range=1.0, chromatic=True))
        assert fsim(ref.double(), dist.double()) == pytest.approx(expected, abs=1e-12)
        assert fsim(ref, dist) == pytest.approx(expected, abs=1e-6)
        assert fsim(dist, ref) == fsim(ref, dist)
        grey = float(piq.fsim(dist.double(), ref.double(), data_range=1.0, chromatic=False))
        assert fsim(ref.double(), dist.double(), chromatic=False) == pytest.approx(grey, abs=1e-12)
    assert METRICS.get("fsim-rgb")(*pair) == pytest.approx(
        float(piq.fsim(*(yuv10.to_planes(i).rgb.double() for i in pair[::-1]))), abs=1e-6
    )


def test_fsim_lower_median_is_torch_medians_element() -> None:
    from licbench.metrics.fsim import _median_sample, lower_median

    rng = np.random.default_rng(5)
    unrepresentative = rng.random(60000)
    unrepresentative[_median_sample(60000)] += 10.0  # the sample's bracket misses: fallback
    for values in (
        rng.random(98304),  # Kodak's plane size (even: the lower of the two middle values)
        rng.random(98305),
        rng.integers(0, 50, 40000).astype(float),  # many ties
        np.sort(rng.random(30000)),
        unrepresentative,
        rng.random(500),  # below the sampling size: torch.median itself
        np.r_[rng.random(20000), np.nan],
    ):
        for dtype in (torch.float32, torch.float64):
            tensor = torch.from_numpy(values).to(dtype)
            expected, got = float(torch.median(tensor)), lower_median(tensor)
            assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_fsim_bank_is_built_once_per_shape() -> None:
    from licbench.metrics.fsim import filter_bank, log_gabor_filters

    first = filter_bank(64, 96, torch.float32)
    assert filter_bank(64, 96, torch.float32) is first
    # per orientation the 4 scales' point-symmetric parts F_e, then their F_o: F = F_e + i·F_o
    assert first.filters.shape == (4, 8, 64, 96) and first.filters.dtype == torch.complex64
    assert filter_bank(64, 97, torch.float32) is not first
    even, odd = first.filters[:, :4], first.filters[:, 4:]
    assert float(even.imag.abs().max()) == 0.0 and float(odd.real.abs().max()) == 0.0
    assert torch.equal(even.real, even.real.flip(-2, -1).roll((1, 1), (-2, -1)))
    filters = even.real - odd.imag
    assert torch.allclose(filters.double(), log_gabor_filters(64, 96), rtol=0.0, atol=1e-7)
    # zero frequency carries nothing; every filter's largest gain is below 1
    assert float(filters[..., 0, 0].abs().max()) == 0.0
    assert 0.5 < float(filters.abs().max()) <= 1.0


@pytest.mark.parametrize(("height", "width"), [(288, 256), (131, 141), (40, 52)])
def test_nlpd_equals_iqa_pytorch(height: int, width: int) -> None:
    # the library JPEG AI runs, float32 both: equal to rounding (odd sides take the nearest-
    # neighbour resize path; 40×52 is zero-padded to 128 first, as the metric does)
    from IQA_pytorch import NLPD

    from licbench.metrics.jpeg_ai import MIN_SIDE, _pad_to
    from licbench.metrics.nlpd import nlpd

    original = synthetic_image(width, height, 5)
    ref, dist = (
        _pad_to(yuv10.to_planes(image).y, MIN_SIDE["nlpd"])
        for image in (original, degrade(original, 6))
    )
    with torch.no_grad():
        expected = float(NLPD(channels=1)(dist, ref, as_loss=False))
    assert nlpd(ref, dist) == pytest.approx(expected, abs=1e-6)
    assert nlpd(dist, ref) == pytest.approx(nlpd(ref, dist), abs=1e-12)
    assert nlpd(ref, ref) == 0.0


def test_planes_are_the_framework_float32_operations() -> None:
    """The lookup table and the in-place rounding give the bits of the framework's float32
    operations applied to the whole picture, in its order."""
    image = np.random.default_rng(7).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    rgb = torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]
    rgb = (rgb / 255.0).mul(1023).round().div(1023)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    yuv = torch.stack([y, (b - y) / 1.8556 + 0.5, (r - y) / 1.5748 + 0.5], 1).clamp(0.0, 1.0)
    yuv = yuv.mul(1023).round().div(1023)
    converted = yuv10.to_planes(image)
    assert torch.equal(converted.rgb, rgb)
    assert torch.equal(converted.yuv, yuv)
    assert torch.equal(converted.y, yuv[:, :1])


@pytest.mark.parametrize("name", ["ms-ssim-y", "vif-y", "nlpd-y", "iw-ssim-y"])
def test_reference_features_are_kept_per_original_and_change_nothing(pair, name: str) -> None:
    """What a metric takes from the original alone is computed once per original: a second
    decoded version reuses it, with the same value as computed from scratch, and an original
    changed in place gets its own."""
    available(name)
    original, decoded = pair
    original = original.copy()
    other = degrade(original, 40)
    metric = METRICS.get(name)
    yuv10.clear_cache()
    metric(original, decoded)
    kept = yuv10.planes(original).features[name]
    reused = metric(original, other)
    assert yuv10.planes(original).features[name] is kept
    yuv10.clear_cache()
    assert metric(original, other) == reused  # bit-equal to a fresh computation
    original[:32] = 255 - original[:32]  # changed in place: new planes, new features
    changed = metric(original, other)
    assert yuv10.planes(original).features[name] is not kept
    yuv10.clear_cache()
    assert metric(original.copy(), other) == changed


def test_measure_checks_each_image_once_and_sees_changes_between_calls(pair, monkeypatch) -> None:
    from licbench.metrics import measure

    original, decoded = (image.copy() for image in pair)
    names = ["psnr-y10", "psnr-u", "psnr-yuv", "ms-ssim-y", "vif-y"]
    checks = []
    crc32 = yuv10.zlib.crc32
    monkeypatch.setattr(yuv10.zlib, "crc32", lambda data: checks.append(1) or crc32(data))
    yuv10.clear_cache()
    first = measure(names, original, decoded)
    assert len(checks) == 2  # once per image, not once per metric
    assert first == {name: METRICS.get(name)(original, decoded) for name in names}
    decoded[:16] = 0  # changed between two jobs' measurements: converted again
    second = measure(names, original, decoded)
    yuv10.clear_cache()
    assert second == measure(names, original, decoded.copy())
    assert second["psnr-y10"] < first["psnr-y10"]


@pytest.mark.parametrize("scale", [1.0, 1e21])
def test_iw_ssim_information_equals_the_sum_of_logarithms(scale: float) -> None:
    """The information map takes logarithms of products of two factors; where a product would
    leave the float range (``scale`` 1e21), it sums the logarithms one by one: the same map."""
    from licbench.metrics import iw_ssim as iw

    generator = torch.Generator().manual_seed(3)
    ref = torch.randn(1, 1, 40, 48, generator=generator) * 20
    dist = ref + torch.randn(1, 1, 40, 48, generator=generator) * 5
    blocks = iw.local_moments(ref, iw.BOX3)
    multiplier, eigenvalues = iw._gsm(ref, None)
    eigenvalues = tuple(value * scale for value in eigenvalues)
    information = iw._information(dist, ref, blocks, (multiplier, eigenvalues))
    assert bool(torch.isfinite(information).all())

    # the definition in float64, term by term
    mu_r, var_r = (t.double() for t in blocks)
    mu_d, var_d = (t.double() for t in iw.local_moments(dist.double(), iw.BOX3))
    cov = iw.filter_valid(dist.double() * ref.double(), iw.BOX3) - mu_d * mu_r
    gain = cov / (var_r + iw.EPS)
    noise = var_d - gain * cov
    gain = torch.where((var_r < iw.EPS) | (var_d < iw.EPS), 0.0, gain)
    noise = torch.where(var_r < iw.EPS, var_d, noise).masked_fill(var_d < iw.EPS, 0.0)
    sigma = iw.SIGMA_NSQ
    expected = sum(
        torch.log2(
            1
            + ((noise + (1 + gain * gain) * sigma) * multiplier.double() * v + sigma * noise)
            / sigma**2
        )
        for v in eigenvalues
    )
    expected = expected.masked_fill(expected < iw.EPS, 0.0)
    assert torch.allclose(information.double(), expected, rtol=1e-5, atol=1e-4)


def test_fsim_of_a_constant_plane_equals_piq_in_float64(pair) -> None:
    """A constant plane goes through the transforms alone: paired, the other plane's rounding
    leaked into its (exactly zero) responses and moved FSIM by 0.1."""
    import piq

    from licbench.metrics.fsim import fsim

    ref = yuv10.to_planes(pair[0]).rgb.double()
    grey = torch.full_like(ref, 0.5)
    expected = float(piq.fsim(ref, grey, data_range=1.0, chromatic=True))
    assert fsim(ref, grey) == pytest.approx(expected, abs=1e-12)
    assert fsim(grey, ref) == fsim(ref, grey)


def test_iw_ssim_of_a_one_pixel_wide_image_is_finite() -> None:
    """A 1-pixel-wide picture (padded to 256) leaves bands with zero eigenvalues: they add
    nothing to the GSM multiplier (1/0 gave NaN)."""
    ramp = np.linspace(0, 255, 300)[:, None, None].repeat(3, axis=2).astype(np.uint8)
    brighter = np.clip(ramp.astype(int) + 2, 0, 255).astype(np.uint8)
    for original, decoded in (
        (ramp, brighter),
        (ramp.transpose(1, 0, 2), brighter.transpose(1, 0, 2)),
    ):
        value = METRICS.get("iw-ssim-y")(
            np.ascontiguousarray(original), np.ascontiguousarray(decoded)
        )
        assert 0.9999 < value < 1.0


def test_an_unchanged_block_vouches_for_its_own_thread_only() -> None:
    import threading

    image = synthetic_image(32, 48, 3)
    yuv10.clear_cache()
    entered, release = threading.Event(), threading.Event()

    def measuring() -> None:
        with yuv10.unchanged():
            yuv10.planes(image)
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=measuring)
    worker.start()
    entered.wait(10)
    before = yuv10.planes(image).yuv.clone()
    image[:8] = 255 - image[:8]  # changed outside that block: this thread converts it again
    after = yuv10.planes(image).yuv
    release.set()
    worker.join()
    assert not torch.equal(before, after)
    assert torch.equal(after, yuv10.to_planes(image).yuv)


def test_clear_cache_lets_the_planes_and_their_features_go() -> None:
    import gc
    import weakref

    from licbench.metrics import measure

    original = synthetic_image(256, 288, 5)
    decoded = degrade(original, 20)
    yuv10.clear_cache()
    measure(["psnr-y10", "iw-ssim-y"], original, decoded)
    kept = weakref.ref(yuv10.planes(original))
    assert "iw-ssim-y" in kept().features
    yuv10.clear_cache()
    gc.collect()
    assert kept() is None
