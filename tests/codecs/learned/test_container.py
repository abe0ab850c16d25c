"""The container around a CompressAI-API model's strings: exact layout, round trip, refusals."""

from __future__ import annotations

import pytest

from licbench.codecs.learned import container
from licbench.codecs.learned.container import Container, ContainerError

TAG = bytes(range(8))


def make(strings, shape=(3, 5), **kw) -> Container:
    fields = dict(
        model="mbt2018-mean",
        weights_tag=TAG,
        rate_point=3,
        height=45,
        width=70,
        pad_multiple=64,
        shape=shape,
        strings=strings,
    )
    fields.update(kw)
    return Container(**fields)


def test_layout_is_the_documented_one() -> None:
    data = container.pack(make([[b"yy"], [b"z"]], shape=(2, 300), model="m"))
    assert data == (
        b"LZ"
        + bytes([1, 3])  # magic, version, rate point
        + bytes([1])
        + b"m"
        + TAG  # name length, name, weights tag
        + bytes([45, 70, 6])  # height, width, log2(64)
        + bytes([2, 2, 1, 2, 1, 0xAC, 0x02])  # shape: list of 2 ints, 300 as a varint
        + bytes([2, 2, 2, 1, 0, 2])
        + b"yy"
        + bytes([2, 1, 0, 1])
        + b"z"  # [[b"yy"], [b"z"]]
    )
    assert container.overhead(data) == len(data) - 3


def test_round_trip_keeps_nesting_and_types() -> None:
    strings = [[b"\x00\xff" * 40], [b"", b"abc"], [[b"deep"]]]
    box = make(strings, shape=[(4, 6), (8, 12)], rate_point=255, height=1, width=100_000)
    back = container.unpack(container.pack(box))
    assert back.strings == strings and isinstance(back.strings[0], list)
    assert back.shape == ((4, 6), (8, 12))
    assert (back.model, back.weights_tag, back.rate_point) == ("mbt2018-mean", TAG, 255)
    assert (back.height, back.width, back.pad_multiple) == (1, 100_000, 64)
    assert back.payload_bytes == 80 + 3 + 4


def test_torch_sizes_become_ints() -> None:
    torch = pytest.importorskip("torch")
    box = make([[b"x"]], shape=torch.Size([3, 4]))
    assert container.unpack(container.pack(box)).shape == (3, 4)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"LC\x01\x01", "bad magic"),
        (b"LZ\x03\x01", "format 3 is not supported"),
        (container.pack(make([[b"abc"]]))[:-1], "truncated"),
        (container.pack(make([[b"abc"]])) + b"\x00", "1 trailing bytes"),
    ],
)
def test_refuses_what_it_did_not_write(data: bytes, message: str) -> None:
    with pytest.raises(ContainerError, match=message):
        container.unpack(data)


def test_refuses_values_it_cannot_hold() -> None:
    with pytest.raises(ValueError, match="cannot store a float"):
        container.pack(make([[1.5]]))
    with pytest.raises(ValueError, match="power of two"):
        container.pack(make([[b""]], pad_multiple=48))
    with pytest.raises(ValueError, match="8 bytes"):
        container.pack(make([[b""]], weights_tag=b"abc"))
