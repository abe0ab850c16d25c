"""The JPEG AI objective metric set, computed as JPEG AI's quality assessment framework does.

Every function takes the two 8-bit RGB images (original, decoded) and reads the 10-bit BT.709
planes of :mod:`licbench.metrics.yuv10` (converted once per image). Implementation per metric,
with the framework's own choice in brackets where it differs:

========== ==== ============================================================================
ms-ssim-y  Y    pytorch-msssim's MS-SSIM (:mod:`licbench.metrics.ms_ssim_y`, OpenCV's separable
                filters; equal in float64) on Y·1023, data range 1023 (the framework's
                ``msssim_torch``)
vif-y      Y    pixel-domain VIF (:mod:`licbench.metrics.vif`, piq's ``vif_p`` with separable
                windows) on Y in [0, 1] (framework: IQA-pytorch ``VIFs``; tested)
nlpd-y     Y    NLPD (:mod:`licbench.metrics.nlpd`, IQA-pytorch's ``NLPD`` with separable
                filters; tested against it) on Y in [0, 1] (the framework's IQA-pytorch)
iw-ssim-y  Y    IW-SSIM (:mod:`licbench.metrics.iw_ssim`, separable windows) on Y (framework:
                a port of Python-IW-SSIM; tested against values from it)
psnr-hvs-y Y    psnr-hvsm's PSNR-HVS (the framework's) as two DCT matrix products, Y in [0, 1]
                padded to a multiple of 8 (replicate)
fsim-rgb   RGB  FSIMc (:mod:`licbench.metrics.fsim`, piq's ``fsim`` with a cached filter bank;
                equal in float64) on 10-bit RGB (framework: IQA-pytorch ``FSIM`` with its FFT
                calls ported to torch.fft; tested)
psnr-y10,  Y/U/ written here (a formula): 10·log10(1023² / MSE) on the 10-bit code values;
psnr-u,    V    psnr-yuv = (6·PSNR-Y + PSNR-U + PSNR-V) / 8, the JVET weighting
psnr-v,
psnr-yuv
========== ==== ============================================================================

Sizes: as in the framework, pictures smaller than a metric's minimum are zero-padded at the
bottom and right before that metric (MS-SSIM to 164, VIF to 64, NLPD to 128, IW-SSIM to 256).
Identical images give ``inf`` for the PSNRs (the framework writes 100).
"""

from __future__ import annotations

import contextlib
import io
import math
import weakref
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from licbench.metrics.yuv10 import PEAK, planes

if TYPE_CHECKING:
    import numpy as np

#: minimum side per metric before zero padding, as in the JPEG AI framework
MIN_SIDE = {"ms-ssim": 164, "vif": 64, "nlpd": 128, "iw-ssim": 256}


def _check(original: np.ndarray, decoded: np.ndarray) -> None:
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")


def _pad_to(tensor: Any, side: int) -> Any:
    """Zero-pad a 1×C×H×W tensor at the bottom/right to at least ``side``×``side``."""
    from torch.nn import functional

    height, width = tensor.shape[-2:]
    pad_h, pad_w = max(side - height, 0), max(side - width, 0)
    return functional.pad(tensor, (0, pad_w, 0, pad_h)) if pad_h or pad_w else tensor


