"""What a dataset is to the harness: a named, verified list of image files.

The harness never reads an image it cannot name and hash: each image is an :class:`ImageRef`
whose sha256 is part of every result key, so a changed file never reuses old results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


class DatasetError(RuntimeError):
    """A dataset that cannot be found, downloaded or verified; the message names the file."""


@dataclass(frozen=True)
class Skipped:
    """Something under a dataset that was not listed, and why (a folder that cannot be read)."""

    name: str
    reason: str


@dataclass(frozen=True)
class ImageRef:
    """One image of a dataset: its name within the dataset, where it is, and its sha256."""

    name: str
    path: Path
    sha256: str


class Dataset(ABC):
    """A named set of images. ``verification`` says how its files are checked."""

    name: str
    description: str = ""
    #: "sha256" (every file against a known sum), "count+dimensions" (no sums are known), or
    #: "none (in-house folder)" (files are hashed so results are keyed, but nothing is checked)
    verification: str = "sha256"
    #: one or two sentences naming exactly which checks apply (archive sum, count, sizes, ...)
    verification_note: str = ""
    #: where the files come from, for listings ("download from URL", "package data", ...)
    source: str = ""
    license: str = ""
    #: what :meth:`images` could not list, with the reason; reported and counted by the run
    skipped: tuple[Skipped, ...] = ()

    @abstractmethod
    def images(self, *, download: bool = True, allow_partial: bool = False) -> list[ImageRef]:
        """The verified images, fetching them (mirror first, then network) when allowed.

        ``allow_partial=True`` returns the verified subset (with a warning) when some files
        cannot be had, which is what a partial local mirror gives; by default an incomplete set
        is an error, because a benchmark on part of a named set is not that set's number.
        """
