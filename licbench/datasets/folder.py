"""``folder:PATH``: any folder of images as a dataset, for in-house sets with no manifest.

Nothing is known about such a folder, so nothing is verified: the files are only hashed, which is
what keys the results (an edited image never reuses old numbers). Images are not opened here on
purpose: a file that does not decode is still listed, and the runner records the error for that
image instead of the whole dataset failing to load.

Nothing under the folder is silently dropped or allowed to stop the planning:

* a file that cannot be hashed (no permission, a broken symbolic link, a FIFO or device that
  must not be read at planning) is listed with a placeholder sha256 (``unreadable:…``): its
  jobs fail when they read it and become error rows naming the file and the cause;
* a subfolder that cannot be listed, and a symbolic link to a folder (not followed: it could
  loop, or leave the dataset), are :attr:`skipped` with the reason; the run reports them;
* a name that is not valid UTF-8 is listed under a printable form (``caf\xe9.png``) and read
  from its real path.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from licbench.core.files import file_sha256
from licbench.datasets.base import Dataset, DatasetError, ImageRef, Skipped
from licbench.datasets.names import printable

#: lower-case file extensions taken as images (matched case-insensitively)
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".ppm", ".pgm"}
)
#: folders that hold copies or metadata, never images of the set (macOS resource forks, VCS)
_SKIP_DIRS = frozenset({"__MACOSX"})
#: how the sha256 of a file that cannot be hashed starts (never a hex digest)
UNREADABLE_PREFIX = "unreadable:"


def _sha256_or_placeholder(path: Path) -> str:
    """The file's sha256; a placeholder unique to the path when it cannot be read here.

    Only regular files are read: a FIFO would block the planning forever. The job reading the
    file later says what is wrong with it (:func:`licbench.bench.images.load_image`).
    """
    try:
        if stat.S_ISREG(os.stat(path).st_mode):
            return file_sha256(path)
    except OSError:
        pass
    return UNREADABLE_PREFIX + hashlib.sha256(os.fsencode(path)).hexdigest()[:24]


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
        """(name, path) of each image file, sorted by name; hidden files and folders left out.

        Hidden entries (leading dot) are skipped because they are editor, OS or VCS debris
        (``.DS_Store``, macOS ``._x.png`` forks, ``.ipynb_checkpoints``), never part of a set.
        """
        if not self.root.is_dir():
            what = "is not a folder" if self.root.exists() else "does not exist"
            raise DatasetError(f"folder dataset: {self.root} {what}")
        skipped: list[Skipped] = []

        def relative(path: str | Path) -> str:
            return printable(Path(path).relative_to(self.root).as_posix())

        def cannot_list(exc: OSError) -> None:
            if Path(exc.filename) == self.root:
                raise DatasetError(
                    f"folder dataset: cannot list {printable(str(self.root))}: "
                    f"{exc.strerror or exc}"
                )
            reason = f"cannot list the folder: {exc.strerror or exc}"
            skipped.append(Skipped(relative(exc.filename) + "/", reason))

        found: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.root, onerror=cannot_list):
            kept = []
            for dirname in dirnames:
                if dirname.startswith(".") or dirname in _SKIP_DIRS:
                    continue
                if os.path.islink(os.path.join(dirpath, dirname)):
                    reason = "a symbolic link to a folder: not followed"
                    skipped.append(Skipped(relative(Path(dirpath) / dirname) + "/", reason))
                    continue
                kept.append(dirname)
            dirnames[:] = kept
            for fname in filenames:
                if fname.startswith(".") or Path(fname).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                path = Path(dirpath) / fname
                found.append((relative(path), path))
        found.sort(key=lambda item: item[0])
        self.skipped = tuple(sorted(skipped, key=lambda s: s.name))
        return found

    def images(self, *, download: bool = True, allow_partial: bool = False) -> list[ImageRef]:
        """All image files with their sha256; ``download`` and ``allow_partial`` do not apply."""
        files = self.files()
        if not files:
            exts = " ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
            skipped = "".join(f"; skipped {s.name}: {s.reason}" for s in self.skipped)
            raise DatasetError(
                f"folder dataset: no image files ({exts}) under {printable(str(self.root))}"
                f"{skipped}"
            )
        return [ImageRef(name, path, _sha256_or_placeholder(path)) for name, path in files]

    def __repr__(self) -> str:
        return f"FolderDataset({str(self.root)!r})"
