"""The HTML report of a real run: sections, escaping, visual comparison, latency, references."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pytest

import licbench.codecs
from licbench.bench.manifest import RunManifest
from licbench.bench.rate_target import chosen_job_keys
from licbench.bench.store import Record, Store
from licbench.bench.visual import compute_crops
from licbench.reports import outputs
from licbench.reports.interactive import report_data
from licbench.results.build import latency_table
from licbench.results.curve import Curve
from licbench.results.summary import ReferenceComparison

XSS_NAME = "<script>alert(1)</script>.png"  # the name tests/reports/conftest.py gives an image


def read(run) -> tuple[str, dict]:
    return (run / "report.html").read_text(), json.loads((run / "summary.json").read_text())


def chart_data(html: str) -> dict:
    """The numbers the report's charts are drawn from (its embedded JSON)."""
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found, "no chart data in the report"
    return json.loads(found.group(1))


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
    assert table_["cca"].device == "cuda:0" and table_["cca"].gpu is True
    assert table_["cca"].decode_median_s == pytest.approx(0.03)
    assert table_["cca"].decode_iqr_s == pytest.approx(0.02)  # 0.04 - 0.02
    assert table_["cca"].context == {"device_name": "A100", "threads": "4", "torch": "2.x"}
    assert table_["jpeg"].device == "cpu" and table_["jpeg"].gpu is False


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
    # the script elements are the report's own: its chart data, its charts, its table sorter
    assert html.count("<script") == 3
    data = chart_data(html)  # the name is in the chart data too, as JSON text
    assert XSS_NAME in data["images"]
    assert '<script type="application/json" id="report-data">' in html


def test_visual_comparison_embeds_crops_near_a_common_rate(tiny_run):
    html, summary = read(tiny_run)
    manifest = RunManifest.load(tiny_run)
    section = html[html.index('id="visual"') : html.index('id="codecs"')]
    crops = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', section)
    assert len(crops) == 2 * 3  # two images x (original, jpeg, webp)
    assert sum(alt.startswith("original crop") for alt in crops) == 2
    # each codec's job is the one whose bpp on that image is closest to the anchor's median,
    # among the sweep and the points the --target-bpp search chose
    with Store(manifest.store) as store:
        sweep = list(store.get(manifest.jobs).values())
        chosen = list(store.get(chosen_job_keys(manifest.target_choices)).values())
    assert len(chosen) == 2 * 2 * 2  # codecs x targets x images
    target = sorted(r.bpp for r in sweep if r.codec == "jpeg")
    assert manifest.visual["target_bpp"] == pytest.approx((target[3] + target[4]) / 2)
    target = manifest.visual["target_bpp"]
    assert len(manifest.visual["images"]) == 2
    for entry in manifest.visual["images"]:
        x, y, w, h = entry["box"]
        assert w == h <= 192  # square, capped by the image's smaller side
        for codec, tile in entry["tiles"].items():
            pool = [r for r in sweep + chosen if r.codec == codec]
            best = min(abs(r.bpp - target) for r in pool if r.image_sha256 == entry["sha256"])
            assert abs(tile["bpp"] - target) == pytest.approx(best)
            caption = f"q={tile['quality']:.6g}, {tile['bpp']:.3f} bpp, {tile['psnr']:.2f} dB"
            assert caption in section
    assert "not deterministic" not in section  # re-encoded to the stored number of bytes


def test_report_only_reads_the_crops_the_run_stored(run_copy, monkeypatch):
    """Rebuilding a report creates no codec and reads no image: the crops come from the store."""
    before = (run_copy / "report.html").read_text()
    manifest = RunManifest.load(run_copy)
    for path in manifest.image_paths.values():
        Path(path).unlink()

    def refuse(*args, **kwargs):
        raise AssertionError("a report must not create a codec")

    monkeypatch.setattr(licbench.codecs, "create_codec", refuse)
    outputs.write_outputs(run_copy)
    after = (run_copy / "report.html").read_text()
    crops = re.compile(r'src="(data:image/png;base64,[^"]+)"')
    section = slice(before.index('id="visual"'), before.index('id="codecs"'))
    assert crops.findall(before[section]) == crops.findall(
        after[after.index('id="visual"') : after.index('id="codecs"')]
    )


