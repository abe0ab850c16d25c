"""`licbench check`: the CI gate between two real runs, its exit codes, table, JSON and JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from licbench.api import run
from licbench.cli import main
from licbench.codecs.pillow import JPEG


def small_run(images: Path, out: Path, store: Path) -> Path:
    run(
        f"folder:{images}",
        ["jpeg", "webp"],
        qualities=[20, 50, 80],
        out=out,
        store=store,
        workers=2,
        metrics=("psnr-rgb",),
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, images_maker):
    """A baseline, an identical candidate, and one whose JPEG keeps full-resolution chroma."""
    root = tmp_path_factory.mktemp("gate")
    images = images_maker(root / "images", names=("a.png", "b.png"))
    store = root / "store.sqlite"
    baseline = small_run(images, root / "baseline", store)
    same = small_run(images, root / "same", store)  # every job from the store
    with pytest.MonkeyPatch.context() as patch:
        # a "regression": 4:4:4 JPEG (settings are part of version(), so these are new jobs)
        patch.setattr(JPEG, "settings", {"subsampling": 0})
        worse = small_run(images, root / "worse", store)
    return {"baseline": baseline, "same": same, "worse": worse, "root": root}


def check(baseline, candidate, tmp_path, *extra) -> tuple[int, dict, ET.Element]:
    status = main(
        [
            "check",
            "--baseline",
            str(baseline),
            "--candidate",
            str(candidate),
            "--json",
            str(tmp_path / "check.json"),
            "--junit",
            str(tmp_path / "junit.xml"),
            *extra,
        ]
    )
    report = json.loads((tmp_path / "check.json").read_text()) if status in (0, 1) else {}
    junit = ET.parse(tmp_path / "junit.xml").getroot() if status in (0, 1) else None
    return status, report, junit


def test_identical_runs_pass(runs, tmp_path, capsys):
    status, report, junit = check(runs["baseline"], runs["same"] / "summary.json", tmp_path)
    assert status == 0
    out = capsys.readouterr().out
    assert "jpeg" in out and "webp" in out and out.strip().endswith("PASS")
    assert report["passed"] is True and report["metric"] == "psnr-rgb"
    for codec in ("jpeg", "webp"):
        entry = report["codecs"][codec]
        assert entry["bd_rate"] == pytest.approx(0.0, abs=1e-9)
        assert entry["max_bpp_increase"] == pytest.approx(0.0, abs=1e-12)
        assert [p["quality"] for p in entry["bpp_changes"]] == [20.0, 50.0, 80.0]
    suite = junit.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "0"
    assert [case.get("name") for case in suite.iter("testcase")] == ["jpeg", "webp"]


def test_a_codec_that_spends_more_bits_fails_with_numbers(runs, tmp_path, capsys):
    status, report, junit = check(runs["baseline"], runs["worse"], tmp_path)
    assert status == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    jpeg, webp = report["codecs"]["jpeg"], report["codecs"]["webp"]
    assert webp["passed"] is True
    assert jpeg["passed"] is False and jpeg["max_bpp_increase"] > 1.0
    assert "JPEG" not in jpeg["message"]  # numbers, not names
    assert "bpp at quality" in jpeg["message"] and "allowed" in jpeg["message"]
    changes = {p["quality"]: p for p in jpeg["bpp_changes"]}
    base = json.loads((runs["baseline"] / "summary.json").read_text())
    cand = json.loads((runs["worse"] / "summary.json").read_text())
    for q, bpp in zip(
        base["codecs"]["jpeg"]["results"]["quality"],
        base["codecs"]["jpeg"]["results"]["bpp"],
        strict=True,
    ):
        assert changes[q]["baseline"] == bpp
        i = cand["codecs"]["jpeg"]["results"]["quality"].index(q)
        after = cand["codecs"]["jpeg"]["results"]["bpp"][i]
        assert changes[q]["change"] == pytest.approx((after / bpp - 1) * 100)
    assert jpeg["max_bpp_increase"] == max(p["change"] for p in jpeg["bpp_changes"])
    assert any("version changed" in note for note in jpeg["notes"])
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    failure = cases["jpeg"].find("failure")
    assert failure is not None and failure.get("message") == jpeg["message"]
    assert "quality 50: bpp" in failure.text
    assert cases["webp"].find("failure") is None
    assert junit.find("testsuite").get("failures") == "1"


def scaled_candidate(runs, tmp_path, factor) -> Path:
    """The baseline's summary with webp's bpp scaled: a known regression of (factor-1)*100 %."""
    summary = json.loads((runs["baseline"] / "summary.json").read_text())
    results = summary["codecs"]["webp"]["results"]
    results["bpp"] = [b * factor for b in results["bpp"]]
    path = tmp_path / "candidate-summary.json"
    path.write_text(json.dumps(summary))
    return path


def test_known_regression_is_measured_exactly_and_thresholds_apply(runs, tmp_path):
    candidate = scaled_candidate(runs, tmp_path, 1.02)
    status, report, _ = check(runs["baseline"], candidate, tmp_path)
    assert status == 1
    webp = report["codecs"]["webp"]
    assert webp["bd_rate"] == pytest.approx(2.0, abs=1e-9)
    assert webp["max_bpp_increase"] == pytest.approx(2.0, abs=1e-9)
    assert len(webp["message"].split("; ")) == 2  # both limits broken
    assert report["codecs"]["jpeg"]["passed"] is True
    status, report, _ = check(
        runs["baseline"], candidate, tmp_path, "--max-bd-rate", "2.5", "--max-bpp-increase", "2.5"
    )
    assert status == 0 and report["max_bd_rate"] == 2.5
    # an improvement always passes
    status, report, _ = check(runs["baseline"], scaled_candidate(runs, tmp_path, 0.9), tmp_path)
    assert status == 0 and report["codecs"]["webp"]["bd_rate"] == pytest.approx(-10.0)


def test_codecs_in_one_run_only_are_skipped_not_failed(runs, tmp_path):
    summary = json.loads((runs["baseline"] / "summary.json").read_text())
    summary["codecs"]["avif"] = summary["codecs"].pop("webp")
    candidate = tmp_path / "c.json"
    candidate.write_text(json.dumps(summary))
    status, report, junit = check(runs["baseline"], candidate, tmp_path)
    assert status == 0
    assert report["only_in_baseline"] == ["webp"] and report["only_in_candidate"] == ["avif"]
    skipped = [c.get("name") for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["webp", "avif"]


def test_usage_errors_exit_2(runs, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["check", "--baseline", str(runs["baseline"]), "--candidate", str(missing)]) == 2
    assert "nowhere" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["check", "--baseline", str(empty), "--candidate", str(runs["same"])]) == 2
    summary = json.loads((runs["baseline"] / "summary.json").read_text())
    summary["codecs"] = {"other:" + k: v for k, v in summary["codecs"].items()}
    renamed = tmp_path / "renamed.json"
    renamed.write_text(json.dumps(summary))
    assert main(["check", "--baseline", str(runs["baseline"]), "--candidate", str(renamed)]) == 2
    assert "no codec in common" in capsys.readouterr().err
    args = ["check", "--baseline", str(runs["baseline"]), "--candidate", str(runs["same"])]
    assert main([*args, "--metric", "nonsense"]) == 2
    assert not (tmp_path / "check.json").exists()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_bd_rate": float("nan")}, "max_bd_rate must be a finite number of percent, got nan"),
        ({"max_bd_rate": float("inf")}, "max_bd_rate must be a finite number of percent, got inf"),
        (
            {"max_bpp_increase": float("nan")},
            "max_bpp_increase must be a finite number of percent, got nan",
        ),
    ],
)
def test_a_non_finite_threshold_is_a_usage_error_not_a_pass(runs, limits, message):
    from licbench.reports.check import CheckUsageError, compare

    # the 4:4:4 JPEG fails the gate at the default limits; a NaN limit used to pass it
    assert not compare(runs["baseline"], runs["worse"]).passed
    with pytest.raises(CheckUsageError) as caught:
        compare(runs["baseline"], runs["worse"], **limits)
    assert str(caught.value) == message
