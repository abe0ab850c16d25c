"""Copy a trained series into the package as bundled checkpoints (float16) with training.json.

    python benchmarks/export_bundled.py SERIES_DIR NAME [--note TEXT]

SERIES_DIR holds ``lmbda-*.pt`` (from benchmarks/train_tiny_series.sh); NAME is the bundle
(``cca-tiny``, ``convnext-charm-tiny``). Each rate point is written as ``qN.pt`` in increasing λ
order, its float tensors stored as float16 (they load into float32 models; the codec's version()
hashes these exact files, so what is measured is what ships). training.json gets each point's
training record with, nested as ``warm_start_from``, the runs it was warm-started from, and the
wall time of all those runs together, each counted once.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from licbench.codecs.learned.bundled import WEIGHTS_DIR, total_training_seconds
from licbench.codecs.learned.checkpoints import read_checkpoint


def to_half(payload: dict) -> dict:
    """Weights as float16; tensors float16 cannot hold (the 1e-9 likelihood bounds underflow to
    0) stay float32, so a warm start from the bundle trains as one from the original would.

    "Hold" is judged against each tensor's own scale: an element 1e-7 in a weight whose largest
    is 1 becomes a float16 subnormal with a large relative but a negligible absolute error, and
    a per-element relative test kept a fifth of a model's weights in float32 for that.
    """

    def half(v: torch.Tensor) -> torch.Tensor:
        if not v.is_floating_point() or not v.numel():
            return v
        h = v.half()
        scale = float(v.abs().max())
        return h if torch.allclose(h.float(), v.float(), rtol=1e-2, atol=1e-4 * scale) else v

    return {**payload, "state_dict": {k: half(v) for k, v in payload["state_dict"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("series", type=Path)
    parser.add_argument("name")
    parser.add_argument("--note", help="history or caveats for training.json")
    args = parser.parse_args()
    points = sorted(args.series.glob("lmbda-*.pt"), key=lambda p: float(p.stem.split("-", 1)[1]))
    out = WEIGHTS_DIR / args.name
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("q*.pt"):
        old.unlink()
    record = {"name": args.name, "note": args.note or "", "rate_points": []}
    for index, path in enumerate(points, start=1):
        payload = read_checkpoint(path)
        torch.save(to_half(payload), out / f"q{index}.pt")
        record["rate_points"].append(
            {"file": f"q{index}.pt", "lmbda": payload["lmbda"], **payload["metadata"]}
        )
    total = total_training_seconds(record["rate_points"])
    record["total_training_wall_seconds"] = round(total, 1)
    (out / "training.json").write_text(json.dumps(record, indent=1))
    print(f"{out}: {len(points)} rate points, {total / 60:.1f} min of training")


if __name__ == "__main__":
    main()
