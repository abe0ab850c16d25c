"""The one file sha256 and the one write-then-rename: whole under the final name, or absent."""

from __future__ import annotations

import hashlib
import os

import pytest

from licbench.core.files import atomic_write, atomic_writer, file_sha256


def test_file_sha256_is_the_sum_of_the_bytes(tmp_path):
    data = os.urandom((1 << 20) + 17)  # more than one chunk
    (tmp_path / "f").write_bytes(data)
    assert file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_atomic_write_bytes_and_text(tmp_path):
    target = tmp_path / "new" / "folder" / "out.txt"
    assert atomic_write(target, "héllo\n") == target
    assert target.read_bytes() == "héllo\n".encode()
    atomic_write(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "weights.pt"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as out:
        out.write(b"half of the new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.pt"]


def test_the_file_gets_the_permissions_of_a_plain_write(tmp_path):
    atomic_write(tmp_path / "atomic", b"x")
    (tmp_path / "plain").write_bytes(b"x")
    assert (tmp_path / "atomic").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_writer(tmp_path / "x", "a"):
        pass
