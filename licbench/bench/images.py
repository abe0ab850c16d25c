"""Reading an image file into the 8-bit RGB array every codec and metric works on.

The file's bytes are hashed as they are read and compared with the sha256 the job was planned
with, so a file that changed after planning is reported, never silently measured.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image

from licbench.datasets import ImageRef


class ImageLoadError(ValueError):
    """An input file that cannot be measured; the message names the file and the problem."""


def load_rgb(image: ImageRef) -> np.ndarray:
    try:
        data = image.path.read_bytes()
    except OSError as exc:
        raise ImageLoadError(f"{image.path}: cannot read: {exc.strerror or exc}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != image.sha256:
        raise ImageLoadError(
            f"{image.path}: changed since the run was planned "
            f"(sha256 {actual[:12]}…, expected {image.sha256[:12]}…)"
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            if opened.mode != "RGB":
                raise ImageLoadError(
                    f"{image.path}: mode {opened.mode} images are not measured: licbench "
                    "compares 8-bit RGB images (convert it to RGB first)"
                )
            return np.asarray(opened)
    except ImageLoadError:
        raise
    except Exception as exc:
        raise ImageLoadError(f"{image.path}: not a readable image: {exc}") from exc
