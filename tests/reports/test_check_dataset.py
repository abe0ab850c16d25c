"""``check`` pairs images by content and refuses runs on different datasets (exit 2)."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from licbench.api import run
from licbench.cli import main
from licbench.reports.check import CheckUsageError, compare
from tests.conftest import synthetic_image


def _run(tmp_path, folder, name):
    run(
        f"folder:{folder}",
        ["jpeg", "webp"],
        qualities=[30, 60, 90],
        out=tmp_path / name,
        store=tmp_path / f"{name}.sqlite",
        workers=1,
        progress=False,
        metrics=["psnr-rgb"],
    )
    return tmp_path / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("datasets")
    first, renamed, other = (tmp_path / n for n in ("first", "renamed", "other"))
    for folder in (first, renamed, other):
        folder.mkdir()
    for seed, name in ((1, "a.png"), (2, "b.png")):
        Image.fromarray(synthetic_image(48, 64, seed)).save(first / name)
        Image.fromarray(synthetic_image(48, 64, seed + 10)).save(other / name)
    shutil.copy(first / "a.png", renamed / "b.png")  # the same pictures, names swapped
    shutil.copy(first / "b.png", renamed / "a.png")
    return {name: _run(tmp_path, folder, name) for name, folder in
            (("first", first), ("renamed", renamed), ("other", other))}  # fmt: skip


def test_different_images_under_the_same_names_are_refused(runs, capsys):
    with pytest.raises(CheckUsageError, match="different datasets: .* 2 distinct images, .* 0 in"):
        compare(runs["first"], runs["other"])
    assert main(["check", "--baseline", str(runs["first"]), "--candidate", str(runs["other"])]) == 2
    assert "different datasets" in capsys.readouterr().err


def test_renamed_files_are_the_same_images(runs):
    result = compare(runs["first"], runs["renamed"])
    assert result.passed
    for check in result.codecs:  # paired by content: each image against itself
        assert check.bd_rate_per_image_mean == pytest.approx(0.0, abs=1e-9)
