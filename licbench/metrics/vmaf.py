"""VMAF of the 10-bit Y plane through libvmaf, the reference implementation, as JPEG AI runs it.

JPEG AI's framework writes both pictures as raw YUV 4:4:4 10-bit files and runs Netflix's ``vmaf``
tool (v2.2.1, default model ``vmaf_v0.6.1``) on them; VMAF itself reads luma only. Here the same
Y plane (:mod:`licbench.metrics.yuv10`), with neutral 4:2:0 chroma, goes to the ``libvmaf``
filter of the ffmpeg that imageio-ffmpeg ships (already a dependency for the VVC/HEVC codecs),
with the same built-in model, one thread, no motion (a single picture has none). The value is
0–100 (the model can leave that range slightly; it is not clipped, as the tool does not clip it).

Unavailable, with the reason, when that ffmpeg has no libvmaf filter.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from licbench.metrics.availability import Availability
from licbench.metrics.yuv10 import planes

if TYPE_CHECKING:
    import numpy as np

MODEL = "vmaf_v0.6.1"
INSTALL_HINT = "pip install imageio-ffmpeg (its ffmpeg has libvmaf), or an ffmpeg with libvmaf"


@cache
def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


@cache
def availability() -> Availability:
    """Whether the ffmpeg here has the libvmaf filter (runs ``ffmpeg -filters`` once)."""
    exe = ffmpeg_exe()
    if exe is None:
        return Availability(False, "imageio-ffmpeg is not installed", INSTALL_HINT)
    listing = subprocess.run(
        [exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=60
    ).stdout
    if " libvmaf " not in listing:
        return Availability(False, f"{exe} has no libvmaf filter", INSTALL_HINT)
    return Availability.yes()


def _yuv420p10le(image: np.ndarray) -> bytes:
    """The 10-bit Y plane with neutral 4:2:0 chroma: VMAF reads luma only (the same score as
    the framework's 4:4:4 file, checked), and half the bytes go through the pipe and ffmpeg."""
    import numpy as np

    luma = planes(image).codes[0].astype("<u2")
    height, width = luma.shape
    chroma = np.full(2 * ((height + 1) // 2) * ((width + 1) // 2), 512, dtype="<u2")
    return luma.tobytes() + chroma.tobytes()


def vmaf_y(original: np.ndarray, decoded: np.ndarray) -> float:
    """VMAF (libvmaf, ``vmaf_v0.6.1``) of the decoded picture against the original."""
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
    exe = ffmpeg_exe()
    if exe is None:
        raise RuntimeError(f"vmaf-y needs ffmpeg with libvmaf: {INSTALL_HINT}")
    height, width = original.shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{width}x{height}", "-i"]
    with tempfile.TemporaryDirectory(prefix="licbench-vmaf-") as folder:
        ref, dist, log = (Path(folder) / name for name in ("ref.yuv", "dist.yuv", "vmaf.json"))
        ref.write_bytes(_yuv420p10le(original))
        dist.write_bytes(_yuv420p10le(decoded))
        graph = f"[0:v][1:v]libvmaf=model=version={MODEL}:log_fmt=json:log_path={log}:n_threads=1"
        command = [exe, "-hide_banner", "-loglevel", "error", "-nostdin"]
        command += [*raw, str(dist), *raw, str(ref), "-lavfi", graph, "-f", "null", "-"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not log.is_file():
            raise RuntimeError(f"ffmpeg libvmaf failed: {done.stderr.strip()[-500:]}")
        report = json.loads(log.read_text())
    return float(report["pooled_metrics"]["vmaf"]["mean"])
