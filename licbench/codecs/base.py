"""The contract every codec keeps, and how a codec spec string becomes a codec.

A codec turns an 8-bit RGB image into bytes and bytes back into an 8-bit RGB image. The harness
measures bpp from exactly the bytes that ``decode`` receives, so a codec cannot report estimated
bits; ``decode`` must work from those bytes alone (no state carried over from ``encode``).
``version()`` names everything that changes the output (library or tool version, checkpoint
sha256): it is part of the cache key, so changing any of them never serves stale results.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

# defined in core (metrics answer the same question); also importable from here, where plugins
# have always imported it
from licbench.core.availability import Availability

if TYPE_CHECKING:  # numpy only in annotations: a re-run that computes nothing never imports it
    import numpy as np


class CodecSpecError(ValueError):
    """A codec spec string that cannot be parsed, or parameters the codec does not take."""


class QualityError(CodecSpecError):
    """A quality value the codec cannot encode at (not a number, out of range, not an integer).

    Raised before any job is planned: encoding at it would either fail every job or, worse,
    succeed under a wrong label (Pillow clamps JPEG's 150 to 100 and the row would say 150).
    """


def check_rgb8(image: Any) -> None:
    """Refuse anything but an HxWx3 uint8 array: what every codec's ``encode`` takes."""
    import numpy as np

    if not (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
    ):
        shape = getattr(image, "shape", None)
        raise ValueError(
            f"expected an HxWx3 uint8 RGB image, got {getattr(image, 'dtype', type(image))} {shape}"
        )


@dataclass(frozen=True)
class CodecSpec:
    """``NAME`` or ``NAME:key=value,key=value`` (e.g. ``cca:config=tiny,ckpt=DIR``)."""

    name: str
    params: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> "CodecSpec":
        text = text.strip()
        name, sep, rest = text.partition(":")
        if not name:
            raise CodecSpecError(f"codec spec {text!r} has no codec name")
        params: dict[str, str] = {}
        if sep and rest:
            for item in rest.split(","):
                key, eq, value = item.partition("=")
                if not eq or not key.strip():
                    raise CodecSpecError(
                        f"codec spec {text!r}: {item!r} is not key=value "
                        "(a spec is NAME or NAME:key=value,key=value)"
                    )
                if key.strip() in params:
                    raise CodecSpecError(f"codec spec {text!r}: {key.strip()!r} given twice")
                params[key.strip()] = value.strip()
        return cls(name.strip(), tuple(sorted(params.items())))

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in self.params)


def parse_codec_specs(tokens: Sequence[str]) -> list[CodecSpec]:
    """Parse ``--codecs`` tokens: each a spec, or a comma list of plain names (``jpeg,webp``)."""
    specs: list[CodecSpec] = []
    for token in tokens:
        if ":" in token:
            specs.append(CodecSpec.parse(token))
        else:
            specs.extend(CodecSpec.parse(name) for name in token.split(",") if name.strip())
    return specs


class Codec(ABC):
    """Base class of all codecs.

    Subclasses set ``description`` and ``qualities`` (the default sweep, in the codec's own
    quality parameter, where a larger value always means more bytes), implement ``encode``,
    ``decode`` and ``version``, and override ``available`` when they depend on something that
    may be missing. Spec parameters arrive as keyword strings in ``__init__``.
    """

    description: ClassVar[str] = ""
    qualities: tuple[float, ...] = ()
    #: the closed range of the quality parameter, used when searching for a target bpp
    quality_range: ClassVar[tuple[float, float]] = (0, 100)
    #: whether the quality parameter is an integer
    integer_quality: ClassVar[bool] = True
    #: whether the decoder computes in floating point with run-time-chosen kernels (a learned
    #: codec): its pixels, and in the worst case its entropy decoding, may then differ on
    #: another machine, which ``licbench run --decode-check`` measures. Classical decoders are
    #: integer (or specified bit-exactly) and use none of the libraries a check varies.
    float_decoder: ClassVar[bool] = False
    #: whether ``licbench run`` without ``--codecs`` includes it when it is available; False
    #: for codecs that take minutes per image (VTM), which a user names when they mean it
    default_run: ClassVar[bool] = True

    def __init__(self, **params: str) -> None:
        if params:
            raise CodecSpecError(
                f"{type(self).__name__} takes no parameters, got {', '.join(sorted(params))}"
            )

    #: set by :func:`licbench.codecs.create_codec`: the spec this instance was made from
    spec: CodecSpec

    @property
    def label(self) -> str:
        """The name results are reported under: the canonical spec string."""
        spec = getattr(self, "spec", None)
        return str(spec) if spec is not None else type(self).__name__.lower()

    @classmethod
    def available(cls) -> Availability:
        return Availability.yes()

    @classmethod
    def available_for(cls, params: Mapping[str, str]) -> Availability:
        """Whether the codec made with these spec parameters can run here.

        Usually the same as :meth:`available`; a codec whose bare name needs something that a
        parameter replaces (CCA's official weights, given ``ckpt=``) answers per spec.
        """
        return cls.available()

    def check_quality(self, quality: float) -> float:
        """``quality`` as a float if the codec can encode at it, else :class:`QualityError`.

        The one check of a quality value: finite, within :attr:`quality_range`, and an integer
        when :attr:`integer_quality`. Its message is one line naming the codec.
        """
        low, high = self.quality_range
        try:
            value = float(quality)
        except (TypeError, ValueError):
            raise QualityError(f"{self.label}: quality {quality!r} is not a number") from None
        if not math.isfinite(value):
            raise QualityError(f"{self.label}: quality {value} is not a finite number")
        if not low <= value <= high:
            raise QualityError(f"{self.label}: quality {value:g} is outside {low:g}–{high:g}")
        if self.integer_quality and not value.is_integer():
            raise QualityError(
                f"{self.label}: quality {value:g} is not an integer (its qualities are "
                f"{low:g}–{high:g} in steps of 1)"
            )
        return value

    @abstractmethod
    def version(self) -> str:
        """Everything that changes the output: library/tool versions, checkpoint hashes."""

    @abstractmethod
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """Compress an HxWx3 uint8 RGB image."""

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Reconstruct an HxWx3 uint8 RGB image from ``data`` alone."""

    def decode_profiled(self, data: bytes) -> tuple[np.ndarray, dict[str, float]]:
        """Decode and say how long each stage took, in seconds.

        Classical codecs have one stage (``total``); learned codecs split it into entropy
        decoding and synthesis. Latency measurement builds on this method.
        """
        start = time.perf_counter()
        image = self.decode(data)
        return image, {"total": time.perf_counter() - start}

    def environment(self) -> dict[str, str]:
        """Facts about where this codec ran (device, threads), stored with its results."""
        return {}

    def time_limit(self, width: int, height: int) -> float | None:
        """Seconds a healthy encode and decode of a ``width`` × ``height`` image may take, when
        the codec knows better than ``--timeout`` (slow tools on large images: VTM takes tens of
        minutes on a 3-megapixel picture at a low QP); a job then gets the larger of the two.
        None: ``--timeout`` alone."""
        return None