def _reference_features(original: np.ndarray, metric: str, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per original image (kept with its converted planes)."""
    features = planes(original).features
    if metric not in features:
        features[metric] = make()
    return features[metric]


def _y_pair(original: np.ndarray, decoded: np.ndarray, side: int = 0) -> tuple[Any, Any]:
    _check(original, decoded)
    ref, dist = planes(original).y, planes(decoded).y
    return (_pad_to(ref, side), _pad_to(dist, side)) if side else (ref, dist)


# --------------------------------------------------------------------------- PSNR on 10-bit YUV


#: the last pair's per-plane MSEs, by weak references to its two Planes (the planes cache decides
#: how long those live): PSNR-Y, -U, -V and -YUV of one job read one pass over the three planes
_last_mses: list[tuple[weakref.ref, weakref.ref, tuple[float, float, float]]] = []


def _plane_mses(original: np.ndarray, decoded: np.ndarray) -> tuple[float, float, float]:
    """The MSE of the 10-bit Y, U and V code values (integers: the sums are exact in float64)."""
    _check(original, decoded)
    ref, dist = planes(original), planes(decoded)
    for cached_ref, cached_dist, mses in _last_mses:
        if cached_ref() is ref and cached_dist() is dist:
            return mses
    difference = (ref.codes - dist.codes).reshape(3, -1)
    values = tuple(float(row @ row) / row.size for row in difference)
    _last_mses[:] = [(weakref.ref(ref), weakref.ref(dist), values)]
    return values  # type: ignore[return-value]


def _psnr(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(PEAK**2 / mse)


def _plane_psnr(original: np.ndarray, decoded: np.ndarray, plane: int) -> float:
    return _psnr(_plane_mses(original, decoded)[plane])


def psnr_y10(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of the 10-bit Y plane, peak 1023."""
    return _plane_psnr(original, decoded, 0)


def psnr_u(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of the 10-bit U (Cb) plane, peak 1023."""
    return _plane_psnr(original, decoded, 1)


def psnr_v(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of the 10-bit V (Cr) plane, peak 1023."""
    return _plane_psnr(original, decoded, 2)


def psnr_yuv(original: np.ndarray, decoded: np.ndarray) -> float:
    """JVET's weighted PSNR of the three planes: (6·Y + U + V) / 8, in dB."""
    values = [_psnr(mse) for mse in _plane_mses(original, decoded)]
    return (6.0 * values[0] + values[1] + values[2]) / 8.0


# --------------------------------------------------------------------------- structural metrics


def ms_ssim_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM of Y on the 0–1023 scale (pytorch-msssim's definition, data range 1023)."""
    import torch

    from licbench.metrics.ms_ssim_y import ms_ssim_against, reference_scales

    ref, dist = _y_pair(original, decoded, MIN_SIDE["ms-ssim"])
    with torch.no_grad():
        scales = _reference_features(original, "ms-ssim-y", lambda: reference_scales(ref * PEAK))
        return ms_ssim_against(scales, dist * PEAK, float(PEAK))


def vif_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """Pixel-domain VIF of Y (:mod:`licbench.metrics.vif`, σ_n² = 2 on the 0–255 scale); 1 for
    identity."""
    import torch

    from licbench.metrics.vif import reference_scales, vif_against

    ref, dist = _y_pair(original, decoded, MIN_SIDE["vif"])
    with torch.no_grad():
        scales = _reference_features(original, "vif-y", lambda: reference_scales(ref))
        return vif_against(scales, dist)


def nlpd_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """NLPD of Y in [0, 1] (Laparra et al. 2016, IQA-pytorch's constants); 0 for identity, lower
    is better."""
    import torch

    from licbench.metrics.nlpd import nlpd_against, normalised_pyramid

    ref, dist = _y_pair(original, decoded, MIN_SIDE["nlpd"])
    with torch.no_grad():
        bands = _reference_features(original, "nlpd-y", lambda: normalised_pyramid(ref))
        return nlpd_against(bands, dist)


def iw_ssim_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """Information-content-weighted SSIM of Y (:mod:`licbench.metrics.iw_ssim`, 5 scales)."""
    import torch

    from licbench.metrics.iw_ssim import iw_ssim_against, reference_features

    ref, dist = _y_pair(original, decoded, MIN_SIDE["iw-ssim"])
    with torch.no_grad():
        features = _reference_features(original, "iw-ssim-y", lambda: reference_features(ref))
        return iw_ssim_against(features, dist)


def fsim_rgb(original: np.ndarray, decoded: np.ndarray) -> float:
    """FSIMc (chromatic FSIM, Zhang et al. 2011) of the 10-bit RGB images."""
    import torch

    from licbench.metrics.fsim import fsim

    _check(original, decoded)
    with torch.no_grad():
        return fsim(planes(original).rgb, planes(decoded).rgb, data_range=1.0, chromatic=True)


@cache
def _csf_weights() -> np.ndarray:
    """PSNR-HVS's 8×8 contrast-sensitivity weights, from psnr-hvsm (the framework's package)."""
    # psnr_hvsm prints to stdout on import when its optional torch backend is missing
    with contextlib.redirect_stdout(io.StringIO()):
        from psnr_hvsm.numpy.psnr_hvsm import CSF_COEFF
    return CSF_COEFF.reshape(8, 8).copy()


@cache
def _dct8() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix (``scipy.fft.dct(..., norm="ortho")`` as a matrix)."""
    import numpy as np

    k, n = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    matrix = np.cos(np.pi * (2 * n + 1) * k / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix


def _pad_multiple(plane: np.ndarray, multiple: int) -> np.ndarray:
    import numpy as np

    height, width = plane.shape
    pad = ((0, -height % multiple), (0, -width % multiple))
    return np.pad(plane, pad, mode="edge") if any(p for _, p in pad) else plane


def psnr_hvs_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR-HVS of Y in [0, 1], padded to 8×8 blocks by replication; inf if equal.

    psnr-hvsm's PSNR-HVS (its C++ backend also computes PSNR-HVS-M, which is not reported, and
    took ~110 ms a Kodak image): the mean over non-overlapping 8×8 blocks of the CSF-weighted
    squared DCT coefficients of the difference (the DCT is linear, so DCT(a) − DCT(b) = DCT(a − b)),
    over 64, as 10·log10(1 / MSE). In float64.
    """
    import numpy as np

    ref, dist = _y_pair(original, decoded)
    difference = _pad_multiple(ref[0, 0].double().numpy() - dist[0, 0].double().numpy(), 8)
    height, width = difference.shape
    dct = _dct8()
    # rows of each block row by C, then every 8 columns by Cᵀ: two plain matrix products, where
    # a stack of 8×8 products (``C @ blocks @ C.T``) was slower than psnr-hvsm's C++ loop
    columns = np.matmul(dct, difference.reshape(height // 8, 8, width)).reshape(-1, 8) @ dct.T
    coefficients = columns.reshape(height // 8, 8, width // 8, 8)
    weighted = coefficients * _csf_weights()[None, :, None, :]
    mse = float(np.sum(weighted * weighted)) / (64.0 * (height // 8) * (width // 8))
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)
