"""Which PSNR did CompressAI's published VTM curve measure? VTM's decodes scored two ways.

    python benchmarks/vtm_psnr_protocols.py KODAK_DIR --qps 32 [--images kodim01.png,...] \\
        [--json out.json]

licbench's `vtm` reproduces CompressAI's published bpp to 0.1% at every QP, but its PSNR-RGB is
lower, more so at high rates (-0.05 dB at QP 47, -1.0 dB at QP 22). The 8-bit YCbCr round trip
that both make, truncating each way, cannot exceed 43.7 dB on Kodak, yet the published curve
reaches 46.6 dB at QP 12: it cannot be the PSNR of the original PNG against the 8-bit RGB
reconstruction. Each image is coded once through licbench's `vtm` and its decode scored as:

* ``licbench``: the original RGB PNG against the 8-bit RGB reconstruction (YCbCr -> RGB,
  truncated), what licbench (and CompressAI's bench today) measure for every codec;
* ``ycbcr-input``: the float RGB of the 8-bit YCbCr the encoder was given against the float RGB of
  the decoded YCbCr (no 8-bit rounding): the PSNR of VTM's own coding, the conversion loss left
  out, as the ``arr``/``rec_arr`` pair CompressAI's VTM code still computes (and no longer
  uses).

It prints, per QP, the mean bpp and the two mean PSNRs beside the published point.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

PROTOCOLS = ("licbench", "ycbcr-input")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kodak", type=Path)
    parser.add_argument("--qps", default="32")
    parser.add_argument("--images", default="", help="comma-separated names (default: all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import numpy as np
    from PIL import Image

    import licbench
    from licbench.codecs import create_codec
    from licbench.codecs.external import pictures
    from licbench.codecs.external.tools import run
    from licbench.core import colour
    from licbench.metrics.psnr import psnr_rgb

    codec = create_codec("vtm")
    names = args.images.split(",") if args.images else None
    paths = sorted(p for p in args.kodak.glob("kodim*.png") if not names or p.name in names)
    published = licbench.load_reference("compressai-kodak-vtm")["results"]

    def float_rgb(planes: list) -> np.ndarray:
        return colour.ycbcr_to_rgb(np.stack([colour.dequantize(p, 8) for p in planes]))

    rows = []
    for qp in (int(q) for q in args.qps.split(",")):
        for path in paths:
            with Image.open(path) as image:
                original = np.asarray(image.convert("RGB"))
            height, width = original.shape[:2]
            data = codec.encode(original, 63 - qp)
            with tempfile.TemporaryDirectory() as tmp:
                bits, out = Path(tmp) / "b.bin", Path(tmp) / "d.yuv"
                bits.write_bytes(data[4:])  # without licbench's 4-byte size prefix
                run(codec.decode_argv(bits, out, width, height), timeout=600, cwd=tmp)
                decoded = pictures.read_yuv(out, codec.yuv, width, height)
            given = pictures.rgb_to_planes(original, codec.yuv)
            mse = float(np.mean((float_rgb(given) - float_rgb(decoded)) ** 2))
            row = {
                "image": path.name,
                "qp": qp,
                "bpp": 8 * (len(data) - 4) / (width * height),
                "licbench": psnr_rgb(
                    original, pictures.planes_to_rgb(decoded, codec.yuv, width, height)
                ),
                "ycbcr-input": 10 * math.log10(1.0 / mse),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        chosen = [r for r in rows if r["qp"] == qp]
        index = [47, 42, 37, 32, 27, 22, 17, 12].index(qp)  # the published points, by rate
        means = {k: sum(r[k] for r in chosen) / len(chosen) for k in ("bpp", *PROTOCOLS)}
        print(
            f"QP {qp}, {len(chosen)} images: bpp {means['bpp']:.5f} (published "
            f"{published['bpp'][index]:.5f}); PSNR licbench {means['licbench']:.4f}, "
            f"ycbcr-input {means['ycbcr-input']:.4f} "
            f"(published {published['psnr-rgb'][index]:.4f})",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
