"""safe_extract: archives are data, so a member may never write outside the target folder."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from licbench.datasets.archive import (
    UnsafeArchiveError,
    member_selector,
    safe_extract,
    unsafe_reason,
)


def make_zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    """members: (name, data, unix mode or None)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


GOOD = ("set/a.png", b"a", None)


def test_plain_zip_extracts(tmp_path: Path):
    archive = make_zip(tmp_path / "ok.zip", [GOOD, ("set/sub/b.png", b"b", None)])
    out = safe_extract(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in out) == [
        "set/a.png",
        "set/sub/b.png",
    ]
    assert (tmp_path / "out" / "set" / "a.png").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (("../x", b"evil", None), "'..'"),
        (("set/../../x", b"evil", None), "'..'"),
        (("/abs", b"evil", None), "absolute"),
        (("C:/abs", b"evil", None), "absolute"),
        (("..\\x", b"evil", None), "'..'"),
        (("set/link", b"/etc/passwd", stat.S_IFLNK | 0o777), "symlink"),
    ],
)
def test_zip_refuses_unsafe_members(tmp_path: Path, member, reason):
    archive = make_zip(tmp_path / "bad.zip", [GOOD, member])
    with pytest.raises(UnsafeArchiveError, match=reason) as info:
        safe_extract(archive, tmp_path / "out" / "deep")
    assert repr(member[0]) in str(info.value)
    # refused before anything was written, including the good member
    assert not (tmp_path / "out" / "deep" / "set" / "a.png").exists()
    assert not (tmp_path / "x").exists() and not (tmp_path / "out" / "x").exists()


def _tar_special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (("../x", b"evil"), "'..'"),
        (("/abs", b"evil"), "absolute"),
        (_tar_special("set/link", tarfile.SYMTYPE, "/etc/passwd"), "symlink"),
        (_tar_special("set/hard", tarfile.LNKTYPE, "set/a.png"), "hardlink"),
        (_tar_special("set/dev", tarfile.CHRTYPE), "device"),
    ],
)
def test_tar_refuses_unsafe_members(tmp_path: Path, member, reason):
    archive = make_tar(tmp_path / "bad.tar", [("set/a.png", b"a"), member])
    with pytest.raises(UnsafeArchiveError, match=reason):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "set" / "a.png").exists()


def test_plain_tar_extracts_with_selector(tmp_path: Path):
    archive = make_tar(
        tmp_path / "ok.tar",
        [
            ("T/RGB/x_001.png", b"1"),
            ("T/RGB/x_002.png", b"2"),
            ("T/GRAY/g.png", b"g"),
            ("T/RGB/notes.txt", b"n"),
        ],
    )
    out = safe_extract(archive, tmp_path / "out", select=member_selector("T/RGB/", "*.png"))
    assert sorted(p.name for p in out) == ["x_001.png", "x_002.png"]
    assert (tmp_path / "out" / "x_001.png").read_bytes() == b"1"  # prefix stripped


def test_selector_prefix_pattern_and_exclude():
    select = member_selector("valid/", "*.png", ["__MACOSX/*", "*/._*"])
    assert select("valid/a.png") == "a.png"
    assert select("valid/._a.png") is None
    assert select("__MACOSX/valid/a.png") is None
    assert select("valid/a.jpg") is None
    assert select("train/a.png") is None


def test_selector_output_cannot_escape(tmp_path: Path):
    archive = make_zip(tmp_path / "ok.zip", [GOOD])
    with pytest.raises(UnsafeArchiveError, match="outside"):
        safe_extract(archive, tmp_path / "out", select=lambda name: "../../escaped.png")
    assert not (tmp_path / "escaped.png").exists()


def test_not_an_archive(tmp_path: Path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"hello")
    with pytest.raises(Exception, match="not a zip or tar archive"):
        safe_extract(junk, tmp_path / "out")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a/b.png", True),
        ("a/..b.png", True),
        ("../a", False),
        ("/a", False),
        ("", False),
        ("a/../../b", False),
        ("D:\\x", False),
    ],
)
def test_unsafe_reason(name: str, safe: bool):
    assert (unsafe_reason(name) is None) is safe
