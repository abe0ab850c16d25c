"""Classical codecs through Pillow: JPEG, WebP, JPEG 2000, AVIF, and JPEG XL and HEIC (plugins).

JPEG and WebP are saved exactly as CompressAI's bench saves them (``save(fp, format,
quality=q)`` and nothing else: Pillow's defaults, 4:2:0 subsampling, no optimisation), so their
numbers compare with CompressAI's published results. Every setting that is not Pillow's default
is written in the codec's ``settings`` and therefore in ``version()`` and the cache key.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, ClassVar

from PIL import Image, features

from licbench.codecs.base import Availability, Codec

if TYPE_CHECKING:  # imported in decode(): version() is all a re-run of a finished run asks for
    import numpy as np


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
        import numpy as np

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


class PluginCodec(PillowCodec):
    """A format Pillow reads and writes through a plugin package instead of a built-in library."""

    #: the module that registers the format with Pillow when imported
    plugin_module: ClassVar[str]
    #: the pip distribution providing it
    plugin_distribution: ClassVar[str]

    @classmethod
    def _load_plugin(cls) -> Any:
        import importlib

        return importlib.import_module(cls.plugin_module)

    @classmethod
    def available(cls) -> Availability:
        try:
            cls._load_plugin()
        except ImportError as exc:
            return Availability(
                False,
                f"the Pillow plugin {cls.plugin_distribution} is not installed ({exc})",
                f"pip install {cls.plugin_distribution}",
            )
        return Availability.yes()

    def version(self) -> str:
        from importlib.metadata import version

        import PIL

        self._load_plugin()
        settings = ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        parts = [
            f"pillow={PIL.__version__}",
            f"{self.plugin_distribution}={version(self.plugin_distribution)}",
            self.library_version(),
            settings,
        ]
        return ";".join(p for p in parts if p)

    def library_version(self) -> str:
        return ""

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        self._load_plugin()
        return super().encode(image, quality)

    def decode(self, data: bytes) -> np.ndarray:
        self._load_plugin()
        return super().decode(data)


class JPEGXL(PluginCodec):
    """JPEG XL in-process: libjxl through the ``pillow-jxl-plugin`` package (Rust bindings).

    ``quality`` is libjxl's quality (mapped to a butteraugli distance; 100 = lossless). Effort 7
    (libjxl's default), no container box, one encoder thread so that parallel workers do not
    oversubscribe the cores (libjxl's output does not depend on the thread count). The plugin
    bundles its own libjxl, so its version is the plugin's version.
    """

    description = "JPEG XL (libjxl through pillow-jxl-plugin, quality 0-100, effort 7)"
    pillow_format = "JXL"
    pillow_feature = "jxl"
    plugin_module = "pillow_jxl"
    plugin_distribution = "pillow-jxl-plugin"
    settings = {"effort": 7, "use_container": False, "num_threads": 1}
    quality_range = (0, 100)
    qualities = (30, 45, 60, 70, 80, 88, 94)


class HEIC(PluginCodec):
    """HEIF/HEIC in-process: x265 to encode and libde265 to decode, through ``pillow-heif``.

    An in-process HEVC intra codec with 4:4:4 chroma; the HEIF container costs a few hundred
    bytes per image, and libheif does the RGB→YCbCr conversion (its own matrix), so for
    comparisons with the published anchors use the command-line ``x265`` (raw HEVC, the anchors'
    colour handling, BPG's x265 settings) instead. ``quality`` is libheif's 0-100 scale.
    """

    description = "HEIC (x265/libde265 through pillow-heif, quality 0-100, 4:4:4)"
    pillow_format = "HEIF"
    pillow_feature = "heif"
    plugin_module = "pillow_heif"
    plugin_distribution = "pillow-heif"
    settings = {"chroma": 444}
    quality_range = (0, 100)
    qualities = (10, 25, 40, 55, 70, 85, 92)

    @classmethod
    def _load_plugin(cls) -> Any:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return pillow_heif

    def library_version(self) -> str:
        info = self._load_plugin().libheif_info()
        encoder = info.get("encoders", {}).get("x265", "")
        decoder = info.get("decoders", {}).get("libde265", "")
        return f"libheif={info.get('libheif', '')};encoder={encoder};decoder={decoder}"
