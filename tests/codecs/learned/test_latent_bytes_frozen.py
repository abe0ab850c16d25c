"""The bitstreams and decoded pixels of the learned codecs are frozen, byte for byte.

Why: the latent codec's slice loop was rewritten (one routine with support policies instead of
three hand-written loops); a refactor of the code that computes entropy parameters must not move
a single CDF index, or old bitstreams stop decoding. The hashes below were recorded before that
rewrite (commit 306f4a4) on this machine's torch/compressai, with a 128×192 test image: bundled
``cca-tiny`` and ``convnext-charm-tiny`` at every rate point, and ``weights=random,seed=0`` tiny
models of all three architectures, both as initialised and "livened" (g_a rescaled so that y is
not almost zero and the rANS coder has real work).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from licbench.codecs import create_codec
from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm

from .conftest import liven_model, make_image

RANDOM = {"cca": CCA, "convnext-charm": ConvNeXtCharm, "swint-charm": SwinTCharm}

#: (case, quality) -> (sha256 of the bitstream, sha256 of the decoded pixels)
FROZEN: dict[tuple[str, int], tuple[str, str]] = {
    ("cca-tiny", 1): (
        "8158dbd81205bd1145d8f41adee779308f67f90cae35e8014c300345d0ab568f",
        "7e9fca1532fe30c6c9a3d50d469ea727b2da0dcad71ee24b3bfc38058410aa2f",
    ),
    ("cca-tiny", 2): (
        "4b43615513775645ebeb960b6feef1b28fcac7cbcd1c4c3ac94baf9a2bf63c3b",
        "fb452371c2c3e249aab0faa801b100d770ca9b1e6bb676218e8b37277a6ab12b",
    ),
    ("cca-tiny", 3): (
        "918076ead1ea6636e3332addd5fd44dc432dddbf4a501378989f8e4deb5d3bc8",
        "1c326648d5a753b8cf8d7563d236f79355ce0a6fd3b513c0d6fe1563dcf25405",
    ),
    ("cca-tiny", 4): (
        "2b48e47f800c42fd2b7f1cae150a5d1602e421831b848984533ce6f01dc142b0",
        "9e18689b60fa852e022992a8836afa745915c64b617f11e054b48dc0c12c239e",
    ),
    ("cca:livened", 1): (
        "fda52223d584ef266f620d72f99e052378f4514f82d3f5ab4d3a2ca405399981",
        "553b82a31b84c38dc4e6fb09b21c6eb7c9ee2b3ac197b29c60dec837a4e60ee9",
    ),
    ("cca:random", 1): (
        "0a4844333c53d017f7ee15c54aa5ca0af5b98138e24a8640f24ca389c81e7314",
        "b70fa7ca84bb73c5ba1e23e55ffc8db6a7ad3695f7f6a8f9d8707ec44f8d5452",
    ),
    ("convnext-charm-tiny", 1): (
        "bde955cbd80d34b4bffaee148985937402681b51fafefa0573b66d2d954e71c1",
        "1e9fcb236deec1ba5bf70bcba0c47b074cc209e876aaf7adccf0a567089edbc1",
    ),
    ("convnext-charm-tiny", 2): (
        "2e0ade75ea82cfd15ded28dc49f98d9fb5c88056b9cde90eb6ad6b6d46aafcf7",
        "86b2e387abea84a374b12ef7007fe9ae819c43a80a13aefcbcc89cf42fa8c823",
    ),
    ("convnext-charm-tiny", 3): (
        "348eafc80b0c7b5bc886a02669752e0e961f61447aa48086b3e28506c447e57e",
        "616863b1ac3738155d8ca13a9c1fb79ccb7a0c59f46e977eb4587fe881ba19eb",
    ),
    ("convnext-charm-tiny", 4): (
        "d5e65705a21b684067470fd4852cbedfae4d858dc6cae8386a06c3e9c61e69c0",
        "6e43016c51897871251f253a1bafa91a6db22ebbf07278f95b15fa361b94c309",
    ),
    ("convnext-charm:livened", 1): (
        "e1152e59bba330e115728b30e4997ecf40693f44149a7cce290a3f7eb5fc56e7",
        "f09a1d7babc0ca791e3e2cb215cc46d61e45dbc1481180b2ba2f96a1ebf1199a",
    ),
    ("convnext-charm:random", 1): (
        "707db6bc348ab197df805f786be9bbf78057cffad9fb6e85c7fadf36052caaed",
        "95d4488ec74519d55225bc6c865c05f1cd1f6af4228b18f7c68ae33e661a13b7",
    ),
    ("swint-charm:livened", 1): (
        "dde49d82e63b5df84f3c527f4711e7dc762b7f792e16786665bba3fbd8365010",
        "84ae0219b239f7e8f667c0c2d2f68b38023f521170814387aab3e30352e2df09",
    ),
    ("swint-charm:random", 1): (
        "076445278e891b040798c097394e4f01d14bf8dc29c071713c546a2f9f4493e3",
        "58857953910bee2a7c0ff714fdc8ba1f7c7f68a04ae1a96edb04cd9c25fb1f33",
    ),
}


def _image() -> np.ndarray:
    return make_image(128, 192, 11)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _codec(case: str):
    if case.endswith("-tiny"):
        return create_codec(case)
    arch, _, mode = case.partition(":")
    codec = RANDOM[arch](config="tiny", weights="random", seed="0")
    if mode == "livened":
        liven_model(codec.model(1))
    return codec


def encode_all() -> dict[tuple[str, int], tuple[str, str]]:
    """Every case's (bitstream hash, decoded-pixels hash); also used to record ``FROZEN``."""
    image, out = _image(), {}
    for case in ("cca-tiny", "convnext-charm-tiny"):
        codec = _codec(case)
        for q in codec.qualities:
            data = codec.encode(image, q)
            out[case, q] = (_digest(data), _digest(codec.decode(data).tobytes()))
    for arch in RANDOM:
        for mode in ("random", "livened"):
            codec = _codec(f"{arch}:{mode}")
            data = codec.encode(image, 1)
            out[f"{arch}:{mode}", 1] = (_digest(data), _digest(codec.decode(data).tobytes()))
    return out


