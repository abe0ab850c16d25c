"""Reading an image file into the 8-bit RGB array every codec and metric works on.

The file's bytes are hashed as they are read and compared with the sha256 the job was planned
with, so a file that changed after planning is reported, never silently measured.

What is measured, converted or refused (the README's "Bad inputs" table says the same):

* 8-bit RGB: measured as is. 1×1 or 3×5 images are measured too (MS-SSIM is NaN below 161 px).
* palette (``P``): converted to RGB, which is lossless (every index names one RGB triple), and
  noted; a palette with transparency is treated as RGBA.
* RGBA (8-bit) whose alpha is 255 everywhere: the alpha channel is dropped (nothing is lost) and
  noted. With any transparent pixel it is refused: what the image "is" then depends on a
  background, and the RGB under transparent pixels is often junk.
* grayscale (``L``, ``LA``, ``1``, 16-bit gray): refused. Replicated into three equal channels it
  would have no chroma, codecs would spend almost nothing on colour and PSNR-RGB would be luma
  PSNR, so one such file would pull a colour dataset's means; convert explicitly if that is what
  you want to measure.
* more than 8 bits per sample (16-bit PNG/TIFF/PPM): refused. Pillow silently keeps only the
  high byte of 16-bit RGB, and how to reduce to 8 bits (truncate, round, dither) is a choice the
  harness should not make for you.
* CMYK: refused; converting to RGB correctly needs the file's colour profile.
* over ``max_pixels`` (default 100 MP, ``--max-pixels``): refused from the header, before any
  pixel is decoded; Pillow's decompression-bomb guard is raised to the same limit, never lowered.
* multi-frame files (animated PNG, WebP or GIF, multi-page TIFF): the first frame is measured
  and the row's notes say how many frames the file has. A still-image benchmark measures
  stills; the first frame is what every viewer shows as the picture, and the note keeps it from
  passing for the whole file.
* EXIF orientation: the pixels are measured as stored, not rotated (codecs compress the stored
  raster, and rotating would change the image's size); a file whose orientation tag asks for a
  rotation or flip is noted.
* empty, truncated or corrupt files, files that are not images, missing or unreadable files,
  broken symbolic links and files that are not regular files (FIFOs, devices): refused with the
  reason.

Every refusal is an :class:`ImageLoadError` whose message starts with the file's path.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import warnings
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from licbench.datasets import ImageRef

if TYPE_CHECKING:
    import numpy as np

#: the default of ``--max-pixels``: 100 megapixels (an 8-bit RGB copy is 300 MB)
DEFAULT_MAX_PIXELS = 100_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: starts of files that are images of a known kind even when Pillow cannot open them (cut short)
_SIGNATURES = (_PNG_SIGNATURE, b"\xff\xd8\xff", b"RIFF", b"II*\x00", b"MM\x00*", b"BM")
_GRAY_MODES = {"L", "LA", "La", "1", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


class ImageLoadError(ValueError):
    """An input file that cannot be measured; the message names the file and the problem."""


@dataclass
class LoadedImage:
    """The 8-bit RGB pixels of a file, and what was done to get them (empty for plain RGB)."""

    array: np.ndarray
    notes: list[str] = field(default_factory=list)


def load_rgb(image: ImageRef, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image as an HxWx3 uint8 array, or :class:`ImageLoadError` saying why not."""
    return load_image(image, max_pixels).array


