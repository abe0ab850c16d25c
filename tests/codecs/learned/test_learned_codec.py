"""The learned codecs through the Codec contract: real bytes, decode from bytes only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from licbench.codecs.base import CodecSpec, CodecSpecError
from licbench.codecs.learned import CCA, ConvNeXtCharm, LearnedCodec, SwinTCharm
from licbench.codecs.learned import bitstream as bs

CODECS = (CCA, ConvNeXtCharm, SwinTCharm)


def tiny(cls: type[LearnedCodec], **params: str) -> LearnedCodec:
    return cls(config="tiny", weights="random", **params)


@pytest.mark.parametrize("cls", CODECS, ids=lambda c: c.arch)
def test_bytes_round_trip_equals_the_models_quantised_reconstruction(
    cls, small_image, liven, reference
) -> None:
    codec = tiny(cls)
    model = liven(codec.model(1))
    data = codec.encode(small_image, 1)
    assert isinstance(data, bytes)
    header, strings = bs.unpack(data)
    assert (header.height, header.width, header.rate_point) == (45, 70, 1)
    assert header.padded_size == (64, 128) and len(strings) == 2
    assert len(strings[1]) > 100  # y really went through the rANS coder

    decoded = codec.decode(data)
    assert decoded.dtype == np.uint8 and decoded.shape == small_image.shape
    np.testing.assert_array_equal(decoded, reference(model, small_image))

    profiled, stages = codec.decode_profiled(data)
    np.testing.assert_array_equal(profiled, decoded)
    assert set(stages) == {"entropy", "synthesis"} and all(v >= 0 for v in stages.values())


@pytest.fixture(scope="module")
def swint() -> LearnedCodec:
    return tiny(SwinTCharm)


@pytest.mark.parametrize("shape", [(1, 1), (64, 64), (65, 130), (17, 3)])
def test_any_image_size(shape, image_maker, reference, swint) -> None:
    codec = swint
    image = image_maker(*shape, seed=5)
    decoded = codec.decode(codec.encode(image, 1))
    assert decoded.shape == image.shape
    np.testing.assert_array_equal(decoded, reference(codec.model(1), image))


def test_spec_parameters_arrive_as_strings() -> None:
    spec = CodecSpec.parse("cca:config=tiny,weights=random,seed=3,device=cpu")
    codec = CCA(**dict(spec.params))
    assert codec.config == "tiny" and codec.seed == 3 and codec.qualities == (1,)
    assert codec.quality_range == (1, 1) and codec.integer_quality


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "fetch-weights cca"),  # the paper config without ckpt: the official weights
        ({"config": "tiny"}, "needs trained weights: ckpt="),
        ({"weights": "pretrained"}, "only value is weights=random"),
        ({"weights": "random", "ckpt": "/nonexistent"}, "not both"),
        ({"weights": "random", "colour": "red"}, "unknown parameter"),
        ({"weights": "random", "device": "tpu"}, "use cpu or cuda"),
        ({"weights": "random", "config": "huge"}, "choose from"),
        ({"weights": "random", "seed": "x"}, "not an integer"),
        ({"ckpt": "/nonexistent/dir"}, "no such file or folder"),
        ({"weights": "random", "order": "random"}, "order="),
    ],
)
def test_spec_errors_are_clear(params, message) -> None:
    with pytest.raises(CodecSpecError, match=message):
        CCA(**params)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_device_without_cuda_is_a_spec_error() -> None:
    with pytest.raises(CodecSpecError, match="no CUDA device"):
        tiny(CCA, device="cuda")


def test_quality_is_a_rate_point_index(small_image, swint) -> None:
    codec = swint
    assert codec.encode(small_image, 1.0) == codec.encode(small_image, 1)
    for bad in (0, 2, 1.5):
        with pytest.raises(ValueError, match="rate point"):
            codec.encode(small_image, bad)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        codec.encode(small_image.astype(np.float32), 1)


def test_decoding_with_another_model_fails_clearly(small_image) -> None:
    data = tiny(SwinTCharm, seed="0").encode(small_image, 1)
    with pytest.raises(bs.BitstreamError, match="another model"):
        tiny(SwinTCharm, seed="1").decode(data)
    with pytest.raises(bs.BitstreamError):
        tiny(SwinTCharm).decode(data[:-3])


def test_version_names_everything_that_changes_the_output() -> None:
    version = tiny(CCA, seed="7").version()
    for part in ("arch=cca", "config=tiny", "weights=random:seed=7", "compressai=1.", "torch="):
        assert part in version
    assert tiny(CCA, seed="7").version() != tiny(CCA, seed="8").version()


def test_environment_says_where_it_ran() -> None:
    env = tiny(CCA).environment()
    assert env["device"] == "cpu" and env["torch"] == torch.__version__
    assert int(env["threads"]) >= 1 and env["device_name"]
