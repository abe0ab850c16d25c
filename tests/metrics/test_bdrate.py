"""Tests for licbench.metrics.bdrate, with FAU's `bjontegaard` package as the reference."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from licbench.metrics.bdrate import (
    METHODS,
    BDRateWarning,
    bd_quality,
    bd_quality_curves,
    bd_rate,
    bd_rate_curves,
    ms_ssim_to_db,
)
from tests.data_paths import DATA

bjontegaard = pytest.importorskip("bjontegaard")

TOL = 1e-9
N_RANDOM_PAIRS = 250


def fau_rate(ra, da, rt, dt, method):
    """FAU's BD-rate with its point-count check and overlap warning switched off."""
    return bjontegaard.bd_rate(ra, da, rt, dt, method, require_matching_points=False, min_overlap=0)


def fau_psnr(ra, da, rt, dt, method):
    return bjontegaard.bd_psnr(ra, da, rt, dt, method, require_matching_points=False, min_overlap=0)


# --------------------------------------------------------------------------------------------
# random curves against FAU
# --------------------------------------------------------------------------------------------


def _random_curve(rng, log_start, n, offset, slope, curvature):
    """A strictly monotone RD curve: n points, PSNR a concave increasing function of log10 bpp."""
    steps = rng.uniform(0.12, 0.45, size=n - 1)
    log_rate = log_start + np.concatenate([[0.0], np.cumsum(steps)])
    psnr = 34.0 + offset + slope * log_rate - curvature * log_rate**2
    psnr = psnr + rng.normal(0.0, 0.05, size=n)  # measurement noise, much smaller than the steps
    return 10.0**log_rate, psnr


def _random_pairs(seed: int, count: int):
    rng = np.random.default_rng(seed)
    pairs = []
    while len(pairs) < count:
        n_anchor, n_test = rng.integers(4, 9, size=2)  # 4..8 points each, independently
        start = rng.uniform(-1.6, -0.9)
        slope = rng.uniform(6.0, 14.0)
        curvature = rng.uniform(0.0, 2.0)
        ra, da = _random_curve(rng, start, n_anchor, 0.0, slope, curvature)
        rt, dt = _random_curve(
            rng,
            start + rng.uniform(-0.4, 0.4),
            n_test,
            rng.uniform(-2.0, 2.0),
            slope * rng.uniform(0.85, 1.15),
            curvature * rng.uniform(0.5, 1.5),
        )
        if np.any(np.diff(da) <= 0.05) or np.any(np.diff(dt) <= 0.05):
            continue  # noise made a curve (almost) non-monotonic
        overlap_d = min(da[-1], dt[-1]) - max(da[0], dt[0])
        overlap_r = min(ra[-1], rt[-1]) - max(ra[0], rt[0])
        if overlap_d <= 0 or overlap_r <= 0:
            continue
        pairs.append((ra, da, rt, dt))
    return pairs


RANDOM_PAIRS = _random_pairs(seed=20240607, count=N_RANDOM_PAIRS)


def test_random_pairs_are_varied():
    """The generator really produces differing point counts and partial overlaps."""
    counts = {(len(ra), len(rt)) for ra, _, rt, _ in RANDOM_PAIRS}
    assert len(RANDOM_PAIRS) >= 200
    assert {len(ra) for ra, _, _, _ in RANDOM_PAIRS} == {4, 5, 6, 7, 8}
    assert any(a != t for a, t in counts)
    partial = [
        1
        for ra, da, rt, dt in RANDOM_PAIRS
        if not (da[0] <= dt[0] and dt[-1] <= da[-1]) and not (dt[0] <= da[0] and da[-1] <= dt[-1])
    ]
    assert len(partial) > 20


@pytest.mark.parametrize("method", METHODS)
def test_random_curves_match_fau(method):
    rng = np.random.default_rng(7)
    worst_rate = worst_psnr = 0.0
    for ra, da, rt, dt in RANDOM_PAIRS:
        expected_rate = fau_rate(ra, da, rt, dt, method)
        expected_psnr = fau_psnr(ra, da, rt, dt, method)
        # Our functions sort by rate, so feed them shuffled points.
        pa, pt = rng.permutation(len(ra)), rng.permutation(len(rt))
        kw = {"method": method, "min_overlap": 0}
        got_rate = bd_rate_curves(ra[pa], da[pa], rt[pt], dt[pt], **kw)
        got_psnr = bd_quality_curves(ra[pa], da[pa], rt[pt], dt[pt], **kw)
        assert math.isfinite(expected_rate) and math.isfinite(expected_psnr)
        worst_rate = max(worst_rate, abs(got_rate - expected_rate))
        worst_psnr = max(worst_psnr, abs(got_psnr - expected_psnr))
    assert worst_rate <= TOL
    assert worst_psnr <= TOL


