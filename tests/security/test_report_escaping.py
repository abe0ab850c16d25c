"""A file name is data, never markup: ``<script>alert(1)</script>.png`` shows as text.

A real (tiny) run over a folder holding that name; the name is a path relative to the folder,
which is how a ``/`` gets into it (``<script>alert(1)<`` / ``script>.png``).
"""

from __future__ import annotations

import html

import numpy as np
from PIL import Image

import licbench

NAME = "<script>alert(1)</script>.png"


def test_hostile_image_name_is_escaped_in_the_report(tmp_path):
    folder = tmp_path / "images"
    path = folder / NAME
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)

    result = licbench.run(
        f"folder:{folder}",
        ["jpeg"],
        qualities=[30, 70],
        out=tmp_path / "out",
        store=tmp_path / "store.sqlite",
        workers=1,
        progress=False,
    )
    assert result.counts["computed"] == 2 and result.summary.jobs_failed == 0
    page = (result.out / "report.html").read_text(encoding="utf-8")
    assert NAME not in page  # not as markup, and not raw inside a <script> block either
    assert "<script>alert" not in page
    assert html.escape(NAME) in page or html.escape(NAME, quote=False) in page
