"""The run manifest (``run.json`` in the output folder): which jobs make up a run.

The store holds results of many runs; the manifest names the jobs of one, with the dataset's
image names, so ``licbench report DIR`` can rebuild every output from the store alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "run.json"


@dataclass
class RunManifest:
    dataset: str
    store: str
    anchor: str
    method: str
    metrics: list[str]
    #: per codec label: description and version()
    codecs: dict[str, dict[str, str]]
    #: per image sha256: its name in the dataset
    images: dict[str, str]
    jobs: list[str]
    created: str
    environment: dict[str, Any] = field(default_factory=dict)
    format: int = 1
    #: names of published references (licbench.references) the run compares its codecs with
    references: list[str] = field(default_factory=list)
    #: per image sha256: the file it was read from
    image_paths: dict[str, str] = field(default_factory=dict)
    #: the ``--target-bpp`` values of the run (empty: no rate targeting)
    target_bpp: list[float] = field(default_factory=list)
    #: per codec, per target (as text), per image sha256: the quality chosen for that target
    #: and its job key (see :mod:`licbench.bench.rate_target`)
    target_choices: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    #: the crops the report shows (see :mod:`licbench.bench.visual`); stored in the store
    visual: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MANIFEST_NAME
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, folder: Path) -> "RunManifest":
        path = folder / MANIFEST_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no run manifest here; is {folder} a licbench run?")
        return cls(**json.loads(path.read_text()))
