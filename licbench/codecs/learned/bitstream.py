"""The learned codecs' byte format: a small header, then length-prefixed strings.

Layout (all integers unsigned LEB128 varints unless said otherwise)::

    b"LC"                magic
    u8  format version   (1)
    u8  rate point       (quality index 1..255 the bytes were made with)
    4 bytes model tag    (first 4 bytes of the checkpoint's sha256, or of the random-weights
                          identity): decoding with another model fails clearly instead of
                          producing garbage
    height, width        of the original image (the decoder crops to this)
    log2(pad multiple)   the padded size is height and width rounded up to this multiple
    count                number of strings (2: z then y)
    count × (length, bytes)

About 14 bytes for a Kodak-sized image (0.0003 bpp); every byte is counted in bpp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"LC"
FORMAT_VERSION = 1


class BitstreamError(ValueError):
    """Bytes that are not a (complete, supported) learned-codec bitstream."""


@dataclass(frozen=True)
class Header:
    rate_point: int
    model_tag: bytes
    height: int
    width: int
    pad_multiple: int

    @property
    def padded_size(self) -> tuple[int, int]:
        m = self.pad_multiple
        return -(-self.height // m) * m, -(-self.width // m) * m


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BitstreamError(f"truncated bitstream: need {n} bytes at offset {self.pos}")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise BitstreamError("corrupt bitstream: varint too long")


def pack(header: Header, strings: Sequence[bytes]) -> bytes:
    """Serialise a header and the entropy-coded strings."""
    m = header.pad_multiple
    if m < 1 or m & (m - 1):
        raise ValueError(f"pad multiple must be a power of two, not {m}")
    if not 1 <= header.rate_point <= 255 or len(header.model_tag) != 4:
        raise ValueError("rate point must be 1..255 and the model tag 4 bytes")
    parts = [
        MAGIC,
        bytes([FORMAT_VERSION, header.rate_point]),
        header.model_tag,
        _varint(header.height),
        _varint(header.width),
        _varint(m.bit_length() - 1),
        _varint(len(strings)),
    ]
    for s in strings:
        parts += [_varint(len(s)), bytes(s)]
    return b"".join(parts)


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse what :func:`pack` wrote; raise :class:`BitstreamError` on anything else."""
    r = _Reader(data)
    if r.take(2) != MAGIC:
        raise BitstreamError("not a licbench learned-codec bitstream (bad magic)")
    version, rate_point = r.take(2)
    if version != FORMAT_VERSION:
        raise BitstreamError(f"bitstream format {version} is not supported (expected 1)")
    tag = r.take(4)
    height, width = r.varint(), r.varint()
    log2_multiple = r.varint()
    if log2_multiple > 16 or height < 1 or width < 1:
        raise BitstreamError("corrupt bitstream header")
    strings = [r.take(r.varint()) for _ in range(r.varint())]
    if r.pos != len(data):
        raise BitstreamError(f"{len(data) - r.pos} trailing bytes after the last string")
    return Header(rate_point, tag, height, width, 1 << log2_multiple), strings
