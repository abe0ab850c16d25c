"""Exit codes a CI pipeline can trust (issue 20, item 5).

Exit 1 means "the candidate regressed". A question the baseline cannot answer (``--metric``
it never measured) is a usage error, exit 2; so is a summary holding a number no float can
hold (``1`` and 400 zeros is valid JSON and a Python int: ``float()`` of it raises
``OverflowError``), wherever it sits, for every command that reads a summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from licbench.cli import main
from licbench.results.summary import RunSummary, SummaryError

HUGE = 10**400


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def _without(data: dict, *series: str) -> dict:
    """``data`` with ``series`` gone from every curve (a run that never measured them)."""
    for section in (data["codecs"], *data.get("per_image_curves", {}).values()):
        for curve in section.values():
            results = curve.get("results", curve)
            for name in series:
                results.pop(name, None)
    for name in series:
        data["bd_rate"].pop(name, None)
    return data


def _check(baseline: Path, candidate: Path, capsys, *extra: str) -> tuple[int, str, str]:
    status = main(["check", "--baseline", str(baseline), "--candidate", str(candidate), *extra])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_metric_the_baseline_never_measured_is_a_usage_error(tiny_run, tmp_path, capsys):
    full = tiny_run / "summary.json"
    assert "ms-ssim-rgb" in _summary(tiny_run)["codecs"]["jpeg"]["results"]
    baseline = _write(tmp_path / "base.json", _without(_summary(tiny_run), "ms-ssim-rgb"))
    baseline_db = _without(_summary(tiny_run), "ms-ssim-rgb", "ms-ssim-rgb-db")
    baseline_db = _write(tmp_path / "base-db.json", baseline_db)

    status, out, err = _check(baseline_db, full, capsys, "--metric", "ms-ssim-rgb")
    assert status == 2, out
    assert err == (
        f"licbench check: --metric ms-ssim-rgb: the baseline {baseline_db} did not measure it; "
        "its metrics: psnr-rgb (choose one, or make a baseline that measures ms-ssim-rgb)\n"
    )
    assert out == ""
    # its BD-rates use the dB series: a baseline that has it is a baseline that measured it
    assert _check(baseline, full, capsys, "--metric", "ms-ssim-rgb")[0] == 0
    # the same files on a metric both have: a comparison, not a usage error
    assert _check(baseline_db, full, capsys)[0] == 0


def test_a_metric_with_no_value_in_the_baseline_is_a_usage_error(tiny_run, tmp_path, capsys):
    data = _summary(tiny_run)
    for curve in data["codecs"].values():  # measured, but undefined for every image
        results = curve["results"]
        results["ms-ssim-rgb-db"] = [None] * len(results["ms-ssim-rgb-db"])
    baseline = _write(tmp_path / "base.json", data)
    status, out, err = _check(baseline, tiny_run, capsys, "--metric", "ms-ssim-rgb")
    assert status == 2
    assert "has no finite value of it" in err and err.count("\n") == 1


def test_a_candidate_that_lost_the_metric_is_a_regression(tiny_run, tmp_path, capsys):
    lost = _without(_summary(tiny_run), "ms-ssim-rgb", "ms-ssim-rgb-db")
    candidate = _write(tmp_path / "cand.json", lost)
    status, out, err = _check(tiny_run, candidate, capsys, "--metric", "ms-ssim-rgb")
    assert status == 1 and err == ""
    assert out.count("BD-rate (ms-ssim-rgb) cannot be computed") == 2  # jpeg and webp


def _paths(value, prefix=()):
    """Every path of a JSON document, leaves and sections alike."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*prefix, index))


def _replaced(data: dict, path: tuple, value) -> dict:
    data = json.loads(json.dumps(data))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def test_an_integer_too_large_for_a_float_anywhere_is_one_line(tiny_run, tmp_path, capsys):
    """Each of the summary's numbers (a curve's bpp, a BD-rate, a count, an interval, a key
    licbench does not know), in turn: one line and exit 2 from check (either side) and roi."""
    data = _summary(tiny_run)
    data["from_a_newer_licbench"] = {"count": 1}
    leaves = [p for p in _paths(data) if isinstance(_get(data, p), int | float)]
    # one number per section: enough to reach every reader, few enough to stay quick
    picked: dict[tuple, tuple] = {}
    for path in leaves:
        picked.setdefault(tuple(k for k in path[:2] if isinstance(k, str)), path)
    assert len(picked) >= 8, sorted(picked)
    roi = ["roi", "--images-per-month", "1000", "--mean-image-mb", "1"]
    roi += ["--storage-cost-per-gb-month", "0.02", "--egress-cost-per-gb", "0.05"]
    for path in picked.values():
        bad = _write(tmp_path / "summary.json", _replaced(data, path, HUGE))
        shown = ".".join(str(k) for k in path)
        for baseline, candidate in ((tiny_run, bad), (bad, tiny_run)):
            status, out, err = _check(baseline, candidate, capsys)
            assert status == 2, (shown, out)
            assert err.count("\n") == 1 and "Traceback" not in err, err
            assert err.startswith(f"licbench check: {bad}: ") and "401 digits" in err, err
        status = main([*roi, "--run", str(bad), "--out", str(tmp_path / "roi")])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and "401 digits" in err, (shown, err)
    with pytest.raises(SummaryError, match=r"^here: jobs is an integer of 401 digits"):
        RunSummary.from_json({**data, "jobs": HUGE}, "here")
    assert RunSummary.from_json({**data, "jobs": 10**300}).jobs == 10**300  # (a float holds it)


def _get(data, path):
    for key in path:
        data = data[key]
    return data


def test_an_output_stamp_holding_one_is_rebuilt(image_folder, tmp_path):
    """The stamp that lets a finished run skip rewriting its outputs carries the summary; one
    whose numbers are not numbers is not current: the outputs are rebuilt, no traceback."""
    from licbench.api import RunRequest, execute, plan, write
    from licbench.bench.freshness import STAMP_NAME

    request = RunRequest.from_options(
        f"folder:{image_folder}",
        ["jpeg"],
        qualities=[50],
        out=tmp_path / "out",
        store=tmp_path / "store.sqlite",
        workers=1,
        metrics=["psnr-rgb"],
        progress=False,
    )
    planned = plan(request)
    fingerprint = execute(planned).fingerprint
    written = write(planned, fingerprint)
    stamp = tmp_path / "out" / STAMP_NAME
    data = json.loads(stamp.read_text())
    data["summary"]["jobs"] = HUGE
    stamp.write_text(json.dumps(data))
    again = write(planned, fingerprint)
    assert again.jobs == written.jobs == 3
    assert json.loads(stamp.read_text())["summary"]["jobs"] == 3  # stamped afresh
