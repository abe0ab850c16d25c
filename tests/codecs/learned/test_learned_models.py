"""Model building: configs, forward shapes of the tiny configs, paper parameter counts."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from licbench.codecs.learned import create_model, get_config, list_models
from licbench.codecs.learned.configs import ARCHS as ARCH_TABLE
from licbench.codecs.learned.configs import proportional_slices
from licbench.codecs.learned.model import count_parameters
from tests.data_paths import CCA_KEYS_TSV

ARCHS = tuple(ARCH_TABLE)


def meta_model(arch: str, config: str):
    with torch.device("meta"):
        return create_model(arch, config)


def test_list_models_and_names() -> None:
    assert list_models("*/tiny") == ["cca/tiny", "convnext-charm/tiny", "swint-charm/tiny"]
    assert "swint-charm/paper" in list_models("swint*")
    assert get_config("cca/tiny") is get_config("cca", "tiny")
    with pytest.raises(KeyError, match="choose from"):
        get_config("cca", "huge")
    with pytest.raises(KeyError, match="convnext-charm"):
        create_model("convnext")


def test_cca_slice_schedule_is_proportional_to_i_power_1_7() -> None:
    assert proportional_slices(320, 5, 1.7) == (8, 28, 56, 92, 136)
    assert get_config("cca", "paper").latent.slices == (8, 28, 56, 92, 136)
    assert get_config("convnext-charm", "paper").latent.slices == (32,) * 10
    assert get_config("swint-charm", "paper").latent.slices == (32,) * 10


@pytest.mark.parametrize("arch", ARCHS)
def test_tiny_forward_shapes_and_gradients(arch: str) -> None:
    torch.manual_seed(0)
    model = create_model(arch, "tiny").train()
    lat = model.latent.config
    x = torch.rand(2, 3, 64, 128)
    out = model(x)
    assert out["x_hat"].shape == x.shape
    assert out["y_hat"].shape == (2, lat.latent_channels, 4, 8)
    assert out["likelihoods"]["y"].shape == (2, lat.latent_channels, 4, 8)
    assert out["likelihoods"]["z"].shape == (2, lat.hyper_channels, 1, 2)
    for t in (out["x_hat"], out["likelihoods"]["y"], out["likelihoods"]["z"]):
        assert torch.isfinite(t).all()
    assert (out["likelihoods"]["y"] > 0).all() and (out["likelihoods"]["y"] <= 1).all()
    rate = -sum(torch.log2(v).sum() for v in out["likelihoods"].values())
    (rate + torch.mean((out["x_hat"] - x) ** 2)).backward()
    assert model.g_a.parameters().__next__().grad is not None


@pytest.mark.parametrize("arch", ARCHS)
def test_tiny_configs_have_at_most_two_million_parameters(arch: str) -> None:
    assert count_parameters(meta_model(arch, "tiny")) <= 2_000_000


def test_paper_swint_charm_has_32_6_million_parameters() -> None:
    n = count_parameters(meta_model("swint-charm", "paper"))
    assert abs(n - 32.6e6) <= 0.03 * 32.6e6, n


def _official_eval_parameter_total() -> int:
    with CCA_KEYS_TSV.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    column = next(c for c in rows[0] if c.startswith("in_eval_model"))
    return sum(
        math.prod(int(d) for d in r["shape"].strip("[]").split(",") if d.strip())
        for r in rows
        if r["kind"] == "param" and r[column] == "yes"
    )


def test_paper_cca_parameter_count_equals_the_official_eval_model() -> None:
    assert count_parameters(meta_model("cca", "paper")) == _official_eval_parameter_total()


def test_paper_convnext_charm_structure() -> None:
    model = meta_model("convnext-charm", "paper")
    lat = model.latent
    # own 32 hyper channels + at most the first 5 earlier slices; LRP sees the slice too
    assert [lat.support_channels(i) for i in range(10)] == [32 + 32 * min(i, 5) for i in range(10)]
    assert lat.lrp_transforms[9][0].in_channels == 32 + 160 + 32
    assert len(model.g_a.stages[2]) == 9 and len(model.g_s.stages[1]) == 9


def test_support_rules_of_the_other_archs() -> None:
    swint = meta_model("swint-charm", "paper").latent
    assert [swint.support_channels(i) for i in range(10)] == [32 * (i + 1) for i in range(10)]
    assert not hasattr(swint, "lrp_transforms")
    cca = meta_model("cca", "paper").latent
    assert [cca.support_channels(i) for i in range(5)] == [320, 328, 356, 412, 504]


def test_swin_blocks_use_windows_8_and_4() -> None:
    model = meta_model("swint-charm", "paper")
    assert model.g_a.stages[0].blocks[0].window == 8
    assert model.g_s.stages[0].blocks[1].shift
    assert model.latent.h_a.stages[0].blocks[0].window == 4
    assert model.latent.h_s.stages[1].blocks[0].window == 4
