"""`licbench roi`: money from a real run's BD-rates, every number traceable to summary.json."""

from __future__ import annotations

import json
import re
import warnings

import pytest

from licbench.cli import main
from licbench.metrics.bdrate import bd_rate

REQUIRED = [
    "--images-per-month",
    "1000000",
    "--mean-image-mb",
    "0.5",
    "--storage-cost-per-gb-month",
    "0.023",
    "--egress-cost-per-gb",
    "0.09",
]


def roi(run, out, *extra) -> tuple[int, dict | None, str]:
    status = main(["roi", "--run", str(run), "--out", str(out), *extra])
    if status != 0:
        return status, None, ""
    return status, json.loads((out / "roi.json").read_text()), (out / "roi.html").read_text()


def test_toml_config_with_command_line_override(tiny_run, tmp_path):
    config = tmp_path / "roi.toml"
    config.write_text(
        "[roi]\n"
        "images-per-month = 2000000\n"
        "mean_image_mb = 0.5\n"
        "storage_cost_per_gb_month = 0.02\n"
        "egress_cost_per_gb = 0.08\n"
        "deliveries_per_image = 3\n"
        'currency = "EUR"\n'
    )
    status, result, html = roi(
        tiny_run, tmp_path / "o", "--config", str(config), "--mean-image-mb", "0.4"
    )
    assert status == 0
    summary = json.loads((tiny_run / "summary.json").read_text())
    bd = summary["bd_rate"]["psnr-rgb"]["webp"]
    assert bd < 0
    webp = result["codecs"]["webp"]
    assert result["anchor"] == "jpeg" and result["metric"] == "psnr-rgb"
    assert result["inputs"]["mean_image_mb"] == 0.4  # the command line wins
    assert result["input_sources"]["mean_image_mb"] == "command line"
    assert result["input_sources"]["images_per_month"] == "config file"
    assert result["input_sources"]["deliveries_per_image"] == "config file"
    # the arithmetic, spelled out
    saved_mb = 0.4 * -bd / 100
    monthly_gb = 2_000_000 * saved_mb / 1000
    assert webp["bd_rate_percent"] == bd
    assert webp["saved_mb_per_image"] == pytest.approx(saved_mb)
    assert webp["mean_image_mb"] == pytest.approx(0.4 * (1 + bd / 100))
    assert webp["new_data_saved_gb_per_month"] == pytest.approx(monthly_gb)
    assert webp["storage_saving_month_1"] == pytest.approx(monthly_gb * 0.02)
    assert webp["storage_saving_month_12"] == pytest.approx(12 * monthly_gb * 0.02)
    assert webp["storage_saving_year_1"] == pytest.approx(78 * monthly_gb * 0.02)
    assert webp["egress_saving_per_month"] == pytest.approx(3 * monthly_gb * 0.08)
    assert webp["egress_saving_year_1"] == pytest.approx(12 * 3 * monthly_gb * 0.08)
    assert webp["total_saving_year_1"] == pytest.approx(
        78 * monthly_gb * 0.02 + 36 * monthly_gb * 0.08
    )
    # every number from the run is cited with its place in summary.json
    sources = webp["sources"]
    assert sources["bd_rate_percent"] == {
        "where": "summary.json → bd_rate → psnr-rgb → webp",
        "value": bd,
    }
    latency = summary["latency"]["webp"]
    assert webp["decode"]["decode_median_s"] == latency["decode_median_s"]
    assert webp["decode"]["sources"]["decode_median_s"]["where"].endswith(
        "latency → webp → decode_median_s"
    )
    assert webp["decode"]["device"] == "cpu" and webp["decode"]["gpu_needed"] is False
    assert webp["decode_vs_anchor"] == pytest.approx(
        latency["decode_median_s"] / summary["latency"]["jpeg"]["decode_median_s"]
    )
    assert result["summary_sha256"] and len(result["summary_sha256"]) == 64
    # the page: plain words, the money, the assumptions and the sources
    assert "EUR" in html and f"{webp['total_saving_year_1']:,.2f}" in html
    assert f"{-bd:.1f}% fewer bytes" in html
    assert "summary.json → bd_rate → psnr-rgb → webp" in html
    assert "PSNR RGB (dB)" in html
    assumptions = re.search(r'<ol id="assumptions-list">(.*?)</ol>', html, re.S).group(1)
    for phrase in (
        "average over the quality range",
        "mean image size of 0.4 MB",
        "accumulates",
        "months 1 to 12",
        "delivered 3 time(s)",
        "1 GB = 1000 MB",
    ):
        assert phrase in assumptions, phrase
    assert len(re.findall("<li>", assumptions)) >= 8


