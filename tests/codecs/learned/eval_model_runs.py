"""Running ``python -m compressai.utils.eval_model checkpoint`` beside the ``compressai`` codec.

The comparison tests save a model's weights as a checkpoint, start CompressAI's own evaluation
on it in a subprocess (several at once: each is mostly importing torch and compressai) and
compare its numbers with the codec's on the same file and images.

What the comparison relies on (measured on seeded random checkpoints, livened):

* bytes: licbench's bytes minus the container's header and lengths are exactly the strings
  eval_model counts (its bpp × pixels / 8);
* reconstruction: eval_model's own metric function, applied to licbench's decoded 8-bit image,
  gives eval_model's PSNR and MS-SSIM (so the two reconstructions are the same), under
  eval_model's numeric setup (:func:`one_thread`);
* licbench's metrics: MS-SSIM to 1e-6. PSNR to 1e-5: eval_model computes PSNR in float32
  (``10·log10`` of a float32 MSE), licbench in float64; the two differ by its rounding, about
  2e-6 dB.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from licbench.codecs.learned import own_model
from licbench.metrics.ms_ssim import ms_ssim_rgb
from licbench.metrics.psnr import psnr_rgb

#: eval_model names its per-image files after the checkpoint minus its last 8 characters
SUFFIX = ".pth.tar"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """eval_model's numeric setup (one intra-op thread) within, this process's restored after.

    A float32 sum's order depends on the thread count (and on the CPU's vector width), so the
    same pixels give PSNRs a few 1e-6 dB apart under another setup; under the same one they
    are equal, which is what the comparisons rely on.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def eval_model_metrics(original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """CompressAI eval_model's own metric function on two 8-bit images."""
    with one_thread():  # importing eval_model sets one thread; its float32 sums run on one
        from compressai.utils.eval_model.__main__ import compute_metrics

        def as_tensor(image: np.ndarray) -> torch.Tensor:
            planar = np.ascontiguousarray(image.transpose(2, 0, 1))
            return torch.from_numpy(planar).float()[None] / 255

        return compute_metrics(as_tensor(original), as_tensor(decoded), 255)


def check_reconstruction(
    image: np.ndarray, decoded: np.ndarray, theirs: dict[str, float]
) -> dict[str, float]:
    """Assert that licbench's ``decoded`` is eval_model's reconstruction of ``image`` (whose
    per-image results are ``theirs``); returns licbench's PSNR and MS-SSIM of it."""
    again = eval_model_metrics(image, decoded)
    assert again["psnr-rgb"] == pytest.approx(theirs["psnr-rgb"], abs=1e-6)
    assert again["ms-ssim-rgb"] == pytest.approx(theirs["ms-ssim-rgb"], abs=1e-6)
    ours = {"psnr-rgb": psnr_rgb(image, decoded), "ms-ssim-rgb": ms_ssim_rgb(image, decoded)}
    assert ours["psnr-rgb"] == pytest.approx(theirs["psnr-rgb"], abs=1e-5)
    assert ours["ms-ssim-rgb"] == pytest.approx(theirs["ms-ssim-rgb"], abs=1e-6)
    assert np.unique(decoded).size > 200  # a real test: not a few saturated levels
    return ours


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
