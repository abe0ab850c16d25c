"""Every BD-rate carries the quality range it describes, and a learned curve inside a wide JPEG
sweep is no longer a warning (issue 21, item 4: the overlap warnings leave the default report)."""

from __future__ import annotations

import pytest

from licbench.results.curve import Curve
from licbench.results.means import bd_table
from licbench.results.series import span
from licbench.results.summary import BDTable, SummaryError

JPEG = Curve.from_dict(  # the default jpeg sweep on the Kodak sample (q5 ... q92), measured
    {
        "results": {
            "bpp": [0.190, 0.257, 0.374, 0.476, 0.643, 0.879, 1.330, 1.890],
            "psnr-rgb": [25.193, 28.348, 31.015, 32.409, 34.089, 35.768, 38.117, 40.202],
        }
    },
    name="jpeg",
)
LEARNED = Curve.from_dict(  # a learned codec's six points, all inside jpeg's range
    {
        "results": {
            "bpp": [0.160, 0.242, 0.349, 0.499, 0.641, 0.763],
            "psnr-rgb": [29.135, 30.485, 31.685, 32.659, 33.267, 33.567],
        }
    },
    name="learned",
)
NARROW_ANCHOR = Curve.from_dict(
    {"results": {"bpp": [0.3, 0.4], "psnr-rgb": [31.0, 32.0]}}, name="narrow"
)


def test_a_curve_inside_the_anchor_has_its_range_and_no_warning():
    table = bd_table({"jpeg": JPEG, "learned": LEARNED}, "jpeg", ["psnr-rgb"])
    assert table.value("psnr-rgb", "learned") < 0
    assert table.warnings == []
    assert table.range("psnr-rgb", "learned") == pytest.approx((29.135, 33.567))


def test_an_anchor_covering_little_of_the_test_curve_still_warns():
    table = bd_table({"narrow": NARROW_ANCHOR, "learned": LEARNED}, "narrow", ["psnr-rgb"])
    (warning,) = table.warnings
    assert warning.startswith("learned psnr-rgb: the anchor covers only 22.6% of the test")
    assert table.range("psnr-rgb", "learned") == pytest.approx((31.0, 32.0))


def test_ranges_survive_the_summary_round_trip_and_bad_ones_are_named():
    table = bd_table({"jpeg": JPEG, "learned": LEARNED}, "jpeg", ["psnr-rgb"])
    data = table.to_json()
    assert data["ranges"] == {"psnr-rgb": {"learned": [29.135, 33.567]}}
    loaded = BDTable.from_json(data)
    assert loaded.ranges == table.ranges and "ranges" not in loaded.values
    data["ranges"]["psnr-rgb"]["learned"] = [29.1]
    with pytest.raises(SummaryError, match=r"bd_rate\.ranges\.psnr-rgb\.learned"):
        BDTable.from_json(data)


def test_a_value_that_cannot_be_computed_has_no_range():
    broken = Curve.from_dict(  # quality falls as rate grows: no BD-rate, said as an error
        {"results": {"bpp": [0.2, 0.4, 0.8], "psnr-rgb": [30.0, 32.0, 31.0]}}, name="broken"
    )
    table = bd_table({"jpeg": JPEG, "broken": broken}, "jpeg", ["psnr-rgb"])
    assert table.range("psnr-rgb", "broken") is None
    assert "not monotonic" in table.warnings[0]


def test_a_range_is_shown_in_its_series_unit_and_decimals():
    assert span(25.9737, 30.6232, "psnr-rgb") == "25.97–30.62 dB"
    assert span(0.96204, 0.99101, "lpips-alex") == "0.9620–0.9910"
