"""Small CPU-trained checkpoints shipped inside the package, so the default run has learned codecs.

Each folder under ``weights/`` holds one checkpoint per rate point (licbench format, weights in
float16 to keep the package small; they load into float32 models) and ``training.json``: how they
were trained (data, λs, α, steps, wall time), written by ``benchmarks/train_tiny_series.sh`` and
``benchmarks/export_bundled.py``. They are tiny models trained for minutes on two CPU cores: a
demonstration of the pipeline and a sanity anchor, not the papers' numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from licbench.codecs.base import Availability
from licbench.codecs.learned.codec import CCA, ConvNeXtCharm, LearnedCodec

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def bundled_checkpoints(name: str) -> list[Path]:
    folder = WEIGHTS_DIR / name
    if not folder.is_dir():
        return []
    # the package ships .pt files (pyproject's package data); no need to load the torch-based
    # checkpoint reader just to list them
    return sorted(folder.glob("*.pt"))


class _Bundled(LearnedCodec):
    """A learned codec whose checkpoints are the bundled ones; only ``device`` may be chosen."""

    bundle: ClassVar[str]
    official_weights = False  # the bundled checkpoints, never the paper's

    def __init__(self, *, device: str = "cpu") -> None:
        super().__init__(ckpt=str(WEIGHTS_DIR / self.bundle), config="tiny", device=device)

    @classmethod
    def available(cls) -> Availability:
        base = super().available()
        if not base.ok:
            return base
        if not bundled_checkpoints(cls.bundle):
            return Availability(
                False,
                f"no bundled checkpoints in {WEIGHTS_DIR / cls.bundle}",
                "reinstall licbench (the wheel ships them)",
            )
        return base


class CCATiny(_Bundled, CCA):
    bundle = "cca-tiny"
    description = "CCA tiny (bundled CPU-trained checkpoints, CCA loss α=1; see training.json)"


class ConvNeXtCharmTiny(_Bundled, ConvNeXtCharm):
    bundle = "convnext-charm-tiny"
    description = "ConvNeXt-ChARM tiny (bundled CPU-trained checkpoints, CCA loss α=1)"
