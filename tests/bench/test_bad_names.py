"""File names and folders: every file is a row (or a reported skip), whatever its name.

Each test is a real ``licbench.run`` over a tiny folder (JPEG, one or two qualities, PSNR only):
names that are not UTF-8, files with equal bytes, repeated qualities and codecs, files and
folders that cannot be read, broken symbolic links, names a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import licbench
from licbench.reports.outputs import neutralise, per_image_csv


def _image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path, format="PNG")


def _run(folder: Path, tmp_path: Path, **kwargs):
    options = {"qualities": [50], "metrics": ["psnr-rgb"], "workers": 1, "progress": False}
    options.update(kwargs)
    codecs = options.pop("codecs", ["jpeg"])
    return licbench.run(
        f"folder:{folder}",
        codecs,
        out=tmp_path / "out",
        store=tmp_path / "store.sqlite",
        **options,
    )


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "per_image.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_name_that_is_not_utf8_is_measured_and_every_output_is_written(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _image(folder / "plain.png", 0)
    latin1 = os.fsdecode(folder).encode() + b"/caf\xe9.png"  # Latin-1 é: not UTF-8
    _image(Path(os.fsdecode(latin1)), 1)

    result = _run(folder, tmp_path)

    assert result.counts["computed"] == 2 and result.summary.jobs_failed == 0
    rows = {row["image"]: row for row in _rows(result.out)}
    assert set(rows) == {"plain.png", "caf\\xe9.png"}
    assert rows["caf\\xe9.png"]["error"] == "" and float(rows["caf\\xe9.png"]["bpp"]) > 0
    assert "caf\\xe9.png" in (result.out / "report.html").read_text(encoding="utf-8")
    assert json.loads((result.out / "summary.json").read_text())["images"] == 2
    again = _run(folder, tmp_path)  # the store write did not crash: nothing is computed again
    assert again.counts["cached"] == 2 and again.counts["computed"] == 0


def test_files_with_equal_bytes_are_two_rows_computed_once(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _image(folder / "a.png", 0)
    _image(folder / "b.png", 1)
    (folder / "copy-of-a.png").write_bytes((folder / "a.png").read_bytes())

    result = _run(folder, tmp_path, qualities=[30, 70])

    assert result.counts == {
        "total": 6,
        "cached": 0,
        "computed": 4,
        "same_bytes": 2,
        "failed": 0,
        "skipped": 0,
    }
    rows = _rows(result.out)
    assert len(rows) == 6  # 3 files × 2 qualities
    assert sorted({r["image"] for r in rows}) == ["a.png", "b.png", "copy-of-a.png"]
    copy = [r for r in rows if r["image"] == "copy-of-a.png"]
    original = [r for r in rows if r["image"] == "a.png"]
    assert [r["bpp"] for r in copy] == [r["bpp"] for r in original]
    assert all(r["notes"] == "same bytes as a.png: computed once for both" for r in copy)
    # each file counts in the mean: (a + b + a) / 3, not (a + b) / 2
    curve = result.summary.codecs["jpeg"]
    assert curve.results["images"] == [3, 3]
    for index, quality in enumerate(curve.results["quality"]):
        at = [float(r["bpp"]) for r in rows if float(r["quality"]) == quality]
        assert curve.results["bpp"][index] == pytest.approx(sum(at) / 3)
    assert result.summary.images == 3
    assert json.loads((result.out / "summary.json").read_text())["notes"] == {
        "copy-of-a.png": ["same bytes as a.png: computed once for both"]
    }
    licbench.report(result.out)  # the manifest (format 2) is read back: the same rows
    assert len(_rows(result.out)) == 6


def test_a_repeated_quality_or_codec_is_measured_once_with_a_notice(tmp_path, caplog):
    folder = tmp_path / "images"
    folder.mkdir()
    _image(folder / "a.png", 0)

    result = _run(folder, tmp_path, qualities=[10, 10.0, 30], codecs=["jpeg", "jpeg"])

    assert result.counts["total"] == 2 and result.counts["same_bytes"] == 0
    assert result.notices == [
        "codec jpeg is listed more than once: measured once",
        "quality 10 is listed more than once: measured once",
    ]
    assert "quality 10 is listed more than once" in caplog.text
    assert [r["quality"] for r in _rows(result.out)] == ["10.0", "30.0"]


def test_broken_links_fifos_and_unlistable_folders_are_rows_or_counted_skips(tmp_path, monkeypatch):
    folder = tmp_path / "images"
    (folder / "locked").mkdir(parents=True)
    (folder / "elsewhere").mkdir()
    _image(folder / "good.png", 0)
    _image(folder / "locked" / "hidden.png", 1)
    os.symlink(folder / "gone.png", folder / "dangling.png")
    os.mkfifo(folder / "pipe.png")
    os.symlink(folder / "elsewhere", folder / "linked")
    real_scandir = os.scandir

    def scandir(path="."):  # a folder this process may not list (root ignores chmod)
        if not isinstance(path, int) and Path(path) == folder / "locked":  # (fds: rmtree)
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = _run(folder, tmp_path)

    rows = {row["image"]: row for row in _rows(result.out)}
    assert set(rows) == {"dangling.png", "good.png", "pipe.png"}
    assert rows["good.png"]["error"] == ""
    assert rows["dangling.png"]["error"] == (
        f"{folder / 'dangling.png'}: cannot read: a broken symbolic link (to "
        f"{folder / 'gone.png'}, which does not exist)"
    )
    assert rows["pipe.png"]["error"] == (
        f"{folder / 'pipe.png'}: cannot read: not a regular file (a FIFO)"
    )
    assert result.counts["skipped"] == 2
    skipped = [
        {"name": "linked/", "reason": "a symbolic link to a folder: not followed"},
        {"name": "locked/", "reason": "cannot list the folder: Permission denied"},
    ]
    assert json.loads((result.out / "summary.json").read_text())["skipped"] == skipped
    assert result.notices == [f"skipped {s['name']}: {s['reason']}" for s in skipped]
    assert "cannot list the folder: Permission denied" in (result.out / "report.html").read_text()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission_is_an_error_row(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _image(folder / "good.png", 0)
    _image(folder / "secret.png", 1)
    (folder / "secret.png").chmod(0)
    try:
        result = _run(folder, tmp_path)
    finally:
        (folder / "secret.png").chmod(0o644)
    rows = {row["image"]: row for row in _rows(result.out)}
    assert rows["secret.png"]["error"].endswith("secret.png: cannot read: Permission denied")
    assert rows["good.png"]["error"] == ""


def test_names_a_spreadsheet_would_run_are_neutralised_in_the_csv(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    names = ["=HYPERLINK(1).png", "+1.png", "-2.png", "@sum.png", "plain.png"]
    for seed, name in enumerate(names):
        _image(folder / name, seed)

    result = _run(folder, tmp_path)

    images = sorted(row["image"] for row in _rows(result.out))
    assert images == ["'+1.png", "'-2.png", "'=HYPERLINK(1).png", "'@sum.png", "plain.png"]
    # summary.json keeps the real names; only the spreadsheet file is defended
    assert result.summary.images == 5


def test_only_text_cells_are_neutralised():
    frame = pd.DataFrame(
        {
            "image": ["=x.png", "\tx.png", "x.png"],
            "codec": ["jpeg", "-jpeg", "jpeg"],
            "error": ["", "@boom", ""],
            "notes": ["", "", "+note"],
            "bpp": [-1.5, 0.25, 1.0],
            "job_key": ["k1", "k2", "k3"],
        }
    )
    rows = list(csv.DictReader(per_image_csv(frame).splitlines()))
    assert [r["image"] for r in rows] == ["'=x.png", "'\tx.png", "x.png"]
    assert [r["codec"] for r in rows] == ["jpeg", "'-jpeg", "jpeg"]
    assert [r["error"] for r in rows] == ["", "'@boom", ""]
    assert [r["notes"] for r in rows] == ["", "", "'+note"]
    assert [r["bpp"] for r in rows] == ["-1.5", "0.25", "1.0"]  # numbers untouched
    assert "job_key" not in rows[0]
    assert neutralise(-3) == -3 and neutralise("a=b") == "a=b"
