"""End to end: `licbench run` on tiny images, its outputs, `licbench report`, exit statuses."""

from __future__ import annotations

import csv
import json
import math

import pytest

from licbench.cli import main
from licbench.metrics.bdrate import bd_rate

QUALITIES = "10,30,50,70,90"


@pytest.fixture
def finished_run(tmp_path, image_folder):
    out = tmp_path / "out"
    status = main(
        [
            "run",
            "--dataset",
            f"folder:{image_folder}",
            "--codecs",
            "jpeg,webp",
            "--qualities",
            QUALITIES,
            "--out",
            str(out),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--workers",
            "2",
            "--no-progress",
        ]
    )
    assert status == 0
    return out


def test_run_writes_per_image_csv(finished_run):
    with open(finished_run / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 5 * 3
    required = (
        "dataset image width height codec quality bytes bpp psnr_rgb ms_ssim_rgb encode_s "
        "decode_s error"
    ).split()
    assert set(required) <= set(rows[0])
    for row in rows:
        assert float(row["bpp"]) == pytest.approx(
            8 * int(row["bytes"]) / (int(row["width"]) * int(row["height"]))
        )
        assert row["error"] == ""
    assert {row["image"] for row in rows} == {"a.png", "b.png", "sub/c.png"}


def test_summary_is_compressai_format_with_bd_rates(finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["environment"]["licbench"]
    assert "numpy" in summary["environment"]["libraries"]
    jpeg = summary["codecs"]["jpeg"]
    results = jpeg["results"]
    assert jpeg["name"] == "jpeg"
    for key in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"):
        assert len(results[key]) == 5
    assert results["bpp"] == sorted(results["bpp"])
    # each point is the arithmetic mean of per-image values
    with open(finished_run / "per_image.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["codec"] == "jpeg" and float(r["quality"]) == 50]
    assert results["psnr-rgb"][2] == pytest.approx(
        sum(float(r["psnr_rgb"]) for r in rows) / len(rows), abs=1e-12
    )
    bd = summary["bd_rate"]
    assert bd["anchor"] == "jpeg" and bd["method"] == "pchip"
    expected = bd_rate(jpeg, summary["codecs"]["webp"], metric="psnr-rgb", method="pchip")
    assert bd["psnr-rgb"]["webp"] == pytest.approx(expected, abs=1e-12)
    assert bd["psnr-rgb"]["webp"] < 0  # WebP beats JPEG on photographs
    assert not math.isnan(bd["ms-ssim-rgb"]["webp"])


def test_report_contains_tables_and_numbers(finished_run):
    html = (finished_run / "report.html").read_text()
    summary = json.loads((finished_run / "summary.json").read_text())
    assert 'id="bd-rate-table"' in html and 'id="per-image-table"' in html
    assert html.count('class="codec-table"') == 2
    assert f"{summary['bd_rate']['psnr-rgb']['webp']:.2f}" in html
    assert f"{summary['codecs']['jpeg']['results']['bpp'][0]:.4f}" in html
    # RD curves embedded as the data the page draws them from (self-contained)
    assert '"key":"psnr-rgb"' in html and '"key":"ms-ssim-rgb-db"' in html
    assert "sub/c.png" in html


def test_report_rebuilds_identically_from_the_store(finished_run):
    before = json.loads((finished_run / "summary.json").read_text())
    (finished_run / "report.html").unlink()
    assert main(["report", str(finished_run)]) == 0
    assert (finished_run / "report.html").is_file()
    assert json.loads((finished_run / "summary.json").read_text()) == before


def test_second_run_reuses_every_job(tmp_path, image_folder, capsys):
    args = [
        "run",
        "--dataset",
        f"folder:{image_folder}",
        "--codecs",
        "jpeg",
        "--qualities",
        "20,60",
        "--store",
        str(tmp_path / "s.sqlite"),
        "--out",
        str(tmp_path / "o"),
        "--no-progress",
    ]
    assert main(args) == 0
    assert main(args) == 0
    assert "6 jobs: 6 from the store, 0 computed" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, image_folder, capsys):
    base = ["run", "--dataset", f"folder:{image_folder}", "--out", str(tmp_path / "o")]
    assert main([*base, "--codecs", "jpg"]) == 2
    assert "did you mean 'jpeg'" in capsys.readouterr().err
    assert main(["run", "--dataset", "nosuchset"]) == 2
    assert main(["report", str(tmp_path / "nowhere")]) == 2


def test_exit_1_only_when_every_job_failed(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"definitely not a png")
    status = main(
        [
            "run",
            "--dataset",
            f"folder:{folder}",
            "--codecs",
            "jpeg",
            "--qualities",
            "50",
            "--out",
            str(tmp_path / "o"),
            "--store",
            str(tmp_path / "s.sqlite"),
            "--no-progress",
        ]
    )
    assert status == 1
    with open(tmp_path / "o" / "per_image.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert "x.png" in row["error"]


def test_codecs_command_lists_every_codec(capsys):
    assert main(["codecs"]) == 0
    out = capsys.readouterr().out
    for name in ("jpeg", "webp", "jpeg2000", "avif"):
        assert name in out


def test_default_codecs_are_those_needing_no_parameters():
    from licbench.api import default_codecs

    names = [spec.name for spec in default_codecs()]
    assert "jpeg" in names and "webp" in names
    # learned codecs need ckpt=...: listed by `licbench codecs`, never breaking the default run
    assert "cca" not in names and "convnext-charm" not in names
