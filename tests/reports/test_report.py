"""The HTML report of a real run: sections, escaping, visual comparison, latency, references."""

from __future__ import annotations

import html as html_lib
import json
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Record, Store
from licbench.reports import outputs
from licbench.reports.analysis import latency_table, per_image_frame
from licbench.reports.plots import rd_figure
from licbench.reports.visual import visual_comparison

XSS_NAME = "<script>alert(1)</script>.png"  # the name tests/reports/conftest.py gives an image


def read(run) -> tuple[str, dict]:
    return (run / "report.html").read_text(), json.loads((run / "summary.json").read_text())


def table(html: str, table_id: str) -> str:
    match = re.search(rf'<table id="{table_id}".*?</table>', html, re.S)
    assert match, f"no table {table_id}"
    return match.group(0)


def test_bd_rate_table_names_method_and_anchor(tiny_run):
    html, summary = read(tiny_run)
    bd = table(html, "bd-rate-table")
    assert "anchor <b>jpeg</b>" in bd and "method <b>pchip</b>" in bd
    row = re.search(r"<tr><td class=\"text\">webp</td>.*?</tr>", bd, re.S).group(0)
    assert '<td class="text">jpeg</td><td class="text">pchip</td>' in row
    assert f"{summary['bd_rate']['psnr-rgb']['webp']:.2f}" in row


def test_latency_table_per_codec_with_device(tiny_run):
    html, summary = read(tiny_run)
    latency = summary["latency"]
    assert set(latency) == {"jpeg", "webp"}
    for row in latency.values():
        assert row["jobs"] == 8  # 4 qualities x 2 images
        assert row["device"] == "cpu" and row["gpu"] is False
        assert row["decode_median_s"] > 0 and row["decode_iqr_s"] >= 0
        rendered = table(html, "latency-table")
        assert f"{row['decode_median_s'] * 1000:.2f}" in rendered
        assert f"{row['encode_median_s'] * 1000:.2f}" in rendered


def test_latency_device_comes_from_the_record_environment():
    def record(codec, decode, environment):
        return Record(
            "k" + str(decode),
            codec,
            "key",
            "v",
            1.0,
            "i",
            "s",
            bpp=1.0,
            encode_s=decode,
            decode_s=decode,
            environment=environment,
        )

    gpu_env = {"device": "cuda:0", "threads": "4", "torch": "2.x", "device_name": "A100"}
    records = [record("cca", d, gpu_env) for d in (0.01, 0.02, 0.03, 0.04, 0.05)]
    records += [record("jpeg", d, {}) for d in (0.1, 0.2, 0.3)]
    table_ = latency_table(records, ["cca", "jpeg"])
    assert table_["cca"]["device"] == "cuda:0" and table_["cca"]["gpu"] is True
    assert table_["cca"]["decode_median_s"] == pytest.approx(0.03)
    assert table_["cca"]["decode_iqr_s"] == pytest.approx(0.02)  # 0.04 - 0.02
    assert table_["cca"]["context"] == {"device_name": "A100", "threads": "4", "torch": "2.x"}
    assert table_["jpeg"]["device"] == "cpu" and table_["jpeg"]["gpu"] is False


def test_per_image_table_is_sortable_and_self_contained(tiny_run):
    html, _ = read(tiny_run)
    per_image = table(html, "per-image-table")
    assert 'class="sortable"' in per_image
    assert per_image.count("<tr>") == 1 + 2 * 4 * 2  # header + one row per job
    assert 'data-type="num"' in per_image and 'data-v="' in per_image
    assert 'addEventListener("click"' in html
    # self-contained: no external scripts, styles or images
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "<link" not in html


def test_image_names_are_escaped_text(tiny_run):
    html, _ = read(tiny_run)
    assert "<script>alert(1)" not in html
    escaped = html_lib.escape(XSS_NAME, quote=False)
    assert escaped in html
    # the only script element is the report's own sorter
    assert html.count("<script") == 1


def test_visual_comparison_embeds_crops_near_a_common_rate(tiny_run):
    html, summary = read(tiny_run)
    manifest = RunManifest.load(tiny_run)
    assert len(manifest.image_paths) == 2
    section = html[html.index('id="visual"') : html.index('id="codecs"')]
    crops = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', section)
    assert len(crops) == 2 * 3  # two images x (original, jpeg, webp)
    assert sum(alt.startswith("original crop") for alt in crops) == 2
    # each codec's quality is the one whose bpp on that image is closest to the anchor's median,
    # among the sweep and the points the --target-bpp search chose
    with Store(manifest.store) as store:
        frame = per_image_frame(
            list(store.get(manifest.jobs).values()),
            manifest.dataset,
            manifest.images,
            manifest.metrics,
        )
        extra = outputs._target_frame(manifest, store)
    assert len(extra) == 2 * 2 * 2  # codecs x targets x images
    visual = visual_comparison(manifest, frame, extra=extra)
    target = frame[frame["codec"] == "jpeg"]["bpp"].median()
    assert visual["target_bpp"] == pytest.approx(target)
    pool = pd.concat([frame, extra])
    assert len(visual["rows"]) == 2
    for row in visual["rows"]:
        assert row.crop[2] == row.crop[3] <= 192  # square, capped by the image's smaller side
        assert len(row.tiles) == 2
        for tile in row.tiles:
            rows = pool[(pool["codec"] == tile.codec) & (pool["image"] == row.image)]
            best = (rows["bpp"] - target).abs().min()
            assert abs(tile.bpp - target) == pytest.approx(best)
            assert tile.uri and not tile.note  # re-encoded to the stored number of bytes
            assert f"q={tile.quality:.6g}, {tile.bpp:.3f} bpp, {tile.psnr:.2f} dB" in section