@pytest.mark.parametrize("method", METHODS)
def test_lower_is_better_matches_fau_on_negated_metric(method):
    """A lower-is-better metric: BD-rate as FAU on the negated metric, BD-quality in own units."""
    for ra, da, rt, dt in RANDOM_PAIRS[:40]:
        la, lt = 50.0 - da, 50.0 - dt  # decreasing in rate, like MSE-ish or LPIPS-ish values
        got_rate = bd_rate_curves(ra, la, rt, lt, method, higher_is_better=False, min_overlap=0)
        got_q = bd_quality_curves(ra, la, rt, lt, method, higher_is_better=False, min_overlap=0)
        assert got_rate == pytest.approx(fau_rate(ra, -la, rt, -lt, method), abs=TOL)
        # FAU's bd_psnr takes a decreasing metric as is and reports test - anchor in its units.
        assert got_q == pytest.approx(fau_psnr(ra, la, rt, lt, method), abs=TOL)
        # Same curves, mirrored: BD-rate is unchanged, BD-quality flips sign.
        assert got_rate == pytest.approx(bd_rate_curves(ra, da, rt, dt, method, min_overlap=0))
        assert got_q == pytest.approx(-bd_quality_curves(ra, da, rt, dt, method, min_overlap=0))


def test_wrong_direction_is_rejected():
    ra, da, rt, dt = RANDOM_PAIRS[0]
    with pytest.raises(ValueError, match="higher_is_better=True"):
        bd_rate_curves(ra, -da, rt, -dt)
    with pytest.raises(ValueError, match="higher_is_better=False"):
        bd_quality_curves(ra, da, rt, dt, higher_is_better=False)


# --------------------------------------------------------------------------------------------
# hand-checkable cases
# --------------------------------------------------------------------------------------------

ANCHOR_BPP = [0.12, 0.25, 0.5, 0.9, 1.5]
ANCHOR_PSNR = [28.1, 30.9, 33.6, 36.0, 38.2]


@pytest.mark.parametrize("method", METHODS)
def test_ten_percent_fewer_bits_is_minus_ten_percent(method):
    """log10(0.9 R) = log10 R + log10 0.9 at every point, so every method shifts by that."""
    test_bpp = [0.9 * r for r in ANCHOR_BPP]
    got = bd_rate_curves(ANCHOR_BPP, ANCHOR_PSNR, test_bpp, ANCHOR_PSNR, method)
    assert got == pytest.approx(-10.0, abs=TOL)
    # and the anchor against the test is 1 / 0.9 - 1 = +11.11...%
    back = bd_rate_curves(test_bpp, ANCHOR_PSNR, ANCHOR_BPP, ANCHOR_PSNR, method)
    assert back == pytest.approx(100.0 / 9.0, abs=TOL)


@pytest.mark.parametrize("method", METHODS)
def test_half_db_better_everywhere_is_plus_half_db(method):
    test_psnr = [p + 0.5 for p in ANCHOR_PSNR]
    assert bd_quality_curves(ANCHOR_BPP, ANCHOR_PSNR, ANCHOR_BPP, test_psnr, method) == (
        pytest.approx(0.5, abs=TOL)
    )


@pytest.mark.parametrize("method", METHODS)
def test_identical_curves_give_zero(method):
    assert bd_rate_curves(ANCHOR_BPP, ANCHOR_PSNR, ANCHOR_BPP, ANCHOR_PSNR, method) == (
        pytest.approx(0.0, abs=1e-12)
    )
    curve = {"name": "x", "results": {"bpp": ANCHOR_BPP, "psnr-rgb": ANCHOR_PSNR}}
    assert bd_rate(curve, curve, method=method) == pytest.approx(0.0, abs=1e-12)
    assert bd_quality(curve, curve, method=method) == pytest.approx(0.0, abs=1e-12)


