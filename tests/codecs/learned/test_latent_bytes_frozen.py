"""The learned codecs' bitstreams, reconstructions and training outputs are frozen.

Why: a refactor of the code that computes entropy parameters must not move a single CDF index,
or old bitstreams stop decoding (the slice loop was rewritten once already). The frozen files
(:mod:`tests.codecs.learned.frozen_cases`: 14 cases on one 128×192 image) were recorded in the
``sse41`` numeric setup; their bitstreams equal, byte for byte, those hashed at commit 306f4a4
on an Intel Xeon (AVX-512) and those encoded natively on an AMD EPYC (AVX-512).

What holds where, measured on that AMD EPYC by decoding the frozen bitstreams in each setup of
:mod:`licbench.core.numerics` (sse41, avx2, avx512; one and two threads):

* ``sse41`` (one or two threads): bitstreams and reconstructions exactly the frozen ones, and
  the training outputs bit-equal. This setup runs the same instructions in the same order on any
  x86-64 CPU, so the replay in a fresh process asks for exact bytes on every machine.
* any other setup: bitstreams equal (a different one would still be legal, so not asserted
  here); reconstructions differ in at most 5.4e-5 of the values (0.0054 %), by at most one level
  of 255 (the synthesis transform's last bits cross a rounding boundary). The assertion is the
  guarantee we state: within ±1 on at least 99.9 % of the values. A desynchronised entropy
  decoder (a flipped CDF index) ruins whole blocks, far beyond that.
* training outputs: at most 1.9e-6 apart (two float32 ulps of the largest values, ~13), and the
  rounding of y − μ never flipped. Tolerance: 1e-5 absolute on at least 99.9 % of the elements
  (a flip on another CPU moves one element of y_hat by 1: allowed there, and counted).

State-dict names and shapes are integers and strings: compared exactly (hashed).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from licbench.codecs.learned.bundled import WEIGHTS_DIR
from tests.codecs.learned import frozen_cases

#: the share of values that must be within :data:`LEVELS` of the frozen reconstruction
WITHIN_SHARE = 0.999
LEVELS = 1
#: training outputs: absolute tolerance, on at least WITHIN_SHARE of the elements
TRAINING_ATOL = 1e-5


def _frozen_png(name: str) -> np.ndarray:
    with Image.open(frozen_cases.FROZEN / f"{name}.png") as picture:
        return np.asarray(picture.convert("RGB"))


def _share_within(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> float:
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    return float(np.mean(difference <= tolerance))


CASES = frozen_cases.cases()


@pytest.mark.parametrize("case", CASES, ids=[frozen_cases.case_id(*c) for c in CASES])
def test_frozen_bitstreams_decode_here_within_one_level(case) -> None:
    name = frozen_cases.case_id(*case)
    codec = frozen_cases.make_codec(case[0])
    decoded = codec.decode((frozen_cases.FROZEN / f"{name}.bin").read_bytes())
    frozen = _frozen_png(name)
    assert decoded.shape == frozen.shape
    share = _share_within(decoded, frozen, LEVELS)
    assert share >= WITHIN_SHARE, f"{name}: only {share:.4%} of values within ±{LEVELS}"


def test_every_case_is_frozen() -> None:
    # every rate point of both bundles (as their training.json lists them), and three
    # architectures random and livened
    for name, qualities in frozen_cases.BUNDLED.items():
        record = json.loads((WEIGHTS_DIR / name / "training.json").read_text())
        assert len(qualities) == len(record["rate_points"]) >= 6
    assert len(CASES) == sum(map(len, frozen_cases.BUNDLED.values())) + 6
    for case in CASES:
        name = frozen_cases.case_id(*case)
        assert (frozen_cases.FROZEN / f"{name}.bin").stat().st_size > 0
        assert (frozen_cases.FROZEN / f"{name}.png").exists()


def test_the_recorded_setup_reproduces_every_byte(tmp_path) -> None:
    """In a fresh process in the recording setup: the same bitstreams from the same image, the
    same pixels from the frozen bitstreams, the same training outputs, all exactly."""
    observed = frozen_cases.compute_in_setup(tmp_path)
    assert "SSE4.1" in observed["onednn_isa"] and observed["aten_capability"] == "DEFAULT"
    for case in CASES:
        name = frozen_cases.case_id(*case)
        frozen_bits = (frozen_cases.FROZEN / f"{name}.bin").read_bytes()
        assert (tmp_path / f"{name}.bin").read_bytes() == frozen_bits, name
        with Image.open(tmp_path / f"{name}.png") as picture:
            np.testing.assert_array_equal(np.asarray(picture), _frozen_png(name), err_msg=name)
    again, frozen = np.load(tmp_path / "training.npz"), np.load(frozen_cases.TRAINING)
    assert sorted(again.files) == sorted(frozen.files)
    for key in frozen.files:
        np.testing.assert_array_equal(again[key], frozen[key], err_msg=key)


def test_training_paths_here_within_tolerance() -> None:
    again = frozen_cases.training_outputs(frozen_cases.image())
    frozen = np.load(frozen_cases.TRAINING)
    assert sorted(again) == sorted(frozen.files)
    for key in frozen.files:
        assert again[key].shape == frozen[key].shape and np.isfinite(again[key]).all(), key
        share = _share_within(again[key], frozen[key], TRAINING_ATOL)
        assert share >= WITHIN_SHARE, f"{key}: {share:.4%} within {TRAINING_ATOL}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: arch -> sha256 of the (name, shape) list of the model's and the auxiliary model's state dicts
FROZEN_KEYS: dict[str, tuple[str, str]] = {
    "cca": (
        "2c1f9dd8fdbcba0cee2f57ba943e8b409c830657294ce3b26eb5ee77fbdea653",
        "1f6c67f4f79484f39cd4e855e706b47f11d1d4f9947188b206327ab52a497075",
    ),
    "convnext-charm": (
        "fd1b4df045d8d4f6612cc2b583f23be496f7fdb90a36636c18993dd984477698",
        "517ebc097f261db46c908321f3ac7bdb595c75993bc9928a5592b9a1a19298d8",
    ),
    "swint-charm": (
        "0913377a77509c34805367718fed8f22826c20b90618d84a07f1b8156ccee96a",
        "4d1646203b453a7c3260ea644b314deafe8ed637ee4e5b8792d553f81fc3813e",
    ),
}


@pytest.mark.parametrize("arch", sorted(FROZEN_KEYS))
def test_state_dict_names_and_shapes_are_unchanged(arch) -> None:
    """Checkpoints (ours, the official CCA ones, training states) load by these names."""
    from licbench.codecs.learned.cca_loss import AuxiliarySliceModel
    from licbench.codecs.learned.configs import create_model

    model = create_model(arch, "tiny")
    auxiliary = AuxiliarySliceModel(model.latent)
    listed = [
        repr([(k, tuple(v.shape)) for k, v in m.state_dict().items()]).encode()
        for m in (model, auxiliary)
    ]
    assert tuple(_digest(d) for d in listed) == FROZEN_KEYS[arch]
