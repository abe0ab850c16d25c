"""Where dataset files live: a per-user cache, and an optional read-only local mirror.

Why two places: the cache is ours (we write verified files into it, one subfolder per dataset),
while a mirror is somebody else's folder (a lab share, or the project's offline copy) that we only
read from and copy out of. Nothing here creates folders; callers create the cache when they write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: overrides the cache root (the folder that holds one subfolder per dataset)
DATA_ENV = "LICBENCH_DATA"
#: a folder with one subfolder per dataset name, read before going to the network
MIRROR_ENV = "LICBENCH_MIRROR"
#: the folder holding the manifests shipped with licbench (one dataset per ``NAME.toml``)
MANIFEST_DIR = Path(__file__).parent / "manifests"


def _user_cache_root() -> Path:
    """The platform's per-user cache folder, as ``platformdirs.user_cache_dir`` would give.

    Written out here instead of depending on platformdirs for three lines of logic.
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "licbench" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "licbench"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec says a relative value is invalid and must be ignored
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base_path / "licbench"


def data_dir(name: str | None = None) -> Path:
    """The cache root (``$LICBENCH_DATA`` or the user cache), or one dataset's folder in it."""
    env = os.environ.get(DATA_ENV)
    root = Path(env).expanduser() if env else _user_cache_root() / "datasets"
    return root / name if name else root


def mirror_dir(name: str | None = None) -> Path | None:
    """The mirror root from ``$LICBENCH_MIRROR`` (or one dataset's folder in it); None if unset.

    Only the name's own folder is returned here; a manifest's ``mirror_aliases`` (other folder
    names holding the same files) are the dataset's business, see ``ManifestDataset``.
    """
    env = os.environ.get(MIRROR_ENV)
    if not env:
        return None
    root = Path(env).expanduser()
    return root / name if name else root
