"""``folder:PATH``: any folder of images as a dataset, for in-house sets with no manifest.

Nothing is known about such a folder, so nothing is verified: the files are only hashed, which is
what keys the results (an edited image never reuses old numbers). Images are not opened here on
purpose: a file that does not decode is still listed, and the runner records the error for that
image instead of the whole dataset failing to load.
"""

from __future__ import annotations

import os
from pathlib import Path

from licbench.core.files import file_sha256
from licbench.datasets.base import Dataset, DatasetError, ImageRef

#: lower-case file extensions taken as images (matched case-insensitively)
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm", ".pgm"}
)
#: folders that hold copies or metadata, never images of the set (macOS resource forks, VCS)
_SKIP_DIRS = frozenset({"__MACOSX"})


class FolderDataset(Dataset):
    """Every image file under a folder, recursively, named by its path relative to the folder."""

    verification = "none (in-house folder)"
    verification_note = (
        "Nothing is checked: files are only hashed (sha256 from their bytes) to key the results."
    )
    license = "unknown (in-house folder)"

    def __init__(self, arg: str | None = None) -> None:
        if not arg:
            raise DatasetError("dataset 'folder' needs a path: folder:/path/to/images")
        self.root = Path(arg).expanduser()
        self.name = f"folder:{arg}"
        self.description = f"images under {self.root}"
        self.source = str(self.root)

    def files(self) -> list[tuple[str, Path]]:
        """(name, path) of each image file, sorted by name; hidden files and folders skipped.

        Hidden entries (leading dot) are skipped because they are editor, OS or VCS debris
        (``.DS_Store``, macOS ``._x.png`` forks, ``.ipynb_checkpoints``), never part of a set.
        """
        if not self.root.is_dir():
            what = "is not a folder" if self.root.exists() else "does not exist"
            raise DatasetError(f"folder dataset: {self.root} {what}")
        found: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
            for fname in filenames:
                if fname.startswith(".") or Path(fname).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                path = Path(dirpath) / fname
                if path.is_file():
                    found.append((path.relative_to(self.root).as_posix(), path))
        found.sort(key=lambda item: item[0])
        return found

    def images(self, *, download: bool = True, allow_partial: bool = False) -> list[ImageRef]:
        """All image files with their sha256; ``download`` and ``allow_partial`` do not apply."""
        files = self.files()
        if not files:
            exts = " ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
            raise DatasetError(f"folder dataset: no image files ({exts}) under {self.root}")
        return [ImageRef(name, path, file_sha256(path)) for name, path in files]

    def __repr__(self) -> str:
        return f"FolderDataset({str(self.root)!r})"
