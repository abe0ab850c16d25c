"""Your own CompressAI-API model whose constructor takes arguments, as researchers write them.

``class Net(FactorizedPrior)`` is built ``Net(N, M)``: the codec builds it with CompressAI's
``from_state_dict`` (N and M read off the weights, as ``eval_model checkpoint`` does), else
with ``arg.NAME=VALUE`` from the spec, else refuses in one line naming the arguments. Three
models: a subclass of ``FactorizedPrior``, one of ``MeanScaleHyperprior`` (both compared with
``eval_model checkpoint -a bmshj2018-factorized|mbt2018-mean`` on the same checkpoint, which
loads them as their base class) and ``Stepped``, whose ``step`` changes the rate but no
tensor's shape: the weights cannot reveal it, so it must come from the spec.

Models are tiny (N=8, M=12) and random, livened so that reconstructions use all 256 levels;
images are 176×168 and 168×200 (MS-SSIM needs sides of at least 161 pixels). Tolerances are
those of ``test_compressai_eval_model``, where they were measured.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from licbench.bench.jobs import codec_key
from licbench.codecs import CodecSpecError, create_codec
from licbench.codecs.learned import container, own_model
from licbench.codecs.learned.checkpoints import CheckpointError
from licbench.codecs.learned.compressai_codec import argument_value
from tests.codecs.learned import eval_model_runs
from tests.codecs.learned.compressai_fixtures import liven
from tests.codecs.learned.eval_model_runs import one_thread
from tests.conftest import synthetic_image

MODELS_PY = '''
"""A researcher's models: constructors with arguments, as CompressAI's own."""
from compressai.models import FactorizedPrior, MeanScaleHyperprior


class Factorized(FactorizedPrior):
    def __init__(self, N, M):
        super().__init__(N, M)


class MeanScale(MeanScaleHyperprior):
    def __init__(self, N, M, **kwargs):
        super().__init__(N, M, **kwargs)


class Stepped(FactorizedPrior):
    """Codes y / step: step changes the rate and the reconstruction, not the weights."""

    def __init__(self, N, M, step):
        super().__init__(N, M)
        self.step = step

    def compress(self, x):
        y = self.g_a(x) / self.step
        return {"strings": [self.entropy_bottleneck.compress(y)], "shape": y.size()[-2:]}

    def decompress(self, strings, shape):
        y_hat = self.entropy_bottleneck.decompress(strings[0], shape) * self.step
        return {"x_hat": self.g_s(y_hat).clamp_(0, 1)}


def make_factorized(N, M):
    return Factorized(N, M)
'''

PACKAGE = "researcher_models"
IMAGES = {"a": (176, 168, 3), "b": (168, 200, 4)}
#: own class -> the eval_model architecture that loads its checkpoint as its base class
COMPARED = {"Factorized": "bmshj2018-factorized", "MeanScale": "mbt2018-mean"}
SIZES = (8, 12)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    root = tmp_path_factory.mktemp("site")
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text("")
    (root / PACKAGE / "models.py").write_text(MODELS_PY)
    sys.path.insert(0, str(root))
    import researcher_models.models as module

    yield module
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def build(cls: type, *args: object, seed: int = 3, image: np.ndarray | None = None) -> object:
    """A seeded random ``cls(*args)``, livened on ``image``, tables built."""
    torch.manual_seed(seed)
    net = cls(*args).eval()
    net.update(force=True)
    return liven(net, image if image is not None else synthetic_image(*IMAGES["a"]))


@pytest.fixture(scope="module")
def compared(models: object, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each compared class's checkpoint and eval_model's numbers on it (both run at once)."""
    root = tmp_path_factory.mktemp("constructors")
    images = {name: synthetic_image(*shape) for name, shape in IMAGES.items()}
    folder = eval_model_runs.save_images(root / "images", images)
    running = {}
    for name, arch in COMPARED.items():
        ckpt = eval_model_runs.save_checkpoint(
            build(getattr(models, name), *SIZES, image=images["a"]), root / f"{name}.pth.tar"
        )
        out = root / f"out-{name}"
        running[name] = (ckpt, out, eval_model_runs.start(folder, arch, ckpt, out))
    results = {}
    for name, (ckpt, out, process) in running.items():
        summary = eval_model_runs.finish(process)
        results[name] = {
            "ckpt": ckpt,
            "summary": summary,
            "per_image": eval_model_runs.per_image(out, ckpt, list(IMAGES)),
        }
    return {"images": images, "results": results}


