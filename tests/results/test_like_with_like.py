"""A codec that fails on its hardest image does not win: curves on the common set, marked.

``jpeg-but-b`` is JPEG byte for byte, except that it raises on one of three images. Averaging
its two easy images against the anchor's three made it "better" than itself (the issue measured
a −51.65 % headline); on the images both measured its BD-rate against JPEG is zero, it is marked
incomplete everywhere the number is shown, and ``check`` fails it against a baseline that had no
failures.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from licbench.api import run
from licbench.codecs import CODECS
from licbench.codecs.pillow import JPEG
from licbench.reports.check import compare
from tests.conftest import synthetic_image


class JPEGButB(JPEG):
    """JPEG, except that it fails on the image whose top-left pixel is (1, 2, 3)."""

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        if tuple(image[0, 0]) == (1, 2, 3):
            raise RuntimeError("this codec cannot code b.png")
        return super().encode(image, quality)


@pytest.fixture
def images(tmp_path, monkeypatch):
    CODECS.names()  # plugins first, so the test's entry is the last one added
    monkeypatch.setitem(CODECS._entries, "jpeg-but-b", JPEGButB)
    monkeypatch.setitem(CODECS._origins, "jpeg-but-b", "tests")
    folder = tmp_path / "images"
    folder.mkdir()
    for seed, name in ((1, "a.png"), (2, "b.png"), (3, "c.png")):
        picture = synthetic_image(64, 96, seed)
        if name == "b.png":
            picture[0, 0] = (1, 2, 3)  # the image the codec fails on
        Image.fromarray(picture).save(folder / name)
    return folder


def _run(images, out, codecs):
    return run(
        f"folder:{images}", codecs, qualities=[30, 60, 90], out=out, store=out.with_suffix(".db"),
        workers=1, progress=False, metrics=["psnr-rgb"],
    )  # fmt: skip


def test_an_incomplete_codec_is_measured_like_with_like_and_marked(images, tmp_path, capsys):
    result = _run(images, tmp_path / "cand", ["jpeg", "jpeg-but-b"])
    summary = json.loads((tmp_path / "cand" / "summary.json").read_text())
    assert summary["common_images"] == {"images": 2, "of": 3}
    assert summary["incomplete"] == {"jpeg-but-b": {"images": 1, "failed_on": ["b.png"]}}
    assert summary["codecs"]["jpeg"]["results"]["images"] == [2, 2, 2]
    headline = result.summary.bd_rate.get("psnr-rgb")["jpeg-but-b"]
    assert headline == pytest.approx(0.0, abs=1e-9)  # the same codec on the same images
    report = (tmp_path / "cand" / "report.html").read_text()
    assert "incomplete</b>: failed on 1 image(s)" in report and "the 2 of 3 images" in report
    low, high = result.summary.bd_rate.range("psnr-rgb", "jpeg-but-b")
    assert f'<small class="range">over {low:.2f}–{high:.2f} dB</small>' in report

    from licbench.cli import main

    argv = ["run", "--dataset", f"folder:{images}", "--codecs", "jpeg", "jpeg-but-b"]
    argv += ["--qualities", "30,60,90", "--metrics", "psnr-rgb", "--no-progress"]
    argv += ["--out", str(tmp_path / "cand"), "--store", str(tmp_path / "cand.db")]
    capsys.readouterr()
    main(argv)
    out = capsys.readouterr().out
    assert "curves and BD-rates on the 2 of 3 images every codec measured" in out
    assert "[jpeg-but-b incomplete: failed on 1 image(s)]" in out

    _run(images, tmp_path / "base", ["jpeg", "jpeg"])  # a baseline without failures...
    base = json.loads((tmp_path / "base" / "summary.json").read_text())
    base["codecs"]["jpeg-but-b"] = base["codecs"]["jpeg"]  # ... where the codec was complete
    base["per_image_curves"]["jpeg-but-b"] = base["per_image_curves"]["jpeg"]
    (tmp_path / "base.json").write_text(json.dumps(base))
    check = {c.codec: c for c in compare(tmp_path / "base.json", tmp_path / "cand").codecs}
    assert "failed on 1 image(s), the baseline on 0 (b.png)" in check["jpeg-but-b"].message()
    assert check["jpeg"].passed and math.isfinite(check["jpeg"].bd_rate)
