"""Bytes of the ``compressai`` codec decode in a fresh process from the bytes and the spec alone.

The child process also sees a user's package installed with a ``licbench.codecs`` entry point
(``tiny-net``, a :class:`CompressAICodec` subclass with the user's model and checkpoint as
defaults): the plugin appears in the codec table and decodes the bytes that the equivalent
spec made, since both name the same model and weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import licbench
from licbench.codecs import create_codec
from tests.codecs.learned.compressai_fixtures import liven, write_user_package
from tests.conftest import synthetic_image

CHILD = """
import json, sys
import numpy as np
from licbench.codecs import codec_info, create_codec, list_codecs

assert list_codecs("tiny*") == ["tiny-net"], list_codecs()
info = codec_info("tiny-net")
assert info.availability.ok and info.origin == "plugin tinypkg", info
for job in json.loads(sys.argv[1]):
    decoded = create_codec(job["spec"]).decode(open(job["data"], "rb").read())
    np.save(job["out"], decoded)
"""


def test_decode_in_a_fresh_process_equals_in_process(tmp_path: Path) -> None:
    site = write_user_package(tmp_path / "site", ckpt=tmp_path / "tiny.pt")
    sys.path.insert(0, str(site))
    try:
        tiny = create_codec("compressai:model=tinypkg.models:TinyNet,weights=random,seed=2")
        torch.save({"model": tiny.model(1).state_dict()}, tmp_path / "tiny.pt")
        own_spec = f"compressai:model=tinypkg.models:TinyNet,ckpt={tmp_path / 'tiny.pt'}"
        own = create_codec(own_spec)
        own.model(1)
    finally:
        sys.path.remove(str(site))
    image = synthetic_image(45, 70, 8)
    zoo_net = create_codec("compressai:model=bmshj2018-factorized,weights=random").model(1)
    torch.save(liven(zoo_net, image).state_dict(), tmp_path / "zoo.pt")
    zoo_spec = f"compressai:model=bmshj2018-factorized,ckpt={tmp_path / 'zoo.pt'}"
    # name: (spec that encodes, spec that decodes in the child)
    cases = {
        "zoo": (zoo_spec, zoo_spec),
        "own": (own_spec, own_spec),
        "plugin": (own_spec, "tiny-net"),
    }
    jobs, expected = [], {}
    for name, (encoder_spec, decoder_spec) in cases.items():
        codec = own if encoder_spec == own_spec else create_codec(encoder_spec)
        data = codec.encode(image, 1)
        (tmp_path / f"{name}.bin").write_bytes(data)
        expected[name] = codec.decode(data)
        jobs.append(
            {"spec": decoder_spec, "data": str(tmp_path / f"{name}.bin"),
             "out": str(tmp_path / f"{name}.npy")}
        )  # fmt: skip
    assert np.unique(expected["zoo"]).size > 100
    root = Path(licbench.__file__).resolve().parents[1]
    path = os.pathsep.join([str(site), str(root), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(jobs)],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for name, image_in_process in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), image_in_process, name)
