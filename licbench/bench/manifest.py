"""The run manifest (``run.json`` in the output folder): which jobs make up a run.

The store holds results of many runs; the manifest names the jobs of one, with the dataset's
image names, so ``licbench report DIR`` can rebuild every output from the store alone.

Format 2 lists the images as ``[name, sha256]`` pairs in dataset order: two files with the same
bytes are two images of the run (their jobs share a key and are computed once, but each file is
a row and counts in the means). Format 1 mapped sha256 → name, which kept one of such names;
it is still read (each sha256 one image, as it was written).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from licbench.core.files import atomic_write

MANIFEST_NAME = "run.json"
#: the manifest format this licbench writes (3: ``decode_check``, which format 2 readers refuse)
MANIFEST_FORMAT = 3


@dataclass
class RunManifest:
    dataset: str
    store: str
    anchor: str
    method: str
    metrics: list[str]
    #: per codec label: description and version()
    codecs: dict[str, dict[str, str]]
    #: every image of the run, in dataset order: ``[name, sha256]`` (a sha256 may repeat)
    images: list[list[str]]
    jobs: list[str]
    created: str
    environment: dict[str, Any] = field(default_factory=dict)
    format: int = MANIFEST_FORMAT
    #: names of published references (licbench.references) the run compares its codecs with
    references: list[str] = field(default_factory=list)
    #: per image sha256: the file it was read from (the first, for files with equal bytes)
    image_paths: dict[str, str] = field(default_factory=dict)
    #: the ``--target-bpp`` values of the run (empty: no rate targeting)
    target_bpp: list[float] = field(default_factory=list)
    #: per codec, per target (as text), per image sha256: the quality chosen for that target
    #: and its job key (see :mod:`licbench.bench.rate_target`)
    target_choices: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    #: which BD-rate aggregate the report leads with: mean-curve, mean or median (per image)
    bd_aggregate: str = "mean-curve"
    #: per learned codec: parameters and kMAC/px (licbench.codecs.learned.complexity), counted
    #: once on the run's most common image size
    complexity: dict[str, Any] = field(default_factory=dict)
    #: the crops the report shows (see :mod:`licbench.bench.visual`); stored in the store
    visual: dict[str, Any] = field(default_factory=dict)
    #: ``--decode-check``: its setups (with what their processes observed), threshold, skipped
    #: codecs and notes (:mod:`licbench.bench.decode_check`); the rows are in the store
    decode_check: dict[str, Any] = field(default_factory=dict)
    #: what the dataset could not list: ``{"name", "reason"}`` (a folder that cannot be read)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def names_by_sha(self) -> dict[str, list[str]]:
        """Per sha256, the names of the run's files with those bytes, in dataset order."""
        names: dict[str, list[str]] = {}
        for name, sha in self.images:
            names.setdefault(sha, []).append(name)
        return names

    def image_names(self) -> dict[str, str]:
        """Per sha256, the first name with those bytes (where one name stands for the bytes)."""
        return {sha: names[0] for sha, names in self.names_by_sha().items()}

    def as_dict(self) -> dict[str, Any]:
        """The manifest's fields by name, not copied: every value is plain JSON already
        (``asdict`` would copy a 160,000-job list deeply, for nothing, several times a run)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def save(self, folder: Path) -> Path:
        # atomic: an interrupted or disk-full write never leaves a truncated run.json
        return atomic_write(folder / MANIFEST_NAME, json.dumps(self.as_dict(), indent=1))

    @classmethod
    def load(cls, folder: Path) -> "RunManifest":
        path = folder / MANIFEST_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no run manifest here; is {folder} a licbench run?")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(f"{path}: not a readable run manifest ({exc})") from None
        if not isinstance(data, dict):
            raise FileNotFoundError(f"{path}: not a run manifest (not a JSON object)")
        if int(data.get("format", 1)) > MANIFEST_FORMAT:
            raise FileNotFoundError(
                f"{path}: written by a newer licbench (format {data.get('format')!r}; this one "
                f"reads up to {MANIFEST_FORMAT}): upgrade licbench to read it"
            )
        if isinstance(data.get("images"), dict):  # format 1: sha256 → name
            data["images"] = [[name, sha] for sha, name in data["images"].items()]
            data["format"] = MANIFEST_FORMAT
        return cls(**data)
