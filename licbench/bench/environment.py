"""Where and with what a run was made: stored beside every summary so numbers can be traced.

Collected only when ``run.json`` is written (a new or changed run, or one that computed jobs),
so ``platform``, ``subprocess`` and ``importlib.metadata`` are imported inside the functions: a
re-run of a finished run imports this module but calls none of them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from licbench.core.machine import cpu_model

LIBRARIES = (
    "numpy",
    "pillow",
    "torch",
    "pytorch-msssim",
    "compressai",
    "pandas",
    "scipy",
    "matplotlib",
    "jinja2",
)


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None.

    Read from the metadata's header lines only: ``importlib.metadata.version`` parses the
    whole file with the email parser, which is most of what a re-run of a finished run costs.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return None
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    for line in text.splitlines():
        if not line.strip():
            break  # end of the header
        if line.startswith("Version:"):
            return line.partition(":")[2].strip()
    return dist.version


def licbench_version() -> str:
    return package_version("licbench") or "0+unknown"


def git_revision(path: Path | None = None) -> dict[str, object]:
    """The commit of the licbench source tree and whether it had uncommitted changes."""
    import subprocess

    path = path or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def collect_environment() -> dict[str, object]:
    """Versions, git hash, machine: what asv and lm-eval record beside their numbers."""
    import platform

    from PIL import features

    codec_libraries = {name: features.version(name) for name in ("jpg", "webp", "jpg_2000", "avif")}
    return {
        "licbench": licbench_version(),
        "git": git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "libraries": {name: package_version(name) for name in LIBRARIES},
        "codec_libraries": codec_libraries,
    }
