"""Your own CompressAI-API module as a codec: import path, checkpoint layouts, clear refusals."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from licbench.codecs import CodecSpecError, create_codec
from licbench.codecs.learned import container, own_model
from licbench.codecs.learned.checkpoints import CheckpointError
from tests.codecs.learned.compressai_fixtures import write_user_package
from tests.conftest import synthetic_image

SPEC = "compressai:model=tinypkg.models:TinyNet"


@pytest.fixture(scope="module")
def user_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = write_user_package(tmp_path_factory.mktemp("site"))
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "tinypkg" or m.startswith("tinypkg.")]:
        del sys.modules[name]


@pytest.fixture
def trained(user_package: Path) -> dict[str, torch.Tensor]:
    """A TinyNet's state dict, tables included (what ``torch.save(net.state_dict())`` writes)."""
    net = create_codec(f"{SPEC},weights=random,seed=4").model(1)
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_import_path_and_factory_are_codecs(user_package: Path) -> None:
    image = synthetic_image(40, 50, 1)
    by_class = create_codec(f"{SPEC},weights=random,seed=3")
    by_factory = create_codec("compressai:model=tinypkg.models:make_tiny,weights=random,seed=3")
    data = by_class.encode(image, 1)
    assert container.unpack(data).model == "tinypkg.models:TinyNet"
    assert container.unpack(by_factory.encode(image, 1)).strings == container.unpack(data).strings
    assert by_class.decode(data).shape == (40, 50, 3)
    assert by_class.qualities == (1,)
    assert "model=tinypkg.models:TinyNet" in by_class.version()
    assert "metric=" not in by_class.version()


def test_a_module_without_the_api_is_refused_by_name(user_package: Path) -> None:
    with pytest.raises(
        CodecSpecError, match="tinypkg.models.NoAPI has no compress and no decompress method"
    ):
        create_codec("compressai:model=tinypkg.models:NoAPI,weights=random")
    with pytest.raises(CodecSpecError, match="cannot import it"):
        create_codec("compressai:model=tinypkg.nothere:TinyNet,weights=random")
    with pytest.raises(CodecSpecError, match="is not a torch.nn.Module"):
        create_codec("compressai:model=collections:OrderedDict,weights=random")


def test_own_model_needs_weights_and_takes_no_metric(user_package: Path) -> None:
    with pytest.raises(CodecSpecError, match="needs trained weights: ckpt="):
        create_codec(SPEC)
    with pytest.raises(CodecSpecError, match="metric= chooses zoo weights"):
        create_codec(f"{SPEC},weights=random,metric=mse")
    with pytest.raises(CodecSpecError, match="weights=pretrained is for zoo models"):
        create_codec(f"{SPEC},weights=pretrained")


@pytest.mark.parametrize(
    "layout", ["bare", "state_dict", "model", "net", "module-prefix", "no-tables", "old-keys"]
)
def test_checkpoint_layouts_load_the_same_weights(
    layout: str, trained: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    state = dict(trained)
    if layout == "module-prefix":
        state = {f"module.{k}": v for k, v in state.items()}
    if layout == "no-tables":  # saved before update(): the codec must build the tables itself
        state = {k: v for k, v in state.items() if not own_model._is_table(k)}
    if layout == "old-keys":  # CompressAI < 1.2 named the bottleneck's parameters _biases0 ...
        state = {
            k.replace("entropy_bottleneck.biases.", "entropy_bottleneck._bias"): v
            for k, v in state.items()
        }
    wrapped = layout in ("state_dict", "model", "net")
    obj = {layout: state, "epoch": 3, "loss": 1.5} if wrapped else state
    torch.save(obj, tmp_path / "q1.pth.tar")
    codec = create_codec(f"{SPEC},ckpt={tmp_path / 'q1.pth.tar'}")
    loaded = codec.model(1).state_dict()
    for key, value in trained.items():
        assert torch.equal(loaded[key], value), key
    image = synthetic_image(40, 50, 2)
    reference = create_codec(f"{SPEC},weights=random,seed=4")
    strings = container.unpack(codec.encode(image, 1)).strings
    assert strings == container.unpack(reference.encode(image, 1)).strings


def test_keys_that_do_not_fit_are_named(trained: dict[str, torch.Tensor], tmp_path: Path) -> None:
    state = {k: v for k, v in trained.items() if k != "g_a.0.weight"}
    state["g_a.0.extra"] = torch.zeros(1)
    state["g_s.6.weight"] = torch.zeros(3, 3)
    for i in range(10):
        state[f"aux.{i}"] = torch.zeros(1)
    torch.save({"state_dict": state}, tmp_path / "bad.pt")
    codec = create_codec(f"{SPEC},ckpt={tmp_path / 'bad.pt'}")
    with pytest.raises(CheckpointError) as caught:
        codec.model(1)
    message = str(caught.value)
    assert "does not fit tinypkg.models.TinyNet" in message
    assert "missing keys (1): g_a.0.weight" in message
    assert "unexpected keys (11): aux.0, aux.1, aux.2" in message and "... and 3 more" in message
    assert "g_s.6.weight (3, 3) != (8, 3, 5, 5)" in message
    assert caught.value.missing == ["g_a.0.weight"]
    torch.save({"epoch": 1, "optimizer": {"lr": 1}}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="neither a state dict nor one wrapped"):
        create_codec(f"{SPEC},ckpt={tmp_path / 'empty.pt'}").model(1)


def test_a_folder_is_one_rate_point_per_file_in_natural_order(
    trained: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    for seed, name in enumerate(["q10.pt", "q2.pt", "q1.pt"]):
        torch.save({k: v + seed for k, v in trained.items()}, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    codec = create_codec(f"{SPEC},ckpt={tmp_path}")
    assert codec.qualities == (1, 2, 3)
    assert [rp.path.name for rp in codec.rate_points] == ["q1.pt", "q2.pt", "q10.pt"]
    assert torch.equal(codec.model(3).g_a[0].weight, trained["g_a.0.weight"])  # q10: seed 0
    weights = codec.version().split("weights=")[1].split(",")
    assert [w.split(":")[0] for w in weights] == ["1", "2", "3"]
    assert weights[2].split(":")[1] == codec.rate_points[2].sha256
