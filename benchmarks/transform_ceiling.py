"""What PSNR a learned model's transforms can reach at all, whatever λ: g_s(g_a(x)) unquantised.

    python benchmarks/transform_ceiling.py IMAGES CKPT [CKPT ...] [--pca 48,80,128]

For each checkpoint (licbench format; its architecture and configuration are read from it) the
mean PSNR-RGB over the images of ``g_s(g_a(x))`` with the latent left continuous, and with it
rounded (no entropy model, no mean subtraction): a codec built on these transforms cannot beat
the first figure at any rate. Raising λ only buys a finer latent; once the rate is high the
curve flattens at this ceiling, which is why the tiny configurations' curves were short
(issue 21 item 4: cca-tiny's top rate point, 0.58 bpp on the Kodak sample, 29.77 dB, against a
ceiling of 30.1 dB).

``--pca K,...``: the linear bound for a latent of K channels at 1/16 of the resolution, for
comparison: the best K of the 768 dimensions of each 16×16 RGB block (principal components of
the images' own blocks, an optimistic bound since they are fitted to the test images), PSNR of
the projection. A nonlinear transform can beat it; a tiny one does not by much.

Images: any folder of PNG/JPEG files (``licbench/datasets/sample`` is the bundled Kodak sample).
One thread, CPU, float32.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licbench.codecs.learned.checkpoints import load_weights, read_checkpoint
from licbench.codecs.learned.configs import create_model

BLOCK = 16  # g_a's downsampling factor in every architecture here


def read_images(folder: Path) -> list[np.ndarray]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise SystemExit(f"{folder}: no PNG or JPEG images")
    images = []
    for path in files:
        with Image.open(path) as picture:
            images.append(np.asarray(picture.convert("RGB")))
    return images


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def transform_ceiling(checkpoint: Path, images: list[np.ndarray]) -> dict[str, float]:
    """Mean PSNR of g_s(g_a(x)), latent continuous and rounded, output rounded to 8 bits."""
    payload = read_checkpoint(checkpoint)
    model = create_model(payload["arch"], payload["config"])
    load_weights(model, payload, source=str(checkpoint))
    model.eval()
    found: dict[str, list[float]] = {"continuous": [], "rounded": []}
    for image in images:
        h, w = (s // BLOCK * BLOCK for s in image.shape[:2])
        crop = image[:h, :w]
        x = torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255.0
        with torch.no_grad():
            y = model.g_a(x)
            for mode, latent in (("continuous", y), ("rounded", torch.round(y))):
                x_hat = model.g_s(latent).clamp(0, 1)
                pixels = (x_hat[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
                found[mode].append(psnr(crop, pixels))
    return {mode: float(np.mean(values)) for mode, values in found.items()}


def pca_bound(images: list[np.ndarray], channels: list[int]) -> dict[int, float]:
    """PSNR of each image set's 16×16 blocks projected on their top-K principal components."""
    blocks = []
    for image in images:
        h, w = (s // BLOCK for s in image.shape[:2])
        tiles = image[: h * BLOCK, : w * BLOCK].astype(np.float64)
        tiles = tiles.reshape(h, BLOCK, w, BLOCK, 3).transpose(0, 2, 1, 3, 4)
        blocks.append(tiles.reshape(-1, BLOCK * BLOCK * 3))
    data = np.concatenate(blocks)
    centred = data - data.mean(axis=0)
    _, _, basis = np.linalg.svd(centred, full_matrices=False)
    out = {}
    for k in channels:
        residual = centred - centred @ basis[:k].T @ basis[:k]
        out[k] = float(10 * np.log10(255.0**2 / np.mean(residual**2)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="*")
    parser.add_argument("--pca", default="", help="latent channel counts, e.g. 48,80,128")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = read_images(args.images)
    print(f"{len(images)} images from {args.images}")
    for checkpoint in args.checkpoints:
        payload = read_checkpoint(checkpoint)
        ceiling = transform_ceiling(checkpoint, images)
        print(
            f"{checkpoint}: {payload['arch']}/{payload['config']} λ={payload['lmbda']}: "
            f"g_s(g_a(x)) {ceiling['continuous']:.2f} dB, latent rounded "
            f"{ceiling['rounded']:.2f} dB"
        )
    if args.pca:
        channels = [int(v) for v in args.pca.split(",")]
        for k, value in pca_bound(images, channels).items():
            print(f"PCA bound, {k} channels per {BLOCK}×{BLOCK} block: {value:.2f} dB")


if __name__ == "__main__":
    main()