def test_a_store_without_crops_says_so(run_copy):
    manifest = RunManifest.load(run_copy)
    with Store(manifest.store) as store:
        store._connection.execute("DELETE FROM crops")
    outputs.write_outputs(run_copy)
    html = (run_copy / "report.html").read_text()
    assert "no crop in the store" in html
    assert 'id="per-image-table"' in html  # the rest of the report is still there


def test_a_crop_that_cannot_be_made_is_a_note(tmp_path, image_folder):
    from licbench.cli import main

    out = tmp_path / "run"
    argv = ["run", "--dataset", f"folder:{image_folder}", "--codecs", "jpeg", "--qualities"]
    argv += ["20,60", "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    assert main(argv) == 0
    manifest = RunManifest.load(out)
    gone = manifest.visual["images"][0]
    Path(manifest.image_paths[gone["sha256"]]).unlink()
    with Store(manifest.store) as store:
        store._connection.execute("DELETE FROM crops")
        made = compute_crops(manifest, manifest.visual, store)
    assert made == 2 * 2  # 2 images x (original, jpeg)
    outputs.write_outputs(out)
    html = (out / "report.html").read_text()
    assert "image not readable when the crops were made" in html


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


def test_chart_data_carries_references_only_where_they_have_the_metric():
    curves = {
        "jpeg": Curve("jpeg", results={"bpp": [0.3, 0.6, 1.2], "psnr-rgb": [29.0, 32.0, 35.0]}),
    }
    from licbench.results.summary import BDTable, RunSummary

    summary = RunSummary("d", 1, 3, 0, 0, {}, curves, BDTable("jpeg", "pchip"))
    summary.references = ReferenceComparison({"vtm $x$": Curve.from_dict(fake_reference(1.0))})
    data = report_data(summary, ["psnr-rgb"])
    assert [m["key"] for m in data["metrics"]] == ["psnr-rgb"]
    assert data["references"]["vtm $x$"]["psnr-rgb"] == [30.0, 33.0, 36.0, 40.0]
    assert data["views"][0]["curves"]["jpeg"]["bpp"] == [0.3, 0.6, 1.2]
    # a metric no curve has is not offered
    assert [m["key"] for m in report_data(summary, ["lpips-alex"])["metrics"]] == []


def test_report_draws_references_and_lpips_when_present(run_copy, monkeypatch):
    build = outputs.build

    def with_extras(manifest, store, references=()):
        built = build(manifest, store, references)
        built.summary.references = ReferenceComparison(
            {"vtm-kodak": Curve.from_dict(fake_reference(1.0))},
            {"vtm-kodak": {"psnr-rgb": {"webp": 12.5}}},
        )
        for curve in built.summary.codecs.values():  # what an lpips-alex metric would add
            n = len(curve.results["bpp"])
            curve.results["lpips-alex"] = [0.5 / (i + 1) for i in range(n)]
        return built

    monkeypatch.setattr(outputs, "build", with_extras)
    summary = outputs.write_outputs(run_copy).to_json()
    html = (run_copy / "report.html").read_text()
    data = chart_data(html)
    keys = [m["key"] for m in data["metrics"]]
    assert keys == ["psnr-rgb", "ms-ssim-rgb-db", "lpips-alex"]
    lpips = next(m for m in data["metrics"] if m["key"] == "lpips-alex")
    assert lpips["label"] == "LPIPS (AlexNet)" and lpips["lower"] is True
    assert data["references"]["vtm-kodak"]["psnr-rgb"] == [30.0, 33.0, 36.0, 40.0]
    webp = data["views"][0]["curves"]["webp"]
    assert webp["lpips-alex"][:2] == [0.5, 0.25]
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
    assert "ms-ssim-rgb" not in summary.codecs["jpeg"].results
    assert "MS-SSIM" not in table(html, "per-image-table")
    assert "MS-SSIM" not in html[html.index('id="codecs"') :]
    assert [m["key"] for m in chart_data(html)["metrics"]] == ["psnr-rgb"]


def test_chart_data_is_the_summary_rounded(tiny_run):
    """Every number the charts draw is summary.json's, to the decimals the page shows: mean
    curves (all images and each group), each image's own curves, per-image BD-rates."""
    html, summary = read(tiny_run)
    data = chart_data(html)
    assert data["anchor"] == "jpeg" and data["codecs"] == ["jpeg", "webp"]
    assert [m["key"] for m in data["metrics"]] == ["psnr-rgb", "ms-ssim-rgb-db"]
    views = {v["key"]: v for v in data["views"]}
    assert set(views) == {"all"} | {f"group:{g}" for g in summary["groups"]}
    for codec, entry in summary["codecs"].items():
        shown = views["all"]["curves"][codec]
        results = entry["results"]
        assert shown["bpp"] == pytest.approx(results["bpp"], abs=1e-5)
        assert shown["psnr-rgb"] == pytest.approx(results["psnr-rgb"], abs=1e-4)
        assert shown["q"] == results["quality"] and shown["n"] == results["images"]
    for group, entry in summary["groups"].items():
        for codec, curve in entry["codecs"].items():
            shown = views[f"group:{group}"]["curves"][codec]
            assert shown["bpp"] == pytest.approx(curve["results"]["bpp"], abs=1e-5)
    # each image's own curves, by index into the image names
    assert sorted(data["images"]) == data["images"] == sorted(["a.png", XSS_NAME])
    assert data["images_shown"] == [0, 1] and data["images_with_curves"] == 2
    for codec, per_image in summary["per_image_curves"].items():
        for name, curve in per_image.items():
            shown = data["image_curves"][codec][str(data["images"].index(name))]
            assert shown["bpp"] == pytest.approx(curve["bpp"], abs=1e-5)
            assert shown["ms-ssim-rgb-db"] == pytest.approx(curve["ms-ssim-rgb-db"], abs=1e-4)
    # the strip plots: one per metric, each image's BD-rate, the mean and its interval
    for strip in data["strips"]:
        stats = summary["bd_rate"]["per_image"][strip["metric"]]["webp"]
        (row,) = strip["rows"]
        values = {data["images"][i]: v for i, v in row["values"]}
        assert values == pytest.approx(stats["per_image"], abs=1e-3)
        assert row["mean"] == pytest.approx(stats["mean"], abs=1e-3)
        assert row["ci"] == pytest.approx(stats["mean_ci"], abs=1e-3)


def test_image_curves_are_capped_worst_and_best_first(large_run):
    """Above the cap the page carries the worst and best images' own curves first, then others
    by name, and says how many of how many (the cap applies to what grows with the images)."""
    from licbench.results.summary import RunSummary

    summary = RunSummary.from_json(json.loads((large_run / "summary.json").read_text()))
    data = report_data(summary, ["psnr-rgb", "ms-ssim-rgb"], cap=30)
    shown = [data["images"][i] for i in data["images_shown"]]
    assert len(shown) == 30 and shown == sorted(shown)
    per_image = summary.bd_rate.per_image["psnr-rgb"]["webp"].values
    worst = max(per_image, key=per_image.get)
    best = min(per_image, key=per_image.get)
    assert worst in shown and best in shown
    assert data["images_with_curves"] == len(summary.image_curves["jpeg"]) > 30
    for per in data["image_curves"].values():
        assert {data["images"][int(i)] for i in per} <= set(shown)


def test_warnings_are_worded_for_readers():
    """The BD-rate library's warning for curves that do not overlap speaks to its caller
    ("returning NaN"); the pages say what the reader sees instead."""
    import warnings

    from licbench.metrics.bdrate import bd_rate
    from licbench.reports.html import for_readers

    anchor = {"results": {"bpp": [0.1, 0.2, 0.3, 0.4], "psnr-rgb": [20.0, 22.0, 24.0, 26.0]}}
    test = {"results": {"bpp": [1.0, 2.0, 3.0, 4.0], "psnr-rgb": [40.0, 42.0, 44.0, 46.0]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bd_rate(anchor, test, "psnr-rgb")
    said = str(caught[0].message)
    assert "returning NaN" in said
    shown = for_readers(said)
    assert "NaN" not in shown and shown.endswith("no BD-rate can be given (n/a)")
