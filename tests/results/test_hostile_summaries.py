"""Whatever a summary.json holds, `check` and `roi` answer with a result or one line and exit 2.

Exit 1 means "regression" to a CI pipeline, so a file that is not a licbench summary must never
give it; nor a traceback. The readers tolerate keys they do not know (a newer licbench's run).
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licbench.cli import main
from licbench.results.jsonsafe import json_safe
from licbench.results.summary import RunSummary, SummaryError

VALID = {
    "dataset": "kodak",
    "images": 2,
    "jobs": 8,
    "jobs_missing": 0,
    "jobs_failed": 0,
    "environment": {"cpu": "x"},
    "codecs": {
        "jpeg": {
            "name": "jpeg",
            "description": "JPEG",
            "results": {
                "bpp": [0.3, 0.6, 1.2, 2.0],
                "psnr-rgb": [29.0, 32.0, 35.0, 38.0],
                "quality": [10, 30, 50, 70],
                "decoding_time": [0.01, 0.01, 0.01, 0.01],
            },
            "version": "1",
        },
        "webp": {
            "name": "webp",
            "description": "WebP",
            "results": {
                "bpp": [0.2, 0.4, 0.8, 1.6],
                "psnr-rgb": [29.5, 32.5, 35.5, 38.5],
                "quality": [10, 30, 50, 70],
            },
            "version": "1",
        },
    },
    "bd_rate": {"anchor": "jpeg", "method": "pchip", "warnings": [], "psnr-rgb": {"webp": -30.0}},
    "latency": {"jpeg": {"jobs": 4, "decode_median_s": 0.01, "device": "cpu", "gpu": False}},
    "a_key_from_a_newer_licbench": {"anything": [1, 2]},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from paths(inner, (*prefix, i))


ALL_PATHS = [p for p in paths(VALID) if p]


def replaced(path, value):
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def run_cli(argv, capsys) -> tuple[int, str]:
    status = main(argv)
    err = capsys.readouterr().err
    return status, err


def answer_is_clean(status: int, err: str, allowed=(0, 1, 2)) -> None:
    assert status in allowed
    assert "Traceback" not in err
    if status == 2:
        assert len(err.strip().splitlines()) == 1, err


def test_a_valid_summary_with_unknown_keys_round_trips():
    summary = RunSummary.from_json(VALID)
    assert summary.extra == {"a_key_from_a_newer_licbench": {"anything": [1, 2]}}
    written = json_safe(summary.to_json())  # as summary.json holds it: NaN as null
    assert json_safe(RunSummary.from_json(written).to_json()) == written


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "null",
        '{"codecs": []}',
        '{"codecs": {"jpeg": {"results": {"bpp": "fast"}}}}',
        '{"codecs": {"jpeg": {"results": {"bpp": [NaN], "psnr-rgb": [30]}}}}',
        '{"codecs": {"jpeg": {"results": {"bpp": [Infinity]}}}}',
        '{"codecs": {}, "images": -3}',
        '{"codecs": {}, "bd_rate": {"headline": "best"}}',
        "[" * 100000 + "]" * 100000,
        '{"a":' * 40 + "1" + "}" * 40,
    ],
    ids=lambda text: f"{len(text)}-chars",
)
def test_hostile_files_are_one_line_and_exit_2(tmp_path, capsys, text):
    bad = tmp_path / "summary.json"
    bad.write_text(text)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(VALID))
    status, err = run_cli(["check", "--baseline", str(good), "--candidate", str(bad)], capsys)
    assert status == 2
    answer_is_clean(status, err)
    roi = ["roi", "--run", str(bad), "--images-per-month", "10", "--mean-image-mb", "1"]
    roi += ["--storage-cost-per-gb-month", "1", "--egress-cost-per-gb", "1"]
    status, err = run_cli([*roi, "--out", str(tmp_path / "roi")], capsys)
    assert status == 2
    answer_is_clean(status, err)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(ALL_PATHS), value=json_values)
def test_any_value_anywhere_gives_a_result_or_one_line(tmp_path, capsys, path, value):
    data = replaced(path, value)
    base = tmp_path / "base.json"
    cand = tmp_path / "cand.json"
    base.write_text(json.dumps(VALID))
    cand.write_text(json.dumps(data))  # NaN/Infinity literals included, as Python writes them
    junit = tmp_path / "check.xml"
    argv = ["check", "--baseline", str(base), "--candidate", str(cand), "--junit", str(junit)]
    status, err = run_cli(argv, capsys)
    answer_is_clean(status, err)
    if status in (0, 1):
        ET.parse(junit)  # well-formed whatever the names hold
    try:
        RunSummary.from_json(data)
    except SummaryError as exc:
        assert "\n" not in str(exc).strip()


def test_control_characters_in_codec_names(tmp_path, capsys):
    data = copy.deepcopy(VALID)
    name = "we\x1b[2Jbp\x00\x07"
    data["codecs"][name] = data["codecs"].pop("webp")
    base = tmp_path / "base.json"
    base.write_text(json.dumps(data))
    junit = tmp_path / "check.xml"
    status = main(
        ["check", "--baseline", str(base), "--candidate", str(base), "--junit", str(junit)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "\x1b" not in out and "\x00" not in out and "\\x1b[2J" in out
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert "we\\x1b[2Jbp\\x00\\x07" in names
