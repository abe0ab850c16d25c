"""Archives are bounded before they are written (issue 20, item 2).

A small archive can hold a huge member (a "zip bomb"). Each member is bounded by what an image
of the set can take, the members together by the set's count, each zip member's and a
compressed tar's expansion by a ratio; the headers are checked before anything is written and
the bytes counted while they are; a refusal is one line naming the archive and the member, and
leaves nothing behind. The archives are built here, small: a few MB of zeros against limits
made small for the test.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from licbench.datasets import DatasetError, ManifestDataset, download
from licbench.datasets.archive import (
    BYTES_PER_PIXEL,
    METADATA_BYTES,
    ArchiveLimitError,
    ArchiveLimits,
    _extract,
    _Member,
    member_selector,
    safe_extract,
)
from licbench.datasets.manifest import Manifest

MANIFESTS = Path(__file__).resolve().parents[2] / "licbench" / "datasets" / "manifests"
MiB = 1 << 20


def zeros_zip(path: Path, members: dict[str, int | bytes]) -> Path:
    """A deflated zip: each member either bytes, or that many zeros (streamed, never held)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
                continue
            with zf.open(name, "w", force_zip64=True) as out:
                for start in range(0, content, MiB):
                    out.write(bytes(min(MiB, content - start)))
    return path


