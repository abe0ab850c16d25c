"""ManifestDataset: where files come from, and what happens when they fail their checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from licbench.datasets import DatasetError, ManifestDataset, load_dataset
from licbench.datasets.manifest import Manifest, ManifestError
from tests.data_paths import DATA, shared

#: a set's name -> its mirror folder, whose SHA256SUMS tests/data carries as <folder>.SHA256SUMS
SUMS_FOLDERS = {"kodak": "kodak", "tecnick": "tecnick-sample"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


# -- kodak-sample: bundled package data ---------------------------------------------------------


def test_kodak_sample_is_bundled_and_verified(monkeypatch):
    monkeypatch.delenv("LICBENCH_DATA")
    refs = load_dataset("kodak-sample").images(download=False)
    assert [r.name for r in refs] == ["kodim03.png", "kodim10.png", "kodim20.png"]
    sizes = []
    for ref in refs:
        assert ref.sha256 == _sha(ref.path)
        with Image.open(ref.path) as img:
            sizes.append(img.size)
    assert sizes == [(768, 512), (512, 768), (768, 512)]


# -- kodak from the shared mirror ---------------------------------------------------------------


def test_kodak_from_mirror_then_from_cache(
    shared_mirror: Path, offline_and_isolated: Path, monkeypatch
):
    monkeypatch.setenv("LICBENCH_MIRROR", str(shared_mirror))
    refs = load_dataset("kodak").images(download=False)
    assert len(refs) == 24
    assert [r.name for r in refs] == [f"kodim{i:02d}.png" for i in range(1, 25)]
    cache = offline_and_isolated / "kodak"
    for ref in refs:
        assert ref.path.parent == cache  # copied into the cache, not used in place
        assert ref.sha256 == _sha(ref.path)
    assert not list(cache.glob("*.part")) and not list(cache.glob(".*"))

    # second call: the mirror is gone, everything comes from the (re-verified) cache
    monkeypatch.setenv("LICBENCH_MIRROR", str(offline_and_isolated.parent / "no-such-mirror"))
    again = load_dataset("kodak").images(download=False)
    assert again == refs


def test_kodak_manifest_dimensions_match_the_real_files(shared_mirror: Path):
    manifest = Manifest.load(Path(load_dataset("kodak").manifest.path))
    for entry in manifest.files:
        with Image.open(shared_mirror / "kodak" / entry.name) as img:
            assert img.size == (entry.width, entry.height), entry.name
        assert (shared_mirror / "kodak" / entry.name).stat().st_size == entry.size


def _bundled_kodim03() -> Path:
    """A real Kodak file without the mirror: the package's sample copy (read, never written)."""
    refs = load_dataset("kodak-sample").images(download=False)
    return next(ref.path for ref in refs if ref.name == "kodim03.png")


def test_tampered_mirror_file_is_rejected(tmp_path: Path, monkeypatch):
    victim = tmp_path / "mirror" / "kodak" / "kodim03.png"
    victim.parent.mkdir(parents=True)
    data = bytearray(_bundled_kodim03().read_bytes())
    data[1000] ^= 0xFF
    victim.write_bytes(bytes(data))
    monkeypatch.setenv("LICBENCH_MIRROR", str(tmp_path / "mirror"))

    with pytest.raises(DatasetError) as info:
        load_dataset("kodak").images(download=False)
    message = str(info.value)
    assert "kodim03.png" in message and str(victim) in message
    assert "sha256 mismatch" in message
    assert "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db" in message  # expected
    assert hashlib.sha256(bytes(data)).hexdigest() in message  # actual
    assert not (tmp_path / "cache" / "kodak" / "kodim03.png").exists()


