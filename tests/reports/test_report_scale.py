"""The report at many images: per-image detail summarised, every cap said, the page small.

Above 200 images the report shows distributions, the worst and best images and grouped
failures instead of one row per job (issue 19, item 8); the CSV files keep every row. The large
run (conftest ``large_run``: 300 synthetic images, 3,000 jobs, 95 failed) is built straight in a
store, as ``benchmarks/report_size.py`` builds its runs; the expected values here are computed
from the CSV files, independently of the report's code.
"""

from __future__ import annotations

import csv
import html as html_lib
import re
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest

from licbench.reports import digest, outputs

from .conftest import LARGE_IMAGES

#: report.html of the large run is about 240 kB, most of it the charts' data (each image's own
#: curves, capped at 2,000 images: 1.0 MB at 2,000 images and 1.5 MB at 10,000, measured with
#: benchmarks/report_size.py); one row per job made it 1.4 MB here and 47 MB at 10,000
SIZE_BOUND = 350_000
WEBP_FAILING = [f"{('photos', 'graphics', 'screenshots', 'thumbnails')[i % 4]}/img_{i:05d}.png"
                for i in range(3, LARGE_IMAGES, 20)]  # fmt: skip
UNREADABLE = ["thumbnails/img_00007.png", "graphics/img_00157.png"]


