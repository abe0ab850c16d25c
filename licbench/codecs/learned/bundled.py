"""Small CPU-trained checkpoints shipped inside the package, so the default run has learned codecs.

Each folder under ``weights/`` holds one checkpoint per rate point (licbench format, weights in
float16 to keep the package small; they load into float32 models) and ``training.json``: how they
were trained (data, λs, α, steps, wall time), written by ``benchmarks/train_tiny_series.sh`` and
``benchmarks/export_bundled.py``. They are small models (the architectures' ``small``
configurations, 128 latent channels; the codec names keep ``-tiny``, the name users and stores
know) trained for 87 (CCA) and 141 minutes (ConvNeXt-ChARM) on two shared CPU cores, over
CompressAI's λ range and one halving below: a working pipeline and a sanity anchor that beats
JPEG, not the papers' numbers.

The codecs themselves are declared with their architecture, :class:`Bundled` mixed in before
its codec: ``cca-tiny`` in ``archs/cca.py``, ``convnext-charm-tiny`` in
``archs/convnext_charm.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

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


def training_lineage(record: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """A checkpoint's training record, then the one it was warm-started from, and so on back.

    Each run's checkpoint keeps its source's record as ``warm_start_from`` (see
    ``Trainer.warm_start``), so a rate point of a chain carries everything it went through.
    """
    current: Mapping[str, Any] | None = record
    while current is not None:
        yield current
        current = current.get("warm_start_from")


def total_training_seconds(points: list[Mapping[str, Any]]) -> float:
    """Wall time of every run behind ``points``, each run counted once though chains share it."""
    runs = {
        (run.get("arch"), run.get("lmbda"), run.get("step"), run.get("created")): run
        for point in points
        for run in training_lineage(point)
    }
    return sum(float(run.get("wall_seconds", 0)) for run in runs.values())


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
        # the configuration is the one the checkpoints record (their training metadata)
        super().__init__(ckpt=str(WEIGHTS_DIR / self.bundle), device=device)

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
