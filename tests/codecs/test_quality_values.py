"""Each codec declares its quality parameter's type and range, and one check enforces it.

Issue 13, item 3: ``--qualities 150`` for JPEG was encoded as 100 (Pillow clamps it) under the
label 150, and NaN crashed the store. Now every value is checked against the codec's
``quality_range`` and ``integer_quality`` before anything is planned or stored.
"""

from __future__ import annotations

import math

import pytest

from licbench.api import UsageError, run
from licbench.codecs import CODECS, QualityError, create_codec
from licbench.codecs.base import CodecSpecError

#: every codec family, made from a spec that needs no tool, weights download or GPU
FAMILIES = {
    "jpeg": ((1, 100), True),
    "webp": ((0, 100), True),
    "avif": ((0, 100), True),
    "jpeg2000": ((0.02, 8.0), False),
    "jpegxl": ((0, 100), True),
    "heic": ((0, 100), True),
    "bpg": ((0, 51), True),
    "x265": ((0, 51), True),
    "vvenc": ((0, 63), True),
    "cjxl": ((0, 100), True),
    "cca-tiny": ((1, 7), True),
    "convnext-charm-tiny": ((1, 7), True),
    "cca:config=tiny,weights=random": ((1, 1), True),
    "compressai:model=bmshj2018-factorized,weights=random": ((1, 8), True),
}


@pytest.mark.parametrize("spec", sorted(FAMILIES))
def test_every_family_declares_its_range_and_its_sweep_lies_inside_it(spec):
    if spec.startswith("compressai"):
        pytest.importorskip("compressai")
    codec = create_codec(spec)
    (low, high), integer = FAMILIES[spec]
    assert tuple(codec.quality_range) == (low, high)
    assert codec.integer_quality is integer
    assert codec.qualities, "a codec without a default sweep"
    for quality in codec.qualities:
        assert codec.check_quality(quality) == float(quality)
    assert codec.check_quality(low) == low and codec.check_quality(high) == high


def test_every_registered_built_in_is_covered_above():
    built_in = {n for n in CODECS.names() if CODECS.origin(n) == "licbench"}
    covered = {spec.partition(":")[0] for spec in FAMILIES}
    # vtm needs config=FILE, the bare learned archs ckpt= (covered by cca:weights=random)
    assert built_in - covered == {"vtm", "convnext-charm", "swint-charm"}


@pytest.mark.parametrize(
    ("spec", "quality", "message"),
    [
        ("jpeg", 150, "jpeg: quality 150 is outside 1–100"),
        ("jpeg", 0, "jpeg: quality 0 is outside 1–100"),
        ("jpeg", -5, "jpeg: quality -5 is outside 1–100"),
        (
            "jpeg",
            2.5,
            "jpeg: quality 2.5 is not an integer (its qualities are 1–100 in steps of 1)",
        ),
        ("jpeg", math.nan, "jpeg: quality nan is not a finite number"),
        ("jpeg", math.inf, "jpeg: quality inf is not a finite number"),
        ("jpeg", -math.inf, "jpeg: quality -inf is not a finite number"),
        ("jpeg", "high", "jpeg: quality 'high' is not a number"),
        ("jpeg2000", 9, "jpeg2000: quality 9 is outside 0.02–8"),
        ("jpeg2000", 0.01, "jpeg2000: quality 0.01 is outside 0.02–8"),
        ("x265", 52, "x265: quality 52 is outside 0–51"),
        (
            "x265",
            20.5,
            "x265: quality 20.5 is not an integer (its qualities are 0–51 in steps of 1)",
        ),
        ("cca-tiny", 8, "cca-tiny: quality 8 is outside 1–7"),
        (
            "cca-tiny",
            1.5,
            "cca-tiny: quality 1.5 is not an integer (its qualities are 1–7 in steps of 1)",
        ),
    ],
)
def test_a_value_the_codec_cannot_take_is_one_line_naming_it(spec, quality, message):
    codec = create_codec(spec)
    with pytest.raises(QualityError) as caught:
        codec.check_quality(quality)
    assert str(caught.value) == message
    assert isinstance(caught.value, CodecSpecError)  # the CLI's exit 2


def test_a_float_codec_takes_fractions():
    assert create_codec("jpeg2000").check_quality(0.35) == 0.35
    assert create_codec("jpeg").check_quality(50.0) == 50.0  # 50.0 is the integer 50


@pytest.mark.parametrize(
    ("qualities", "message"),
    [
        ([150], "jpeg: quality 150 is outside 1–100"),
        ([20, math.nan], "jpeg: quality nan is not a finite number"),
        ([], "--qualities: give at least one quality"),
    ],
)
def test_run_refuses_the_override_before_anything_is_stored(tmp_path, qualities, message):
    store, out = tmp_path / "store.sqlite", tmp_path / "out"
    with pytest.raises(UsageError) as caught:
        run(
            "folder:/no/such/folder",  # the dataset is loaded after the check: never reached
            ["jpeg"],
            qualities=qualities,
            store=store,
            out=out,
            workers=1,
            progress=False,
        )
    assert str(caught.value) == message
    assert not store.exists() and not out.exists()


def test_the_override_is_checked_per_codec_range(tmp_path):
    # 0 is a WebP quality but not a JPEG one: the first codec that cannot take it is named
    with pytest.raises(UsageError, match="^jpeg: quality 0 is outside 1–100$"):
        run(
            "folder:/no/such/folder",
            ["webp", "jpeg"],
            qualities=[0, 50],
            store=tmp_path / "s.sqlite",
            out=tmp_path / "o",
            workers=1,
            progress=False,
        )
