"""SSIMULACRA 2 and Butteraugli, the metrics the JPEG XL community compares codecs with.

* ``ssimulacra2`` (higher is better, 100 for identity, ~90 visually lossless, can go negative):
  the ``ssimulacra2`` package, a NumPy/SciPy port of libjxl's ``tools/ssimulacra2.cc`` (XYB,
  six scales, SSIM and edge-difference maps, 108 weighted norms). It reads the 8-bit sRGB images
  directly; they are handed over as in-memory PPM files, since it only opens files.
* ``butteraugli`` (lower is better, 0 for identity, < ~1 means no visible difference): the
  ``butteraugli`` command-line tool (Debian's package of Google's standalone butteraugli; its max
  norm). libjxl's newer ``butteraugli_main`` is not packaged here; the value is that tool's first
  number and is unavailable, with an install hint, when the tool is missing.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from licbench.metrics.availability import Availability

if TYPE_CHECKING:
    import numpy as np

BUTTERAUGLI_TOOL = "butteraugli"
BUTTERAUGLI_HINT = "apt-get install butteraugli"


def _check(original: np.ndarray, decoded: np.ndarray) -> None:
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")


def _ppm(image: np.ndarray) -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PPM")
    buffer.seek(0)
    return buffer


def ssimulacra2_availability() -> Availability:
    import importlib.util

    if importlib.util.find_spec("ssimulacra2") is None:
        return Availability(
            False, "the ssimulacra2 package is not installed", "pip install ssimulacra2"
        )
    return Availability.yes()


def ssimulacra2(original: np.ndarray, decoded: np.ndarray) -> float:
    """SSIMULACRA 2 of the decoded 8-bit sRGB image against the original."""
    from ssimulacra2 import compute_ssimulacra2

    _check(original, decoded)
    return float(compute_ssimulacra2(_ppm(original), _ppm(decoded)))


def butteraugli_availability() -> Availability:
    if shutil.which(BUTTERAUGLI_TOOL) is None:
        return Availability(
            False, f"the {BUTTERAUGLI_TOOL} command is not on PATH", BUTTERAUGLI_HINT
        )
    return Availability.yes()


def butteraugli(original: np.ndarray, decoded: np.ndarray) -> float:
    """Butteraugli distance (max norm) from the ``butteraugli`` tool; 0 for identical images."""
    from PIL import Image

    _check(original, decoded)
    tool = shutil.which(BUTTERAUGLI_TOOL)
    if tool is None:
        raise RuntimeError(f"butteraugli needs the {BUTTERAUGLI_TOOL} tool: {BUTTERAUGLI_HINT}")
    with tempfile.TemporaryDirectory(prefix="licbench-butteraugli-") as folder:
        paths = [Path(folder) / "original.png", Path(folder) / "decoded.png"]
        for path, image in zip(paths, (original, decoded), strict=True):
            Image.fromarray(image).save(path, compress_level=1)
        done = subprocess.run([tool, *map(str, paths)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not done.stdout.split():
        raise RuntimeError(f"butteraugli failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return float(done.stdout.split()[0])
