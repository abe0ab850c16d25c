"""The JPEG AI metric set (and the JPEG XL community's two), declared once, and metric groups.

:func:`jpeg_ai_metrics` returns the metric objects that ``licbench.metrics`` registers; the groups
below only name them. ``--metrics jpeg-ai`` is :data:`METRIC_GROUPS` ``["jpeg-ai"]``: the seven
metrics whose mean BD-rate is JPEG AI's headline figure (:data:`JPEG_AI_HEADLINE`) plus the
per-plane PSNRs that its reports also give.

Versions are per metric and go into job keys; the libraries behind them are pinned in
``pyproject.toml``, and a change of library version that moves values bumps the metric's version
here. Every library is imported only when a value is computed.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterable

from licbench.metrics import jpeg_ai, jxl_metrics, vmaf
from licbench.metrics.availability import Availability
from licbench.metrics.base import Metric, psnr_ceiling

Y10 = "Y (BT.709, 10-bit)"
UNIT_INTERVAL = (0.0, 1.0)
DECIBELS = (0.0, math.inf)

#: the seven metrics of JPEG AI's common test conditions; their mean BD-rate is the headline
JPEG_AI_HEADLINE: tuple[str, ...] = (
    "ms-ssim-y",
    "vif-y",
    "nlpd-y",
    "iw-ssim-y",
    "psnr-hvs-y",
    "fsim-rgb",
    "vmaf-y",
)

#: a group name → the metric names it stands for, in report order
METRIC_GROUPS: dict[str, tuple[str, ...]] = {
    "jpeg-ai": (*JPEG_AI_HEADLINE, "psnr-y10", "psnr-u", "psnr-v", "psnr-yuv"),
    "jpeg-xl": ("ssimulacra2", "butteraugli"),
}


def package_check(*modules_and_dists: tuple[str, str]) -> Callable[[], Availability]:
    """A check that the given (module, pip distribution) pairs are importable, without importing."""

    def check() -> Availability:
        for module, dist in modules_and_dists:
            if importlib.util.find_spec(module) is None:
                return Availability(
                    False, f"the {dist} package is not installed", f"pip install {dist}"
                )
        return Availability.yes()

    return check


def jpeg_ai_metrics(optional: type[Metric]) -> list[Metric]:
    """The metric objects, built with ``optional`` (``OptionalMetric``, which takes ``check``)."""
    torch = ("torch", "torch")
    hvs = package_check(torch, ("psnr_hvsm", "psnr-hvsm"))
    planes = package_check(torch)
    filters = package_check(torch, ("cv2", "opencv-python-headless"))

    def make(
        name, higher, unit, description, compute, value_range, colour, check, version="1",
        ceiling=None,
    ):  # fmt: skip
        return optional(
            name,
            higher,
            unit,
            description,
            compute,
            version=version,
            range=value_range,
            colour_space=colour,
            check=check,
            ceiling=ceiling,
            needs_torch=check in (hvs, planes, filters, vmaf.availability),  # 10-bit planes
        )

    return [
        make(
            "ms-ssim-y",
            True,
            "",
            "MS-SSIM of 10-bit BT.709 Y (pytorch-msssim's, data range 1023), as JPEG AI",
            jpeg_ai.ms_ssim_y,
            UNIT_INTERVAL,
            Y10,
            filters,
            # 2: licbench's shifted-sum filters (was pytorch-msssim; moved ≤ 3e-7); 3: OpenCV's
            # separable filters, no luminance term before the last scale (moved ≤ 2.2e-5 on
            # Kodak JPEG, towards the float64 value: its float32 error went from 3.4e-5 to 1.2e-5)
            version="3",
        ),
        make(
            "vif-y",
            True,
            "",
            "pixel-domain VIF of 10-bit Y (licbench's separable-window vif_p; equals JPEG AI's"
            " IQA-pytorch VIFs)",
            jpeg_ai.vif_y,
            (0.0, math.inf),
            Y10,
            filters,
            # 2: separable windows, centred statistics (was piq; moved ≤ 2e-5); 3: OpenCV's
            # filters (moved ≤ 9e-6 on Kodak JPEG, float32 rounding; float64 equal to 1e-10)
            version="3",
        ),
        make(
            "nlpd-y",
            False,
            "",
            "NLPD of 10-bit Y (licbench's separable filters, IQA-pytorch's definition, as JPEG AI);"
            " lower is better",
            jpeg_ai.nlpd_y,
            (0.0, math.inf),
            Y10,
            filters,
            # 2: separable shifted sums, both images batched (was IQA-pytorch; ≤ 4e-8); 3: OpenCV's
            # filters (moved ≤ 5e-8 on Kodak JPEG)
            version="3",
        ),
        make(
            "iw-ssim-y",
            True,
            "",
            "IW-SSIM of 10-bit Y (licbench's separable-window port of the authors' code)",
            jpeg_ai.iw_ssim_y,
            UNIT_INTERVAL,
            Y10,
            filters,
            # 2: separable windows, centred last scale (was piq; moved ≤ 4e-7); 3: OpenCV's
            # filters, the GSM multiplier in the eigenbasis, the parent enlarged at the kept
            # samples only, the low-pass level in float64 (moved ≤ 5.7e-6 on Kodak JPEG; the
            # float32 error against float64 fell from 4.9e-6 to 7.7e-7; float64 equal to 1e-13)
            version="3",
        ),
        make(
            "psnr-hvs-y",
            True,
            "dB",
            "PSNR-HVS of 10-bit Y (psnr-hvsm's, as JPEG AI)",
            jpeg_ai.psnr_hvs_y,
            DECIBELS,
            Y10,
            hvs,
            # 2: vectorised DCT here, psnr-hvsm's CSF table (equal to ~1e-14); 3: at most 72 dB
            version="3",
            ceiling=psnr_ceiling(10),
        ),
        make(
            "fsim-rgb",
            True,
            "",
            "FSIMc of the 10-bit RGB images (licbench's, piq's chromatic fsim definition)",
            jpeg_ai.fsim_rgb,
            UNIT_INTERVAL,
            "RGB (10-bit)",
            planes,
            # 2: licbench's fsim (cached log-Gabor bank, batched FFT; was piq; equal in float64,
            # moved ≤ 2e-7 in float32); 3: both planes through one complex FFT, block sums with
            # the scale in the YIQ weights (moved ≤ 2.9e-8 on 72 Kodak pairs; float64 ≤ 3.3e-16)
            version="3",
        ),
        make(
            "vmaf-y",
            True,
            "",
            "VMAF vmaf_v0.6.1 of 10-bit YUV 4:4:4 (libvmaf through"
            " imageio-ffmpeg's ffmpeg), as JPEG AI",
            vmaf.vmaf_y,
            (0.0, 100.0),
            Y10,
            vmaf.availability,
        ),
        make(
            "psnr-y10",
            True,
            "dB",
            "PSNR of 10-bit BT.709 Y (peak 1023), as JPEG AI",
            jpeg_ai.psnr_y10,
            DECIBELS,
            Y10,
            planes,
            version="2",  # 2: at most 72 dB (lossless: inf before)
            ceiling=psnr_ceiling(10),
        ),
        make(
            "psnr-u",
            True,
            "dB",
            "PSNR of 10-bit BT.709 U/Cb (peak 1023), as JPEG AI",
            jpeg_ai.psnr_u,
            DECIBELS,
            "U (BT.709, 10-bit)",
            planes,
            version="2",  # 2: at most 72 dB (lossless: inf before)
            ceiling=psnr_ceiling(10),
        ),
        make(
            "psnr-v",
            True,
            "dB",
            "PSNR of 10-bit BT.709 V/Cr (peak 1023), as JPEG AI",
            jpeg_ai.psnr_v,
            DECIBELS,
            "V (BT.709, 10-bit)",
            planes,
            version="2",  # 2: at most 72 dB (lossless: inf before)
            ceiling=psnr_ceiling(10),
        ),
        make(
            "psnr-yuv",
            True,
            "dB",
            "JVET-weighted PSNR (6·Y + U + V) / 8 of 10-bit BT.709 YUV",
            jpeg_ai.psnr_yuv,
            DECIBELS,
            "YUV (BT.709, 10-bit)",
            planes,
            version="2",  # 2: at most 72 dB (lossless: inf before)
            ceiling=psnr_ceiling(10),
        ),
        make(
            "ssimulacra2",
            True,
            "",
            "SSIMULACRA 2 of the 8-bit sRGB images (ssimulacra2 package, a port of libjxl's tool)",
            jxl_metrics.ssimulacra2,
            (-math.inf, 100.0),
            "sRGB (XYB)",
            jxl_metrics.ssimulacra2_availability,
        ),
        make(
            "butteraugli",
            False,
            "",
            "Butteraugli max-norm distance (the butteraugli tool); lower is better",
            jxl_metrics.butteraugli,
            (0.0, math.inf),
            "sRGB",
            jxl_metrics.butteraugli_availability,
        ),
    ]


def expand_metric_names(names: Iterable[str]) -> list[str]:
    """Metric names with group names (``jpeg-ai``) replaced by their members, duplicates dropped.

    Order is kept (a group's members in the group's order, where the group stands); names that
    are not groups are passed through for the registry to check.
    """
    expanded: list[str] = []
    for name in names:
        for member in METRIC_GROUPS.get(name.strip(), (name.strip(),)):
            if member and member not in expanded:
                expanded.append(member)
    return expanded
