"""The frozen learned-codec cases: what is computed, where the committed files are, how to remake.

The cases, on one synthetic 128×192 image (``frozen/image.png``): the bundled ``cca-tiny``
and ``convnext-charm-tiny`` at every rate point, and ``weights=random,seed=0`` tiny models of
the three architectures, as initialised and "livened" (g_a rescaled so that y is not almost zero
and the rANS coder has real work). For each, ``frozen/<case>@q<N>.bin`` is the bitstream and
``.png`` its decoded image; ``frozen/training.npz`` holds the float32 outputs of the training
paths (the latent codec's ``forward`` without noise, and the CCA auxiliary model).

They were recorded in the ``sse41`` numeric setup with one thread (:mod:`licbench.core.numerics`:
oneDNN's SSE4.1 kernels, ATen's portable loops, MKL's compatible path), the setup that every
x86-64 CPU runs alike, so the test that replays it in a fresh process can ask for exact bytes
everywhere. Remake them (after an intended change, said in the commit) with::

    python -m tests.codecs.learned.frozen_cases record

which runs :func:`compute` in that setup and writes the files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from licbench.codecs.learned.bundled import bundled_checkpoints

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "frozen"
TRAINING = FROZEN / "training.npz"
ROOT = HERE.parents[2]
#: the setup the files were recorded in, and the one the exact replay runs in
RECORDED_SETUP = "sse41"

ARCHS = ("cca", "convnext-charm", "swint-charm")
#: every rate point of each bundle, counted from the shipped checkpoints (q1.pt, q2.pt, ...)
BUNDLED = {
    name: tuple(range(1, len(bundled_checkpoints(name)) + 1))
    for name in ("cca-tiny", "convnext-charm-tiny")
}


def cases() -> list[tuple[str, int]]:
    """Every (case, quality), in a fixed order."""
    out = [(name, q) for name, qualities in BUNDLED.items() for q in qualities]
    out += [(f"{arch}:{mode}", 1) for arch in ARCHS for mode in ("random", "livened")]
    return out


def case_id(case: str, quality: int) -> str:
    return f"{case.replace(':', '-')}@q{quality}"


def image() -> np.ndarray:
    """The frozen input: read from the committed PNG, so no float library makes it anew."""
    from PIL import Image

    with Image.open(FROZEN / "image.png") as picture:
        return np.asarray(picture.convert("RGB"))


def make_codec(case: str) -> Any:
    from licbench.codecs import create_codec
    from licbench.codecs.learned import CCA, ConvNeXtCharm, SwinTCharm
    from tests.codecs.learned.conftest import liven_model

    if case in BUNDLED:
        return create_codec(case)
    arch, _, mode = case.partition(":")
    cls = {"cca": CCA, "convnext-charm": ConvNeXtCharm, "swint-charm": SwinTCharm}[arch]
    codec = cls(config="tiny", weights="random", seed="0")
    if mode == "livened":
        liven_model(codec.model(1))
    return codec


def training_outputs(picture: np.ndarray) -> dict[str, np.ndarray]:
    """The float32 outputs of the training paths on seeded random tiny models."""
    import torch

    from licbench.codecs.learned.cca_loss import AuxiliarySliceModel
    from licbench.codecs.learned.configs import create_model
    from licbench.codecs.learned.model import pad_image
    from tests.codecs.learned.conftest import liven_model, to_tensor

    out = {}
    x = pad_image(to_tensor(picture))
    for arch in ARCHS:
        torch.manual_seed(0)
        model = liven_model(create_model(arch, "tiny").eval())
        auxiliary = AuxiliarySliceModel(model.latent).eval()
        with torch.no_grad():
            y = model.g_a(x)
            y_hat, likelihoods, (means, scales) = model.latent(y, noise=False, return_hyper=True)
            aux = auxiliary(y, means, scales)
        for name, t in (("y_hat", y_hat), ("y", likelihoods["y"]), ("aux", aux)):
            out[f"{arch}:{name}"] = t.contiguous().numpy().copy()
    return out


def compute(folder: Path) -> None:
    """Encode the image in every case, decode the *frozen* bitstream, run the training paths;
    write ``<id>.bin``, ``<id>.png`` (decoded frozen bits, or this encoding's bits when none is
    frozen yet) and ``training.npz`` into ``folder``."""
    from PIL import Image

    picture = image()
    folder.mkdir(parents=True, exist_ok=True)
    for case, quality in cases():
        codec = make_codec(case)
        name = case_id(case, quality)
        data = codec.encode(picture, quality)
        (folder / f"{name}.bin").write_bytes(data)
        frozen = FROZEN / f"{name}.bin"
        decoded = codec.decode(frozen.read_bytes() if frozen.exists() else data)
        Image.fromarray(decoded).save(folder / f"{name}.png", optimize=True)
    np.savez_compressed(folder / "training.npz", **training_outputs(picture))


def compute_in_setup(folder: Path, setup: str = RECORDED_SETUP, threads: int = 1) -> dict:
    """:func:`compute` in a fresh process in ``setup``; returns what that process observed of
    its numerics (oneDNN's ISA, ATen's capability), so a caller can see the setup took hold."""
    from licbench.core.numerics import parse_setup

    env = parse_setup(setup, threads=threads).environment()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tests.codecs.learned.frozen_cases", "compute", str(folder)]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    import torch

    from licbench.core.numerics import observe

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if argv[:1] == ["compute"]:
        compute(Path(argv[1]))
        print(json.dumps(observe()))
        return 0
    if argv[:1] == ["record"]:
        if not (FROZEN / "image.png").exists():
            from PIL import Image

            from tests.codecs.learned.conftest import make_image

            FROZEN.mkdir(exist_ok=True)
            Image.fromarray(make_image(128, 192, 11)).save(FROZEN / "image.png", optimize=True)
        for stale in FROZEN.glob("*.bin"):
            stale.unlink()  # recorded afresh: each .png then decodes this recording's bits
        print(compute_in_setup(FROZEN))
        return 0
    print("usage: python -m tests.codecs.learned.frozen_cases record | compute FOLDER")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
