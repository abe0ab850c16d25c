"""The dataset registry: the one table of dataset names, and how to get a dataset's images.

Entries are factories taking an optional argument string (``folder:/path`` passes ``/path``).
Each manifest in ``manifests/*.toml`` is one entry named after its file, so adding a set is
adding a TOML file; ``folder`` is registered lazily; plugins come in through the
``licbench.datasets`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.datasets.base import Dataset, DatasetError, ImageRef
from licbench.datasets.paths import DATA_ENV, MANIFEST_DIR, MIRROR_ENV, data_dir, mirror_dir
from licbench.registry import Registry, RegistryError

if TYPE_CHECKING:
    from licbench.datasets.manifest import Manifest, ManifestDataset, ManifestError

__all__ = [
    "DATASETS",
    "DATA_ENV",
    "MIRROR_ENV",
    "Dataset",
    "DatasetError",
    "ImageRef",
    "Manifest",
    "ManifestDataset",
    "ManifestError",
    "UnknownDatasetError",
    "data_dir",
    "describe",
    "fetch",
    "list_datasets",
    "load_dataset",
    "mirror_dir",
]

DatasetFactory = Callable[..., Dataset]

#: exported from licbench.datasets.manifest, imported on first use: a ``folder:`` dataset
#: (what a re-run of an in-house set asks for) needs no manifest schema, TOML or archive code
_MANIFEST_EXPORTS = ("Manifest", "ManifestDataset", "ManifestError")


def __getattr__(name: str) -> Any:
    if name in _MANIFEST_EXPORTS:
        from licbench.datasets import manifest

        return getattr(manifest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DATASETS: Registry[DatasetFactory] = Registry("dataset", "licbench.datasets")


class UnknownDatasetError(DatasetError, RegistryError):
    """An unknown dataset name; both a DatasetError (for the CLI) and a RegistryError."""


class ManifestEntry:
    """Registry entry for a shipped manifest: reads the TOML only when the dataset is made."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, arg: str | None = None) -> ManifestDataset:
        from licbench.datasets.manifest import ManifestDataset, ManifestError

        name = self.path.stem
        if arg:
            raise DatasetError(f"dataset {name!r} takes no argument (got {name}:{arg})")
        dataset = ManifestDataset(self.path)
        if dataset.name != name:
            raise ManifestError(f"{self.path}: 'name' is {dataset.name!r}, file says {name!r}")
        return dataset

    def __repr__(self) -> str:
        return f"ManifestEntry({str(self.path)!r})"


for _path in sorted(MANIFEST_DIR.glob("*.toml")):
    DATASETS.register(_path.stem, ManifestEntry(_path))
DATASETS.register("folder", "licbench.datasets.folder:FolderDataset")


def _factory(name: str) -> DatasetFactory:
    try:
        return DATASETS.get(name)
    except RegistryError as exc:
        raise UnknownDatasetError(str(exc)) from exc


def load_dataset(spec: str) -> Dataset:
    """Make a dataset from ``NAME`` or ``NAME:ARG`` (split at the first colon only).

    The first colon only, so that ``folder:C:\\data`` and ``folder:/a:b`` keep their path.
    """
    name, sep, arg = spec.partition(":")
    factory = _factory(name)
    return factory(arg) if sep else factory()


def list_datasets(pattern: str = "*") -> list[str]:
    """Registered dataset names matching a shell-style wildcard, sorted."""
    return DATASETS.names(pattern)


def fetch(name: str, *, progress: bool = True, allow_partial: bool = False) -> list[ImageRef]:
    """Get a dataset's verified images into the cache (``licbench datasets fetch NAME``)."""
    from licbench.datasets.manifest import ManifestDataset

    dataset = load_dataset(name)
    if isinstance(dataset, ManifestDataset):
        return dataset.images(download=True, allow_partial=allow_partial, progress=progress)
    return dataset.images(download=True, allow_partial=allow_partial)


def describe(name: str) -> dict[str, Any]:
    """One row of ``licbench datasets``: what the set is, how it is checked, how much is cached.

    Never downloads or hashes anything (``cached`` counts files present in the cache), and a
    dataset that needs an argument (``folder``) or cannot be made is described, not raised.
    """
    row: dict[str, Any] = {
        "name": name,
        "description": "",
        "count": None,
        "verification": "",
        "verification_note": "",
        "source": "",
        "license": "",
        "cached": None,
        "cache_dir": None,
        "origin": DATASETS.origin(name) if name in DATASETS else None,
    }
    factory = _factory(name)  # an unknown name is still an error
    try:
        if isinstance(factory, ManifestEntry):
            dataset = factory()
            row.update(
                description=dataset.description,
                count=dataset.count,
                verification=dataset.verification,
                verification_note=dataset.verification_note,
                source=dataset.source,
                license=dataset.license,
                cached=dataset.present(),
                cache_dir=str(dataset.cache_dir()),
            )
        elif isinstance(factory, type) and issubclass(factory, Dataset):
            row.update(
                description=(factory.__doc__ or "").strip().splitlines()[0],
                verification=factory.verification,
                verification_note=factory.verification_note,
                source=f"given as {name}:ARG",
                license=factory.license,
            )
    except Exception as exc:  # a broken manifest or plugin must not break the listing
        row["description"] = f"cannot be loaded: {exc}"
    return row
