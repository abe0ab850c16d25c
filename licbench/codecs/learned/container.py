"""The byte format around a CompressAI-API model's output, so ``decode`` needs only the bytes.

A CompressAI model's ``compress(x)`` returns ``{"strings": ..., "shape": ...}``: entropy-coded
strings (usually one list per latent, one string per batch item) and the latent size its
``decompress`` needs. Neither says which model, weights, rate point or image size they belong to,
so on their own they decode only inside the process that made them. This container adds exactly
that, and every byte of it is counted in bpp.

Layout (integers are unsigned LEB128 varints unless said otherwise)::

    b"LZ"                magic (licbench's own models use b"LC", see ``bitstream``)
    u8  format version   1, or 2 for a variable-rate model's bytes
    u8  rate point       quality index 1..255 the bytes were made with (the weights' index)
    f32 scale            format 2 only: the quantisation scale (1 / quantisation step) the
                         strings were coded at, IEEE-754 little-endian, exactly the float32
                         value given to the model's ``compress(..., inputscale=scale)``
    name length, name    UTF-8 model name (a zoo name or ``module:Class``)
    8 bytes weights tag  first 8 bytes of the weights' sha256 (checkpoint file, cached zoo
                         file, or the seeded random-weights identity)
    height, width        of the original image (the decoder crops to this)
    u8  log2(pad multiple)   the image was padded to this multiple (CompressAI's centred padding)
    shape tree           what ``compress`` returned as "shape"
    strings tree         what ``compress`` returned as "strings"

A tree is one node: ``0, length, bytes`` (a string), ``1, value`` (an integer) or
``2, count, count × node`` (a list). Nesting is kept as the model made it, so models with more
latents (or lists nested deeper) round-trip unchanged. The container adds about 50 bytes to the
strings (mostly the model name), 0.001 bpp on a Kodak image.

Why a second version rather than a field in every container: single-rate models have nothing
to put there, and their bytes (and every stored result's key) stay exactly what format 1 made.
Format 2 exists because a variable-rate model (CompressAI's ``-vbr`` zoo models) codes every
rate with one set of weights: the rate is the scale, and ``decode`` must read it from the bytes,
not work it out from a quality mapping that a later licbench might state differently. Both
versions are read.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# the varint codec and bounded reader of licbench's own learned-codec bitstream: one
# implementation of the primitive for both formats
from licbench.codecs.learned.bitstream import BitstreamError, _Reader, _varint

MAGIC = b"LZ"
#: the version of single-rate bytes (no scale); :data:`SCALED_FORMAT_VERSION` carries one
FORMAT_VERSION = 1
SCALED_FORMAT_VERSION = 2
_SCALE = struct.Struct("<f")
TAG_BYTES = 8
_STRING, _INT, _LIST = 0, 1, 2
#: deeper nesting than this is refused when reading (a corrupt file must not recurse forever)
MAX_DEPTH = 8


class ContainerError(BitstreamError):
    """Bytes that are not a (complete, supported) licbench container."""


@dataclass(frozen=True)
class Container:
    """Everything ``decode`` needs: which model and weights, the image size, the model's output."""

    model: str
    weights_tag: bytes
    rate_point: int
    height: int
    width: int
    pad_multiple: int
    shape: Any
    strings: Any
    #: a variable-rate model's quantisation scale (a float32 value), None for single-rate bytes
    scale: float | None = None

    @property
    def payload_bytes(self) -> int:
        """Bytes of the entropy-coded strings alone: what CompressAI's eval_model counts."""
        return _string_bytes(self.strings)


def _string_bytes(node: Any) -> int:
    if isinstance(node, bytes | bytearray):
        return len(node)
    return sum(_string_bytes(child) for child in node)