def test_two_point_curves_are_straight_lines():
    """With two points pchip and akima are the line through them: check against the closed form.

    Anchor: log10 R = (D - 30) / 10 on D in [30, 40]; test: 0.8 R with D from 32 to 42. The shared
    range is [32, 40] and the log-rate difference is log10 0.8 everywhere.
    """
    for method in ("pchip", "akima"):
        got = bd_rate_curves(
            [1.0, 10.0],
            [30.0, 40.0],
            [0.8 * 10**0.2, 8.0 * 10**0.2],
            [32, 42],
            method,
            min_overlap=0,
        )
        assert got == pytest.approx(-20.0, abs=TOL)


# --------------------------------------------------------------------------------------------
# published reference files
# --------------------------------------------------------------------------------------------


VTM = "compressai-results/kodak/vtm.json"
BPG = "compressai-results/kodak/bpg_444_x265_ycbcr.json"


def _load(name: str) -> dict:
    """A published file, as its source wrote it (copies in tests/data, see its README.md)."""
    return json.loads((DATA / name).read_text())


def _cca(dataset: str) -> dict:
    """CCA's RD_data.json entry converted to a CompressAI-format result dict."""
    entry = _load("cca-rd-data.json")[dataset]
    return {"name": f"CCA {dataset}", "results": {"bpp": entry["bpp"], "psnr-rgb": entry["PSNR"]}}


def _arrays(result: dict, metric: str = "psnr-rgb"):
    """Points sorted by rate, as FAU needs them."""
    res = result["results"]
    order = np.argsort(res["bpp"])
    return np.asarray(res["bpp"])[order], np.asarray(res[metric])[order]


@pytest.mark.parametrize(
    ("method", "expected"), [("pchip", -13.73), ("akima", -13.78), ("cubic", -13.94)]
)
def test_cca_vs_compressai_kodak_vtm(method, expected):
    vtm, cca = _load(VTM), _cca("Kodak")
    # CCA's 6 points cover about a third of VTM's 8-point PSNR range, all of it inside: FAU warns
    # (its overlap is of the union), licbench does not (every CCA point has VTM on both sides).
    with warnings.catch_warnings():
        warnings.simplefilter("error", BDRateWarning)
        got = bd_rate(vtm, cca, method=method)
    with pytest.warns(UserWarning, match="overlap"):
        bjontegaard.bd_rate(*_arrays(vtm), *_arrays(cca), method, require_matching_points=False)
    assert round(got, 2) == expected
    assert got == pytest.approx(fau_rate(*_arrays(vtm), *_arrays(cca), method), abs=TOL)
    got_q = bd_quality(vtm, cca, method=method, min_overlap=0)
    assert got_q == pytest.approx(fau_psnr(*_arrays(vtm), *_arrays(cca), method), abs=TOL)
    assert got_q > 0  # fewer bits for the same PSNR goes with more PSNR for the same bits


@pytest.mark.parametrize("method", METHODS)
def test_cca_vs_compressai_kodak_bpg(method):
    bpg, cca = _load(BPG), _cca("Kodak")
    got = bd_rate(bpg, cca, method=method, min_overlap=0)
    if method == "pchip":
        assert round(got, 1) == -31.5
    assert got == pytest.approx(fau_rate(*_arrays(bpg), *_arrays(cca), method), abs=TOL)
    got_q = bd_quality(bpg, cca, method=method, min_overlap=0)
    assert got_q == pytest.approx(fau_psnr(*_arrays(bpg), *_arrays(cca), method), abs=TOL)


@pytest.mark.parametrize("method", METHODS)
def test_swint_charm_vs_vtm_matches_fau(method):
    """A 4-point curve against an 8-point one; the README puts it at about +0.5% (pchip)."""
    vtm, swint = _load(VTM), _load("tbtc-kodak-swint-charm.json")
    for metric in ("psnr-rgb", "ms-ssim-rgb"):
        got = bd_rate(vtm, swint, metric=metric, method=method, min_overlap=0)
        expected = fau_rate(*_arrays(vtm, metric), *_arrays(swint, metric), method)
        assert got == pytest.approx(expected, abs=TOL)
    if method == "pchip":
        assert round(bd_rate(vtm, swint, min_overlap=0), 1) == 0.5


