"""The one RGB ↔ YCbCr conversion: hand-computed values, and bit-exact with CompressAI's anchors."""

from __future__ import annotations

import numpy as np
import pytest

from licbench.core import colour

# (R, G, B) -> hand-computed full-range BT.709 YCbCr on the 0..255 scale:
#   Y = .2126 R + .7152 G + .0722 B
#   Cb = 127.5 + .5 (B - Y) / .9278;  Cr = 127.5 + .5 (R - Y) / .7874
HAND = [
    ((255, 0, 0), (54.213, 98.284, 255.0)),
    ((0, 255, 0), (182.376, 29.216, 11.691)),
    ((0, 0, 255), (18.411, 255.0, 115.809)),
    ((128, 128, 128), (128.0, 127.5, 127.5)),
    ((200, 100, 50), (117.65, 91.043, 179.792)),
    ((0, 0, 0), (0.0, 127.5, 127.5)),
]


def _pixels() -> np.ndarray:
    return np.array([[rgb for rgb, _ in HAND]], dtype=np.uint8)


def test_rgb_to_ycbcr_matches_hand_computed_values():
    ycbcr = colour.rgb_to_ycbcr(_pixels())  # 3 x 1 x N in [0, 1]
    for i, (_, expected) in enumerate(HAND):
        assert ycbcr[:, 0, i] * 255 == pytest.approx(expected, abs=2e-3)


def test_quantisation_truncates_like_the_anchors_or_rounds():
    truncated = colour.quantize(colour.rgb_to_ycbcr(_pixels()), 8).reshape(3, -1).T
    rounded = colour.quantize(colour.rgb_to_ycbcr(_pixels()), 8, "round").reshape(3, -1).T
    assert truncated.tolist() == [
        [54, 98, 255],
        [182, 29, 11],
        [18, 255, 115],
        [128, 127, 127],  # neutral chroma 127.5 truncates to 127, as in CompressAI's VTM runs
        [117, 91, 179],
        [0, 127, 127],
    ]
    assert rounded.tolist() == [
        [54, 98, 255],
        [182, 29, 12],
        [18, 255, 116],
        [128, 128, 128],
        [118, 91, 180],
        [0, 128, 128],
    ]
    assert truncated.dtype == np.uint8
    with pytest.raises(ValueError, match="rounding"):
        colour.quantize(np.zeros(3), 8, "nearest")  # type: ignore[arg-type]


def test_inverse_on_hand_values():
    # Y=1, Cb=Cr=0.5 is white; Y=0.2126, Cb=98.284/255, Cr=1 is pure red
    white = colour.ycbcr_to_rgb(np.array([[[1.0]], [[0.5]], [[0.5]]]))
    assert white.ravel() == pytest.approx([1, 1, 1], abs=1e-6)
    red = colour.ycbcr_to_rgb(np.array([[[0.2126]], [[98.284 / 255]], [[1.0]]]))
    assert red.ravel() == pytest.approx([1, 0, 0], abs=1e-5)
    # truncation back to 8 bits: 254.99.. becomes 254 (the anchors' choice), rounding gives 255
    assert colour.rgb_from_float(np.full((3, 1, 1), 254.6 / 255)).ravel().tolist() == [254] * 3
    assert (
        colour.rgb_from_float(np.full((3, 1, 1), 254.6 / 255), "round").ravel().tolist()
        == [255] * 3
    )


def test_luma_is_bt709_of_8bit_rgb():
    assert colour.luma(_pixels())[0] == pytest.approx([y for _, (y, _, _) in HAND], abs=1e-9)
    with pytest.raises(ValueError):
        colour.luma(np.zeros((2, 2, 3), np.float32))


def test_bit_exact_with_compressai_bench_conversion():
    torch = pytest.importorskip("torch")
    from compressai.transforms.functional import rgb2ycbcr, ycbcr2rgb

    image = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    # what compressai/utils/bench/codecs.py VTM._run_impl does, step by step
    rgb = torch.from_numpy(image.transpose(2, 0, 1).copy()).float() / 255
    theirs = (np.clip(rgb2ycbcr(rgb).numpy(), 0, 1) * 255).astype(np.uint8)
    ours = colour.quantize(colour.rgb_to_ycbcr(image), 8)
    assert np.array_equal(ours, theirs)

    back = ycbcr2rgb(torch.from_numpy(theirs.astype(np.float32) / 255)).numpy()
    theirs_rgb = (back.clip(0, 1).transpose(1, 2, 0) * 255.0).astype(np.uint8)
    ours_rgb = colour.rgb_from_float(colour.ycbcr_to_rgb(colour.dequantize(theirs, 8)))
    assert np.array_equal(ours_rgb, theirs_rgb)


def test_420_resampling_matches_compressai_and_torch():
    torch = pytest.importorskip("torch")
    from compressai.transforms.functional import yuv_420_to_444, yuv_444_to_420

    plane = np.random.default_rng(2).random((12, 18)).astype(np.float32)
    y = torch.from_numpy(plane)[None, None]
    _, u, _ = yuv_444_to_420((y, y, y))
    assert colour.subsample_420(plane) == pytest.approx(u[0, 0].numpy(), abs=1e-6)
    small = colour.subsample_420(plane)
    t = torch.from_numpy(small)[None, None]
    up = yuv_420_to_444((y, t, t), mode="bilinear")[0, 1].numpy()
    assert colour.upsample_420(small, 12, 18) == pytest.approx(up, abs=1e-6)
    # odd pictures: padded by repetition before subsampling, cropped after upsampling
    odd = colour.pad_even(plane[:11, :17])
    assert odd.shape == (12, 18) and np.array_equal(odd[11], odd[10])
    assert colour.upsample_420(colour.subsample_420(odd), 11, 17).shape == (11, 17)


def test_containers_shift_in_and_round_back():
    samples = np.array([0, 1, 127, 128, 255], np.uint8)
    wide = colour.to_container(samples, 8, 10)
    assert wide.tolist() == [0, 4, 508, 512, 1020] and wide.dtype == np.uint16
    assert colour.from_container(wide, 8, 10).tolist() == samples.tolist()
    # a decoder's 10-bit output rounds to the nearest 8-bit value (VTM's -d 8), clipped
    assert colour.from_container(np.array([509, 510, 1023], np.uint16), 8, 10).tolist() == [
        127,
        128,
        255,
    ]
