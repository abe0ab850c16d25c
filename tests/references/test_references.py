"""Bundled published RD points: names, provenance, the known BD-rates, and a run's summary."""

from __future__ import annotations

import json
import math
import warnings

import pytest

import licbench
from licbench.metrics.bdrate import BDRateWarning
from licbench.references import REFERENCES, reference_curve, reference_info
from licbench.references.compressai_results import PUBLISHED
from licbench.results.curve import Curve
from licbench.results.jsonsafe import json_safe
from licbench.results.references import compare_references
from licbench.results.summary import ReferenceComparison
from tests.data_paths import DATA, copies, shared

#: every bundled name: the hand-written entries and CompressAI's files (test_compressai_results)
NAMES = sorted(
    [
        "cca-clic",
        "cca-kodak",
        "cca-tecnick",
        "compressai-clic2020-vtm",
        "compressai-kodak-bpg",
        "compressai-kodak-vtm",
        "licbench-kodak-bpg",
        "licbench-kodak-vtm-18.0",
        "tbtc-kodak-swint-charm",
        *(entry.name for entry in PUBLISHED),
    ]
)


def _bd(anchor: str, test: str, method: str = "pchip") -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BDRateWarning)
        return licbench.bd_rate(
            licbench.load_reference(anchor), licbench.load_reference(test), method=method
        )


def test_names_and_compressai_format_with_provenance():
    assert licbench.list_references() == NAMES
    assert licbench.list_references("cca-*") == ["cca-clic", "cca-kodak", "cca-tecnick"]
    for name in NAMES:
        curve = licbench.load_reference(name)
        results = curve["results"]
        assert {"name", "description", "results", "provenance"} <= set(curve)
        assert len(results["bpp"]) == len(results["psnr-rgb"]) >= 4
        provenance = curve["provenance"]
        assert provenance["reference"] == name
        assert provenance["source"] and provenance["protocol"] and provenance["codec"]
    assert licbench.load_reference("compressai-kodak-vtm")["provenance"]["dataset"] == "kodak"
    assert "BT.709" in reference_info("compressai-kodak-vtm").protocol
    assert "different CLIC split" in reference_info("compressai-clic2020-vtm").notes


def test_load_returns_a_fresh_copy():
    first = licbench.load_reference("cca-kodak")
    first["results"]["bpp"][0] = -1
    assert licbench.load_reference("cca-kodak")["results"]["bpp"][0] > 0


def test_unknown_reference_suggests_close_names():
    with pytest.raises(LookupError, match="did you mean 'cca-kodak'"):
        licbench.load_reference("cca-kodac")


def test_cca_vs_vtm_on_kodak_reproduces_the_published_figure():
    assert _bd("compressai-kodak-vtm", "cca-kodak") == pytest.approx(-13.73, abs=0.005)
    assert _bd("compressai-kodak-vtm", "cca-kodak", "akima") == pytest.approx(-13.78, abs=0.005)
    assert _bd("compressai-kodak-vtm", "cca-kodak", "cubic") == pytest.approx(-13.94, abs=0.005)
    assert _bd("compressai-kodak-bpg", "cca-kodak") == pytest.approx(-31.5, abs=0.05)


def test_against_fau_bjontegaard():
    bjontegaard = pytest.importorskip("bjontegaard")
    vtm = licbench.load_reference("compressai-kodak-vtm")["results"]
    cca = licbench.load_reference("cca-kodak")["results"]
    expected = bjontegaard.bd_rate(
        vtm["bpp"], vtm["psnr-rgb"], cca["bpp"], cca["psnr-rgb"], method="pchip",
        require_matching_points=False, min_overlap=0,
    )  # fmt: skip
    assert _bd("compressai-kodak-vtm", "cca-kodak") == pytest.approx(expected, abs=1e-9)


