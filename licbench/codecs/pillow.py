"""Classical codecs through Pillow: JPEG, WebP, JPEG 2000 and AVIF.

JPEG and WebP are saved exactly as CompressAI's bench saves them (``save(fp, format,
quality=q)`` and nothing else: Pillow's defaults, 4:2:0 subsampling, no optimisation), so their
numbers compare with CompressAI's published results. Every setting that is not Pillow's default
is written in the codec's ``settings`` and therefore in ``version()`` and the cache key.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from licbench.codecs.base import Availability, Codec


class PillowCodec(Codec):
    """Encode with ``Image.save(format=..., **save_arguments)``; decode with Pillow."""

    pillow_format: ClassVar[str]
    #: the name Pillow's ``features`` module gives the underlying library
    pillow_feature: ClassVar[str]
    settings: ClassVar[dict[str, Any]] = {}

    @classmethod
    def available(cls) -> Availability:
        if features.check(cls.pillow_feature):
            return Availability.yes()
        return Availability(
            False,
            f"this Pillow was built without {cls.pillow_feature} support",
            "pip install --upgrade 'pillow>=11.3' (the PyPI wheels include it)",
        )

    def version(self) -> str:
        import PIL

        library = features.version(self.pillow_feature)
        settings = ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        return f"pillow={PIL.__version__};{self.pillow_feature}={library};{settings}"

    def save_arguments(self, quality: float) -> dict[str, Any]:
        return {**self.settings, "quality": int(quality)}

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(image, "RGB").save(
            buffer, format=self.pillow_format, **self.save_arguments(quality)
        )
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as decoded:
            if decoded.format != self.pillow_format:
                raise ValueError(f"expected a {self.pillow_format} stream, got {decoded.format}")
            return np.asarray(decoded.convert("RGB"))


class JPEG(PillowCodec):
    description = "JPEG (libjpeg through Pillow, quality 0-100, as CompressAI's bench)"
    pillow_format = "JPEG"
    pillow_feature = "jpg"
    quality_range = (1, 100)
    qualities = (5, 10, 20, 30, 50, 70, 85, 92)


class WebP(PillowCodec):
    description = "WebP lossy (libwebp through Pillow, quality 0-100, as CompressAI's bench)"
    pillow_format = "WEBP"
    pillow_feature = "webp"
    quality_range = (0, 100)
    qualities = (0, 10, 25, 50, 70, 85, 92)


class JPEG2000(PillowCodec):
    """JPEG 2000 through OpenJPEG (9/7 wavelet); quality is the target rate in bits per pixel.

    OpenJPEG's rate control takes a compression ratio (``quality_mode="rates"``) or a PSNR target
    (``"dB"``). The PSNR target spends about 30% more bits for the same PSNR on Kodak, so the
    ratio mode is used, expressed as target bpp (ratio = 24 / bpp) to keep the convention that a
    larger quality value means more bytes.
    """

    description = "JPEG 2000 (OpenJPEG through Pillow, quality = target bpp)"
    pillow_format = "JPEG2000"
    pillow_feature = "jpg_2000"
    settings = {"irreversible": True, "quality_mode": "rates"}
    quality_range = (0.02, 8.0)
    integer_quality = False
    qualities = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0)

    def save_arguments(self, quality: float) -> dict[str, Any]:
        return {**self.settings, "quality_layers": [24.0 / float(quality)]}


class AVIF(PillowCodec):
    """AVIF (AV1 intra through libavif). Pillow's defaults: 4:2:0, speed 6."""

    description = "AVIF (libavif through Pillow, quality 0-100, 4:2:0, speed 6)"
    pillow_format = "AVIF"
    pillow_feature = "avif"
    settings = {"subsampling": "4:2:0", "speed": 6}
    quality_range = (0, 100)
    qualities = (10, 20, 35, 50, 65, 80, 90)
