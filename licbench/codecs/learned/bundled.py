"""Small CPU-trained checkpoints shipped inside the package, so the default run has learned codecs.

Each folder under ``weights/`` holds one checkpoint per rate point (licbench format, weights in
float16 to keep the package small; they load into float32 models) and ``training.json``: how they
were trained (data, λs, α, steps, wall time), written by ``benchmarks/train_tiny_series.sh`` and
``benchmarks/export_bundled.py``. They are tiny models trained for minutes on two CPU cores: a
demonstration of the pipeline and a sanity anchor, not the papers' numbers.

The codecs themselves are declared with their architecture, :class:`Bundled` mixed in before
its codec: ``cca-tiny`` in ``archs/cca.py``, ``convnext-charm-tiny`` in
``archs/convnext_charm.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from licbench.codecs.base import Availability
from licbench.codecs.learned.codec import LearnedCodec

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def bundled_checkpoints(name: str) -> list[Path]:
    folder = WEIGHTS_DIR / name
    if not folder.is_dir():
        return []
    # the package ships .pt files (pyproject's package data); no need to load the torch-based
    # checkpoint reader just to list them
    return sorted(folder.glob("*.pt"))


class Bundled(LearnedCodec):
    """A learned codec whose checkpoints are the bundled ones; only ``device`` may be chosen.

    Mixed in before an architecture's codec, in that architecture's module (``archs/``)::

        @register_codec("cca-tiny")
        class CCATiny(Bundled, CCA):
            bundle = "cca-tiny"  # the folder under weights/
    """

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