def test_other_anchor_and_metric_are_computed_from_the_curves(tiny_run, tmp_path):
    status, result, html = roi(
        tiny_run, tmp_path / "o", *REQUIRED, "--anchor", "webp", "--metric", "ms-ssim-rgb"
    )
    assert status == 0
    summary = json.loads((tiny_run / "summary.json").read_text())
    jpeg = result["codecs"]["jpeg"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = bd_rate(
            summary["codecs"]["webp"], summary["codecs"]["jpeg"], "ms-ssim-rgb-db", "pchip"
        )
    # the same warnings (little overlap) are kept with the estimate
    assert [f"jpeg ms-ssim-rgb: {w.message}" for w in caught] == jpeg["warnings"]
    assert jpeg["bd_rate_percent"] == pytest.approx(expected)
    assert jpeg["bd_rate_percent"] > 0  # JPEG needs more bytes than WebP: a cost
    assert jpeg["total_saving_year_1"] < 0
    assert "computed by licbench.bd_rate(pchip)" in jpeg["sources"]["bd_rate_percent"]["where"]
    assert "more bytes" in html and "MS-SSIM RGB (dB)" in html


def test_the_run_anchor_metric_ms_ssim_is_cited(tiny_run, tmp_path):
    status, result, _ = roi(tiny_run, tmp_path / "o", *REQUIRED, "--metric", "ms-ssim-rgb")
    assert status == 0
    summary = json.loads((tiny_run / "summary.json").read_text())
    webp = result["codecs"]["webp"]
    assert webp["bd_rate_percent"] == summary["bd_rate"]["ms-ssim-rgb"]["webp"]
    assert webp["sources"]["bd_rate_percent"]["where"].endswith("bd_rate → ms-ssim-rgb → webp")


def test_usage_errors_exit_2(tiny_run, tmp_path, capsys):
    assert main(["roi", "--run", str(tiny_run), "--images-per-month", "10"]) == 2
    assert "--mean-image-mb" in capsys.readouterr().err
    assert main(["roi", "--run", str(tmp_path / "nowhere"), *REQUIRED]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("images_per_moth = 3\n")
    assert main(["roi", "--run", str(tiny_run), "--config", str(bad), *REQUIRED]) == 2
    assert "unknown key 'images_per_moth'" in capsys.readouterr().err
    assert main(["roi", "--run", str(tiny_run), *REQUIRED, "--anchor", "avif"]) == 2
    assert main(["roi", "--run", str(tiny_run), *REQUIRED[:-1], "-5"]) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "images_per_month = nan",
            "images_per_month must be a finite, non-negative number, got nan",
        ),
        ("mean-image-mb = inf", "mean_image_mb must be a finite, non-negative number, got inf"),
        ("egress_cost_per_gb = -inf", "egress_cost_per_gb must be a finite, non-negative number"),
        ('storage_cost_per_gb_month = "nan"', "storage_cost_per_gb_month must be a finite"),
        ("deliveries_per_image = true", "deliveries_per_image must be a number, got True"),
        ("images_per_month = [1, 2]", "images_per_month must be a number, got [1, 2]"),
        ("run = 5", "run must be a string, got 5"),
        ("currency = 3.5", "currency must be a string, got 3.5"),
        ("metric = nan", "metric must be a string, got nan"),
    ],
)
def test_config_values_that_are_not_finite_numbers_or_text_exit_2(
    tiny_run, tmp_path, capsys, line, message
):
    key = line.split("=")[0].strip().replace("-", "_")
    values = {
        "images_per_month": "1000",
        "mean_image_mb": "0.5",
        "storage_cost_per_gb_month": "0.02",
        "egress_cost_per_gb": "0.05",
    }
    values.pop(key, None)
    config = tmp_path / "roi.toml"
    config.write_text("".join(f"{k} = {v}\n" for k, v in values.items()) + line + "\n")
    run_args = [] if key == "run" else ["--run", str(tiny_run)]
    assert main(["roi", *run_args, "--config", str(config), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("licbench roi: ") and message in err
    assert not (tmp_path / "roi.json").exists()


def test_non_finite_command_line_values_exit_2(tiny_run, tmp_path, capsys):
    for value in ("nan", "inf", "-inf"):
        args = [*REQUIRED[:2], f"--mean-image-mb={value}", *REQUIRED[4:]]
        assert main(["roi", "--run", str(tiny_run), "--out", str(tmp_path), *args]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"licbench roi: mean_image_mb must be a finite, non-negative number, got {value}"
        ]