@pytest.mark.parametrize("method", METHODS)
def test_ms_ssim_db_is_derived(method):
    vtm, bpg = _load(VTM), _load(BPG)
    rv, sv = _arrays(vtm, "ms-ssim-rgb")
    rb, sb = _arrays(bpg, "ms-ssim-rgb")
    expected = fau_rate(rv, -10 * np.log10(1 - sv), rb, -10 * np.log10(1 - sb), method)
    got = bd_rate(vtm, bpg, metric="ms-ssim-rgb-db", method=method, min_overlap=0)
    assert got == pytest.approx(expected, abs=TOL)
    # BPG is the weaker codec on Kodak: more bits for the same MS-SSIM.
    assert got > 0
    # An explicit ms-ssim-rgb-db key wins over the derivation.
    with_key = {
        "bpp": [0.1, 0.2, 0.4, 0.8],
        "ms-ssim-rgb-db": [10.0, 12.0, 14.0, 16.0],
        "ms-ssim-rgb": [float("nan")] * 4,
    }
    assert bd_rate(with_key, with_key, metric="ms-ssim-rgb-db") == pytest.approx(0.0, abs=1e-12)


def test_ms_ssim_to_db_values():
    assert ms_ssim_to_db(0.9) == pytest.approx(10.0)
    assert ms_ssim_to_db(0.99) == pytest.approx(20.0)
    assert ms_ssim_to_db(1.0) == 60.0  # lossless: the declared ceiling
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ms_ssim_to_db(1.5)


# --------------------------------------------------------------------------------------------
# result dicts
# --------------------------------------------------------------------------------------------


def test_result_dicts_drop_missing_points_and_allow_different_counts():
    anchor = {
        "name": "anchor",
        "results": {
            "bpp": [0.1, 0.2, 0.4, float("nan"), 0.8, 1.6],
            "psnr-rgb": [28.0, 30.5, 33.0, 34.0, None, 38.0],
        },
    }
    # inner dict only, points out of order, one NaN metric value
    test = {"bpp": [0.7, 0.09, 0.35, 0.18, 1.2], "psnr-rgb": [36.4, 28.2, 33.4, float("nan"), 38.1]}
    kept_anchor = ([0.1, 0.2, 0.4, 1.6], [28.0, 30.5, 33.0, 38.0])
    kept_test = ([0.09, 0.35, 0.7, 1.2], [28.2, 33.4, 36.4, 38.1])
    for method in METHODS:
        got = bd_rate(anchor, test, method=method, min_overlap=0)
        assert got == pytest.approx(fau_rate(*kept_anchor, *kept_test, method), abs=TOL)
        got_q = bd_quality(anchor, test, method=method, min_overlap=0)
        assert got_q == pytest.approx(fau_psnr(*kept_anchor, *kept_test, method), abs=TOL)
        assert got < 0 < got_q

    # Fewer than four usable points left: the cubic fit refuses, pchip still works.
    test["psnr-rgb"][0] = None
    assert math.isfinite(bd_rate(anchor, test, method="pchip", min_overlap=0))
    with pytest.raises(ValueError, match="test curve has 3 point"):
        bd_rate(anchor, test, method="cubic")


def test_result_dict_errors():
    good = {"bpp": [0.1, 0.2, 0.4], "psnr-rgb": [30.0, 32.0, 34.0]}
    with pytest.raises(ValueError, match="'lpips'"):
        bd_rate(good, good, metric="lpips")
    with pytest.raises(ValueError, match="3 'bpp' values but 2"):
        bd_rate(good, {"bpp": [0.1, 0.2, 0.4], "psnr-rgb": [30.0, 32.0]})
    with pytest.raises(ValueError, match="no 'bpp'"):
        bd_rate(good, {"psnr-rgb": [30.0, 32.0]})


# --------------------------------------------------------------------------------------------
# undefined cases and input errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_non_overlapping_curves_give_nan_and_warning(method):
    rate = [0.1, 0.2, 0.4, 0.8]
    low, high = [25.0, 26.0, 27.0, 28.0], [30.0, 31.0, 32.0, 33.0]
    with pytest.warns(BDRateWarning, match="do not overlap in distortion"):
        assert math.isnan(bd_rate_curves(rate, low, rate, high, method))
    far_rate = [r * 100 for r in rate]
    with pytest.warns(BDRateWarning, match="do not overlap in rate"):
        assert math.isnan(bd_quality_curves(rate, low, far_rate, low, method))
    # FAU agrees that there is nothing to compute.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(fau_rate(rate, low, rate, high, method))


