"""The checks a dataset file can pass: its sha256, and its image size read from the header.

Why both: where a sum is published (Kodak) it decides everything; where none is (CLIC, Tecnick)
the most we can honestly check is that the right number of files decode to the right sizes, and
each manifest says which of these applies in its ``verification_note``.
"""

from __future__ import annotations

from pathlib import Path

from licbench.datasets.base import DatasetError


def sha256_mismatch(subject: str, expected: str, actual: str) -> DatasetError:
    """The one wording of a checksum failure, so every place that rejects a file says the same.

    ``subject`` names the file and where it came from (a path, or "NAME from URL").
    """
    return DatasetError(
        f"{subject}: sha256 mismatch\n  expected {expected.lower()}\n  actual   {actual}\n"
        "The file is corrupt, truncated or a different version; it was not used. Delete it to "
        "have it fetched again, or point LICBENCH_MIRROR at a good copy."
    )


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels.

    Pillow is imported here, not at module level, so listing datasets stays cheap.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{path}: not a readable image ({exc})") from exc
