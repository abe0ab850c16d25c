"""A learned decoder's picture of the wrong size is an error, never cropped to fit (issue 20,
item 3).

Both learned decoders crop the padding away (the image is padded to a multiple of 64 before
coding); a synthesis that gives a picture larger than the padded size must fail instead of
being cut to the top-left, and the job that ran it becomes an error row naming the file, the
codec and both sizes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from licbench.bench import job_body
from licbench.bench.jobs import Job
from licbench.codecs import create_codec
from licbench.datasets import ImageRef


def doubled(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def test_a_licbench_synthesis_of_twice_the_size_is_an_error(small_image, monkeypatch):
    codec = create_codec("cca:config=tiny,weights=random")
    data = codec.encode(small_image, 1)
    model = codec.model(1)
    synthesize = model.synthesize
    monkeypatch.setattr(model, "synthesize", lambda *a, **k: doubled(synthesize(*a, **k)))
    with pytest.raises(ValueError) as caught:
        codec.decode(data)
    assert str(caught.value) == (
        "cca: synthesis gave a picture of shape (1, 3, 128, 256); the bitstream's 70x45 image "
        "is padded to 128x64"
    )


def test_a_compressai_decompress_of_twice_the_size_is_an_error(small_image, monkeypatch):
    codec = create_codec("compressai:model=bmshj2018-factorized,weights=random")
    data = codec.encode(small_image, 1)
    net = codec.model(1)
    decompress = net.decompress
    monkeypatch.setattr(net, "decompress", lambda *a: {"x_hat": doubled(decompress(*a)["x_hat"])})
    with pytest.raises(
        ValueError, match=r"decompress gave x_hat of shape \(1, 3, 109, 198\) for a 45x70 "
    ):
        codec.decode(data)


def test_the_job_is_an_error_row_naming_file_codec_and_sizes(tmp_path: Path, monkeypatch):
    pixels = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    image = ImageRef("photo.png", path, hashlib.sha256(path.read_bytes()).hexdigest())
    spec = "convnext-charm:config=tiny,weights=random"
    codec = create_codec(spec)
    model = codec.model(1)
    synthesize = model.synthesize
    monkeypatch.setattr(model, "synthesize", lambda *a, **k: doubled(synthesize(*a, **k)))
    monkeypatch.setitem(job_body._codecs, spec, codec)
    record = job_body.run_job(Job(spec, "k", 1.0, image, ("psnr-rgb",)))
    assert record.metrics == {}
    assert record.error.startswith(
        f"{path}: {spec} at quality 1 failed while decoding: ValueError: convnext-charm: "
        "synthesis gave a picture of shape (1, 3, 128, 128); the bitstream's 56x40 image is "
        "padded to 64x64"
    ), record.error