def test_small_overlap_warns_and_can_be_silenced():
    rate = [0.1, 0.2, 0.4, 0.8]
    # the anchor reaches [32, 33] of the test curve's [32, 35]
    with pytest.warns(BDRateWarning, match="covers only 33.3% of the test curve's distortion"):
        bd_rate_curves(rate, [30.0, 31.0, 32.0, 33.0], rate, [32.0, 33.0, 34.0, 35.0])
    # a narrow anchor inside a wide test curve: most of the test curve has nothing to compare with
    with pytest.warns(BDRateWarning, match="covers only 20.0%"):
        bd_rate_curves(rate, [31.0, 31.5, 31.8, 32.0], rate, [28.0, 30.0, 32.0, 33.0])
    # along rate for BD-quality: the anchor's [0.1, 0.8] bpp reaches one of the test's 3 octaves
    with pytest.warns(BDRateWarning, match="covers only 33.3% of the test curve's rate range"):
        bd_quality_curves(
            rate, [30.0, 31.0, 32.0, 33.0], [r * 4 for r in rate], [30.5, 31.5, 32.5, 33.5]
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bd_rate_curves(
            rate, [30.0, 31.0, 32.0, 33.0], rate, [32.5, 33.5, 34.5, 35.5], min_overlap=0
        )
        # shared [30.2, 33] of the test's [30.2, 33.2]: 93.3%, above the default 75%
        bd_rate_curves(rate, [30.0, 31.0, 32.0, 33.0], rate, [30.2, 31.2, 32.2, 33.2])
        # a short test curve wholly inside a wide anchor (a learned codec's six points against
        # a JPEG sweep over 15 dB): every test point is compared, no warning
        wide = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]
        bd_rate_curves(wide, [25.0, 28.0, 31.0, 34.0, 37.0, 40.0], rate, [29, 30.5, 31.5, 32])


@pytest.mark.parametrize(
    ("rates", "dists", "method", "match"),
    [
        ([0.1], [30.0], "pchip", "1 point.*at least 2"),
        ([0.1], [30.0], "akima", "1 point.*at least 2"),
        ([0.1, 0.2, 0.4], [30.0, 31.0, 32.0], "cubic", "3 point.*at least 4"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, 32.0, 31.5, 36.0], "pchip", "not monotonic"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, 32.0, 31.5, 36.0], "cubic", "not monotonic"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, 32.0, 32.0, 36.0], "akima", "not monotonic"),
        ([0.1, 0.2, 0.2, 0.8], [30.0, 31.0, 32.0, 36.0], "pchip", "same rate"),
        ([0.0, 0.2, 0.4, 0.8], [30.0, 31.0, 32.0, 36.0], "pchip", "rate <= 0"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, float("nan"), 32.0, 36.0], "pchip", "NaN"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, 31.0, 32.0], "pchip", "4 rate values but 3"),
        ([0.1, 0.2, 0.4, 0.8], [30.0, 31.0, 32.0, 36.0], "linear", "unknown BD interpolation"),
    ],
)
def test_invalid_curves_raise(rates, dists, method, match):
    good_r, good_d = [0.1, 0.2, 0.4, 0.8], [30.0, 31.0, 32.0, 33.0]
    with pytest.raises(ValueError, match=match):
        bd_rate_curves(good_r, good_d, rates, dists, method)
    with pytest.raises(ValueError, match=match):
        bd_quality_curves(rates, dists, good_r, good_d, method)


def test_fau_cubic_accepts_what_we_reject():
    """Documented divergence: FAU's cubic BD-rate silently fits a non-monotonic curve."""
    rate, dist = [0.1, 0.2, 0.4, 0.8], [30.0, 32.0, 31.5, 36.0]
    other = ([0.12, 0.25, 0.5, 0.9], [30.0, 32.0, 34.0, 36.0])
    assert math.isfinite(fau_rate(rate, dist, *other, "cubic"))
    with pytest.raises(ValueError, match="not monotonic"):
        bd_rate_curves(rate, dist, *other, "cubic")