def page(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def element(html: str, tag: str, element_id: str) -> str:
    match = re.search(rf'<{tag} [^>]*id="{element_id}".*?</{tag}>', html, re.S)
    assert match, f"no {tag} {element_id}"
    return match.group(0)


def bd_per_image(run: Path) -> dict[tuple[str, str], dict[str, float]]:
    """(metric, codec) → image → BD-rate, from bd_per_image.csv (images with a number)."""
    found: dict[tuple[str, str], dict[str, float]] = {}
    with open(run / "bd_per_image.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["bd_rate"]:
                found.setdefault((row["metric"], row["codec"]), {})[row["image"]] = float(
                    row["bd_rate"]
                )
    return found


def test_a_large_report_is_small_and_says_it_is_summarised(large_run):
    html = page(large_run)
    assert (large_run / "report.html").stat().st_size < SIZE_BOUND
    assert 'id="per-image-table"' not in html
    cap = html_lib.unescape(element(html, "p", "per-image-cap"))
    assert "300 images, 2,905 successful jobs: too many to list here" in cap
    assert "the full table is shown up to 200 images" in cap
    assert "per_image.csv" in cap and "bd_per_image.csv" in cap
    # the CSV keeps every job, failed ones included
    with open(large_run / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == LARGE_IMAGES * 2 * 5
    assert sum(1 for row in rows if row["error"]) == 95


def test_worst_and_best_images_by_per_image_bd_rate(large_run):
    html = html_lib.unescape(element(page(large_run), "table", "per-image-extremes"))
    per_image = bd_per_image(large_run)
    assert set(per_image) == {("psnr-rgb", "webp"), ("ms-ssim-rgb", "webp")}
    rows = re.findall(r"<tr><td class=\"text\">([^<]+)</td><td class=\"text\">([^<]+)<br>"
                      r"(.*?)</tr>", html, re.S)  # fmt: skip
    assert [(metric, codec) for metric, codec, _ in rows] == list(per_image)
    for metric, codec, rest in rows:
        values = per_image[(metric, codec)]
        assert len(values) == LARGE_IMAGES - len(WEBP_FAILING) - len(UNREADABLE)
        assert f"showing 20 of {len(values)} images" in rest
        worst = sorted(values, key=lambda image: -values[image])[:10]
        best = sorted(values, key=lambda image: values[image])[:10]
        for which, expected in (("worst", worst), ("best", best)):
            listed = re.search(rf'<ol class="extremes {which}">(.*?)</ol>', rest, re.S).group(1)
            items = re.findall(r"<li>([^<]+): ([-\d.]+)</li>", listed)
            assert [image for image, _ in items] == expected, (metric, which)
            for image, shown in items:
                assert float(shown) == pytest.approx(values[image], abs=0.006)
        assert not set(worst) & set(WEBP_FAILING + UNREADABLE)


def test_distributions_over_jobs_and_per_image_bd_rates(large_run):
    html = page(large_run)
    jobs = pd.read_csv(large_run / "per_image.csv", keep_default_na=False)
    ok = jobs[jobs["error"] == ""]
    table = element(html, "table", "per-image-distribution")
    for codec, quality, column, label, digits in (
        ("jpeg", 20.0, "bpp", "bpp", 4),
        ("webp", 90.0, "psnr_rgb", "PSNR RGB (dB)", 2),
        ("webp", 40.0, "ms_ssim_rgb_db", "MS-SSIM RGB (dB)", 2),
    ):
        values = ok[(ok["codec"] == codec) & (ok["quality"] == quality)][column].astype(float)
        values = sorted(values)
        # "inclusive" quantiles are numpy's linear interpolation, computed another way
        twentieths = statistics.quantiles(values, n=20, method="inclusive")
        expected = [values[0], twentieths[0], statistics.median(values), twentieths[-1]]
        expected.append(values[-1])
        cells = "".join(f"<td>{v:.{digits}f}</td>" for v in expected)
        row = (f'<tr><td class="text">{label}</td><td class="text">{codec}</td>'
               f"<td>{quality:g}</td><td>{len(values)}</td>{cells}</tr>")  # fmt: skip
        assert row in table
    assert table.count("<tr>") == 1 + 4 * 2 * 5  # bpp + 3 metric series, 2 codecs, 5 qualities
    spread = element(html, "table", "bd-per-image-distribution")
    values = sorted(bd_per_image(large_run)[("psnr-rgb", "webp")].values())
    assert (
        f'<tr><td class="text">psnr-rgb</td><td class="text">webp</td><td>{len(values)}</td>'
        f"<td>{values[0]:.2f}</td>"
    ) in spread
    assert f"<td>{statistics.median(values):.2f}</td><td>" in spread


def test_failures_are_grouped_by_codec_and_cause(large_run):
    table = html_lib.unescape(element(page(large_run), "table", "error-table"))
    assert "95 failed job(s) on 17 image(s)" in table and "3 group(s)" in table
    rows = re.findall(r"<tr><td class=\"text\">(\w+)</td><td class=\"text\">([^<]*)</td>"
                      r"<td>(\d+)</td><td>(\d+)</td><td class=\"text\">([^<]*)</td>\s*"
                      r"<td class=\"text\">([^<]*)</td></tr>", table)  # fmt: skip
    assert rows[0] == (
        "webp",
        "webp failed while encoding: OSError: encoder error 3 (WebPImagePlugin.py:289)",
        "75",
        "15",
        "20, 40, 60, 75, 90",
        ", ".join(WEBP_FAILING[:5]) + " … and 10 more",
    )
    unreadable = sorted(row[0] for row in rows[1:])
    assert unreadable == ["jpeg", "webp"] and len(rows) == 3
    for _, cause, jobs, images, _, files in rows[1:]:
        assert cause == "cannot read: cannot identify image file '‹file›'"
        assert (jobs, images, files) == ("10", "2", ", ".join(sorted(UNREADABLE)))


def test_rate_targets_are_counted_per_quality_not_listed_per_image(large_run):
    html = page(large_run)
    table = element(html, "table", "target-table")
    assert "img_0" not in table
    cell = re.search(r"<td class=\"text\">(q=[^<]*)</td></tr>", table).group(1)
    counts = [int(n.replace(",", "")) for n in re.findall(r"q=\d+: ([\d,]+)", cell)]
    assert sum(counts) == LARGE_IMAGES - len(UNREADABLE)  # jpeg's images with a choice
    assert "each image's choice is in summary.json <code>target_bpp</code>" in html


@pytest.fixture
def large_copy(large_run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(large_run, copy)
    return copy


def test_below_the_threshold_every_job_is_listed(large_copy, monkeypatch):
    monkeypatch.setattr(digest, "FULL_TABLE_IMAGES", LARGE_IMAGES)
    outputs.write_outputs(large_copy)
    html = page(large_copy)
    table = element(html, "table", "per-image-table")
    assert table.count("<tr>") == 1 + LARGE_IMAGES * 2 * 5 - 95  # header + each successful job
    assert 'id="per-image-cap"' not in html and 'id="per-image-extremes"' not in html
    assert "photos/img_00000.png: 20" in element(html, "table", "target-table")


def test_the_left_out_list_is_capped(large_copy, monkeypatch):
    monkeypatch.setattr(digest, "LEFT_OUT_SHOWN", 5)
    outputs.write_outputs(large_copy)
    table = html_lib.unescape(element(page(large_copy), "table", "bd-per-image-table"))
    left_out = len(WEBP_FAILING)  # (an image no codec could read is in no per-image curve)
    for listed in re.findall(r"<details><summary>which images</summary>(.*?)</details>", table):
        assert listed.count(": no successful job") == 5
        assert f"… and {left_out - 5} more (the first 5 shown; all in" in listed


def test_a_cause_loses_what_makes_it_one_files():
    job = "/data/set/a b.png: webp at quality 0.35 failed while decoding: ValueError: x (y.py:3)"
    assert digest.cause_of(job, "a b.png", "/data/set/a b.png") == (
        "webp failed while decoding: ValueError: x (y.py:3)"
    )
    unreadable = "/d/sub/c.png: cannot read: cannot identify image file '/d/sub/c.png'"
    assert digest.cause_of(unreadable, "sub/c.png") == (
        "cannot read: cannot identify image file '/d/‹file›'"
    )  # without the path (a run moved since): the name goes, and the folder before it
    assert digest.cause_of(unreadable, "sub/c.png", "/d/sub/c.png") == (
        "cannot read: cannot identify image file '‹file›'"
    )


def test_quantiles_are_linear_and_skip_what_is_not_finite():
    values = [float(v) for v in range(1, 102)] + [float("nan"), float("inf")]
    assert digest.quantiles(values) == {
        "min": 1.0,
        "p5": 6.0,
        "median": 51.0,
        "p95": 96.0,
        "max": 101.0,
    }
    assert all(v != v for v in digest.quantiles([float("nan")]).values())
