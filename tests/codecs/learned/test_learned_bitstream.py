"""The byte format: header fields, strings, and refusal of anything malformed."""

from __future__ import annotations

import pytest

from licbench.codecs.learned.bitstream import BitstreamError, Header, pack, unpack


def test_pack_unpack_round_trip() -> None:
    header = Header(3, b"\x01\x02\x03\x04", 45, 70000, 64)
    strings = [b"z" * 5, b"", bytes(range(256)) * 3]
    data = pack(header, strings)
    assert unpack(data) == (header, strings)
    assert header.padded_size == (64, 70016)
    assert len(data) == sum(map(len, strings)) + 2 + 2 + 4 + 1 + 3 + 1 + 1 + 1 + 1 + 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"XX" + d[2:], "bad magic"),
        (lambda d: d[:2] + b"\x09" + d[3:], "format 9"),
        (lambda d: d[:-1], "truncated"),
        (lambda d: d + b"\x00", "trailing"),
        (lambda d: d[:5], "truncated"),
    ],
)
def test_malformed_bytes_are_refused(mutate, message) -> None:
    data = pack(Header(1, b"abcd", 10, 20, 64), [b"hello", b"world"])
    with pytest.raises(BitstreamError, match=message):
        unpack(mutate(data))


def test_invalid_headers_are_not_written() -> None:
    with pytest.raises(ValueError):
        pack(Header(0, b"abcd", 1, 1, 64), [])
    with pytest.raises(ValueError):
        pack(Header(1, b"abc", 1, 1, 64), [])
    with pytest.raises(ValueError):
        pack(Header(1, b"abcd", 1, 1, 48), [])