def zeros_tar(path: Path, members: dict[str, int | bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, content in members.items():
            data = content if isinstance(content, bytes) else bytes(content)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def left_behind(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (what a refused extraction must not leave)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


#: the bound of a 64×64 image: 64² × 16 + 1 MiB = 1,114,112 bytes
SMALL = ArchiveLimits.for_images(count=3, max_side=64)


def test_the_bounds_are_what_the_set_says():
    tecnick = Manifest.load(MANIFESTS / "tecnick.toml")
    limits = tecnick.archive_limits()
    assert tecnick.largest_side() == 1200
    assert limits.member_bytes == 1200 * 1200 * 4 * 2 * 2 + MiB == 24_088_576
    assert limits.total_bytes == 100 * limits.member_bytes
    assert limits.basis == "100 image(s) of at most 1200x1200 px"
    clic = Manifest.load(MANIFESTS / "clic.toml")  # sizes vary: its max_side bounds them
    assert clic.archive_limits().member_bytes == 4096 * 4096 * BYTES_PER_PIXEL + METADATA_BYTES
    assert clic.archive_limits().total_bytes == 41 * clic.archive_limits().member_bytes
    assert SMALL.member_bytes == 64 * 64 * 16 + MiB == 1_114_112


def test_a_zip_member_larger_than_an_image_is_refused_before_a_byte_is_written(tmp_path):
    archive = zeros_zip(tmp_path / "bomb.zip", {"set/a.png": b"a", "set/big.png": 3 * MiB})
    assert archive.stat().st_size < 10_000  # 3 MiB of zeros in a few kB
    dest = tmp_path / "out" / "extracted"
    with pytest.raises(ArchiveLimitError) as info:
        safe_extract(archive, dest, limits=SMALL)
    message = str(info.value)
    assert message == (
        f"{archive}: member 'set/big.png' is {3 * MiB} bytes, more than the 1114112 an image "
        "may take (3 image(s) of at most 64x64 px); refused, nothing written"
    )
    assert not dest.exists() and left_behind(tmp_path / "out") == []


def test_a_zip_member_that_expands_too_much_is_refused(tmp_path):
    archive = zeros_zip(tmp_path / "ratio.zip", {"set/flat.png": 3 * MiB, "set/ok.png": MiB // 2})
    generous = ArchiveLimits(member_bytes=8 * MiB, total_bytes=16 * MiB)
    with pytest.raises(ArchiveLimitError, match=r"member 'set/flat.png' expands \d+ times") as e:
        safe_extract(archive, tmp_path / "out", limits=generous)
    assert "more than the 100 an image does" in str(e.value) and "\n" not in str(e.value)
    assert left_behind(tmp_path) == ["ratio.zip"]
    # below the grace (1 MiB) a flat file expands as it likes: half a MiB of zeros is taken
    taken = safe_extract(
        archive, tmp_path / "out", select=member_selector("set/", "ok.png"), limits=generous
    )
    assert [p.stat().st_size for p in taken] == [MiB // 2]


def test_the_members_together_are_bounded(tmp_path):
    members = {f"set/{i}.png": os.urandom(400_000) for i in range(3)}  # incompressible
    archive = zeros_zip(tmp_path / "many.zip", members)
    limits = ArchiveLimits(member_bytes=500_000, total_bytes=1_000_000, basis="two images")
    with pytest.raises(ArchiveLimitError) as info:
        safe_extract(archive, tmp_path / "out", limits=limits)
    assert str(info.value) == (
        f"{archive}: the members taken hold more than 1000000 bytes by member 'set/2.png' "
        "(two images); refused, nothing written"
    )
    assert left_behind(tmp_path) == ["many.zip"]
    # what is not selected is never read, so it counts for nothing
    two = safe_extract(
        archive, tmp_path / "out", select=member_selector("set/", "[01].png"), limits=limits
    )
    assert sorted(p.read_bytes() for p in two) == sorted(list(members.values())[:2])


def test_bytes_are_counted_whatever_the_header_says(tmp_path):
    """A member whose stream is longer than its header said is stopped at the bound, and the
    members written before it are not left behind."""
    good = _Member("set/a.png", False, True, "file", lambda: io.BytesIO(b"a" * 10), 10)
    liar = _Member("set/b.png", False, True, "file", lambda: io.BytesIO(bytes(3 * MiB)), 100)
    dest = tmp_path / "out"
    with pytest.raises(ArchiveLimitError) as info:
        _extract([good, liar], tmp_path / "x.zip", dest, None, SMALL)
    assert str(info.value) == (
        f"{tmp_path / 'x.zip'}: member 'set/b.png' decompresses to more than the 1114112 an "
        "image may take (more than its header's 100); stopped there, nothing kept"
    )
    assert left_behind(tmp_path) == []


def test_a_damaged_member_is_one_line_and_leaves_nothing(tmp_path):
    """A zip whose header understates a member: zipfile reads what the header says and finds
    the CRC wrong; the member written before it is not left behind."""
    archive = zeros_zip(tmp_path / "liar.zip", {"set/a.png": b"first", "set/b.png": 2 * MiB})
    data = bytearray(archive.read_bytes())
    # the central directory's uncompressed size of set/b.png (offset 24 of its entry)
    entry = data.rindex(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"liar.zip: damaged archive \(Bad CRC-32") as info:
        safe_extract(archive, tmp_path / "out", limits=SMALL)
    assert "\n" not in str(info.value)
    assert left_behind(tmp_path) == ["liar.zip"]


@pytest.mark.parametrize("selected", [True, False])
def test_a_compressed_tar_is_bounded_as_it_is_read(tmp_path, selected):
    """A tar.gz stream may expand 100 times its size (plus 1 MiB): 4 MiB of zeros in a few
    kB is refused while reading, whether the member is taken or only skipped over (skipping
    decompresses it too), naming it."""
    archive = zeros_tar(
        tmp_path / "bomb.tar.gz", {"set/a.png": b"a", "set/zeros.png": 4 * MiB, "set/c.png": b"c"}
    )
    size = archive.stat().st_size
    assert size < 20_000
    select = None if selected else member_selector("set/", "[ac].png")
    with pytest.raises(ArchiveLimitError) as info:
        safe_extract(archive, tmp_path / "out", select=select, limits=SMALL)
    assert str(info.value) == (
        f"{archive}: decompresses to more than {100 * size + MiB} bytes at member "
        f"'set/zeros.png' (100 times its {size} bytes); refused, nothing kept"
    )
    assert left_behind(tmp_path) == ["bomb.tar.gz"]


def test_a_plain_tar_member_is_bounded_by_its_header(tmp_path):
    archive = zeros_tar(tmp_path / "big.tar", {"set/big.png": 2 * MiB}, mode="w")
    with pytest.raises(ArchiveLimitError, match=r"member 'set/big.png' is 2097152 bytes, more"):
        safe_extract(archive, tmp_path / "out", limits=SMALL)
    assert left_behind(tmp_path) == ["big.tar"]


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
def test_tar_archives_within_their_bounds_extract(tmp_path, mode):
    members = {"T/RGB/a.png": os.urandom(50_000), "T/RGB/b.png": b"b", "T/GRAY/g.png": b"g"}
    archive = zeros_tar(tmp_path / "ok.tar", members, mode=mode)
    taken = safe_extract(
        archive, tmp_path / "out", select=member_selector("T/RGB/", "*.png"), limits=SMALL
    )
    assert {p.name: p.read_bytes() for p in taken} == {
        "a.png": members["T/RGB/a.png"],
        "b.png": b"b",
    }
    assert left_behind(tmp_path / "out") == ["a.png", "b.png"]  # no staging folder left


def test_extracting_into_a_folder_that_exists_keeps_what_is_there(tmp_path):
    archive = zeros_zip(tmp_path / "ok.zip", {"set/a.png": b"a"})
    dest = tmp_path / "out"
    (dest / "set").mkdir(parents=True)
    (dest / "set" / "old.png").write_bytes(b"old")
    assert safe_extract(archive, dest, limits=SMALL) == [dest / "set" / "a.png"]
    assert left_behind(tmp_path / "out") == ["set", "set/a.png", "set/old.png"]


# -- through a dataset manifest, as `licbench datasets fetch` meets it ---------------------------


class Server:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, url: str, *, timeout: float = 0):
        return open(self.path, "rb")


def test_a_tecnick_zip_with_a_huge_member_writes_nothing(tmp_path, monkeypatch):
    """The issue's case, smaller: Tecnick's manifest has no archive sum, so a tampered zip
    holding a member larger than a 1200×1200 image can take reaches extraction; it is refused
    there, naming the member, before a byte of it is written into LICBENCH_DATA."""
    prefix = "TESTIMAGES/RGB/RGB_OR_1200x1200/"
    zpath = zeros_zip(
        tmp_path / "testimages.zip", {f"{prefix}RGB_OR_1200x1200_002.png": 25_000_000}
    )
    assert zpath.stat().st_size < 100_000
    monkeypatch.setattr(download, "open_url", Server(zpath))
    with pytest.raises(ArchiveLimitError) as info:
        ManifestDataset(MANIFESTS / "tecnick.toml").images()
    url = (
        "https://sourceforge.net/projects/testimages/files/OLD/OLD_SAMPLING/testimages.zip/download"
    )
    assert str(info.value) == (
        f"tecnick archive from {url}: member '{prefix}RGB_OR_1200x1200_002.png' is 25000000 "
        "bytes, more than the 24088576 an image may take (100 image(s) of at most 1200x1200 "
        "px); refused, nothing written"
    )
    cache = tmp_path / "cache"
    assert [p for p in cache.rglob("*") if p.is_file()] == []


ONE = """
name = "one"
description = "one 32x24 PNG in an archive of unknown size"
license = "test"
verification = "count+dimensions"
verification_note = "count 1; 32x24"
count = 1
[dimensions]
sizes = ["32x24"]
[archive]
url = "https://files.invalid/one.zip"
member_prefix = "valid/"
member_pattern = "*.png"
"""


def test_an_archive_of_unknown_size_is_bounded_while_it_downloads(tmp_path, monkeypatch):
    """No size in the manifest: the download stops at four times what may be extracted (here
    4 × (32² · 16 + 1 MiB) bytes: a side of 32 px bounds it), before those bytes are written."""
    manifest = tmp_path / "one.toml"
    manifest.write_text(ONE)
    limit = 4 * (32 * 32 * BYTES_PER_PIXEL + METADATA_BYTES)
    assert Manifest.load(manifest).archive_download_limit() == limit
    served = tmp_path / "one.zip"
    served.write_bytes(bytes(limit + 1))
    monkeypatch.setattr(download, "open_url", Server(served))
    with pytest.raises(download.SizeLimitError, match=f"more than {limit} bytes") as info:
        ManifestDataset(manifest).images()
    assert "one archive from https://files.invalid/one.zip" in str(info.value)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_only_the_files_a_set_wants_are_extracted(tmp_path, monkeypatch, png):
    """Members under the prefix that the set does not want (in a subfolder) are not written:
    they count for nothing against the limits."""
    manifest = tmp_path / "one.toml"
    manifest.write_text(ONE)
    image = png(tmp_path / "src" / "p.png").read_bytes()
    zpath = zeros_zip(tmp_path / "one.zip", {"valid/p.png": image, "valid/sub/x.png": 3 * MiB})
    monkeypatch.setattr(download, "open_url", Server(zpath))
    refs = ManifestDataset(manifest).images()
    assert [r.name for r in refs] == ["p.png"] and refs[0].path.read_bytes() == image
    assert left_behind(tmp_path / "cache" / "one") == ["p.png"]