def test_tampered_cache_file_is_rejected_not_silently_used(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "kodak").mkdir(parents=True)
    (mirror / "kodak" / "kodim03.png").write_bytes(_bundled_kodim03().read_bytes())
    monkeypatch.setenv("LICBENCH_MIRROR", str(mirror))
    with pytest.warns(UserWarning, match="1 of 24"):
        load_dataset("kodak").images(download=False, allow_partial=True)  # verified into the cache
    cached = tmp_path / "cache" / "kodak" / "kodim03.png"
    cached.write_bytes(cached.read_bytes() + b"x")
    with pytest.raises(DatasetError, match=r"kodim03\.png.*sha256 mismatch"):
        load_dataset("kodak").images(download=False, allow_partial=True)


@pytest.mark.parametrize("name", sorted(SUMS_FOLDERS))
def test_manifest_sums_are_the_mirrors_sha256sums(name: str):
    """The sums a manifest lists are those of the mirror's SHA256SUMS (carried in tests/data)."""
    lines = (DATA / f"{SUMS_FOLDERS[name]}.SHA256SUMS").read_text().splitlines()
    published = {file: digest for digest, file in (line.split() for line in lines)}
    manifest = Manifest.load(Path(load_dataset(name).manifest.path))
    assert {f.name: f.sha256 for f in manifest.files if f.sha256} == published


def test_carried_sha256sums_are_the_mirrors():
    """tests/data holds unchanged copies: checked wherever shared/datasets is beside the clone."""
    mirror = shared("datasets")
    if not mirror.is_dir():
        pytest.skip(f"needs the dataset mirror to compare the copies with ({mirror})")
    for folder in SUMS_FOLDERS.values():
        carried = DATA / f"{folder}.SHA256SUMS"
        assert carried.read_bytes() == (mirror / folder / "SHA256SUMS").read_bytes(), folder


def test_tecnick_partial_mirror(shared_mirror: Path, monkeypatch):
    if not (shared_mirror / "tecnick-sample" / "RGB_OR_1200x1200_001.png").is_file():
        pytest.skip("tecnick-sample not in the mirror")
    monkeypatch.setenv("LICBENCH_MIRROR", str(shared_mirror))
    with pytest.raises(DatasetError, match="99 of 100 files missing") as info:
        load_dataset("tecnick").images(download=False)
    assert "tecnick-sample" in str(info.value) and "LICBENCH_MIRROR" in str(info.value)
    with pytest.warns(UserWarning, match="1 of 100"):
        refs = load_dataset("tecnick").images(download=False, allow_partial=True)
    assert [r.name for r in refs] == ["RGB_OR_1200x1200_001.png"]


def test_missing_everything_names_places_and_env_vars():
    with pytest.raises(DatasetError) as info:
        load_dataset("kodak").images(download=True)  # the network is blocked in these tests
    message = str(info.value)
    assert "24 of 24 files missing" in message and "kodim01.png" in message
    assert "LICBENCH_MIRROR" in message and "LICBENCH_DATA" in message
    assert "network disabled in tests" in message


# -- count+dimensions on small synthetic sets ---------------------------------------------------

UNNAMED = """
name = "tiny"
description = "three unnamed PNG"
license = "test"
verification = "count+dimensions"
verification_note = "count and 32x24"
count = 3
[dimensions]
sizes = ["32x24"]
[archive]
url = "https://example.invalid/tiny.zip"
"""


def _mirror_with(tmp_path: Path, png, n: int, size=(32, 24)) -> Path:
    root = tmp_path / "mirror"
    for i in range(n):
        png(root / "tiny" / f"img{i}.png", *size, seed=i)
    return root


def test_count_and_dimensions_pass(tmp_path, png, monkeypatch):
    monkeypatch.setenv("LICBENCH_MIRROR", str(_mirror_with(tmp_path, png, 3)))
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    refs = dataset.images(download=False)
    assert [r.name for r in refs] == ["img0.png", "img1.png", "img2.png"]
    assert dataset.present() == 3


def test_count_check_fails_on_too_few(tmp_path, png, monkeypatch):
    monkeypatch.setenv("LICBENCH_MIRROR", str(_mirror_with(tmp_path, png, 2)))
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    with pytest.raises(DatasetError, match="1 of 3 files missing"):
        dataset.images(download=False)


