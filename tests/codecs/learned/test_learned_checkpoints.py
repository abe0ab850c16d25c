"""Checkpoints: the licbench format, official CCA files, wrappers, errors, refusal of pickles."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from licbench.codecs.base import CodecSpecError
from licbench.codecs.learned import CCA, SwinTCharm, create_model
from licbench.codecs.learned.checkpoints import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    check_state_dict,
    load_weights,
    normalize_state_dict,
    read_checkpoint,
    save_checkpoint,
)
from licbench.core.files import file_sha256
from tests.data_paths import CCA_KEYS_TSV

DTYPES = {"float32": torch.float32, "int32": torch.int32, "int64": torch.int64}


def official_cca_state_dict(device: str, *, eval_only: bool = False) -> dict[str, torch.Tensor]:
    """Official key names and shapes (all of them, with the auxiliary training model)."""
    with CCA_KEYS_TSV.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    column = next(c for c in rows[0] if c.startswith("in_eval_model"))
    out = {}
    for r in rows:
        if eval_only and r[column] != "yes":
            continue
        shape = [int(d) for d in r["shape"].strip("[]").split(",") if d.strip()]
        out[r["key"]] = torch.zeros(shape, dtype=DTYPES[r["dtype"]], device=device)
    return out


def tiny_model(arch: str = "cca", seed: int = 0):
    torch.manual_seed(seed)
    model = create_model(arch, "tiny").eval()
    model.update()
    return model


def test_official_cca_key_names_map_onto_the_paper_model() -> None:
    with torch.device("meta"):
        model = create_model("cca", "paper")
    official = official_cca_state_dict("meta")
    assert any(k.startswith("aux_entropymodel.") for k in official)  # a cca_training=True file
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in official.items()}}
    state_dict = normalize_state_dict(model, wrapped)
    check_state_dict(model, state_dict)  # raises if any key is missing, unexpected or mis-shaped
    assert "latent.mean_support_transforms.4.in_conv.weight" in state_dict
    assert "latent.entropy_bottleneck.quantiles" in state_dict


def test_official_cca_checkpoint_loads_and_tables_are_rebuilt() -> None:
    with torch.device("meta"):
        model = create_model("cca", "paper")
    model.to_empty(device="cpu")  # no random init: every tensor comes from the checkpoint
    official = official_cca_state_dict("cpu", eval_only=True)
    checkpoint = {"epoch": 1, "state_dict": official, "loss": 1.0, "optimizer": {"state": {}}}
    load_weights(model, checkpoint, source="official")
    gc = model.latent.gaussian_conditional
    assert gc.scale_table.numel() == 64 and gc.quantized_cdf.numel() > 0
    assert model.latent.entropy_bottleneck.quantized_cdf.shape[0] == 192
    assert torch.count_nonzero(model.g_s.up[0].weight) == 0


def test_missing_unexpected_and_mis_shaped_keys_are_listed() -> None:
    model = tiny_model()
    state_dict = dict(model.state_dict())
    del state_dict["g_a.down.0.bias"]
    state_dict["extra.weight"] = torch.zeros(1)
    state_dict["g_s.up.3.bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError) as info:
        load_weights(model, state_dict, source="broken.pt")
    message = str(info.value)
    assert "broken.pt" in message and "missing keys (1): g_a.down.0.bias" in message
    assert "unexpected keys (1): extra.weight" in message
    assert "g_s.up.3.bias (5,) != (3,)" in message
    assert info.value.missing == ["g_a.down.0.bias"]
    assert info.value.unexpected == ["extra.weight"]


def test_module_prefix_and_state_dict_wrapper(tmp_path: Path, small_image) -> None:
    source = tiny_model(seed=4)
    wrapped = {"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}
    path = tmp_path / "compressai-style.pth.tar"
    torch.save({"epoch": 9, "loss": 0.5, **wrapped}, path)
    codec = CCA(config="tiny", ckpt=str(path))
    loaded = codec.model(1)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert codec.decode(codec.encode(small_image, 1)).shape == small_image.shape


def test_weights_only_refuses_a_pickle_payload(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('ran')",))

    path = tmp_path / "evil.pt"
    torch.save({"state_dict": tiny_model().state_dict(), "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        read_checkpoint(path)
    with pytest.raises(CodecSpecError, match="refused"):
        CCA(config="tiny", ckpt=str(path))
    assert not marker.exists()
    torch.load(path, weights_only=False)  # what the refusal prevented: the payload is real
    assert marker.read_text() == "ran"


def test_licbench_format_rate_points_and_version(tmp_path: Path, small_image) -> None:
    for name, seed, lmbda in (("a.pt", 1, 0.0483), ("b.pt", 2, 0.0018), ("c.pt", 3, 0.0130)):
        # metadata values that pickle as classes (TorchVersion, numpy scalars, paths) are
        # stored as plain types, so the file still loads with weights_only=True
        metadata = {"epoch": seed, "torch": torch.__version__, "loss": np.float32(0.5)}
        model = tiny_model("swint-charm", seed)
        save_checkpoint(tmp_path / name, model, lmbda=lmbda, metadata={**metadata, "dir": tmp_path})
    payload = read_checkpoint(tmp_path / "a.pt")
    assert payload["format"] == CHECKPOINT_FORMAT and payload["format_version"] == 1
    assert (payload["arch"], payload["config"], payload["lmbda"]) == ("swint-charm", "tiny", 0.0483)
    assert payload["metadata"] == {
        "epoch": 1,
        "torch": str(torch.__version__),
        "loss": 0.5,
        "dir": str(tmp_path),
    }
    assert type(payload["metadata"]["torch"]) is str
    assert not any(k.endswith("_quantized_cdf") for k in payload["state_dict"])

    codec = SwinTCharm(ckpt=str(tmp_path))  # config comes from the checkpoints
    assert codec.config == "tiny" and codec.qualities == (1, 2, 3)
    assert [rp.path.name for rp in codec.rate_points] == ["b.pt", "c.pt", "a.pt"]  # by lmbda
    version = codec.version()
    for name in ("a.pt", "b.pt", "c.pt"):
        assert file_sha256(tmp_path / name) in version
    streams = [codec.encode(small_image, q) for q in (1, 3)]
    assert [s[3] for s in streams] == [1, 3]  # the header names the rate point
    fresh = SwinTCharm(ckpt=str(tmp_path))  # decodes from the bytes alone
    for stream in streams:
        assert (fresh.decode(stream) == codec.decode(stream)).all()
    assert codec.model(1) is not codec.model(3)

    save_checkpoint(tmp_path / "c.pt", tiny_model("swint-charm", 9), lmbda=0.0130)
    assert SwinTCharm(ckpt=str(tmp_path)).version() != version  # new weights, new cache key


def test_name_order_without_lmbda(tmp_path: Path) -> None:
    state_dict = tiny_model("swint-charm").state_dict()
    for name in ("q10.pth", "q2.pth", "q1.pth"):
        torch.save({"state_dict": state_dict}, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    names = [rp.path.name for rp in SwinTCharm(config="tiny", ckpt=str(tmp_path)).rate_points]
    assert names == ["q1.pth", "q2.pth", "q10.pth"]
    codec = SwinTCharm(config="tiny", ckpt=str(tmp_path), order="name-desc")
    assert [rp.path.name for rp in codec.rate_points] == ["q10.pth", "q2.pth", "q1.pth"]
    with pytest.raises(CodecSpecError, match="store no lmbda"):
        SwinTCharm(config="tiny", ckpt=str(tmp_path), order="lmbda")


def test_checkpoints_of_another_arch_or_config_are_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "swin.pt", tiny_model("swint-charm"), lmbda=0.01)
    with pytest.raises(CodecSpecError, match="is a 'swint-charm' checkpoint"):
        CCA(ckpt=str(tmp_path / "swin.pt"))
    with pytest.raises(CodecSpecError, match="checkpoints are config 'tiny'"):
        SwinTCharm(ckpt=str(tmp_path / "swin.pt"), config="paper")
    with pytest.raises(CheckpointError, match="is for 'swint-charm', not 'cca'"):
        load_weights(tiny_model("cca"), read_checkpoint(tmp_path / "swin.pt"))
