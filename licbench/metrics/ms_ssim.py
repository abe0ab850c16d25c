"""MS-SSIM on RGB through pytorch-msssim (data range 255), as CompressAI's bench computes it, in
bounded memory.

MS-SSIM downsamples four times with an 11-tap window, so it is undefined for images with a side
shorter than 161 pixels; such images get NaN rather than a number from a different definition.

The tensors are built as CompressAI builds them (``unsqueeze(0).permute(0, 3, 1, 2)``, a channels-
last view). Besides giving values bit-identical to CompressAI's bench, that layout keeps oneDNN on
its fast path for the depthwise filters: ``permute(2, 0, 1)[None]`` (batch stride 3) was 2.1×
slower on Kodak (191.6 → 91.6 ms per pair) and MS-SSIM is ~90 % of a JPEG job.

**Bands** (bounded memory). ``pytorch_msssim.ms_ssim`` makes about twenty float32 maps of the whole
image at the finest scale, a dozen alive at once: 3.9 GB at 24 MP, 160 bytes a pixel. Here each
scale's maps are made band by band of rows (about :data:`BAND_PIXELS` pixels, plus the window's 10
rows of halo), with the library's own window and Gaussian filter and its ``_ssim`` operations in the
same order, so every map value is the library's; the finest scale is read from the 8-bit images band
by band, and pooled to the next scale band by band (the library's ``avg_pool2d``, each band's
windows where the whole image's padding puts them). Only the contrast-structure map (and at the
coarsest scale the SSIM map) is kept whole, channels-last as the library's is, and averaged by the
library's own ``flatten(map, 2).mean(-1)``: the same reduction over the same values, so each scale's
means and the value are pytorch-msssim's, hence CompressAI's bench's, to the last bit, with every
band height and thread count tried (one to 16 rows and the default; one and two threads:
``tests/metrics/test_bands.py``; Kodak, CLIC and 24 MP images compared in ``benchmarks/README.md``).
What stays: that map (12 bytes a pixel at the finest scale), the half-size float images (6 bytes a
pixel) and one band's maps (~25 MB at any size): 0.31 GB above what the process held, at 24 MP,
where the whole-image call took 3.9 GB (and 3× the time).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: a re-run that computes nothing never imports numpy
    import numpy as np
    import torch

#: the smallest side pytorch-msssim accepts with its default 11-pixel window and 5 scales
MIN_SIDE = 161

#: pixels in one band of map rows: at most 8 float32 maps of 3 channels of it are alive at once
#: (~25 MB); a band is at least one row. From 2**17 to 2**21 the time at 24 MP hardly moved
#: (3.0-4.1 s on a loaded machine: more rows of halo against maps that stay nearer the cache)
#: while the memory above the images grew from 0.29 to 0.52 GB
BAND_PIXELS = 1 << 18

#: pytorch-msssim's defaults, which CompressAI's bench uses: window, its sigma, K1 and K2, and the
#: weights of the five scales
WIN_SIZE, WIN_SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
DATA_RANGE = 255.0


def ms_ssim_rgb(original: np.ndarray, decoded: np.ndarray, *, band_rows: int = 0) -> float:
    """MS-SSIM of ``decoded`` against ``original`` (HxWx3 uint8): ``pytorch_msssim.ms_ssim`` of the
    two as float32 in [0, 255] with ``data_range=255``, computed band by band (``band_rows`` map
    rows a band; 0: :data:`BAND_PIXELS` pixels' worth). NaN below :data:`MIN_SIDE`."""
    import torch
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    if min(original.shape[:2]) < MIN_SIDE:
        return math.nan
    channels = original.shape[2]
    with torch.no_grad():
        # built as ms_ssim builds it (float32 taps, one row per channel), then cast as _ssim casts
        window = _fspecial_gauss_1d(WIN_SIZE, WIN_SIGMA).repeat([channels, 1, 1, 1])
        window = window.to(dtype=torch.float32)
        x: np.ndarray | torch.Tensor = original
        y: np.ndarray | torch.Tensor = decoded
        levels = len(WEIGHTS)
        contrast: list[torch.Tensor] = []
        for level in range(levels):
            last = level == levels - 1
            cs, ssim = _level_means(x, y, window, with_ssim=last, band_rows=band_rows)
            if not last:
                contrast.append(torch.relu(cs))
                x, y = _downsampled(x, band_rows), _downsampled(y, band_rows)
        assert ssim is not None
        # ms_ssim's own ending, on the same (1, C) float32 means
        weights = torch.tensor(WEIGHTS, dtype=torch.float32)
        stacked = torch.stack([*contrast, torch.relu(ssim)], dim=0)
        return float(torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean())


def _height_width(image: np.ndarray | torch.Tensor) -> tuple[int, int]:
    """An HxWxC array's or a 1xCxHxW tensor's height and width."""
    import numpy as np

    return tuple(image.shape[:2]) if isinstance(image, np.ndarray) else tuple(image.shape[2:])


def _rows(image: np.ndarray | torch.Tensor, top: int, bottom: int) -> torch.Tensor:
    """Rows [top, bottom) as a 1xCxhxW float32 tensor in the channels-last layout CompressAI
    builds: the 8-bit image converted (exactly) band by band, a tensor sliced (a view)."""
    import numpy as np
    import torch

    if isinstance(image, np.ndarray):
        band = np.array(image[top:bottom], dtype=np.float32)
        return torch.from_numpy(band).unsqueeze(0).permute(0, 3, 1, 2)
    return image[:, :, top:bottom]


def _band_maps(
    x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, with_ssim: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """pytorch_msssim's ``_ssim`` maps of one band (valid rows only): the same filter and the
    same operations in the same order (its ``compensation`` is 1.0: the product is the value)."""
    from pytorch_msssim.ssim import gaussian_filter

    c1 = (K1 * DATA_RANGE) ** 2
    c2 = (K2 * DATA_RANGE) ** 2
    mu1 = gaussian_filter(x, window)
    mu2 = gaussian_filter(y, window)
    mu1_sq = mu1.pow(2)
    mu2_sq = mu2.pow(2)
    mu1_mu2 = mu1 * mu2
    del mu1, mu2
    # each map freed once read for the last time, and written in place where the library makes
    # a new one: the same operations on the same values (so the same floats), fewer maps alive
    sigma1_sq = gaussian_filter(x * x, window).sub_(mu1_sq)
    sigma12 = gaussian_filter(x * y, window).sub_(mu1_mu2)
    del x
    sigma2_sq = gaussian_filter(y * y, window).sub_(mu2_sq)
    del y
    if not with_ssim:
        del mu1_sq, mu2_sq, mu1_mu2
    # (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
    cs_map = sigma12.mul_(2).add_(c2).div_(sigma1_sq.add_(sigma2_sq).add_(c2))
    del sigma1_sq, sigma2_sq
    if not with_ssim:
        return cs_map, None
    # ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs_map
    ssim_map = mu1_mu2.mul_(2).add_(c1).div_(mu1_sq.add_(mu2_sq).add_(c1)).mul_(cs_map)
    return cs_map, ssim_map


def _level_means(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    window: torch.Tensor,
    *,
    with_ssim: bool,
    band_rows: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One scale's per-channel means of the contrast-structure map (and of the SSIM map at the
    last scale), (1, C) float32 as ``_ssim`` returns them: the maps made band by band into one
    contiguous map each, averaged by ``_ssim``'s own ``flatten(map, 2).mean(-1)``."""
    import torch

    height, width = _height_width(x)
    halo = WIN_SIZE - 1
    out_h, out_w = height - halo, width - halo
    channels = window.shape[0]
    rows = band_rows or max(1, BAND_PIXELS // width)
    cs_map = torch.empty((1, out_h, out_w, channels), dtype=torch.float32).permute(0, 3, 1, 2)
    ssim_map = torch.empty_like(cs_map) if with_ssim else None
    for top in range(0, out_h, rows):
        bottom = min(out_h, top + rows)
        cs, ssim = _band_maps(
            _rows(x, top, bottom + halo), _rows(y, top, bottom + halo), window, with_ssim
        )
        cs_map[:, :, top:bottom] = cs
        if ssim_map is not None:
            ssim_map[:, :, top:bottom] = ssim
        del cs, ssim
    cs_mean = torch.flatten(cs_map, 2).mean(-1)
    ssim_mean = None if ssim_map is None else torch.flatten(ssim_map, 2).mean(-1)
    return cs_mean, ssim_mean


def _downsampled(image: np.ndarray | torch.Tensor, band_rows: int = 0) -> torch.Tensor:
    """ms_ssim's 2x2 average pooling with ``padding = [H % 2, W % 2]`` (zeros counted), as a
    1xCxH'xW' channels-last tensor; an 8-bit image is pooled band by band (each band's windows
    where the whole image's padding puts them; ``band_rows`` output rows a band, 0: about
    :data:`BAND_PIXELS` input pixels), a tensor (a quarter of the pixels or fewer) whole."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    height, width = _height_width(image)
    pad_h, pad_w = height % 2, width % 2
    if not isinstance(image, np.ndarray):
        return F.avg_pool2d(image, kernel_size=2, padding=[pad_h, pad_w])
    out_h, out_w = height // 2 + pad_h, width // 2 + pad_w
    channels = image.shape[2]
    pooled = torch.empty((1, out_h, out_w, channels), dtype=torch.float32).permute(0, 3, 1, 2)
    rows = band_rows or max(1, BAND_PIXELS // (2 * width))
    for top in range(0, out_h, rows):
        bottom = min(out_h, top + rows)
        # output row i averages input rows 2i - pad_h and 2i + 1 - pad_h (row -1: the zero pad)
        first, last = 2 * top - pad_h, 2 * bottom - pad_h
        band = _rows(image, max(0, first), min(height, last))
        pad_top = 1 if first < 0 else 0
        pooled[:, :, top:bottom] = F.avg_pool2d(band, kernel_size=2, padding=[pad_top, pad_w])
    return pooled


#: MS-SSIM in dB at MS-SSIM = 1 (a lossless point): 60 dB, where 1 − MS-SSIM = 1e-6, the same
#: ceiling as 8-bit PSNR (:func:`licbench.metrics.base.psnr_ceiling`)
DECIBELS_CEILING = 60.0


def to_decibels(ms_ssim_value: float) -> float:
    """−10·log10(1 − MS-SSIM): the dB scale on which MS-SSIM curves are usually compared; at
    most :data:`DECIBELS_CEILING` (a lossless point would be infinite)."""
    if math.isnan(ms_ssim_value):
        return math.nan
    return min(DECIBELS_CEILING, -10.0 * math.log10(max(1.0 - ms_ssim_value, 1e-300)))