@pytest.mark.parametrize("name", list(COMPARED))
def test_built_by_from_state_dict_equals_eval_model(compared: dict, name: str) -> None:
    result = compared["results"][name]
    codec = create_codec(f"compressai:model={PACKAGE}.models:{name},ckpt={result['ckpt']}")
    net = codec.model(1)
    assert type(net).__name__ == name and (net.N, net.M) == SIZES  # read off the weights
    mean: dict[str, list[float]] = {"bpp": [], "psnr-rgb": [], "ms-ssim-rgb": []}
    for image_name, image in compared["images"].items():
        theirs = result["per_image"][image_name]
        pixels = image.shape[0] * image.shape[1]
        with one_thread():  # eval_model's numeric setup: the same pixels
            data = codec.encode(image, 1)
            decoded = codec.decode(data)
        payload = len(data) - container.overhead(data)
        assert payload * 8 / pixels == theirs["bpp"]
        ours = eval_model_runs.check_reconstruction(image, decoded, theirs)
        mean["bpp"].append(payload * 8 / pixels)
        mean["psnr-rgb"].append(ours["psnr-rgb"])
        mean["ms-ssim-rgb"].append(ours["ms-ssim-rgb"])
    for key, values in mean.items():
        tolerance = 1e-5 if key == "psnr-rgb" else 1e-6
        assert float(np.mean(values)) == pytest.approx(result["summary"][key][0], abs=tolerance)


def test_a_folder_of_checkpoints_of_different_sizes(models: object, tmp_path: Path) -> None:
    """As CompressAI's zoo widens N and M at its top qualities: each file is read for its own."""
    for quality, sizes in ((1, (8, 12)), (2, (12, 16))):
        net = build(models.Factorized, *sizes, seed=quality)
        eval_model_runs.save_checkpoint(net, tmp_path / f"q{quality}.pth.tar")
    codec = create_codec(f"compressai:model={PACKAGE}.models:Factorized,ckpt={tmp_path}")
    assert [(codec.model(q).N, codec.model(q).M) for q in (1, 2)] == [(8, 12), (12, 16)]
    image = synthetic_image(40, 50, 1)
    assert codec.decode(codec.encode(image, 2)).shape == image.shape


def reference_decode(net: object, image: np.ndarray) -> tuple[list, np.ndarray]:
    """The strings and 8-bit reconstruction of ``net``'s own compress/decompress (padded,
    cropped and rounded as the codec does)."""
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None] / 255
    ph, pw = -h % 64, -w % 64
    x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    with torch.no_grad():
        out = net.compress(x)
        x_hat = net.decompress(out["strings"], out["shape"])["x_hat"]
    x_hat = x_hat[0, :, ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]
    pixels = x_hat.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return out["strings"], pixels


def test_an_argument_the_weights_do_not_reveal_comes_from_the_spec(
    models: object, tmp_path: Path
) -> None:
    image = synthetic_image(*IMAGES["a"])
    ckpt = eval_model_runs.save_checkpoint(
        build(models.Stepped, *SIZES, 1.0, image=image), tmp_path / "stepped.pth.tar"
    )
    spec = f"compressai:model={PACKAGE}.models:Stepped,ckpt={ckpt}"
    # from_state_dict builds Stepped(N, M): step is nowhere in the weights
    with pytest.raises(CheckpointError) as caught:
        create_codec(spec).model(1)
    message = str(caught.value)
    assert "\n" not in message
    assert "Stepped(N, M, step) cannot be built from" in message
    assert "missing 1 required positional argument: 'step'" in message
    assert "give its arguments in the spec: arg.N=…,arg.M=…,arg.step=…" in message

    coded = {}
    for step in (0.5, 2.0):
        codec = create_codec(f"{spec},arg.N=8,arg.M=12,arg.step={step}")
        net = codec.model(1)
        assert net.step == step and isinstance(net.step, float)
        data = codec.encode(image, 1)
        decoded = codec.decode(data)
        # the same as the model's own coding, built by hand with this step
        by_hand = models.Stepped(*SIZES, step)
        state = torch.load(ckpt)["state_dict"]
        torch.nn.Module.load_state_dict(by_hand, state, strict=False)  # tables: update()
        by_hand.update(force=True)
        strings, pixels = reference_decode(by_hand.eval(), image)
        assert container.unpack(data).strings == strings
        np.testing.assert_array_equal(decoded, pixels)
        coded[step] = (len(data), codec_key(codec), codec.version())
    assert coded[0.5][0] > coded[2.0][0]  # a finer step costs more bytes
    assert coded[0.5][1] != coded[2.0][1]  # and is another codec key
    assert "args=M:12/N:8/step:2.0" in coded[2.0][2]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("arg.step=2", "missing a required argument: 'N'"),
        ("arg.N=8,arg.M=12,arg.step=2,arg.gamma=1", "unexpected keyword argument 'gamma'"),
        ("arg.1x=3", "'1x' is not an argument name"),
    ],
)
def test_bad_arguments_are_refused_when_the_codec_is_made(
    models: object, params: str, message: str
) -> None:
    with pytest.raises(CodecSpecError, match=message) as caught:
        create_codec(f"compressai:model={PACKAGE}.models:Stepped,weights=random,{params}")
    assert "\n" not in str(caught.value)


