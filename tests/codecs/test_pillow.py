"""Pillow codecs: bytes and PSNR must equal an independent Pillow + numpy computation."""

from __future__ import annotations

import io

import numpy as np
import PIL
import pytest
from PIL import Image

from licbench.codecs import create_codec
from licbench.metrics.psnr import psnr_rgb


def test_jpeg_bytes_and_psnr_match_compressai_style_pillow(rgb_image):
    codec = create_codec("jpeg")
    for quality in (10, 50, 90):
        # what CompressAI's bench does: save(format, quality=q) and nothing else
        buffer = io.BytesIO()
        Image.fromarray(rgb_image).save(buffer, "JPEG", quality=quality)
        expected = buffer.getvalue()
        data = codec.encode(rgb_image, quality)
        assert data == expected
        reference = np.asarray(Image.open(io.BytesIO(expected)).convert("RGB")).astype(float)
        mse = np.mean((rgb_image.astype(float) - reference) ** 2)
        decoded = codec.decode(data)
        assert psnr_rgb(rgb_image, decoded) == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-12)


def test_webp_bytes_match_plain_pillow_save(rgb_image):
    buffer = io.BytesIO()
    Image.fromarray(rgb_image).save(buffer, "WEBP", quality=75)
    assert create_codec("webp").encode(rgb_image, 75) == buffer.getvalue()


@pytest.mark.parametrize("name", ["jpeg", "webp", "jpeg2000", "avif"])
def test_round_trip_and_rate_grows_with_quality(name, rgb_image):
    codec = create_codec(name)
    if not codec.available().ok:
        pytest.skip(codec.available().reason)
    low, high = codec.qualities[1], codec.qualities[-2]
    small, large = codec.encode(rgb_image, low), codec.encode(rgb_image, high)
    assert len(small) < len(large)
    for data in (small, large):
        decoded = codec.decode(data)
        assert decoded.dtype == np.uint8 and decoded.shape == rgb_image.shape
    assert psnr_rgb(rgb_image, codec.decode(small)) < psnr_rgb(rgb_image, codec.decode(large))
    assert psnr_rgb(rgb_image, codec.decode(large)) > 30
    assert len(codec.qualities) >= 6
    assert PIL.__version__ in codec.version()


def test_decode_rejects_another_format(rgb_image):
    data = create_codec("webp").encode(rgb_image, 50)
    with pytest.raises(ValueError, match="expected a JPEG stream"):
        create_codec("jpeg").decode(data)


def test_jpeg2000_quality_is_target_bpp(rgb_image):
    codec = create_codec("jpeg2000")
    h, w = rgb_image.shape[:2]
    for target in (0.25, 1.0):
        bpp = 8 * len(codec.encode(rgb_image, target)) / (h * w)
        assert bpp == pytest.approx(target, rel=0.15)
