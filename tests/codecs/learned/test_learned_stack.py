"""One learned-codec stack (issue 21, item 3): both kinds on ``LearnedCodecBase``, their bytes.

licbench's architectures (``LearnedCodec``, the ``LC`` bitstream) and CompressAI-API models
(``CompressAICodec``, the ``LZ`` container) share one base class that owns the spec parameters,
the per-rate-point models, the tag check, ``environment()`` and what complexity asks; each kind
supplies building, padding, packing and unpacking. The bytes of both kinds were compared byte for
byte before and after the merge on one machine (cca-tiny's bundled weights, the tiled path, zoo
and variable-rate models with seeded random weights, your own model with a checkpoint: equal);
a hash of them cannot be a test (float kernels differ between CPUs), so here each container's
structure is read field by field, its payload is decoded again through the models' own entry
points (what the codecs called before the merge) to the same picture, and the bytes round-trip.
"""

from __future__ import annotations

import hashlib
import re
import struct
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from compressai.ops import compute_padding

from licbench.codecs import CODECS, CodecSpecError, create_codec
from licbench.codecs.learned import bitstream, configs, container, zoo
from licbench.codecs.learned.codec import LearnedCodec, LearnedCodecBase
from licbench.codecs.learned.complexity import codec_complexity
from licbench.codecs.learned.compressai_codec import CompressAICodec

ZOO = "compressai:model=bmshj2018-hyperprior,weights=random,seed=3"
VBR = "compressai:model=mbt2018-mean-vbr,weights=random,seed=3"


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    from tests.codecs.learned.conftest import make_image

    return make_image(45, 70, 3)  # odd, and not a multiple of anything


