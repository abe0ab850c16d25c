"""Running ``python -m compressai.utils.eval_model checkpoint`` beside the ``compressai`` codec.

The comparison tests save a model's weights as a checkpoint, start CompressAI's own evaluation
on it in a subprocess (several at once: each is mostly importing torch and compressai) and
compare its numbers with the codec's on the same file and images. The metric helpers and the
tolerances are those of ``test_compressai_eval_model``, where they were measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE
from typing import Any

import numpy as np
import torch
from PIL import Image

from licbench.codecs.learned import own_model

#: eval_model names its per-image files after the checkpoint minus its last 8 characters
SUFFIX = ".pth.tar"


def save_images(folder: Path, images: dict[str, np.ndarray]) -> Path:
    """``images`` as ``folder/NAME.png`` (eval_model reads them in name order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        Image.fromarray(image).save(folder / f"{name}.png")
    return folder


def save_checkpoint(net: torch.nn.Module, path: Path) -> Path:
    """``net``'s weights as a training script saves them before ``update()``: entropy tables
    empty. eval_model loads such a file for every model; a variable-rate model's filled
    hyperprior tables it cannot load (its ``from_state_dict`` does not resize them)."""
    state = own_model.tables_emptied(net.state_dict())
    torch.save({"state_dict": state, "epoch": 1}, path)
    return path


def start(images: Path, arch: str, ckpt: Path, out: Path, *extra: str) -> subprocess.Popen:
    """eval_model on ``images`` with ``ckpt`` as architecture ``arch``, per-image files in
    ``out``; ``extra``: more of its options (``--vbr_quantstep ...``)."""
    assert ckpt.name.endswith(SUFFIX)
    command = [
        sys.executable, "-m", "compressai.utils.eval_model", "checkpoint", str(images),
        "-a", arch, "-p", str(ckpt), "--entropy-coder", "ans", "--per-image", "-d", str(out),
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 600) -> dict[str, list[float]]:
    """The ``results`` of a finished eval_model: metric → one mean per run."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr
    return json.loads(stdout)["results"]  # type: ignore[no-any-return]


def per_image(out: Path, ckpt: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """eval_model's per-image results (of its last run) by image name."""
    run = ckpt.name[: -len(SUFFIX)]
    return {
        name: json.loads((out / f"{name}-{run}-ans.json").read_text())["results"] for name in names
    }
