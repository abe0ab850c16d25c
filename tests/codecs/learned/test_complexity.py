"""Complexity: parameter counts per part, kMAC/px by torch's flop counter, peak memory."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from torch import nn

from licbench.codecs.learned import complexity as cx
from licbench.codecs.learned.configs import create_model
from tests.data_paths import CCA_KEYS_TSV


class OneConv(nn.Module):
    """The smallest thing with an analysis and a synthesis: one 5×5 stride-2 convolution each."""

    def __init__(self, cin: int = 3, cout: int = 8, groups: int = 1) -> None:
        super().__init__()
        self.g_a = nn.Conv2d(cin, cout, 5, stride=2, padding=2, groups=groups)
        self.g_s = nn.ConvTranspose2d(cout, cin, 5, stride=2, padding=2, output_padding=1)


def test_cca_paper_has_the_official_parameter_count() -> None:
    result = cx.model_complexity("cca", "paper", 512, 768)
    assert result.params["total"] == 64_988_067
    assert result.params["other"] == 0
    assert result.params["analysis"] == 10_424_672 and result.params["synthesis"] == 10_424_355
    entropy = result.to_dict()["params"]["entropy"]
    assert entropy["total"] == 64_988_067 - 10_424_672 - 10_424_355
    assert entropy["bottleneck"] == 11_712  # 192 channels of CompressAI's factorized prior


def test_cca_parts_match_the_official_state_dict_part_by_part() -> None:
    official: dict[str, int] = {}
    with CCA_KEYS_TSV.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["kind"] == "param" and row["in_eval_model(cca_training=False)"] == "yes":
                shape = [int(d) for d in row["shape"].strip("[]").split(",") if d.strip()]
                prefix = row["key"].split(".")[0]
                official[prefix] = official.get(prefix, 0) + math.prod(shape)
    with torch.device("meta"):
        params = cx.count_parameters_by_part(create_model("cca", "paper"))
    assert params["analysis"] == official["g_a"]
    assert params["hyper_analysis"] == official["h_a"]
    assert params["hyper_synthesis"] == official["h_mean_s"] + official["h_scale_s"]
    context = (
        "mean_NAF_transforms",
        "scale_NAF_transforms",
        "mean_cc_transforms",
        "scale_cc_transforms",
        "lrp_transforms",
    )
    assert params["context"] == sum(official[k] for k in context)
    assert params["total"] == sum(official.values())


def test_a_single_convolution_gives_the_textbook_count() -> None:
    # k·k·Cin·Cout MACs per output pixel; stride 2 → a quarter as many output pixels
    result = cx.measure_complexity(OneConv(3, 8), 64, 128)
    per_input_pixel = 5 * 5 * 3 * 8 / 2**2
    assert result.macs["analysis"] == 5 * 5 * 3 * 8 * (32 * 64)
    assert result.kmac_per_pixel()["analysis"] == pytest.approx(per_input_pixel / 1000)
    # the transposed convolution does the same multiplications, per input (latent) position
    assert result.macs["synthesis"] == result.macs["analysis"]
    assert result.params["analysis"] == 3 * 8 * 25 + 8 and result.params["total"] == 1211
    # a depthwise convolution: k·k·(Cin/groups)·Cout
    depthwise = cx.measure_complexity(OneConv(3, 3, groups=3), 64, 64)
    assert depthwise.macs["analysis"] == 5 * 5 * 1 * 3 * (32 * 32)


def test_padding_to_64_is_counted_as_work_but_divided_by_the_image() -> None:
    padded = cx.measure_complexity(OneConv(), 65, 64)  # coded as 128 × 64
    assert padded.padded == (128, 64)
    assert padded.macs["analysis"] == 5 * 5 * 3 * 8 * (64 * 32)
    assert padded.kmac_per_pixel()["analysis"] == pytest.approx(
        5 * 5 * 3 * 8 * 64 * 32 / (65 * 64) / 1000
    )


@pytest.mark.parametrize("arch", ["cca", "convnext-charm"])
def test_fully_convolutional_parts_cost_the_same_per_pixel_at_any_size(arch: str) -> None:
    small = cx.model_complexity(arch, "tiny", 256, 256).kmac_per_pixel()
    large = cx.model_complexity(arch, "tiny", 512, 768).kmac_per_pixel()
    # equal up to work done once per image, not per pixel: NAF blocks' channel attention is a
    # 1×1 convolution on the globally pooled features (C² MACs whatever the size)
    for part in (*cx.PARTS, "encoder", "decoder"):
        assert small[part] == pytest.approx(large[part], rel=1e-4), part
    assert small["synthesis"] > 0 and small["context"] > 0 and small["hyper_synthesis"] > 0


def test_per_image_work_is_what_separates_the_sizes() -> None:
    # total MACs = per-pixel work × pixels + per-image work; in tiny CCA's analysis the latter
    # is the channel attention of its three NAF blocks, a C→C 1×1 convolution on the globally
    # pooled features: 32² + 40² + 48² MACs at any size
    a = cx.model_complexity("cca", "tiny", 256, 256).macs["analysis"]
    b = cx.model_complexity("cca", "tiny", 512, 512).macs["analysis"]
    c = cx.model_complexity("cca", "tiny", 768, 768).macs["analysis"]
    per_pixel = (b - a) / (512**2 - 256**2)
    assert (c - b) / (768**2 - 512**2) == per_pixel
    assert a - per_pixel * 256**2 == 32**2 + 40**2 + 48**2


def test_encoder_and_decoder_are_the_sums_of_what_each_runs() -> None:
    result = cx.model_complexity("swint-charm", "tiny", 128, 192)
    k = result.kmac_per_pixel()
    assert k["encoder"] == pytest.approx(
        k["analysis"] + k["hyper_analysis"] + k["hyper_synthesis"] + k["context"]
    )
    assert k["decoder"] == pytest.approx(k["hyper_synthesis"] + k["context"] + k["synthesis"])
    assert k["analysis"] > 0 and k["context"] > 0  # window attention's matmuls are counted
    data = result.to_dict()
    assert data["input"] == [128, 192] and data["padded_input"] == [128, 192]
    assert data["counter"].startswith("torch.utils.flop_counter")
    assert any("rANS" in item for item in data["not_counted"])
    assert data["peak_memory"] is None


def test_a_model_with_weights_is_counted_on_a_twin_and_left_alone() -> None:
    torch.manual_seed(0)
    model = create_model("cca", "tiny")
    before = model.g_a.down[0].weight.clone()
    real = cx.measure_complexity(model, 128, 128)
    assert model.g_a.down[0].weight.device.type == "cpu"
    assert torch.equal(model.g_a.down[0].weight, before)
    assert real.macs == cx.model_complexity("cca", "tiny", 128, 128).macs


def test_compressai_hyperprior_matches_a_hand_count() -> None:
    from compressai.zoo import bmshj2018_hyperprior

    result = cx.measure_complexity(bmshj2018_hyperprior(quality=1, pretrained=False), 512, 768)
    # N=128, M=192: 5×5 convolutions at 1/4, 1/16, 1/64, 1/256 of the pixels, and GDN's 1×1
    # N×N convolution after the first three (counted: GDN calls F.conv2d)
    convolutions = 25 * (3 * 128 / 4 + 128 * 128 / 16 + 128 * 128 / 64 + 128 * 192 / 256)
    gdn = 128 * 128 * (1 / 4 + 1 / 16 + 1 / 64)
    assert result.macs["analysis"] == (convolutions + gdn) * 512 * 768
    k = result.kmac_per_pixel()
    assert k["hyper_analysis"] > 0 and k["hyper_synthesis"] > 0 and k["context"] == 0
    assert result.params["bottleneck"] == 128 * 61  # factorized prior of z: 61 per channel
    assert result.params["other"] == 0


def test_compressai_mean_scale_and_autoregressive_context() -> None:
    from compressai.zoo import mbt2018, mbt2018_mean

    mean = cx.measure_complexity(mbt2018_mean(quality=1, pretrained=False), 256, 256)
    assert mean.macs["context"] == 0 and mean.params["hyper_synthesis"] > 0
    autoregressive = cx.measure_complexity(mbt2018(quality=1, pretrained=False), 256, 256)
    # mbt2018 q1: N=192, M=192; masked 5×5 M→2M context and 1×1 entropy parameters
    # (4M→640→512→2M), all on the latent grid (1/256 of the pixels)
    m = 192
    context = 25 * m * 2 * m + 4 * m * 640 + 640 * 512 + 512 * 2 * m
    assert autoregressive.macs["context"] == context * 256 * 256 // 256
    assert autoregressive.params["context"] > 0 and autoregressive.params["other"] == 0


def test_codec_complexity_for_licbench_and_other_learned_codecs() -> None:
    from compressai.zoo import bmshj2018_hyperprior

    from licbench.codecs.learned import CCA, CompressAICodec

    ours = cx.codec_complexity(CCA(config="tiny", weights="random"), 96, 128)
    assert ours.macs == cx.model_complexity("cca", "tiny", 96, 128).macs

    # the compressai codec: counted on the model of its highest quality (the zoo widens N and
    # M at its top qualities), or of the quality asked for
    zoo = CompressAICodec(model="bmshj2018-hyperprior", weights="random")
    theirs = cx.codec_complexity(zoo, 64, 64)
    top = bmshj2018_hyperprior(quality=8, pretrained=False)
    assert theirs.params == cx.measure_complexity(top, 64, 64).params
    assert theirs.macs == cx.measure_complexity(top, 64, 64).macs
    low = cx.codec_complexity(zoo, 64, 64, quality=1)
    assert low.params["total"] < theirs.params["total"]
    with pytest.raises(TypeError, match="not a learned codec"):
        cx.codec_complexity(object(), 64, 64)


def test_something_without_transforms_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot find the parts"):
        cx.measure_complexity(nn.Linear(3, 3), 64, 64)


@pytest.mark.slow
def test_peak_memory_of_encode_and_decode_in_fresh_processes() -> None:
    memory = cx.measure_peak_memory("cca:config=tiny,weights=random", 64, 96, threads=1)
    assert memory["image"] == [64, 96]
    for operation in ("encode", "decode"):
        peaks = memory[operation]
        assert peaks["peak_rss_mb"] >= peaks["after_model_mb"] >= peaks["after_import_mb"] > 50
        assert peaks["above_model_mb"] == pytest.approx(
            peaks["peak_rss_mb"] - peaks["after_model_mb"], abs=0.11
        )
    result = cx.measure_complexity(create_model("cca", "tiny"), 64, 96, peak_memory=memory)
    assert result.to_dict()["peak_memory"]["decode"] == memory["decode"]