def _eight_bit(x_hat: torch.Tensor) -> np.ndarray:
    return x_hat[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def test_the_lc_bitstream_field_by_field_and_through_the_models_own_decoder(image) -> None:
    codec = create_codec("cca-tiny")
    quality = 2
    data = codec.encode(image, quality)
    # the layout of bitstream.py: magic, format version, rate point, 4-byte model tag, ...
    assert data[:2] == b"LC" and data[2] == bitstream.FORMAT_VERSION == 1 and data[3] == quality
    header, strings = bitstream.unpack(data)
    sha256 = codec.rate_points[quality - 1].sha256
    assert header.model_tag == data[4:8] == bytes.fromhex(sha256)[:4] == codec.model_tag(quality)
    assert (header.height, header.width, header.pad_multiple) == (45, 70, 64)
    assert header.padded_size == (64, 128) and len(strings) == 2 and len(strings[1]) > 20
    assert bitstream.pack(header, strings) == data

    model = codec.model(quality)
    y_hat = model.entropy_decode(strings, (1, 2))  # the padded size over 64
    own = model.synthesize(y_hat, 0, pixels=True)[0, :, :45, :70].permute(1, 2, 0).numpy()
    decoded = codec.decode(data)
    np.testing.assert_array_equal(decoded, own)
    # from the bytes alone, in a codec that never encoded; the same bytes again
    np.testing.assert_array_equal(create_codec("cca-tiny").decode(data), decoded)
    assert codec.encode(image, quality) == data


@pytest.mark.parametrize(("spec", "quality"), [(ZOO, 2), (VBR, 2.5)], ids=["zoo", "vbr"])
def test_the_lz_container_field_by_field_and_through_the_models_own_decoder(
    image, spec, quality
) -> None:
    codec = create_codec(spec)
    vbr = spec == VBR
    data = codec.encode(image, quality)
    box = container.unpack(data)
    rate_point = 1 if vbr else quality
    name = codec.model_name
    assert data[:2] == b"LZ" and data[2] == (2 if vbr else 1) and data[3] == rate_point
    if vbr:  # format 2: the float32 scale the strings were coded at, then the name
        (scale,) = struct.unpack("<f", data[4:8])
        assert scale == box.scale == np.float32(1 / zoo.vbr_step(quality))
    else:
        assert box.scale is None
    assert (box.model, box.rate_point, box.height, box.width) == (name, rate_point, 45, 70)
    identity = f"random:{name}:{rate_point}:3"
    tag = hashlib.sha256(identity.encode()).digest()[:8]
    assert box.weights_tag == tag == codec.model_tag(quality) and box.pad_multiple == 64
    assert container.pack(box) == data

    net = codec.model(quality)
    with torch.no_grad():
        if vbr:
            inputscale = torch.tensor(box.scale, dtype=torch.float32)
            zoo.set_vbr_scale(net, inputscale)
            out = net.decompress(box.strings, box.shape, stage=2, s=0, inputscale=inputscale)
        else:
            out = net.decompress(box.strings, box.shape)
    _, unpad = compute_padding(45, 70, min_div=64)
    decoded = codec.decode(data)
    np.testing.assert_array_equal(decoded, _eight_bit(F.pad(out["x_hat"], unpad)))
    np.testing.assert_array_equal(create_codec(spec).decode(data), decoded)
    assert codec.encode(image, quality) == data


def test_both_kinds_keep_what_they_share_on_the_base_only() -> None:
    """The copies this merge removed stay removed: a kind defines none of the shared steps."""
    shared = {"model", "_model_at", "model_tag", "encode", "decode", "decode_profiled"}
    shared |= {"_decode", "_parse_device", "_parse_shared", "environment", "code_digest"}
    for kind in (LearnedCodec, CompressAICodec):
        assert issubclass(kind, LearnedCodecBase)
        assert not shared & set(vars(kind)), kind
        for step in ("build", "pad", "compress", "pack", "unpack", "decompress"):
            assert step in vars(kind), (kind, step)
        assert "complexity_model" in vars(kind) and "macs_counter" in vars(kind)
    for name in ("cca", "convnext-charm", "swint-charm", "cca-tiny", "convnext-charm-tiny"):
        assert issubclass(CODECS.get(name), LearnedCodec)


def test_spec_parameters_are_parsed_once_for_both_kinds() -> None:
    ours = {"config": "tiny", "weights": "random"}
    theirs = {"model": "bmshj2018-factorized", "weights": "random"}
    for params, cls, prefix in ((ours, LearnedCodec, "cca"), (theirs, CompressAICodec, "")):
        cls = CODECS.get("cca") if cls is LearnedCodec else cls
        for bad, message in (
            ({"device": "tpu"}, "device='tpu'; use cpu or cuda[:N]"),
            ({"seed": "x"}, "seed='x' is not an integer"),
            ({"order": "size"}, "order='size'; choose from auto, lmbda, name, name-desc"),
            ({"ckpt": "/x"}, "give ckpt=... or weights=..., not both"),
        ):
            with pytest.raises(CodecSpecError, match=re.escape(message)) as caught:
                cls(**params, **bad)
            assert str(caught.value).startswith(prefix or "compressai:")


def test_models_are_built_once_per_rate_point_and_never_move_the_callers_rng() -> None:
    for spec in ("cca:config=tiny,weights=random,seed=4", ZOO):
        codec = create_codec(spec)
        torch.manual_seed(123)
        state = torch.random.get_rng_state()
        model = codec.model(1)
        assert torch.equal(torch.random.get_rng_state(), state)
        assert codec.model(1.0) is model
        again = create_codec(spec).model(1)  # the seed decides the weights
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_environment_has_the_same_facts_for_both_kinds() -> None:
    ours = create_codec("cca:config=tiny,weights=random").environment()
    theirs = create_codec(ZOO).environment()
    assert set(ours) == set(theirs)
    assert ours["entropy_device"] == "cpu" and theirs["entropy_device"] == "cpu"
    assert ours["torch"] == theirs["torch"] == torch.__version__ and theirs["device_name"]


def fixed_parts(model: torch.nn.Module, x: torch.Tensor) -> dict[str, int]:
    return {"analysis": 1, "synthesis": 2, "hyper_analysis": 3, "hyper_synthesis": 4}


def test_complexity_asks_the_codecs_class() -> None:
    class Counted(CompressAICodec):  # a kind says how its parts run
        macs_counter = f"{__name__}:fixed_parts"

    counted = Counted(model="bmshj2018-factorized", weights="random")
    assert codec_complexity(counted, 64, 64).macs == fixed_parts(None, None)
    assert codec_complexity(counted, 64, 64).params["total"] > 0  # of the model it names
    ours = create_codec("cca:config=tiny,weights=random")
    counted_model = ours.complexity_model()  # built on the meta device: no weights read
    assert {p.device.type for p in counted_model.g_a.parameters()} == {"meta"}
    assert {p.device.type for p in counted_model.g_s.parameters()} == {"meta"}
    assert codec_complexity(ours, 96, 128).macs["context"] > 0


@pytest.fixture
def scratch_registries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A package ``scratch_archs`` on the path, and the registries as they were afterwards."""
    models = (dict(configs.MODELS._entries), dict(configs.MODELS._origins))
    declared = dict(configs.DECLARED_CODECS)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "scratch_archs").mkdir()
    (tmp_path / "scratch_archs" / "__init__.py").write_text("")
    yield tmp_path / "scratch_archs"
    configs.MODELS._entries, configs.MODELS._origins = models
    configs.DECLARED_CODECS.clear()
    configs.DECLARED_CODECS.update(declared)
    for name in [m for m in sys.modules if m.split(".")[0] == "scratch_archs"]:
        del sys.modules[name]


def test_a_new_architecture_joins_in_one_module(scratch_registries, image) -> None:
    (scratch_registries / "wide_cca.py").write_text(
        textwrap.dedent(
            """\
            from dataclasses import replace

            from licbench.codecs.learned.archs.cca import CCA
            from licbench.codecs.learned.codec import LearnedCodec
            from licbench.codecs.learned.configs import register_architecture

            TINY = CCA.architecture().configs["tiny"]


            @register_architecture(
                "wide-cca",
                builder="licbench.codecs.learned.cca:build_cca",
                configs={"tiny": replace(TINY, em_dim=40)},
                description="CCA with a wider entropy model",
            )
            class WideCCA(LearnedCodec):
                pass
            """
        )
    )
    found = configs.declared_codecs("scratch_archs")
    assert found["wide-cca"].__name__ == "WideCCA" and found["wide-cca"].arch == "wide-cca"
    assert "wide-cca/tiny" in configs.list_models("wide*")
    model = configs.create_model("wide-cca", "tiny")
    assert model.config.em_dim == 40 and model.arch == "wide-cca"
    codec = found["wide-cca"](config="tiny", weights="random")
    assert codec.decode(codec.encode(image, 1)).shape == image.shape
    assert codec.description == "CCA with a wider entropy model"


def test_a_declaration_holds_no_code_the_key_would_not_see(scratch_registries) -> None:
    (scratch_registries / "padded.py").write_text(
        textwrap.dedent(
            """\
            from licbench.codecs.learned.archs.cca import CCA
            from licbench.codecs.learned.codec import LearnedCodec
            from licbench.codecs.learned.configs import register_architecture


            @register_architecture(
                "padded-cca",
                builder="licbench.codecs.learned.cca:build_cca",
                configs=CCA.architecture().configs,
                description="",
            )
            class Padded(LearnedCodec):
                def pad(self, image):
                    return super().pad(image[::-1])
            """
        )
    )
    with pytest.raises(TypeError, match="Padded declares pad: a declared learned codec sets only"):
        configs.declared_codecs("scratch_archs")
    with pytest.raises(configs.RegistryError, match="'cca' is already registered"):
        configs.register_architecture("cca", builder="", configs={}, description="")(
            type("Again", (LearnedCodec,), {})
        )


def test_the_registries_hold_what_the_modules_of_archs_declare() -> None:
    import importlib
    import pkgutil

    from licbench.codecs.learned import archs

    declared = {}
    for info in pkgutil.iter_modules(archs.__path__):
        module = importlib.import_module(f"{archs.__name__}.{info.name}")
        declared |= {
            name: cls
            for name, cls in configs.DECLARED_CODECS.items()
            if cls.__module__ == module.__name__
        }
    assert sorted(declared) == [
        "cca",
        "cca-tiny",
        "convnext-charm",
        "convnext-charm-tiny",
        "swint-charm",
    ]
    assert configs.MODELS.names() == ["cca", "convnext-charm", "swint-charm"]
    for name, cls in declared.items():
        assert CODECS.get(name) is cls
