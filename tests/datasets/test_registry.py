"""The dataset registry: names, specs, close-match errors, and the shipped manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

import licbench.datasets as ds
from licbench.datasets import (
    DATASETS,
    DatasetError,
    ManifestDataset,
    list_datasets,
    load_dataset,
)
from licbench.datasets.folder import FolderDataset
from licbench.datasets.manifest import MANIFEST_DIR, Manifest
from licbench.registry import RegistryError


def test_builtin_names_are_registered():
    names = list_datasets()
    for expected in ("kodak", "kodak-sample", "clic", "tecnick", "folder"):
        assert expected in names
    assert names == sorted(names)
    assert list_datasets("kodak*") == ["kodak", "kodak-sample"]


def test_every_manifest_file_is_one_entry_named_after_it():
    stems = sorted(p.stem for p in MANIFEST_DIR.glob("*.toml"))
    assert stems == ["clic", "kodak", "kodak-sample", "tecnick"]
    for stem in stems:
        dataset = load_dataset(stem)
        assert isinstance(dataset, ManifestDataset)
        assert dataset.name == stem
        assert dataset.verification in ("sha256", "count+dimensions")
        assert dataset.verification_note and dataset.license and dataset.source


def test_unknown_name_suggests_close_matches():
    with pytest.raises(DatasetError, match=r"did you mean 'kodak'") as info:
        load_dataset("kodac")
    # also a RegistryError, so generic registry handling catches it too
    assert isinstance(info.value, RegistryError)
    assert "known: " in str(info.value)


def test_registering_a_taken_name_is_an_error():
    with pytest.raises(RegistryError, match="already registered"):
        DATASETS.register("kodak", "somewhere:Else", origin="a test")


def test_folder_spec_splits_at_first_colon_only(tmp_path: Path):
    weird = tmp_path / "a:b"
    weird.mkdir()
    dataset = load_dataset(f"folder:{weird}")
    assert isinstance(dataset, FolderDataset)
    assert dataset.root == weird


def test_folder_needs_an_argument_and_manifests_take_none():
    with pytest.raises(DatasetError, match="needs a path"):
        load_dataset("folder")
    with pytest.raises(DatasetError, match="takes no argument"):
        load_dataset("kodak:extra")


def test_describe_rows_never_fetch():
    row = ds.describe("kodak")
    assert row["count"] == 24
    assert row["verification"] == "sha256"
    assert row["cached"] == 0
    assert "r0k.us" in row["source"]
    assert "unrestricted" in row["license"]
    sample = ds.describe("kodak-sample")
    assert sample["cached"] == 3 and "package data" in sample["source"]
    folder = ds.describe("folder")
    assert folder["verification"] == "none (in-house folder)" and folder["count"] is None
    for name in list_datasets():
        assert set(ds.describe(name)) >= {
            "name",
            "description",
            "count",
            "verification",
            "source",
            "license",
            "cached",
        }


def test_cache_and_mirror_dirs_follow_the_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LICBENCH_DATA", str(tmp_path / "data"))
    assert ds.data_dir("kodak") == tmp_path / "data" / "kodak"
    monkeypatch.delenv("LICBENCH_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr("sys.platform", "linux")
    assert ds.data_dir() == tmp_path / "xdg" / "licbench" / "datasets"
    assert ds.mirror_dir("kodak") is None
    monkeypatch.setenv("LICBENCH_MIRROR", str(tmp_path / "m"))
    assert ds.mirror_dir("kodak") == tmp_path / "m" / "kodak"


def test_clic_is_not_aliased_to_the_mirrors_clic2025():
    """The mirror's CLIC is CLIC 2025, a different set: it must never stand in for CLIC 2020."""
    manifest = Manifest.load(MANIFEST_DIR / "clic.toml")
    assert manifest.mirror_aliases == ()
    assert manifest.archive is not None and manifest.archive.sha256 == (
        "00be38092ade2ab5163b65f7f6523d46c7bca147007f559adbb02c0afc236b7d"
    )
    assert manifest.archive.size == 134_834_429 and manifest.count == 41


def test_tecnick_manifest_facts():
    manifest = Manifest.load(MANIFEST_DIR / "tecnick.toml")
    assert manifest.count == 100 and manifest.names_known
    assert manifest.mirror_aliases == ("tecnick-sample",)
    assert manifest.dimensions.sizes == ((1200, 1200),)
    assert manifest.archive is not None
    assert manifest.archive.member_prefix == "TESTIMAGES/RGB/RGB_OR_1200x1200/"
    summed = [f for f in manifest.files if f.sha256]
    assert [f.name for f in summed] == ["RGB_OR_1200x1200_001.png"]
    text = (MANIFEST_DIR / "tecnick.toml").read_text()
    assert "SAMPLING_8BIT_RGB_1200x1200.tar.bz2" in text  # the trap is written down


def test_kodak_and_sample_agree_on_sums():
    kodak = {f.name: f.sha256 for f in Manifest.load(MANIFEST_DIR / "kodak.toml").files}
    sample = Manifest.load(MANIFEST_DIR / "kodak-sample.toml")
    assert len(kodak) == 24
    assert {f.name for f in sample.files} == {"kodim03.png", "kodim10.png", "kodim20.png"}
    for entry in sample.files:
        assert entry.sha256 == kodak[entry.name]