def load_image(image: ImageRef, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read, verify and decode ``image`` under the policy in this module's docstring."""
    path = image.path
    try:
        kind = os.stat(path).st_mode
        if stat.S_ISDIR(kind):
            raise IsADirectoryError(errno.EISDIR, "is a folder")
        if not stat.S_ISREG(kind):  # reading a FIFO would wait for a writer forever
            raise ImageLoadError(f"{path}: cannot read: not a regular file ({_kind(kind)})")
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EISDIR:
            reason = "is a folder, not a file"
        elif exc.errno == errno.ENOENT and path.is_symlink():
            reason = f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        raise ImageLoadError(f"{path}: cannot read: {reason}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != image.sha256:
        raise ImageLoadError(
            f"{path}: changed since the run was planned "
            f"(sha256 {actual[:12]}…, expected {image.sha256[:12]}…)"
        )
    if not data:
        raise ImageLoadError(f"{path}: empty file (0 bytes)")
    return decode_image_bytes(data, str(path), max_pixels)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a plain file"


#: EXIF orientation values (tag 0x0112) and what a viewer would do to show the image upright
_ORIENTATIONS = {
    2: "flipped left-right",
    3: "rotated 180°",
    4: "flipped top-bottom",
    5: "transposed",
    6: "rotated 90° clockwise",
    7: "transversed",
    8: "rotated 90° counter-clockwise",
}


def _stored_as_is_notes(opened: Image.Image) -> list[str]:
    """Notes for what is measured as stored: the first of several frames, EXIF orientation."""
    notes = []
    frames = int(getattr(opened, "n_frames", 1) or 1)
    if frames > 1:
        notes.append(f"multi-frame file ({frames} frames): only the first frame is measured")
    try:
        orientation = opened.getexif().get(0x0112)
    except Exception:  # a broken EXIF block is no reason to refuse the pixels
        orientation = None
    if orientation in _ORIENTATIONS:
        notes.append(
            f"EXIF orientation {orientation} ({_ORIENTATIONS[orientation]} for display) "
            "ignored: measured as stored"
        )
    return notes


def decode_image_bytes(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode a file's bytes under this module's policy; ``name`` starts every message."""
    import numpy as np

    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        # our own check below is the limit; Pillow's guard must not refuse earlier than it
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "its size"
        raise ImageLoadError(
            f"{name}: {size} is over the limit of {max_pixels:,} pixels (--max-pixels; "
            "refused by Pillow's decompression-bomb guard)"
        ) from exc
    except UnidentifiedImageError as exc:
        if data.startswith(_SIGNATURES):
            raise ImageLoadError(
                f"{name}: not a readable image: truncated or corrupt data"
            ) from exc
        raise ImageLoadError(
            f"{name}: not an image file (Pillow does not recognise the format)"
        ) from exc
    except Exception as exc:
        raise ImageLoadError(f"{name}: not a readable image: {exc}") from exc
    with opened:
        width, height = opened.size
        if width * height > max_pixels:
            raise ImageLoadError(
                f"{name}: {width}×{height} = {width * height:,} pixels is over the limit of "
                f"{max_pixels:,} pixels (--max-pixels)"
            )
        if width < 1 or height < 1:
            raise ImageLoadError(f"{name}: has no pixels ({width}×{height})")
        mode = opened.mode
        depth = _bits_per_sample(opened, data)
        if depth > 8 or mode in {"I", "F"} or mode.startswith("I;16"):
            raise ImageLoadError(
                f"{name}: {depth if depth > 8 else 16}-bit image (mode {mode}): licbench "
                "measures 8-bit codecs; reduce it to 8 bits per sample yourself (the harness "
                "will not choose between truncating, rounding and dithering)"
            )
        if mode in _GRAY_MODES:
            raise ImageLoadError(
                f"{name}: grayscale image (mode {mode}): licbench measures RGB codecs; a gray "
                "image replicated into RGB has no chroma and would skew a colour dataset's "
                "means (convert it to RGB explicitly to measure it anyway)"
            )
        if mode == "CMYK":
            raise ImageLoadError(
                f"{name}: CMYK image: converting it to RGB correctly needs its colour profile; "
                "convert it to RGB with a colour-managed tool first"
            )
        try:
            notes = _stored_as_is_notes(opened)
            if getattr(opened, "n_frames", 1) > 1:
                opened.seek(0)
            opened.load()
            converted = opened
            if mode in ("P", "PA"):
                transparent = mode == "PA" or "transparency" in opened.info
                converted = opened.convert("RGBA" if transparent else "RGB")
                notes.append("palette image converted to RGB (lossless)")
            if converted.mode in ("RGBA", "RGBa"):
                alpha = np.asarray(converted.getchannel("A"))
                see_through = int(np.count_nonzero(alpha != 255))
                if see_through:
                    raise ImageLoadError(
                        f"{name}: has transparency ({see_through} of {alpha.size} pixels not "
                        "opaque): licbench measures RGB codecs and will not pick a background; "
                        "flatten it or drop the alpha channel first"
                    )
                converted = converted.convert("RGB")
                notes.append("alpha channel dropped (fully opaque)")
            if converted.mode != "RGB":
                raise ImageLoadError(
                    f"{name}: mode {converted.mode} images are not measured: licbench compares "
                    "8-bit RGB images (convert it to RGB first)"
                )
            array = np.asarray(converted)
        except ImageLoadError:
            raise
        except (OSError, EOFError, SyntaxError, zlib.error) as exc:
            # what Pillow raises for data that ends early or does not decode
            raise ImageLoadError(
                f"{name}: not a readable image: truncated or corrupt data"
            ) from exc
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            raise ImageLoadError(f"{name}: not a readable image: {detail}") from exc
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageLoadError(f"{name}: decoded to {array.dtype} {array.shape}, not 8-bit RGB")
    return LoadedImage(array, notes)


def _bits_per_sample(opened: Image.Image, data: bytes) -> int:
    """Bits per sample as stored in the file (Pillow may already have reduced them to 8)."""
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) > 24:
        return data[24]
    tags = getattr(opened, "tag_v2", None)
    if tags is not None:
        bits = tags.get(258)
        if isinstance(bits, tuple) and bits:
            return max(int(b) for b in bits)
        if isinstance(bits, int):
            return bits
    for tile in getattr(opened, "tile", None) or ():
        args = tile[3] if len(tile) > 3 else None
        # PPM/PGM with a maximum value above 255
        if opened.format in ("PPM", "PGM") and isinstance(args, tuple) and len(args) > 1:
            maxval = args[1]
            if isinstance(maxval, int) and maxval > 255:
                return 16
    return 8