def _write_tree(node: Any, out: list[bytes], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"strings/shape nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, bytes | bytearray):
        out += [bytes([_STRING]), _varint(len(node)), bytes(node)]
    elif isinstance(node, int) and not isinstance(node, bool):
        out += [bytes([_INT]), _varint(node)]
    elif isinstance(node, Sequence) and not isinstance(node, str):
        out += [bytes([_LIST]), _varint(len(node))]
        for child in node:
            _write_tree(child, out, depth + 1)
    else:
        raise ValueError(
            f"cannot store a {type(node).__name__} from compress(): the container holds bytes, "
            "non-negative integers and (nested) lists of them"
        )


def _read_tree(reader: _Reader, sequence: type, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ContainerError("corrupt container: nesting too deep")
    kind = reader.take(1)[0]
    if kind == _STRING:
        return reader.take(reader.varint())
    if kind == _INT:
        return reader.varint()
    if kind == _LIST:
        count = reader.varint()
        if count > len(reader.data):
            raise ContainerError("corrupt container: list longer than the data")
        return sequence(_read_tree(reader, sequence, depth + 1) for _ in range(count))
    raise ContainerError(f"corrupt container: unknown node type {kind}")


def format_version(scaled: bool) -> int:
    """The version :func:`pack` writes for bytes with (``scaled``) or without a scale."""
    return SCALED_FORMAT_VERSION if scaled else FORMAT_VERSION


def _shape_as_ints(shape: Any) -> Any:
    """torch.Size and tuples of tensors' sizes as plain (nested) lists of ints."""
    if isinstance(shape, Sequence) and not isinstance(shape, str | bytes):
        return [_shape_as_ints(s) for s in shape]
    if hasattr(shape, "item"):  # a 0-d tensor or numpy integer
        shape = shape.item()
    return int(shape) if isinstance(shape, int) else shape


def pack(container: Container) -> bytes:
    """Serialise a container; raise ``ValueError`` on values the format cannot hold."""
    m = container.pad_multiple
    if m < 1 or m & (m - 1):
        raise ValueError(f"pad multiple must be a power of two, not {m}")
    if not 1 <= container.rate_point <= 255:
        raise ValueError(f"rate point must be 1..255, not {container.rate_point}")
    if len(container.weights_tag) != TAG_BYTES:
        raise ValueError(f"the weights tag must be {TAG_BYTES} bytes")
    scale = container.scale
    if scale is not None and not (
        0 < scale < float("inf") and _SCALE.unpack(_SCALE.pack(scale))[0] == scale
    ):
        raise ValueError(f"the scale must be a positive float32 value, not {scale!r}")
    name = container.model.encode()
    parts = [
        MAGIC,
        bytes([format_version(scale is not None), container.rate_point]),
        *([_SCALE.pack(scale)] if scale is not None else []),
        _varint(len(name)),
        name,
        container.weights_tag,
        _varint(container.height),
        _varint(container.width),
        bytes([m.bit_length() - 1]),
    ]
    _write_tree(_shape_as_ints(container.shape), parts)
    _write_tree(container.strings, parts)
    return b"".join(parts)


def unpack(data: bytes) -> Container:
    """Parse what :func:`pack` wrote: shape lists come back as tuples, string lists as lists."""
    reader = _Reader(data)
    try:
        if reader.take(2) != MAGIC:
            raise ContainerError("not a licbench CompressAI-model container (bad magic)")
        version, rate_point = reader.take(2)
        if version not in (FORMAT_VERSION, SCALED_FORMAT_VERSION):
            raise ContainerError(
                f"container format {version} is not supported (expected {FORMAT_VERSION} or "
                f"{SCALED_FORMAT_VERSION})"
            )
        scale = _SCALE.unpack(reader.take(4))[0] if version == SCALED_FORMAT_VERSION else None
        if scale is not None and not 0 < scale < float("inf"):
            raise ContainerError(f"corrupt container: scale {scale}")
        name = reader.take(reader.varint()).decode("utf-8", errors="replace")
        tag = reader.take(TAG_BYTES)
        height, width = reader.varint(), reader.varint()
        log2_multiple = reader.take(1)[0]
        if log2_multiple > 16 or height < 1 or width < 1 or rate_point < 1:
            raise ContainerError("corrupt container header")
        shape = _read_tree(reader, tuple)
        strings = _read_tree(reader, list)
    except ContainerError:
        raise
    except BitstreamError as exc:  # the reader's truncation errors, under this format's name
        raise ContainerError(str(exc)) from None
    if reader.pos != len(data):
        raise ContainerError(f"{len(data) - reader.pos} trailing bytes after the strings")
    return Container(
        name, tag, rate_point, height, width, 1 << log2_multiple, shape, strings, scale
    )


def overhead(data: bytes) -> int:
    """Bytes of ``data`` that are container, not strings (header, lengths, node types)."""
    return len(data) - unpack(data).payload_bytes
