"""Files that are not checkpoints get a message saying so, naming the file (issue 13, item 9).

torch.load's own errors on such files are internal ("list index out of range" for a text file, a
C++ assertion for a zip archive); licbench recognises the formats torch.save writes first.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from licbench.codecs import create_codec
from licbench.codecs.base import CodecSpecError
from licbench.codecs.learned.checkpoints import (
    CheckpointError,
    discover_rate_points,
    not_a_checkpoint,
    read_checkpoint,
)


def _text(path: Path) -> Path:
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/bin/sh\n")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a tensor in sight")
    return path


def _pickle(path: Path) -> Path:
    path.write_bytes(pickle.dumps({"state_dict": [1, 2, 3]}, protocol=4))
    return path


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 4)
    return path


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_text, "it is a text file, not a zip archive or a pickle as torch.save writes"),
        (_empty, "the file is empty"),
        (_zip, "a zip archive, but not one torch.save wrote: it has no data.pkl"),
        (_pickle, "a Python pickle, but not one torch.save wrote: it lacks torch's magic number"),
        (_binary, "neither a zip archive nor a pickle, the formats torch.save writes"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_named_and_explained(tmp_path, make, why):
    path = make(tmp_path / "model.pt")
    assert not_a_checkpoint(path) == why
    with pytest.raises(CheckpointError) as caught:
        read_checkpoint(path)
    assert str(caught.value) == f"{path} is not a PyTorch checkpoint ({why})"
    with pytest.raises(CheckpointError, match="is not a PyTorch checkpoint"):
        discover_rate_points(path)


def test_etc_passwd_as_ckpt_is_a_spec_error_that_says_so():
    passwd = Path("/etc/passwd")
    if not passwd.is_file():
        pytest.skip("no /etc/passwd here")
    with pytest.raises(CodecSpecError) as caught:
        create_codec("cca:config=tiny,ckpt=/etc/passwd")
    assert str(caught.value) == (
        "cca: /etc/passwd is not a PyTorch checkpoint (it is a text file, not a zip archive or "
        "a pickle as torch.save writes)"
    )


def test_a_folder_with_one_bad_file_names_that_file(tmp_path):
    torch.save({"state_dict": {"w": torch.zeros(2)}, "lmbda": 0.01}, tmp_path / "q1.pt")
    _empty(tmp_path / "q2.pt")
    with pytest.raises(CheckpointError, match=r"q2\.pt is not a PyTorch checkpoint \(the file"):
        discover_rate_points(tmp_path)


def test_a_torch_file_holding_no_dict_is_not_a_model_checkpoint(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(1), 2], path)
    with pytest.raises(CheckpointError) as caught:
        discover_rate_points(path)
    assert str(caught.value) == (
        f"{path} is not a PyTorch checkpoint of a model (it holds a list, not a dict of tensors "
        "or a dict wrapping a state dict)"
    )


@pytest.mark.parametrize("zip_format", [True, False])
def test_both_formats_torch_writes_still_load_with_weights_only(tmp_path, zip_format):
    path = tmp_path / "ok.pt"
    payload = {"lmbda": 0.0067, "state_dict": {"w": torch.arange(3.0)}}
    torch.save(payload, path, _use_new_zipfile_serialization=zip_format)
    assert not_a_checkpoint(path) is None
    loaded = read_checkpoint(path)
    assert loaded["lmbda"] == 0.0067
    assert torch.equal(loaded["state_dict"]["w"], torch.tensor([0.0, 1.0, 2.0]))
    (point,) = discover_rate_points(path)
    assert (point.quality, point.lmbda) == (1, 0.0067)


def test_a_missing_file_is_still_reported_as_unreadable(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        read_checkpoint(tmp_path / "gone.pt")
