"""folder:PATH — recursion, extensions, names, hashing, and what it deliberately does not do."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from licbench.datasets import DatasetError, load_dataset


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_recursion_extensions_and_names(tmp_path: Path, png):
    root = tmp_path / "imgs"
    png(root / "b.png", seed=1)
    png(root / "sub" / "deeper" / "c.PNG", seed=2)
    for rel in ("a.JPG", "sub/x.jpeg", "sub/y.webp", "t.tif", "u.TIFF", "v.bmp", "w.ppm", "z.pgm"):
        _touch(root / rel, rel.encode())
    for rel in (
        "notes.txt",
        "raw.dng",
        "sub/.hidden.png",
        ".git/obj.png",
        "__MACOSX/._b.png",
        "sub/._c.png",
    ):
        _touch(root / rel)

    refs = load_dataset(f"folder:{root}").images()
    names = [r.name for r in refs]
    assert names == sorted(names)
    assert names == [
        "a.JPG",
        "b.png",
        "sub/deeper/c.PNG",
        "sub/x.jpeg",
        "sub/y.webp",
        "t.tif",
        "u.TIFF",
        "v.bmp",
        "w.ppm",
        "z.pgm",
    ]
    for ref in refs:
        assert ref.path == root / ref.name
        assert ref.sha256 == hashlib.sha256(ref.path.read_bytes()).hexdigest()


def test_undecodable_files_are_still_listed(tmp_path: Path):
    """The runner records a per-image error; the dataset does not open images."""
    root = tmp_path / "imgs"
    _touch(root / "broken.png", b"definitely not a png")
    refs = load_dataset(f"folder:{root}").images(download=False)
    assert [r.name for r in refs] == ["broken.png"]


def test_dataset_properties(tmp_path: Path):
    dataset = load_dataset(f"folder:{tmp_path}")
    assert dataset.verification == "none (in-house folder)"
    assert dataset.name == f"folder:{tmp_path}"


def test_missing_folder_is_an_error(tmp_path: Path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'nope'}").images()
    _touch(tmp_path / "file.png")
    with pytest.raises(DatasetError, match="is not a folder"):
        load_dataset(f"folder:{tmp_path / 'file.png'}").images()


def test_folder_without_images_is_an_error(tmp_path: Path):
    _touch(tmp_path / "empty" / "readme.txt")
    with pytest.raises(DatasetError, match="no image files"):
        load_dataset(f"folder:{tmp_path / 'empty'}").images()
