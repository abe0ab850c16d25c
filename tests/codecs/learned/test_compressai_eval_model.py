"""The ``compressai`` codec gives ``python -m compressai.utils.eval_model checkpoint``'s numbers.

Seeded random weights (livened, so reconstructions use all 256 levels) are saved as plain
checkpoints; CompressAI's own evaluation runs on them in a subprocess, with per-image results,
and licbench's codec with ``ckpt=`` on the same files and images. What must hold:

* bytes: licbench's bytes minus the container's header and lengths are exactly the strings
  eval_model counts (its bpp × pixels / 8);
* reconstruction: eval_model's own metric function, applied to licbench's decoded 8-bit image,
  gives eval_model's PSNR and MS-SSIM (so the two reconstructions are the same);
* licbench's metrics: MS-SSIM to 1e-6. PSNR to 1e-5: eval_model computes PSNR in float32
  (``10·log10`` of a float32 MSE), licbench in float64; the two differ by its rounding, about
  2e-6 dB here.

The images are 176×168 and 168×200: MS-SSIM needs sides of at least 161 pixels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from subprocess import PIPE

import numpy as np
import pytest
import torch
from PIL import Image

from licbench.codecs import create_codec
from licbench.codecs.learned import container
from tests.codecs.learned.compressai_fixtures import liven
from tests.codecs.learned.eval_model_runs import check_reconstruction, one_thread
from tests.conftest import synthetic_image

ARCHS = ("bmshj2018-factorized", "mbt2018-mean")
IMAGES = {"a": (176, 168, 3), "b": (168, 200, 4)}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("eval-model")
    (root / "images").mkdir()
    images = {}
    for name, (h, w, seed) in IMAGES.items():
        images[name] = synthetic_image(h, w, seed)
        Image.fromarray(images[name]).save(root / "images" / f"{name}.png")
    running = {}
    for arch in ARCHS:
        net = create_codec(f"compressai:model={arch},weights=random,seed=3").model(1)
        liven(net, images["a"])
        ckpt = root / f"{arch}.pth.tar"
        torch.save({"state_dict": net.state_dict(), "epoch": 1}, ckpt)
        command = [
            sys.executable, "-m", "compressai.utils.eval_model", "checkpoint",
            str(root / "images"), "-a", arch, "-p", str(ckpt),
            "--entropy-coder", "ans", "--per-image", "-d", str(root / f"out-{arch}"),
        ]  # fmt: skip
        # both at once: each is mostly importing torch and compressai
        running[arch] = (ckpt, subprocess.Popen(command, stdout=PIPE, stderr=PIPE, text=True))
    results = {}
    for arch, (ckpt, process) in running.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        per_image = {
            name: json.loads((root / f"out-{arch}" / f"{name}-{arch}-ans.json").read_text())
            for name in IMAGES
        }
        results[arch] = {
            "ckpt": ckpt,
            "summary": json.loads(stdout),
            "per_image": {name: data["results"] for name, data in per_image.items()},
        }
    return {"images": images, "results": results}


@pytest.mark.parametrize("arch", ARCHS)
def test_numbers_equal_eval_model(setup: dict, arch: str) -> None:
    result = setup["results"][arch]
    codec = create_codec(f"compressai:model={arch},ckpt={result['ckpt']}")
    mean: dict[str, list[float]] = {"bpp": [], "psnr-rgb": [], "ms-ssim-rgb": []}
    for name, image in setup["images"].items():
        theirs = result["per_image"][name]
        pixels = image.shape[0] * image.shape[1]
        with one_thread():  # eval_model's setting: the same numeric setup, the same pixels
            data = codec.encode(image, 1)
            decoded = codec.decode(data)
        payload = len(data) - container.overhead(data)
        assert payload * 8 / pixels == theirs["bpp"]
        assert 0 < container.overhead(data) < 60
        ours = check_reconstruction(image, decoded, theirs)
        mean["bpp"].append(payload * 8 / pixels)
        mean["psnr-rgb"].append(ours["psnr-rgb"])
        mean["ms-ssim-rgb"].append(ours["ms-ssim-rgb"])
    for key, values in mean.items():
        expected = result["summary"]["results"][key][0]
        tolerance = 1e-5 if key == "psnr-rgb" else 1e-6
        assert float(np.mean(values)) == pytest.approx(expected, abs=tolerance)
