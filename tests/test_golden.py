"""What a user sees does not move: a fixed small run against golden files made before a redesign.

The grid: jpeg, webp and cca-tiny on two crops of the bundled Kodak sample, three metrics, a
published reference curve and two rate targets; a second run of jpeg and webp at other qualities
for ``licbench check``; and a ROI estimate. ``summary.json``, ``per_image.csv``, the check JSON
and the ROI JSON must equal the golden files except for fields that time, date or locate things
(timings, environment, paths). Regenerate after an intended change with
``LICBENCH_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import csv
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from licbench.cli import main

GOLDEN = Path(__file__).parent / "golden"

#: keys whose values depend on the machine, the clock or the place (never compared)
VOLATILE_KEYS = {
    "encode_s",
    "decode_s",
    "encoding_time",
    "decoding_time",
    "environment",
    "latency",
    "created",
    "decode_median_s",
    "encode_median_s",
    "decode_iqr_s",
    "encode_iqr_s",
    "decode_vs_anchor",
    "summary_sha256",
    "machine",
    "chart",  # a PNG: its bytes depend on matplotlib's version
    "compute",  # ROI's compute cost: timings times prices
    "peak_memory",  # measured resident memory of a process
    "decode_peak_memory_mb",
}


def _normalise(value: Any, tmp: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _normalise(v, tmp)
            for k, v in value.items()
            if k not in VOLATILE_KEYS and not _volatile_source(v)
        }
    if isinstance(value, list):
        return [_normalise(v, tmp) for v in value]
    if isinstance(value, str):
        return value.replace(tmp, "<tmp>")
    return value


def _volatile_source(value: Any) -> bool:
    # ROI cites where each number came from; a cited timing is as volatile as the timing
    return isinstance(value, dict) and any(
        key in str(value.get("where", "")) for key in ("decode_median_s", "decoding_time")
    )


def _csv_rows(path: Path, tmp: str) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [
            {k: v.replace(tmp, "<tmp>") for k, v in row.items() if k not in VOLATILE_KEYS}
            for row in csv.DictReader(f)
        ]


def _assert_equal(actual: Any, expected: Any, where: str = "") -> None:
    """Equal, floats to 1e-9 relative (JSON round trips; the codecs are deterministic)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert sorted(actual) == sorted(expected), f"{where}: keys differ"
        for key in expected:
            _assert_equal(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_equal(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, int | float):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12) or (
            math.isnan(actual) and math.isnan(expected)
        ), f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, str) and isinstance(actual, str):
        assert _numbers_close(actual, expected), f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _numbers_close(actual: str, expected: str) -> bool:
    if actual == expected:
        return True
    try:
        return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-12)
    except ValueError:
        return False


def _images(folder: Path) -> Path:
    folder.mkdir()
    sample = resources.files("licbench.datasets") / "sample"
    for name, box in (("kodim03.png", (200, 120, 392, 296)), ("kodim10.png", (60, 200, 236, 392))):
        with resources.as_file(sample / name) as path, Image.open(path) as image:
            crop = np.asarray(image.convert("RGB").crop(box))
        Image.fromarray(crop).save(folder / name)
    return folder


def _run(tmp: Path, images: Path, name: str, codecs: str, qualities: str | None, *extra: str):
    argv = ["run", "--dataset", f"folder:{images}", "--codecs", *codecs.split()]
    argv += ["--qualities", qualities] if qualities else []
    argv += ["--out", str(tmp / name), "--store", str(tmp / "store.sqlite")]
    argv += ["--workers", "2", "--no-progress", *extra]
    assert main(argv) == 0


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("golden")
    os.environ.setdefault("LICBENCH_HOME", str(tmp / "home"))
    images = _images(tmp / "images")
    metrics = ["--metrics", "psnr-rgb,ms-ssim-rgb,psnr-y"]
    _run(
        tmp,
        images,
        "base",
        "jpeg webp cca-tiny",
        None,
        *metrics,
        "--reference",
        "compressai-kodak-vtm",
        "--target-bpp",
        "0.5,1.0",
    )
    _run(tmp, images, "cand", "jpeg webp", "25,45,65,85", *metrics)
    check = ["check", "--baseline", str(tmp / "base"), "--candidate", str(tmp / "cand")]
    check_status = main([*check, "--json", str(tmp / "check.json")])
    roi = [
        "roi",
        "--run",
        str(tmp / "base"),
        "--images-per-month",
        "1000000",
        "--mean-image-mb",
        "0.5",
        "--storage-cost-per-gb-month",
        "0.02",
        "--egress-cost-per-gb",
        "0.05",
        "--out",
        str(tmp / "roi"),
    ]
    assert main(roi) == 0
    text = str(tmp)
    return {
        "summary.json": _normalise(json.loads((tmp / "base/summary.json").read_text()), text),
        "cand-summary.json": _normalise(json.loads((tmp / "cand/summary.json").read_text()), text),
        "per_image.csv": _csv_rows(tmp / "base/per_image.csv", text),
        "check.json": {
            "exit_status": check_status,
            **_normalise(json.loads((tmp / "check.json").read_text()), text),
        },
        "roi.json": _normalise(json.loads((tmp / "roi/roi.json").read_text()), text),
    }


@pytest.mark.parametrize(
    "name", ["summary.json", "cand-summary.json", "per_image.csv", "check.json", "roi.json"]
)
def test_outputs_equal_the_golden_files(outputs, name):
    golden = GOLDEN / (name + ".golden.json")
    if os.environ.get("LICBENCH_REGENERATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(outputs[name], indent=1, sort_keys=True) + "\n")
    _assert_equal(outputs[name], json.loads(golden.read_text()), name)