def test_visual_comparison_skips_what_it_cannot_redo(run_copy):
    manifest = RunManifest.load(run_copy)
    data = json.loads((run_copy / "run.json").read_text())
    first = sorted(data["image_paths"])[0]
    data["image_paths"][first] = str(run_copy / "gone.png")
    data["codecs"]["webp"]["version"] = "some other libwebp"
    (run_copy / "run.json").write_text(json.dumps(data))
    outputs.write_outputs(run_copy)
    html = (run_copy / "report.html").read_text()
    notes = re.search(r'<ul class="note" id="visual-notes">.*?</ul>', html, re.S).group(0)
    assert "webp: not shown, its version here" in notes
    assert "gone.png" in notes and "cannot read" in notes
    assert manifest.images  # the rest of the report is still there
    assert 'id="per-image-table"' in html


def test_old_manifest_without_image_paths_still_reports(run_copy):
    data = json.loads((run_copy / "run.json").read_text())
    for key in ("image_paths", "target_bpp", "target_choices"):
        del data[key]
    (run_copy / "run.json").write_text(json.dumps(data))
    summary = outputs.write_outputs(run_copy)
    html = (run_copy / "report.html").read_text()
    assert "the run did not record where the image is" in html
    assert "target_bpp" not in summary


def test_target_table_in_report_and_summary(tiny_run):
    html, summary = read(tiny_run)
    targets = summary["target_bpp"]
    assert targets["targets"] == [0.5, 1.0] and "largest quality" in targets["rule"]
    for codec in ("jpeg", "webp"):
        for target in ("0.5", "1"):
            entry = targets["codecs"][codec][target]
            assert entry["images"] == 2
            assert set(entry["per_image"]) == {"a.png", XSS_NAME}
            for point in entry["per_image"].values():
                if point["status"] == "ok":
                    assert point["bpp"] <= float(target)
            assert entry["bpp"] == pytest.approx(
                sum(p["bpp"] for p in entry["per_image"].values()) / 2
            )
    rendered = table(html, "target-table")
    assert f"{targets['codecs']['webp']['0.5']['bpp']:.4f}" in rendered


def fake_reference(scale: float) -> dict:
    return {
        "name": "VTM $x$ <b>",
        "description": "published numbers",
        "results": {
            "bpp": [0.2, 0.5, 1.0, 2.0],
            "psnr-rgb": [30.0 * scale, 33.0 * scale, 36.0 * scale, 40.0 * scale],
            "ms-ssim-rgb": [0.93, 0.965, 0.985, 0.995],
        },
    }


def test_references_are_drawn_dashed_and_labelled_published():
    curves = {
        "jpeg": {"results": {"bpp": [0.3, 0.6, 1.2], "psnr-rgb": [29.0, 32.0, 35.0]}},
    }
    references = {"vtm $x$": fake_reference(1.0)}
    figure = rd_figure(curves, "psnr-rgb", "PSNR", "jpeg", references)
    lines = figure.axes[0].get_lines()
    plt.close(figure)
    labels = {line.get_label(): line.get_linestyle() for line in lines}
    assert labels["jpeg"] == "-"
    assert labels[r"vtm \$x\$ (published)"] == "--"
    # references without the metric are not drawn
    figure = rd_figure(curves, "lpips-alex", "LPIPS", "jpeg", references)
    assert [line.get_label() for line in figure.axes[0].get_lines()] == []
    plt.close(figure)


def test_report_draws_references_and_lpips_when_present(run_copy, monkeypatch):
    build = outputs.build_summary

    def with_extras(manifest, store):
        summary, frame = build(manifest, store)
        summary["references"] = {"vtm-kodak": fake_reference(1.0)}
        summary["bd_rate_references"] = {"vtm-kodak": {"psnr-rgb": {"webp": 12.5}}}
        for entry in summary["codecs"].values():  # what an lpips-alex metric would add
            n = len(entry["results"]["bpp"])
            entry["results"]["lpips-alex"] = [0.5 / (i + 1) for i in range(n)]
        return summary, frame

    monkeypatch.setattr(outputs, "build_summary", with_extras)
    summary = outputs.write_outputs(run_copy)
    html = (run_copy / "report.html").read_text()
    plots = html[html.index('id="rd-curves"') : html.index('id="bd-rate"')]
    assert plots.count("data:image/png;base64,") == 3  # PSNR, MS-SSIM dB, LPIPS
    assert 'alt="LPIPS (AlexNet) against bpp"' in plots
    refs = table(html, "reference-table")
    assert "vtm-kodak (published)" in refs
    assert "VTM $x$ &lt;b&gt;" in refs  # the reference's own name is escaped text
    bd_refs = table(html, "bd-rate-references-table")
    row = '<td class="text">vtm-kodak</td><td class="text">psnr-rgb</td><td class="text">webp</td>'
    assert row in bd_refs and "12.50" in bd_refs
    assert summary["references"]["vtm-kodak"]["name"] == "VTM $x$ <b>"


def test_report_follows_the_run_metrics(run_copy):
    """An MS-SSIM-less run (only PSNR) renders: columns follow the run's metrics."""
    data = json.loads((run_copy / "run.json").read_text())
    data["metrics"] = ["psnr-rgb"]
    (run_copy / "run.json").write_text(json.dumps(data))
    summary = outputs.write_outputs(run_copy)
    html = (run_copy / "report.html").read_text()
    assert "ms-ssim-rgb" not in summary["codecs"]["jpeg"]["results"]
    assert "MS-SSIM" not in table(html, "per-image-table")
    assert "MS-SSIM" not in html[html.index('id="codecs"') :]
    assert html[html.index('id="rd-curves"') : html.index('id="bd-rate"')].count("<img") == 1