def test_without_weights_to_read_the_arguments_are_named(models: object, tmp_path: Path) -> None:
    factorized = f"compressai:model={PACKAGE}.models:Factorized"
    with pytest.raises(CodecSpecError) as caught:
        create_codec(f"{factorized},weights=random")
    assert str(caught.value) == (
        f"compressai: model={PACKAGE}.models:Factorized is built as Factorized(N, M): "
        "weights=random has no weights to read its arguments from; give them in the spec: "
        "arg.N=…,arg.M=…"
    )
    random = create_codec(f"{factorized},weights=random,seed=5,arg.N=8,arg.M=12")
    again = create_codec(f"{factorized},weights=random,seed=5,arg.N=8,arg.M=12")
    image = synthetic_image(40, 50, 2)
    assert random.encode(image, 1) == again.encode(image, 1)
    assert (random.model(1).N, random.model(1).M) == (8, 12)

    # a factory function has no from_state_dict: its arguments come from the spec
    ckpt = eval_model_runs.save_checkpoint(build(models.Factorized, *SIZES), tmp_path / "f.pth.tar")
    factory = f"compressai:model={PACKAGE}.models:make_factorized,ckpt={ckpt}"
    with pytest.raises(CodecSpecError, match="has no from_state_dict to read its arguments"):
        create_codec(factory)
    by_factory = create_codec(f"{factory},arg.N=8,arg.M=12")
    by_class = create_codec(f"{factorized},ckpt={ckpt}")
    strings = [container.unpack(c.encode(image, 1)).strings for c in (by_factory, by_class)]
    assert strings[0] == strings[1]


def test_weights_from_state_dict_cannot_read_are_said_in_one_line(
    models: object, tmp_path: Path
) -> None:
    factorized = f"compressai:model={PACKAGE}.models:Factorized"
    other = eval_model_runs.save_checkpoint(build(models.MeanScale, *SIZES), tmp_path / "o.pt")
    with pytest.raises(CheckpointError) as caught:
        create_codec(f"{factorized},ckpt={other}").model(1)
    assert "\n" not in str(caught.value)
    assert "does not fit model=researcher_models.models:Factorized as Factorized(N, M)" in str(
        caught.value
    )
    assert 'Unexpected key(s) in state_dict: "h_a.0.weight"' in str(caught.value)
    # saved without entropy tables: from_state_dict cannot load it; with the arguments, it loads
    net = build(models.Factorized, *SIZES)
    weights = {k: v for k, v in net.state_dict().items() if not k.endswith(own_model.TABLE_BUFFERS)}
    torch.save(weights, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="holds no entropy tables .*arg.N=…,arg.M=…"):
        create_codec(f"{factorized},ckpt={tmp_path / 'old.pt'}").model(1)
    loaded = create_codec(f"{factorized},ckpt={tmp_path / 'old.pt'},arg.N=8,arg.M=12").model(1)
    assert torch.equal(loaded.g_s[0].weight, net.g_s[0].weight)


def test_zoo_models_take_no_constructor_arguments() -> None:
    with pytest.raises(CodecSpecError, match=r"arg\.\* is for your own model's constructor"):
        create_codec("compressai:model=mbt2018-mean,weights=random,arg.N=64")


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("False", False), ("none", None), ("3", 3), ("2.5", 2.5),
     ("1e-3", 0.001), ("-4", -4), ("relu", "relu")],
)  # fmt: skip
def test_argument_values_are_typed(text: str, value: object) -> None:
    assert argument_value(text) == value and type(argument_value(text)) is type(value)
