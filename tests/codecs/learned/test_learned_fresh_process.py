"""A bitstream decodes bit-exactly in a fresh process (one thread there, two here).

This is the cross-process half of CompressAI #279/#309: the decoder recomputes every entropy
parameter from scratch, so any nondeterminism in that path would show up here as a desync
(garbage image) or as last-bit differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import licbench
from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm
from licbench.codecs.learned.checkpoints import save_checkpoint

CHILD = """
import json, sys
import numpy as np
import torch
torch.set_num_threads(1)
from licbench.codecs.learned import codec as learned

for job in json.loads(sys.argv[1]):
    cls = getattr(learned, job["cls"])
    decoded = cls(ckpt=job["ckpt"]).decode(open(job["data"], "rb").read())
    np.save(job["out"], decoded)
"""


def test_fresh_process_cpu_decode_is_bit_exact(tmp_path: Path, small_image, liven) -> None:
    jobs, expected = [], {}
    for cls in (CCA, ConvNeXtCharm, SwinTCharm):
        ckpt = tmp_path / f"{cls.arch}.pt"
        save_checkpoint(ckpt, liven(cls(config="tiny", weights="random").model(1)), lmbda=0.01)
        codec = cls(ckpt=str(ckpt))
        data = codec.encode(small_image, 1)
        (tmp_path / f"{cls.arch}.bin").write_bytes(data)
        expected[cls.arch] = codec.decode(data)
        jobs.append(
            {
                "cls": cls.__name__,
                "ckpt": str(ckpt),
                "data": str(tmp_path / f"{cls.arch}.bin"),
                "out": str(tmp_path / f"{cls.arch}.npy"),
            }
        )
    root = Path(licbench.__file__).resolve().parents[1]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for arch, image in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{arch}.npy"), image, err_msg=arch)