def test_count_check_fails_on_too_many(tmp_path, png, monkeypatch):
    monkeypatch.setenv("LICBENCH_MIRROR", str(_mirror_with(tmp_path, png, 4)))
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    with pytest.raises(DatasetError, match="has 4 files .* but the set has 3"):
        dataset.images(download=False)
    # and a cache holding too many is refused as well
    for i in range(4):
        png(tmp_path / "cache" / "tiny" / f"c{i}.png", seed=10 + i)
    monkeypatch.delenv("LICBENCH_MIRROR")
    with pytest.raises(DatasetError, match="4 files match .* but the set has 3"):
        dataset.images(download=False)


def test_dimension_check_fails_on_wrong_size(tmp_path, png, monkeypatch):
    mirror = _mirror_with(tmp_path, png, 2)
    png(mirror / "tiny" / "odd.png", 24, 32, seed=9)
    monkeypatch.setenv("LICBENCH_MIRROR", str(mirror))
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    with pytest.raises(DatasetError, match=r"tiny/odd\.png.*is 24x32, expected 32x24"):
        dataset.images(download=False)


def test_undecodable_file_fails_count_and_dimensions(tmp_path, png, monkeypatch):
    mirror = _mirror_with(tmp_path, png, 2)
    (mirror / "tiny" / "junk.png").write_bytes(b"not a png")
    monkeypatch.setenv("LICBENCH_MIRROR", str(mirror))
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    with pytest.raises(DatasetError, match="junk.png.*not a readable image"):
        dataset.images(download=False)


def test_mirror_alias_is_read(tmp_path, png, monkeypatch):
    root = tmp_path / "mirror"
    png(root / "tiny-sample" / "a.png", seed=1)
    monkeypatch.setenv("LICBENCH_MIRROR", str(root))
    body = UNNAMED.replace("count = 3", 'count = 3\nmirror_aliases = ["tiny-sample"]')
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", body))
    with pytest.warns(UserWarning, match="1 of 3"):
        refs = dataset.images(download=False, allow_partial=True)
    assert [r.name for r in refs] == ["a.png"]
    assert refs[0].path == tmp_path / "cache" / "tiny" / "a.png"


def test_allow_partial_with_nothing_found_still_fails(tmp_path):
    dataset = ManifestDataset(write_manifest(tmp_path / "tiny.toml", UNNAMED))
    with pytest.raises(DatasetError, match="3 of 3 files missing"):
        dataset.images(download=False, allow_partial=True)


# -- the schema is strict -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (lambda s: s + "\ncolour = 'red'\n", "unknown key"),
        (lambda s: s.replace("count = 3", "count = 0"), "'count'"),
        (lambda s: s.replace('"count+dimensions"', '"vibes"'), "'verification'"),
        (lambda s: s.replace('"count+dimensions"', '"sha256"'), "needs every file listed"),
        (lambda s: s.replace('sizes = ["32x24"]', 'sizes = ["32 by 24"]'), "WIDTHxHEIGHT"),
        (lambda s: s.replace("[archive]", "[archiv]"), "unknown key"),
        (lambda s: s.split("[archive]")[0], "needs an \\[archive\\]"),
        # a top-level key written after a [table] lands inside that table: caught, not ignored
        (lambda s: s + 'files = [{ name = "x.png" }]\n', "unknown key.*archive"),
    ],
)
def test_manifest_schema_errors(tmp_path, edit, error):
    path = write_manifest(tmp_path / "bad.toml", edit(UNNAMED))
    with pytest.raises(ManifestError, match=error) as info:
        Manifest.load(path)
    assert str(path) in str(info.value)


def test_listed_file_names_must_be_safe(tmp_path):
    body = UNNAMED.replace(
        "count = 3", 'count = 1\nfiles = [{ name = "../escape.png", url = "https://x.invalid/e" }]'
    )
    with pytest.raises(ManifestError, match="unsafe"):
        Manifest.load(write_manifest(tmp_path / "bad.toml", body))
