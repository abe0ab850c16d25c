"""The viewer's pictures (licbench.bench.viewer) and viewer.html (licbench.reports.viewer_page),
from real runs: each picture is the decode its job measured, the originals are the pixels the
jobs read, the number of images is bounded by --viewer-images, and jobs served from the store
are run once more for their pictures."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from licbench.api import run
from licbench.bench.manifest import RunManifest
from licbench.bench.viewer import decoded_name, original_name, parse_count
from licbench.cli import main
from licbench.metrics import measure


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def viewer_data(run_folder) -> dict:
    html = (run_folder / "viewer.html").read_text(encoding="utf-8")
    found = re.search(
        r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


def test_each_picture_is_its_jobs_decode(tiny_run, images_maker, tmp_path):
    """PSNR of each picture against its original is the number the job stored, to the bit:
    the picture is the decode the job measured, and the original the pixels it read."""
    folder = tiny_run / "viewer"
    # the run's images made again (other tests delete the run's own files)
    made = images_maker(tmp_path / "images")
    manifest = RunManifest.load(tiny_run)
    with open(tiny_run / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    keys = dict(zip(manifest.jobs, manifest.jobs, strict=True))
    from licbench.bench.store import Store

    with Store(manifest.store, create=False, read_only=True) as store:
        records = store.get(keys)
    assert len(records) == len(rows) == 16
    for record in records.values():
        original = pixels(folder / original_name(record.image_sha256))
        source = Image.open(made / record.image).convert("RGB")
        assert np.array_equal(original, np.asarray(source))
        decoded = pixels(folder / decoded_name(record.job_key))
        assert decoded.shape == original.shape and not np.array_equal(decoded, original)
        again = measure(["psnr-rgb"], original, decoded)["psnr-rgb"]
        assert again == record.metrics["psnr-rgb"]  # same arrays, same function: exact
    # the rate-target points have pictures too (the search's own jobs, run again for them)
    for per_target in manifest.target_choices.values():
        for per_image in per_target.values():
            for entry in per_image.values():
                assert (folder / decoded_name(entry["job_key"])).is_file()


def test_viewer_page_lists_the_pictures_and_the_report_links_it(tiny_run):
    data = viewer_data(tiny_run)
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert data["anchor"] == "jpeg" and data["codecs"] == ["jpeg", "webp"]
    assert data["targets"] == ["0.5", "1"]
    assert [m["label"] for m in data["metrics"]] == [
        "PSNR RGB (dB)",
        "MS-SSIM RGB",
        "MS-SSIM RGB (dB)",
    ]
    for entry in data["images"]:
        curve = summary["per_image_curves"]["webp"][entry["name"]]
        points = entry["points"]["webp"]
        # every sweep point (and each target point not in the sweep), by rate, with its file
        sweep = sorted(zip(curve["bpp"], curve["psnr-rgb"], strict=True))
        shown = {(round(b, 5), round(v, 3)) for _, b, _, v, *_ in points}
        assert {(round(b, 5), round(v, 3)) for b, v in sweep} <= shown
        assert [p[1] for p in points] == sorted(p[1] for p in points)
        for point in points:
            assert (tiny_run / point[2]).is_file()
        target = summary["target_bpp"]["codecs"]["jpeg"]["0.5"]["per_image"][entry["name"]]
        assert entry["targets"]["jpeg"]["0.5"][:2] == [target["quality"], round(target["bpp"], 5)]
    report = (tiny_run / "report.html").read_text(encoding="utf-8")
    assert '<a href="viewer.html">Side-by-side viewer</a>' in report
    # names from users are JSON text in the page, never markup
    assert "<script>alert" not in (tiny_run / "viewer.html").read_text(encoding="utf-8")


def test_viewer_images_are_bounded_and_rerun_from_the_store(tmp_path, images_maker):
    images = images_maker(tmp_path / "images", names=("a.png", "b.png", "c.png"))
    common = dict(
        dataset=f"folder:{images}",
        codecs=["jpeg"],
        qualities=[30, 80],
        store=tmp_path / "store.sqlite",
        workers=1,
        metrics=("psnr-rgb",),
        progress=False,
    )
    first = run(out=tmp_path / "one", viewer_images=1, **common)
    folder = tmp_path / "one" / "viewer"
    names = sorted(p.name for p in folder.iterdir())
    manifest = RunManifest.load(tmp_path / "one")
    sha = {name: s for name, s in manifest.images}
    assert [n for n in names if n.startswith("original-")] == [original_name(sha["a.png"])]
    assert len(names) == 1 + 2  # a.png: its original, two qualities
    assert "viewer_jobs" not in first.counts  # every picture came from its own job

    # a new folder, the same store: every job is stored, so the pictures' jobs run once more
    second = run(out=tmp_path / "two", viewer_images="2", **common)
    assert second.counts["computed"] == 0 and second.counts["viewer_jobs"] == 2 * 2
    again = tmp_path / "two" / "viewer"
    for name in names:  # the same pictures (a deterministic codec)
        assert np.array_equal(pixels(folder / name), pixels(again / name))
    assert len(list(again.glob("*.png"))) == 2 * (1 + 2)
    assert [e["name"] for e in viewer_data(tmp_path / "two")["images"]] == ["a.png", "b.png"]

    # a re-run of that folder finds them: nothing is run again
    third = run(out=tmp_path / "two", viewer_images=2, **common)
    assert "viewer_jobs" not in third.counts
    # pictures of jobs no longer in the run (another quality) are removed
    run(out=tmp_path / "two", viewer_images=2, **{**common, "qualities": [30]})
    assert len(list(again.glob("*.png"))) == 2 * (1 + 1)

    # none: no pictures, no viewer page, and the report says how to get one
    run(out=tmp_path / "three", viewer_images="none", **common)
    assert not (tmp_path / "three" / "viewer").exists()
    assert not (tmp_path / "three" / "viewer.html").exists()
    report = (tmp_path / "three" / "report.html").read_text(encoding="utf-8")
    assert "No side-by-side viewer" in report and "--viewer-images N" in report


def test_viewer_images_option(capsys):
    assert parse_count("all") is None and parse_count("none") == 0 and parse_count("3") == 3
    with pytest.raises(ValueError, match="-1"):
        parse_count("-1")
    assert main(["run", "--viewer-images", "lots", "--codecs", "jpeg"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--viewer-images takes a number of images" in err


def test_auto_takes_the_images_that_fit_the_budget(tmp_path, images_maker, monkeypatch):
    """``auto`` estimates each image's pictures from its size (no decode) and stops before the
    budget is passed, keeping at least one image."""
    from licbench.bench import viewer
    from licbench.datasets import load_dataset

    folder = images_maker(tmp_path / "images", names=("a.png", "b.png", "c.png"))
    images = load_dataset(f"folder:{folder}").images()
    sizes = [176 * 192, 192 * 176, 168 * 200]
    cost = [px * viewer.BYTES_PER_PIXEL * 10 / 1e6 for px in sizes]  # 10 pictures an image
    monkeypatch.setattr(viewer, "BUDGET_MB", cost[0] + cost[1] + cost[2] / 2)
    assert [i.name for i in viewer.chosen_images(images, "auto", 10)] == ["a.png", "b.png"]
    monkeypatch.setattr(viewer, "BUDGET_MB", 1e-6)
    assert [i.name for i in viewer.chosen_images(images, "auto", 10)] == ["a.png"]
    assert viewer.chosen_images(images, None) == viewer.chosen_images(images, 3)
    assert viewer.chosen_images(images, 0) == []
    assert parse_count(None) == parse_count("auto") == "auto"


def test_auto_takes_at_most_a_few_dozen_images_however_small(tmp_path, monkeypatch):
    """Many small images fit the disk budget by the thousand; ``auto`` stops at its count."""
    import numpy as np
    from PIL import Image

    from licbench.bench import viewer
    from licbench.datasets import load_dataset

    names = tuple(f"{i:02d}.png" for i in range(5))
    folder = tmp_path / "images"
    folder.mkdir()
    for index, name in enumerate(names):  # distinct bytes: the viewer takes each content once
        Image.fromarray(np.full((8, 8, 3), 40 * index, np.uint8)).save(folder / name)
    images = load_dataset(f"folder:{folder}").images()
    monkeypatch.setattr(viewer, "AUTO_MAX_IMAGES", 3)
    assert [i.name for i in viewer.chosen_images(images, "auto", 10)] == list(names[:3])
    assert len(viewer.chosen_images(images, None)) == 5  # (all: no cap)


@pytest.mark.timeout(60)
def test_auto_never_opens_what_is_not_a_regular_file(tmp_path, images_maker):
    """Estimating an image's size opens only regular files: a FIFO named like an image would
    wait for a writer forever (its own jobs report it as not a regular file)."""
    import os

    from licbench.bench import viewer
    from licbench.datasets import ImageRef

    folder = images_maker(tmp_path / "images", names=("b.png",))
    os.mkfifo(folder / "a.png")
    refs = [
        ImageRef("a.png", folder / "a.png", "1" * 64),
        ImageRef("b.png", folder / "b.png", "2" * 64),
    ]
    assert [i.name for i in viewer.chosen_images(refs, "auto", 10)] == ["a.png", "b.png"]
