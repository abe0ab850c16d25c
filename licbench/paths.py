"""Where licbench keeps things by default; an environment variable can move each place."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$LICBENCH_HOME``, by default ``~/.licbench``: the result store lives here."""
    return Path(os.environ.get("LICBENCH_HOME") or Path.home() / ".licbench").expanduser()


def default_store() -> Path:
    return home() / "results.sqlite"
