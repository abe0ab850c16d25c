"""Support policies: which earlier slices each slice network sees, main model vs CCA auxiliary."""

from __future__ import annotations

import torch

from licbench.codecs.learned.cca_loss import AuxiliarySliceModel
from licbench.codecs.learned.configs import create_model
from licbench.codecs.learned.slice_coder import SliceCoder
from licbench.codecs.learned.support_policy import SKIP_NEWEST, earlier_slices


def test_policies_as_index_rules() -> None:
    main, first5 = earlier_slices(), earlier_slices(5)
    assert [list(main.indices(i)) for i in range(4)] == [[], [0], [0, 1], [0, 1, 2]]
    assert list(first5.indices(9)) == [0, 1, 2, 3, 4] and list(first5.indices(3)) == [0, 1, 2]
    assert [list(SKIP_NEWEST.indices(i)) for i in range(5)] == [[], [], [0], [0, 1], [0, 1, 2]]
    assert SKIP_NEWEST.select(3, ["s0", "s1", "s2"]) == ["s0", "s1"]
    assert main.select(3, ["s0", "s1", "s2"]) == ["s0", "s1", "s2"]
    assert (main.name, first5.name, SKIP_NEWEST.name) == (
        "slices < i",
        "first 5 of slices < i",
        "slices < i−1",
    )


def test_main_codec_includes_every_earlier_slice_and_auxiliary_excludes_the_newest() -> None:
    latent = create_model("cca", "tiny").latent  # slices (1, 4, 8, 13, 22), all 48 hyper channels
    aux = AuxiliarySliceModel(latent)
    assert latent.policy.name == "slices < i" and aux.policy is SKIP_NEWEST
    for i in range(5):
        assert list(latent.support_slices(i)) == list(range(i))
        assert list(aux.support_slices(i)) == list(range(max(i - 1, 0)))
    assert [latent.support_channels(i) for i in range(5)] == [48, 49, 53, 61, 74]
    assert [aux.support_channels(i) for i in range(5)] == [48, 48, 49, 53, 61]
    assert [m[0].in_channels for m in aux.mean_transforms] == [48, 48, 49, 53, 61]
    convnext = create_model("convnext-charm", "tiny").latent
    assert convnext.policy.name == "first 5 of slices < i"
    assert list(convnext.support_slices(9)) == [0, 1, 2, 3, 4]


class _Recorder(SliceCoder):
    """Identity slice networks (hyper part only), so the loop's inputs can be read back."""

    def __init__(self, policy) -> None:
        super().__init__((1, 1, 1, 1), policy, hyper_support="slice", lrp=False)
        self.seen: list[list[float]] = []
        self.build_slice_networks(lambda kind, i, cin, cout: _TakeFirst(self, kind))


class _TakeFirst(torch.nn.Module):
    def __init__(self, owner: _Recorder, kind: str) -> None:
        super().__init__()
        self.owner, self.kind = [owner], kind

    def forward(self, support: torch.Tensor) -> torch.Tensor:
        if self.kind == "mean":  # channel 0 is the hyper part, the rest the selected slices
            self.owner[0].seen.append(support[0, 1:, 0, 0].tolist())
        return support[:, :1]


def test_the_loop_feeds_each_slice_exactly_the_selected_decoded_slices() -> None:
    means = scales = torch.zeros(1, 4, 1, 1)
    for policy, expected in (
        (earlier_slices(), [[], [10.0], [10.0, 11.0], [10.0, 11.0, 12.0]]),
        (SKIP_NEWEST, [[], [], [10.0], [10.0, 11.0]]),
    ):
        coder = _Recorder(policy)
        y_hat = coder.run_slices(means, scales, lambda i, mu, sigma: mu + 10 + i)
        assert coder.seen == expected
        assert y_hat.flatten().tolist() == [10.0, 11.0, 12.0, 13.0]
