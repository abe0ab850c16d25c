"""CompressAI's published zoo and classical curves: the shipped numbers, the names, the listing
command, and a run that gets BD-rates against one of them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
import warnings
from collections import Counter
from pathlib import Path

import pytest

import licbench
from licbench.cli import main
from licbench.metrics.bdrate import BDRateWarning
from licbench.references import REFERENCES, reference_info
from licbench.references.compressai_results import KNOWN_SERIES, PUBLISHED
from tests.data_paths import COMPRESSAI_RESULTS, shared

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "licbench" / "references" / "data"
MODELS = [
    "bmshj2018-factorized",
    "bmshj2018-hyperprior",
    "mbt2018-mean",
    "mbt2018",
    "cheng2020-anchor",
    "cheng2020-attn",
]


def test_every_zoo_model_and_metric_on_each_set_from_the_cpu_files():
    names = {entry.name: entry for entry in PUBLISHED}
    for prefix, folder in (
        ("compressai-kodak", "kodak"),
        ("compressai-clic2020", "clic2020-professional"),
        ("compressai-clic2020-mobile", "clic2020-mobile"),
    ):
        for model in MODELS:
            for metric in ("mse", "ms-ssim"):
                entry = names[f"{prefix}-{model}-{metric}"]
                assert entry.path == f"{folder}/compressai-{model}_{metric}_cpu.json"
        for codec in ("jpeg", "webp", "jpeg2000", "av1", "hm"):
            assert names[f"{prefix}-{codec}"].path == f"{folder}/{codec}.json"
    # the classical curves shipped before keep their names and are not shipped twice
    assert "compressai-kodak-vtm" not in names and "compressai-clic2020-vtm" not in names
    assert names["compressai-clic2020-mobile-vtm"].path == "clic2020-mobile/vtm.json"
    assert len(PUBLISHED) == 3 * 12 + 5 + 6 + 7


def test_names_are_unique_and_registered_once():
    counts = Counter(entry.name for entry in PUBLISHED)
    assert max(counts.values()) == 1
    for entry in PUBLISHED:
        assert REFERENCES.origin(entry.name) == "licbench"
        assert reference_info(entry.name).file == f"{entry.name}.json"
    # every data file belongs to exactly one reference
    files = Counter(reference_info(name).file for name in REFERENCES.names())
    assert max(files.values()) == 1
    assert set(files) == {p.name for p in DATA.glob("*.json")}


def test_provenance_names_the_file_commit_and_licence():
    entry = reference_info("compressai-kodak-mbt2018-mean-mse")
    assert entry.source == (
        "CompressAI (InterDigitalInc/CompressAI at 869a9f5, BSD 3-Clause Clear (InterDigital)) "
        "results/image/kodak/compressai-mbt2018-mean_mse_cpu.json"
    )
    assert entry.dataset == "kodak"
    assert "real rANS bitstream" in entry.protocol and "CPU" in entry.protocol
    assert "quality 1-8" in entry.protocol
    assert "quality 1-6" in reference_info("compressai-kodak-cheng2020-attn-ms-ssim").protocol
    assert reference_info("compressai-clic2020-jpeg").dataset == "clic"
    mobile = reference_info("compressai-clic2020-mobile-webp")
    assert mobile.dataset == "" and "mobile" in mobile.dataset_description
    for entry in PUBLISHED:
        assert "BSD 3-Clause Clear" in entry.source and entry.protocol and entry.codec


def _assert_shipped_as_published(entry, published_dir: Path) -> None:
    published = json.loads((published_dir / entry.path).read_text())
    shipped = licbench.load_reference(entry.name)
    assert shipped["name"] == published["name"]
    assert shipped["description"] == published["description"]
    source = published["results"]
    assert set(shipped["results"]) == set(source) & set(KNOWN_SERIES)
    # the same points (every series of a point together), ordered by bpp
    points = sorted(zip(*(source[k] for k in shipped["results"]), strict=True))
    assert list(zip(*shipped["results"].values(), strict=True)) == points
    if source["bpp"] == sorted(source["bpp"]):
        assert shipped["results"] == {k: source[k] for k in shipped["results"]}


def test_shipped_points_are_the_published_numbers_for_the_carried_files():
    """The few files tests/data carries: an in-order zoo curve and JPEG 2000, shipped reordered."""
    carried = [e for e in PUBLISHED if (COMPRESSAI_RESULTS / e.path).is_file()]
    assert {e.name for e in carried} == {
        "compressai-kodak-mbt2018-mean-mse",
        "compressai-kodak-jpeg2000",
    }
    for entry in carried:
        _assert_shipped_as_published(entry, COMPRESSAI_RESULTS)


def test_shipped_points_are_the_published_numbers():
    """All of them, against CompressAI's whole results folder (too many files to carry)."""
    published_dir = shared("reference", "compressai-results")
    if not published_dir.is_dir():
        pytest.skip(f"needs CompressAI's whole results folder ({published_dir})")
    for entry in PUBLISHED:
        _assert_shipped_as_published(entry, published_dir)


