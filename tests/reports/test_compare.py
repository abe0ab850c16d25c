"""``licbench compare``: two real runs on the same images (the tiny run, and a later one at other
qualities), their BD-rates against the baseline run checked against licbench.bd_rate on the
summaries and against ``licbench check``; runs on other images refused as check refuses them."""

from __future__ import annotations

import json
import shutil

import pytest

import licbench
from licbench.cli import main
from licbench.reports import check
from licbench.reports.compare_runs import compare_runs


def summary(run) -> dict:
    return json.loads((run / "summary.json").read_text())


def row(result: dict, run: str, codec: str) -> dict:
    return next(r for r in result["rows"] if r["run"] == run and r["codec"] == codec)


def test_bd_rates_against_the_baseline_run(tiny_run, second_run, compared):
    out, result = compared
    base, later = summary(tiny_run), summary(second_run)
    assert result["baseline"] == "run" and result["anchor"] == "jpeg"
    assert [r["label"] for r in result["runs"]] == ["run", "run (2)"]  # unique labels
    assert result["order"] == "time"  # both runs recorded when they were made
    # the later run's jpeg against the baseline's jpeg: as licbench.bd_rate and check say
    jpeg = row(result, "run (2)", "jpeg")
    expected = licbench.bd_rate(base["codecs"]["jpeg"], later["codecs"]["jpeg"], "psnr-rgb")
    assert jpeg["against_same"]["value"] == pytest.approx(expected, abs=1e-9)
    gated = check.compare(tiny_run, second_run)
    assert jpeg["against_same"]["value"] == pytest.approx(gated.codecs[0].bd_rate, abs=1e-9)
    assert jpeg["against_same"]["interval"] == pytest.approx(gated.codecs[0].bd_rate_interval)
    # webp of the later run against the baseline's anchor (jpeg), with its per-image interval
    webp = row(result, "run (2)", "webp")
    expected = licbench.bd_rate(base["codecs"]["jpeg"], later["codecs"]["webp"], "psnr-rgb")
    assert webp["against_anchor"]["value"] == pytest.approx(expected, abs=1e-9)
    low, high = webp["against_anchor"]["interval"]
    assert low <= webp["against_anchor"]["per_image_mean"] <= high
    # the baseline's own webp against its anchor is the run's own BD-rate
    own = row(result, "run", "webp")["against_anchor"]["value"]
    assert own == pytest.approx(base["bd_rate"]["psnr-rgb"]["webp"], abs=1e-9)
    assert row(result, "run", "jpeg")["notes"] == ["the anchor"]
    assert row(result, "run", "webp")["against_same"] is None
    # the timeline: per codec, its BD-rate against the baseline's anchor in run order
    assert result["timeline"]["runs"] == ["run", "run (2)"]
    assert [p["value"] for p in result["timeline"]["codecs"]["webp"]] == pytest.approx(
        [own, webp["against_anchor"]["value"]]
    )
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert 'id="compare-table"' in page and "<script>alert" not in page
    assert json.loads((out / "compare.json").read_text()) == result


def test_orders_and_choices(tiny_run, second_run):
    given = compare_runs([second_run, tiny_run], order="given", labels=["later", "first"])
    assert [r["label"] for r in given["runs"]] == ["later", "first"]
    assert given["baseline"] == "later"
    timed = compare_runs([second_run, tiny_run], labels=["later", "first"])
    assert [r["label"] for r in timed["runs"]] == ["first", "later"]
    chosen = compare_runs([tiny_run, second_run], baseline=second_run, anchor="webp")
    assert chosen["baseline"] == "run (2)" and chosen["anchor"] == "webp"
    assert row(chosen, "run (2)", "webp")["against_anchor"]["value"] == 0.0
    commits = [summary(r)["environment"].get("git", {}).get("commit") for r in (tiny_run,)]
    if commits[0]:  # (an installed licbench outside a git clone records no commit)
        by_commit = compare_runs([second_run, tiny_run], order="commit", labels=["b", "a"])
        assert by_commit["order"] == "commit"
        assert [r["label"] for r in by_commit["runs"]] == ["a", "b"]  # same commit: by time


def test_other_images_are_refused_in_one_line(tiny_run, second_run, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(second_run, other)
    data = summary(other)
    name = next(iter(data["dataset_identity"]["sha256"]))
    data["dataset_identity"]["sha256"][name] = "0" * 64  # another picture under that name
    (other / "summary.json").write_text(json.dumps(data))
    assert main(["compare", str(tiny_run), str(other), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "different datasets" in err and "other against run" in err
    assert not (tmp_path / "c" / "compare.html").exists()
    for argv, said in (
        (["--metric", "sharpness"], "unknown metric"),
        (["--anchor", "avif"], "has no such codec"),
        (["--baseline", str(tmp_path)], "has no summary.json"),
        (["--order", "commit", "--label", "x"], "--label given 1 times for 2 runs"),
    ):
        code = main(
            ["compare", str(tiny_run), str(second_run), "--out", str(tmp_path / "d"), *argv]
        )
        assert code == 2
        assert said in capsys.readouterr().err
