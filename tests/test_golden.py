"""What a user sees does not move: a fixed small run against golden files made before a redesign.

The grid: jpeg, webp and cca-tiny on two crops of the bundled Kodak sample, three metrics, a
published reference curve and two rate targets; a second run of jpeg and webp at other qualities
for ``licbench check``; and a ROI estimate. ``summary.json``, ``per_image.csv``, the check JSON
and the ROI JSON must equal the golden files except for fields that time, date or locate things
(timings, environment, paths). Regenerate after an intended change with
``LICBENCH_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py`` (on any machine: the files
are written normalised, as below) and say why in the commit.

The golden files must hold on any x86 CPU, so they hold nothing of the machine that wrote them:
the CPU's name is written ``<cpu>`` and library versions ``<version>`` (``pillow=<version>;
jpg=<version>;``), on both sides of the comparison. Floats are compared with a tolerance per kind
of quantity (:data:`TOLERANCES`), ten times the spread measured across CPUs: cca-tiny
(torch float32, whose oneDNN/MKL/ATen kernels are chosen per CPU) and MS-SSIM (float32
convolutions in pytorch-msssim) move in their last bits from one CPU to another, and everything
computed from them (BD-rates, bootstrap intervals, ROI savings) moves with them.

How the spread was measured (2 cores, AMD EPYC with AVX-512): the run on this machine
natively; as an "AVX2 machine" (``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
MKL_ENABLE_INSTRUCTIONS=AVX2``); as an "SSE4.1 machine" (``ONEDNN_MAX_CPU_ISA=SSE41
ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2``); each at ``OMP_NUM_THREADS`` 1 and
2 (natively also unset, twice); once more as CI's SSE4.1 machine (``licbench.core.numerics``'s
``ISA_ENV``: ``MKL_CBWR=COMPATIBLE`` in place of the MKL variable); and, one more data point, the
previous golden files, written on an Intel Xeon with AVX-512. The thread count and a rerun
changed nothing; the ISA did. The largest difference between any two of these, per kind, and the
tolerance: ten times that, rounded up to one digit.

==========================  ==============================  ===================
kind (fields)               largest spread measured         tolerance
==========================  ==============================  ===================
BD-rate (``bd_rate*``)      2.2e-3 pp (a bootstrap bound)   0.03 pp, absolute
dB (PSNR, MS-SSIM in dB)    1.7e-4 dB (MS-SSIM dB of webp)  2e-3 dB, absolute
MS-SSIM (linear, 0 to 1)    1.6e-6                          2e-5, absolute
ROI sizes and savings       4.9e-5 relative                 5e-4, relative
everything else             0 (bit-identical)               1e-9, relative
==========================  ==============================  ===================

BD-rates get an absolute tolerance because some lie near zero (0.37 % against VTM moved by
1.2e-3 pp, 3.3e-3 relative). The ROI's sizes and savings scale with a BD-rate of -43 % or -54 %:
relative. Native AMD against the Intel golden files spread less than SSE4.1 against AVX-512.

"Everything else" includes every integer and every string after normalisation, the bytes and
bpp of every codec, cca-tiny's among them: its entropy-coded symbols did not change in any
setup, so bytes are held exact. That is a measurement on these 192x176 crops, not a guarantee:
on full Kodak images the entropy parameters do move a CDF index across instruction sets (see
``licbench/codecs/learned/latent_codec.py``). A CPU that did so here would change a few bytes and
fail this test: measure that CPU's spread before adding a tolerance for bytes.
Text that quotes a float (the overlap percentages in the BD-rate warnings) was identical in all
setups too. PSNR is float64 NumPy on the decoded pixels: it moves only with cca-tiny's pixels.
The variables above do not reach libjpeg-turbo's or libwebp's SIMD choice; those libraries mean
their SIMD paths to match their C code bit for bit, and the Intel files agree with AMD's bytes.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from licbench.cli import main
from licbench.core.machine import cpu_model

GOLDEN = Path(__file__).parent / "golden"


@dataclass(frozen=True)
class Tolerance:
    """How far a float may move across CPUs: ``math.isclose(actual, expected, rel, abs)``."""

    rel: float
    abs: float


#: floats not named below: bit-identical across CPUs, so only JSON round trips are allowed
EXACT = Tolerance(rel=1e-9, abs=1e-12)
#: ten times the largest spread measured across CPUs, rounded up to one digit, per kind (the
#: module docstring says how it was measured)
TOLERANCES = {
    "bd-rate": Tolerance(rel=0.0, abs=0.03),  # percentage points; measured 2.2e-3 pp
    "db": Tolerance(rel=0.0, abs=2e-3),  # PSNR and MS-SSIM in dB; measured 1.7e-4 dB
    "ms-ssim": Tolerance(rel=0.0, abs=2e-5),  # MS-SSIM in [0, 1]; measured 1.6e-6
    "roi": Tolerance(rel=5e-4, abs=0.0),  # sizes and money from a BD-rate; measured 4.9e-5
}
#: the kind of a field, by its name (``_`` read as ``-``); any name starting ``bd-rate`` is a
#: BD-rate, and the first named field on the way from the root decides (``bd_rate`` →
#: ``ms-ssim-rgb`` → ``webp`` is a BD-rate, not an MS-SSIM)
FIELD_KINDS = {
    **dict.fromkeys(["psnr-rgb", "psnr-y", "ms-ssim-rgb-db", "quality-range"], "db"),
    "ms-ssim-rgb": "ms-ssim",
    **dict.fromkeys(
        [
            "mean-image-mb",
            "saved-mb-per-image",
            "size-ratio",
            "new-data-saved-gb-per-month",
            "egress-gb-saved-per-month",
            "egress-saving-per-month",
            "egress-saving-year-1",
            "storage-saving-month-1",
            "storage-saving-month-12",
            "storage-saving-year-1",
            "total-saving-year-1",
            "total-saving-year-1-interval",
        ],
        "roi",
    ),
}

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


#: keys whose strings name library versions: compared with each version written ``<version>``
VERSIONED_KEYS = {"version", "baseline_version", "candidate_version", "counter"}
#: a version after ``=`` or a space: ``pillow=13.0.0;``, ``(torch 2.14.1+cu130)``; licbench's own
#: settings in a version string (``bitstream=1``, ``tile=auto:512``) have no dot and stay
VERSION = re.compile(r"(?<=[= ])\d+\.\d+[\w.+-]*")
#: a digest of the code a learned codec runs (``code=fac02d2916ffd764``): it changes with any edit
#: of that code, so it is written ``<code>``
CODE = re.compile(r"(?<=code=)[0-9a-f]+")


def _normalise(value: Any, names: dict[str, str], key: str = "") -> Any:
    """Drop volatile keys; write each machine-specific name (``names``: text → placeholder)
    and each library version as a placeholder, so the golden files fit any machine."""
    if isinstance(value, dict):
        return {
            k: _normalise(v, names, k)
            for k, v in value.items()
            if k not in VOLATILE_KEYS and not _volatile_source(v)
        }
    if isinstance(value, list):
        return [_normalise(v, names, key) for v in value]
    if isinstance(value, str):
        for text, placeholder in names.items():
            value = value.replace(text, placeholder)
        if key in VERSIONED_KEYS:
            value = CODE.sub("<code>", VERSION.sub("<version>", value))
        return value
    return value


def _volatile_source(value: Any) -> bool:
    # ROI cites where each number came from; a cited timing is as volatile as the timing
    return isinstance(value, dict) and any(
        key in str(value.get("where", "")) for key in ("decode_median_s", "decoding_time")
    )


def _csv_rows(path: Path, names: dict[str, str]) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [
            {k: _normalise(v, names, k) for k, v in row.items() if k not in VOLATILE_KEYS}
            for row in csv.DictReader(f)
        ]


def _machine_names(tmp: Path) -> dict[str, str]:
    """What locates the run: its folder, and the CPU name its environment record gives (the
    ROI's latency caveat quotes it)."""
    cpu = json.loads((tmp / "base/summary.json").read_text())["environment"].get("cpu")
    return {str(tmp): "<tmp>", **({cpu: "<cpu>"} if cpu else {})}


def _tolerance(path: tuple[str, ...]) -> Tolerance:
    for key in path:
        name = key.replace("_", "-")
        if name.startswith("bd-rate"):
            return TOLERANCES["bd-rate"]
        if name in FIELD_KINDS:
            return TOLERANCES[FIELD_KINDS[name]]
    return EXACT


def _close(actual: float, expected: float, path: tuple[str, ...]) -> bool:
    tol = _tolerance(path)
    return math.isclose(actual, expected, rel_tol=tol.rel, abs_tol=tol.abs) or (
        math.isnan(actual) and math.isnan(expected)
    )


def _assert_equal(actual: Any, expected: Any, where: str = "", path: tuple[str, ...] = ()) -> None:
    """Equal: same keys, same integers and strings, floats within their kind's tolerance.

    ``path`` holds the keys from the root (list indices left out): it names the quantity.
    """
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert sorted(actual) == sorted(expected), f"{where}: keys differ"
        for key in expected:
            _assert_equal(actual[key], expected[key], f"{where}.{key}", (*path, key))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_equal(a, e, f"{where}[{i}]", path)
    elif isinstance(expected, float) and isinstance(actual, int | float):
        assert _close(actual, expected, path), f"{where}: {actual!r} != {expected!r}"
    elif isinstance(expected, str) and isinstance(actual, str):
        assert _numbers_close(actual, expected, path), f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _numbers_close(actual: str, expected: str, path: tuple[str, ...]) -> bool:
    # per_image.csv holds numbers as text: a float there has its column's tolerance
    if actual == expected:
        return True
    try:
        a, e = float(actual), float(expected)
    except ValueError:
        return False
    return _close(a, e, path)


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
    names = _machine_names(tmp)
    return {
        "summary.json": _normalise(json.loads((tmp / "base/summary.json").read_text()), names),
        "cand-summary.json": _normalise(json.loads((tmp / "cand/summary.json").read_text()), names),
        "per_image.csv": _csv_rows(tmp / "base/per_image.csv", names),
        "check.json": {
            "exit_status": check_status,
            **_normalise(json.loads((tmp / "check.json").read_text()), names),
        },
        "roi.json": _normalise(json.loads((tmp / "roi/roi.json").read_text()), names),
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


def test_golden_files_name_no_machine():
    """The golden files fit every machine: no CPU name and no library version is written in them
    (a regenerated file that held one would fail on every other machine). No compared output
    names the host; the ``environment`` record, which holds the platform, is never compared."""
    text = "".join(path.read_text() for path in sorted(GOLDEN.glob("*.golden.json")))
    assert not re.search(r"Intel|AMD|EPYC|Xeon|Ryzen|Core\(TM\)|Apple M\d", text)
    cpu = cpu_model()
    assert not cpu or cpu not in text, cpu
    for package in ("pillow", "torch", "compressai"):  # the versions the outputs name
        assert metadata.version(package) not in text, package
    for path in GOLDEN.glob("*.golden.json"):
        golden = json.loads(path.read_text())
        assert _normalise(golden, {}) == golden, f"{path.name}: a version not written <version>"
