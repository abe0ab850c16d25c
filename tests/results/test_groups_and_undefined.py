"""A folder like a product team's: subfolders, a thumbnail under 161 px, a flat image.

MS-SSIM is undefined for the thumbnail (pytorch-msssim's five scales need 161 px): it is left
out of MS-SSIM's curves, BD-rates and per-image statistics for every codec, named with the reason,
while PSNR keeps it; no NaN reaches a mean. The subfolders are groups: each with its own mean
curves, BD-rates (equal to a BD-rate computed here from per_image.csv, with licbench's function
and with FAU's ``bjontegaard`` package) and per-image statistics; ``check`` fails a candidate
that regresses on one group only, naming it, where the whole set's average hides it.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import bjontegaard
import numpy as np
import pytest
from PIL import Image

from licbench.api import run
from licbench.cli import main
from licbench.codecs import CODECS
from licbench.codecs.pillow import JPEG
from licbench.metrics.bdrate import bd_rate_curves
from licbench.metrics.ms_ssim import to_decibels
from licbench.reports.check import CheckUsageError, compare
from licbench.results.jsonsafe import json_safe
from licbench.results.summary import RunSummary, SummaryError
from tests.conftest import synthetic_image

QUALITIES = [30, 60, 90]
REASON = "MS-SSIM needs at least 161 px on the short side"


def graphic(height: int, width: int) -> np.ndarray:
    """Flat colour fields with sharp edges: a logo, a chart (three colours)."""
    image = np.full((height, width, 3), 240, np.uint8)
    image[20:90, 10:150] = (200, 30, 30)
    image[110:160, 40:180] = (20, 20, 160)
    return image


def make_folder(root: Path) -> Path:
    for sub in ("photos", "graphics"):
        (root / sub).mkdir(parents=True)
    Image.fromarray(synthetic_image(176, 192, 1)).save(root / "photos" / "a.png")
    Image.fromarray(synthetic_image(168, 200, 2)).save(root / "photos" / "b.png")
    Image.fromarray(graphic(176, 192)).save(root / "graphics" / "logo.png")
    Image.fromarray(np.full((176, 192, 3), 128, np.uint8)).save(root / "graphics" / "flat.png")
    Image.fromarray(synthetic_image(100, 120, 3)).save(root / "thumb.png")  # under 161 px
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("groups") / "images")


@pytest.fixture(scope="module")
def finished(folder: Path) -> tuple[Path, RunSummary]:
    out = folder.parent / "run"
    result = run(
        f"folder:{folder}", ["jpeg", "webp"], qualities=QUALITIES, out=out,
        store=folder.parent / "store.sqlite", workers=1, progress=False,
        metrics=["psnr-rgb", "ms-ssim-rgb"],
    )  # fmt: skip
    return out, result.summary


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "per_image.csv", newline="") as f:
        return list(csv.DictReader(f))


def _mean_curve(rows, codec: str, images: set[str], column: str) -> tuple[list, list]:
    """(bpp, value) of the mean over ``images`` at each quality, computed here from the CSV."""
    bpp, value = [], []
    for quality in QUALITIES:
        at = [r for r in rows if r["codec"] == codec and r["image"] in images]
        at = [r for r in at if float(r["quality"]) == quality]
        bpp.append(sum(float(r["bpp"]) for r in at) / len(at))
        value.append(sum(float(r[column]) for r in at) / len(at))
    return bpp, value


def _finite_everywhere(value, where="") -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _finite_everywhere(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _finite_everywhere(inner, f"{where}[{i}]")
    else:
        assert value is not None and not (isinstance(value, float) and not math.isfinite(value)), (
            where
        )


def test_an_undefined_metric_leaves_the_image_out_of_that_metric_only(finished, capsys):
    out, summary = finished
    data = json.loads((out / "summary.json").read_text())
    assert data["undefined"] == {
        "ms-ssim-rgb": {"images": 1, "of": 5, "names": ["thumb.png"], "reason": REASON}
    }
    rows = _rows(out)
    everything = {r["image"] for r in rows}
    assert len(everything) == 5
    for codec in ("jpeg", "webp"):
        results = data["codecs"][codec]["results"]
        # PSNR keeps the thumbnail, MS-SSIM averages the four others; both exact means
        bpp, psnr = _mean_curve(rows, codec, everything, "psnr_rgb")
        _, ms_ssim = _mean_curve(rows, codec, everything - {"thumb.png"}, "ms_ssim_rgb")
        assert results["bpp"] == pytest.approx(bpp, rel=1e-12)
        assert results["psnr-rgb"] == pytest.approx(psnr, rel=1e-12)
        assert results["ms-ssim-rgb"] == pytest.approx(ms_ssim, rel=1e-12)
        _finite_everywhere(
            {k: v for k, v in results.items() if k not in ("encoding_time", "decoding_time")}
        )
    _finite_everywhere({m: data["bd_rate"][m] for m in ("psnr-rgb", "ms-ssim-rgb")})
    per_image = data["bd_rate"]["per_image"]
    assert "thumb.png" in per_image["psnr-rgb"]["webp"]["per_image"]
    assert per_image["ms-ssim-rgb"]["webp"]["left_out"]["thumb.png"] == (
        "undefined for this image: " + REASON
    )
    by_reason = per_image["ms-ssim-rgb"]["webp"]["left_out_by_reason"]
    assert by_reason["undefined for this image: " + REASON] == 1  # the 161 kept, not "N"
    for metric in ("psnr-rgb", "ms-ssim-rgb"):
        stats = per_image[metric]["webp"]
        _finite_everywhere([stats["mean"], stats["median"], stats["mean_ci"], stats["mean_curve"]])
    assert "NaN" not in (out / "summary.json").read_text()
    assert summary.undefined()["ms-ssim-rgb"]["names"] == ["thumb.png"]

    report = (out / "report.html").read_text()
    assert f"<b>ms-ssim-rgb</b>: 1 of 5 images ({REASON}): thumb.png" in report

    capsys.readouterr()
    argv = ["run", "--dataset", f"folder:{out.parent / 'images'}", "--codecs", "jpeg", "webp"]
    argv += ["--qualities", "30,60,90", "--metrics", "psnr-rgb,ms-ssim-rgb", "--no-progress"]
    assert main([*argv, "--out", str(out), "--store", str(out.parent / "store.sqlite")]) == 0
    printed = capsys.readouterr().out
    assert (
        "ms-ssim-rgb: curves and BD-rates leave out the 1 of 5 images it is undefined for "
        f"({REASON}): thumb.png"
    ) in printed
    assert "    photos (2 of 2 images): webp " in printed
    assert "    (top level) (1 of 1 images): webp " in printed
    assert "[ms-ssim-rgb undefined for 1]" in printed


def test_groups_are_measured_like_the_run_on_their_images(finished):
    out, summary = finished
    data = json.loads((out / "summary.json").read_text())
    groups = data["groups"]
    assert list(groups) == [".", "graphics", "photos"]
    assert {g: (v["images"], v["common_images"]) for g, v in groups.items()} == {
        ".": (1, 1),
        "graphics": (2, 2),
        "photos": (2, 2),
    }
    assert groups["."]["undefined"] == {"ms-ssim-rgb": 1} and groups["photos"]["undefined"] == {}
    rows = _rows(out)
    photos = {"photos/a.png", "photos/b.png"}
    for metric, column, transform in (
        ("psnr-rgb", "psnr_rgb", float),
        ("ms-ssim-rgb", "ms_ssim_rgb", to_decibels),  # BD-rates of MS-SSIM on its dB scale
    ):
        curves = [_mean_curve(rows, codec, photos, column) for codec in ("jpeg", "webp")]
        (ra, da), (rt, dt) = [(r, [transform(v) for v in d]) for r, d in curves]
        expected = bd_rate_curves(ra, da, rt, dt, "pchip")
        fau = bjontegaard.bd_rate(ra, da, rt, dt, method="pchip", min_overlap=0)
        actual = groups["photos"]["bd_rate"][metric]["webp"]
        assert actual == pytest.approx(expected, rel=1e-12)
        assert actual == pytest.approx(fau, rel=1e-9)
        stats = groups["photos"]["bd_rate"]["per_image"][metric]["webp"]
        whole = data["bd_rate"]["per_image"][metric]["webp"]["per_image"]
        assert stats["per_image"] == {image: whole[image] for image in sorted(photos)}
        assert stats["mean"] == pytest.approx(sum(stats["per_image"].values()) / 2, rel=1e-12)
        assert stats["mean_curve"] == actual
    # the group of the thumbnail has no MS-SSIM: no number, and the reason instead of NaN
    top = groups["."]["bd_rate"]
    assert top["ms-ssim-rgb"]["webp"] is None
    assert f"webp ms-ssim-rgb: undefined for every image ({REASON})" in top["warnings"][0]
    assert math.isfinite(top["psnr-rgb"]["webp"])
    # typed, and what is read is what was written
    loaded = RunSummary.from_json(data)
    assert loaded.groups["photos"].bd_rate.value("psnr-rgb", "webp") == summary.groups[
        "photos"
    ].bd_rate.value("psnr-rgb", "webp")
    assert json_safe(loaded.to_json()["groups"]) == data["groups"]
    report = (out / "report.html").read_text()
    assert 'id="group-table"' in report and "(top level)" in report
    hostile = json.loads(json.dumps(data))
    hostile["groups"]["photos"]["common_images"] = 7
    with pytest.raises(SummaryError, match="groups.photos: 7 common images of 2"):
        RunSummary.from_json(hostile)


class PaddedJPEG(JPEG):
    """JPEG in a frame (a 4-byte trailer giving how many padding bytes precede it): the
    baseline pads nothing."""

    padding = 0.0

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        data = super().encode(image, quality)
        few_colours = len(np.unique(image.reshape(-1, 3), axis=0)) < 16  # the graphics
        pad = int(len(data) * self.padding) if few_colours else 0
        return data + bytes(pad) + pad.to_bytes(4, "big")

    def decode(self, data: bytes) -> np.ndarray:
        pad = int.from_bytes(data[-4:], "big")
        return super().decode(data[: len(data) - 4 - pad])


class WorseOnGraphics(PaddedJPEG):
    """The same pixels, 40 % more bytes on graphics: a regression on one group only."""

    padding = 0.4


def _padded_run(folder: Path, out: Path, codec: type, monkeypatch) -> Path:
    CODECS.names()  # plugins first, so the test's entry is the last one added
    monkeypatch.setitem(CODECS._entries, "padded", codec)
    monkeypatch.setitem(CODECS._origins, "padded", "tests")
    run(
        f"folder:{folder}", ["jpeg", "padded"], qualities=QUALITIES, out=out,
        store=out.with_suffix(".sqlite"), workers=1, progress=False, metrics=["psnr-rgb"],
    )  # fmt: skip
    return out


def test_check_fails_a_codec_that_regresses_on_one_group_only(folder, tmp_path, monkeypatch):
    base = _padded_run(folder, tmp_path / "base", PaddedJPEG, monkeypatch)
    cand = _padded_run(folder, tmp_path / "cand", WorseOnGraphics, monkeypatch)
    # the whole set's limits pass it: graphics are a small share of the bits
    limits = {"max_bd_rate": 10.0, "max_bpp_increase": 50.0}
    whole = compare(base, cand, per_group=False, **limits)
    padded = {c.codec: c for c in whole.codecs}["padded"]
    assert whole.passed and 0 < padded.bd_rate < 10, padded.bd_rate
    result = compare(base, cand, **limits)  # default: gated per group, both runs have them
    assert result.per_group == [".", "graphics", "photos"] and not result.passed
    padded = {c.codec: c for c in result.codecs}["padded"]
    graphics = padded.groups["graphics"]
    assert not graphics.passed and graphics.bd_rate > 30  # 40 % more bytes at equal quality
    assert padded.groups["photos"].bd_rate == pytest.approx(0.0, abs=1e-9)  # same bytes
    assert padded.groups["photos"].passed and padded.groups["."].passed
    assert padded.failures == [f"group graphics: {graphics.failures[0]}"]
    assert "BD-rate (psnr-rgb, pchip) +" in graphics.failures[0]

    argv = ["check", "--baseline", str(base), "--candidate", str(cand)]
    argv += ["--max-bd-rate", "10", "--max-bpp-increase", "50"]
    assert main([*argv, "--json", str(tmp_path / "check.json")]) == 1
    saved = json.loads((tmp_path / "check.json").read_text())
    assert saved["codecs"]["padded"]["groups"]["graphics"]["passed"] is False
    assert main([*argv, "--no-per-group"]) == 0


def test_per_group_demanded_without_groups_is_a_usage_error(tmp_path, capsys):
    images = tmp_path / "flat-folder"
    images.mkdir()
    for seed in (1, 2):
        Image.fromarray(synthetic_image(48, 64, seed)).save(images / f"p{seed}.png")
    out = tmp_path / "run"
    run(
        f"folder:{images}", ["jpeg", "webp"], qualities=[30, 90], out=out,
        store=tmp_path / "s.sqlite", workers=1, progress=False, metrics=["psnr-rgb"],
    )  # fmt: skip
    assert "groups" not in json.loads((out / "summary.json").read_text())
    assert compare(out, out).per_group == [] and compare(out, out).group_notes == []
    with pytest.raises(CheckUsageError, match="neither run has groups"):
        compare(out, out, per_group=True)
    assert main(["check", "--baseline", str(out), "--candidate", str(out), "--per-group"]) == 2


def test_the_group_of_an_image_is_its_first_folder():
    from licbench.results.groups import group_of, groups_of

    assert group_of("photos/2024/a.png") == "photos" and group_of("a.png") == "."
    names = ["thumb.png", "shots/b.png", "photos/2024/a.png", "photos/c.png"]
    assert groups_of(names) == {
        ".": ["thumb.png"],
        "photos": ["photos/2024/a.png", "photos/c.png"],
        "shots": ["shots/b.png"],
    }
    assert groups_of(["photos/a.png", "photos/b/c.png"]) == {}  # one group: the run itself
    assert groups_of(["a.png", "b.png"]) == {}