def test_bundled_files_are_the_published_numbers():
    """Against the published files themselves (copies in tests/data, see its README.md)."""
    for name, source in (
        ("compressai-kodak-vtm", "compressai-results/kodak/vtm.json"),
        ("compressai-kodak-bpg", "compressai-results/kodak/bpg_444_x265_ycbcr.json"),
        ("compressai-clic2020-vtm", "compressai-results/clic2020-professional/vtm.json"),
        ("tbtc-kodak-swint-charm", "tbtc-kodak-swint-charm.json"),
    ):
        published = json.loads((DATA / source).read_text())
        curve = licbench.load_reference(name)
        assert curve["results"] == published["results"]
        assert curve["name"] == published["name"]
    cca = json.loads((DATA / "cca-rd-data.json").read_text())
    for key, name in (("Kodak", "cca-kodak"), ("CLIC", "cca-clic"), ("Tecnick", "cca-tecnick")):
        results = licbench.load_reference(name)["results"]
        assert sorted(zip(cca[key]["bpp"], cca[key]["PSNR"], strict=True)) == list(
            zip(results["bpp"], results["psnr-rgb"], strict=True)
        )


def test_carried_copies_are_byte_identical_to_shared():
    """tests/data holds unchanged copies: checked wherever shared/reference is beside the clone."""
    if not shared("reference").is_dir():
        pytest.skip(f"needs shared/reference to compare the copies with ({shared('reference')})")
    for copy, original in copies().items():
        assert copy.read_bytes() == original.read_bytes(), copy.relative_to(DATA)


def test_reference_comparison_for_a_run():
    curves = {
        "bpg-like": Curve.from_dict(licbench.load_reference("compressai-kodak-bpg")),
        "cca-like": Curve.from_dict(licbench.load_reference("cca-kodak")),
    }
    references = [reference_curve("compressai-kodak-vtm"), reference_curve("cca-clic")]
    result = compare_references(curves, references, ["psnr-rgb", "ms-ssim-rgb"], "pchip", "kodak")
    data = result.to_json()
    assert set(data) == {"references", "bd_rate_references", "bd_rate_references_notes"}
    table = data["bd_rate_references"]
    assert table["compressai-kodak-vtm"]["psnr-rgb"]["cca-like"] == pytest.approx(-13.73, abs=0.005)
    assert "ms-ssim-rgb" in table["compressai-kodak-vtm"]
    assert math.isnan(table["compressai-kodak-vtm"]["ms-ssim-rgb"]["cca-like"])  # no MS-SSIM
    assert set(table["cca-clic"]) == {"psnr-rgb"}
    assert any("cca-clic was measured on CLIC" in w for w in result.warnings)
    assert not any("compressai-kodak-vtm was measured" in w for w in result.warnings)
    assert {(r["reference"], r["codec"]) for r in result.rows() if r["metric"] == "psnr-rgb"} == {
        (ref, codec) for ref in ("compressai-kodak-vtm", "cca-clic") for codec in curves
    }
    # the typed form round-trips through summary.json's shape
    again = ReferenceComparison.from_json(json_safe(data))  # as summary.json holds it
    assert again.bd["cca-clic"] == result.bd["cca-clic"]
    assert math.isnan(again.bd["compressai-kodak-vtm"]["ms-ssim-rgb"]["cca-like"])  # null
    assert again.curves["cca-clic"].to_dict() == result.curves["cca-clic"].to_dict()


def test_run_rejects_an_unknown_reference(tmp_path, image_folder, capsys):
    from licbench.cli import main

    status = main(
        [
            "run", "--dataset", f"folder:{image_folder}", "--codecs", "jpeg",
            "--reference", "compressai-kodak-vtn", "--out", str(tmp_path / "o"),
            "--store", str(tmp_path / "s.sqlite"), "--no-progress",
        ]
    )  # fmt: skip
    assert status == 2
    assert "did you mean 'compressai-kodak-vtm'" in capsys.readouterr().err


def test_one_table_of_names():
    assert REFERENCES.names() == NAMES
    assert all(REFERENCES.origin(n) == "licbench" for n in NAMES)