@pytest.mark.parametrize("key", sorted(FROZEN), ids=lambda k: f"{k[0]}@q{k[1]}")
def test_bitstream_and_pixels_are_unchanged(key, encoded) -> None:
    assert encoded[key] == FROZEN[key]


def test_every_case_is_frozen(encoded) -> None:
    assert set(encoded) == set(FROZEN) and len(FROZEN) == 14


@pytest.fixture(scope="module")
def encoded() -> dict[tuple[str, int], tuple[str, str]]:
    return encode_all()


def training_paths() -> dict[str, str]:
    """Hashes of the float32 outputs of the training paths: the latent codec's ``forward``
    (without noise) and the CCA auxiliary model, both on seeded random tiny models."""
    import torch

    from licbench.codecs.learned.cca_loss import AuxiliarySliceModel
    from licbench.codecs.learned.configs import create_model
    from licbench.codecs.learned.model import pad_image

    from .conftest import to_tensor

    out = {}
    x = pad_image(to_tensor(_image()))
    for arch in RANDOM:
        torch.manual_seed(0)
        model = liven_model(create_model(arch, "tiny").eval())
        auxiliary = AuxiliarySliceModel(model.latent).eval()
        with torch.no_grad():
            y = model.g_a(x)
            y_hat, likelihoods, (means, scales) = model.latent(y, noise=False, return_hyper=True)
            aux = auxiliary(y, means, scales)
        for name, t in (("y_hat", y_hat), ("y", likelihoods["y"]), ("aux", aux)):
            out[f"{arch}:{name}"] = _digest(t.contiguous().numpy().tobytes())
    return out


#: name -> sha256 of the tensor's bytes
FROZEN_TRAINING: dict[str, str] = {
    "cca:aux": "4ab3f528961aaa49261000822db349d77176707c2b05f364f40a967424a54f41",
    "cca:y": "7fabc6d04478653468fe9f09f32fe2b3e683c1699b0bc6a887a0f4de63c7a02f",
    "cca:y_hat": "a9515934b3f14b185335354ac05b217bc2289aa47d55c63f68fa7bfb4d777528",
    "convnext-charm:aux": "8b6b9d234b44335d28c7f2b871d7b36d92d185e45391c614d3d8cfcd11d56120",
    "convnext-charm:y": "2217a8cf35b4ad1b285cbccce40ac5de984a8ffb75547e816aa759cc817d9faf",
    "convnext-charm:y_hat": "2c7acfcf98cd56fe354ee0755eafe058225f684c9c171c6922117ee199c19527",
    "swint-charm:aux": "606d59e6ca7552524d095ebcfc01f428dc5d7a759043ff2b9d98338016c95837",
    "swint-charm:y": "ac6390056ef6d46c9cd15114bf7139a83c6ce15fd9605712cdaee409ab467feb",
    "swint-charm:y_hat": "e542cec1362197302546852954fb6232ce4e8909161fd8e848e4d7267235fc85",
}


def test_training_paths_are_unchanged() -> None:
    assert training_paths() == FROZEN_TRAINING


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
