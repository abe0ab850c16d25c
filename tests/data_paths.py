"""Where the tests find data: small facts carried in ``tests/data``, large data in ``../shared``.

Small published facts (RD points, the official CCA state-dict names, the mirror's SHA256SUMS) are
byte-identical copies in ``tests/data`` (sources and licences in its README.md), so a clone without
``../shared`` still tests them. Only tests that need large data (the real Kodak images, CompressAI's
whole results folder) look in ``shared``, and skip, saying so, when it is absent.
``LICBENCH_TEST_SHARED`` moves ``shared``: point it at a missing folder to see what a bare clone
skips.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SHARED_ENV = "LICBENCH_TEST_SHARED"

#: the official CCA model's state-dict key names, shapes and dtypes (no weights)
CCA_KEYS_TSV = DATA / "cca-state-dict-keys.tsv"
#: the few files of CompressAI's ``results/image/`` the tests use, under their upstream paths
COMPRESSAI_RESULTS = DATA / "compressai-results"


def shared(*parts: str) -> Path:
    """A path in ``shared``, beside the checkout or at ``$LICBENCH_TEST_SHARED``; may be absent."""
    root = os.environ.get(SHARED_ENV) or Path(__file__).resolve().parents[2] / "shared"
    return Path(root).joinpath(*parts)


def copies() -> dict[Path, Path]:
    """Each reference file in ``tests/data`` and the file in ``shared`` it is a copy of."""
    pairs = {
        DATA / name: shared("reference", name)
        for name in ("cca-rd-data.json", "cca-state-dict-keys.tsv", "tbtc-kodak-swint-charm.json")
    }
    for path in sorted(COMPRESSAI_RESULTS.rglob("*.json")):
        pairs[path] = shared("reference", path.relative_to(DATA))
    return pairs