def test_jpeg2000_is_reordered_by_rate_and_values_kept():
    curve = licbench.load_reference("compressai-kodak-jpeg2000")["results"]
    assert curve["bpp"] == sorted(curve["bpp"])
    assert len(curve["bpp"]) == 19
    assert curve["bpp"][0] == pytest.approx(0.126, abs=5e-4)
    mbt = licbench.load_reference("compressai-kodak-mbt2018-mean-mse")["results"]
    assert mbt["bpp"][0] == 0.12392171223958336
    assert mbt["psnr-rgb"][-1] == 40.63331397919807


def test_package_data_ships_the_json_files():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "references/data/*.json" in pyproject["tool"]["setuptools"]["package-data"]["licbench"]
    for entry in PUBLISHED:
        assert (DATA / entry.file).is_file()


def test_references_command_lists_the_new_names(capsys):
    assert main(["references", "compressai-kodak-*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = [line.split()[0] for line in lines]
    assert listed == licbench.list_references("compressai-kodak-*")
    assert {"compressai-kodak-mbt2018-mean-mse", "compressai-kodak-jpeg2000"} <= set(listed)
    assert {"compressai-kodak-vtm", "compressai-kodak-bpg"} <= set(listed)
    row = next(line for line in lines if line.startswith("compressai-kodak-mbt2018-mean-mse "))
    assert row.split()[1:5] == ["kodak", "8", "points", "bpp"]
    assert "0.124-1.619" in row and "mbt2018-mean, MSE weights" in row


def test_references_command_unknown_pattern_prints_nothing(capsys):
    assert main(["references", "no-such-reference-*"]) == 0
    assert capsys.readouterr().out == ""


def test_references_command_imports_no_numpy():
    probe = (
        "import sys\nfrom licbench.cli import main\n"
        "status = main(['references'])\n"
        "heavy = [m for m in ('numpy', 'scipy', 'torch') if m in sys.modules]\n"
        "print(status, heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "0 []"
    assert "compressai-clic2020-mobile-vtm" in done.stdout


def test_run_gets_bd_rates_against_a_zoo_curve(tmp_path, image_folder):
    out = tmp_path / "out"
    status = main(
        [
            "run", "--dataset", f"folder:{image_folder}", "--codecs", "jpeg",
            "--qualities", "20,50,80", "--reference", "compressai-kodak-mbt2018-mean-mse",
            "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress",
        ]
    )  # fmt: skip
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    table = summary["bd_rate_references"]["compressai-kodak-mbt2018-mean-mse"]
    assert set(table) >= {"psnr-rgb", "ms-ssim-rgb"}
    # the number is the BD-rate of the run's own jpeg curve against the published one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BDRateWarning)
        expected = licbench.bd_rate(
            licbench.load_reference("compressai-kodak-mbt2018-mean-mse"), summary["codecs"]["jpeg"]
        )
    assert math.isfinite(expected) and expected > 0  # JPEG needs more bits than mbt2018-mean
    assert table["psnr-rgb"]["jpeg"] == pytest.approx(expected, rel=1e-9)
    reference = summary["references"]["compressai-kodak-mbt2018-mean-mse"]
    assert reference["results"]["bpp"][0] == 0.12392171223958336
    assert reference["provenance"]["source"].endswith("compressai-mbt2018-mean_mse_cpu.json")
    notes = summary["bd_rate_references_notes"]["warnings"]
    assert any(
        w.startswith("compressai-kodak-mbt2018-mean-mse was measured on Kodak, 24 images; this run")
        for w in notes
    )
