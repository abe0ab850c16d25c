"""The CCA training loss (Han et al., NeurIPS 2024) for any channel-wise autoregressive model.

An auxiliary entropy model predicts slice i of y from the hyperprior and the slices before i−1:
it sees everything the main model sees except the newest slice. The CCA term

    L_CCA = (bits of y under the main model − bits of y under the auxiliary model) / pixels

is minimised with weight α. The auxiliary model is the best predictor that lacks slice i−1, so
widening the gap rewards an encoder that puts into slice i−1 the information that helps slice i:
the "causal context" the paper adjusts.

How the two models are trained here, and why it differs from the official code: the official
trainer puts the auxiliary model's parameters into the main optimizer, so −α·bits_aux also
pushes the auxiliary model to predict *worse*, which makes the gap grow without the encoder doing
anything. Here the auxiliary model is fitted to minimise its own bits on detached inputs (its own
optimizer), and the CCA term reaches the main model only (the auxiliary parameters are frozen
inside it), so L_CCA measures what the encoder did. The official extra cross-entropy term that
trains a factorized prior over y is not used: nothing else reads that prior.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from compressai.entropy_models import GaussianConditional
from torch import Tensor, nn
from torch.func import functional_call

from licbench.codecs.learned.latent_codec import ChannelARLatentCodec
from licbench.codecs.learned.slice_coder import SliceCoder, round_ste
from licbench.codecs.learned.support_policy import SKIP_NEWEST


def _param_net(in_channels: int, hidden: int, out_channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(hidden, max(hidden // 2, out_channels), 3, padding=1),
        nn.GELU(),
        nn.Conv2d(max(hidden // 2, out_channels), out_channels, 3, padding=1),
    )


class AuxiliarySliceModel(SliceCoder):
    """Predicts slice i from the hyper parameters and decoded slices ``0 .. i−2``.

    The main latent codec's slice loop with the support policy :data:`SKIP_NEWEST` and its own
    (plain convolutional) slice networks; slices, hyper support and LRP follow ``latent``.
    """

    def __init__(self, latent: ChannelARLatentCodec, hidden: int | None = None) -> None:
        super().__init__(
            latent.slices,
            SKIP_NEWEST,
            hyper_support=latent.config.hyper_support,
            lrp=latent.config.lrp,
        )
        width = hidden or min(224, max(32, latent.config.latent_channels // 2))
        self.build_slice_networks(lambda kind, i, cin, cout: _param_net(cin, width, cout))
        self.gaussian_conditional = GaussianConditional(None)

    def forward(self, y: Tensor, means: Tensor, scales: Tensor) -> Tensor:
        """Likelihoods of y (same shape as y) under the auxiliary model, with training noise."""
        y_slices = y.split(self.slices, dim=1)
        likelihoods: list[Tensor] = []

        def step(index: int, mu: Tensor, sigma: Tensor) -> Tensor:
            y_slice = y_slices[index]
            _, likelihood = self.gaussian_conditional(y_slice, sigma, mu, training=self.training)
            likelihoods.append(likelihood)
            return round_ste(y_slice - mu) + mu

        self.run_slices(means, scales, step)
        return torch.cat(likelihoods, dim=1)


def bits(likelihoods: Tensor) -> Tensor:
    """Total information content in bits: −Σ log2 p."""
    return -torch.log(likelihoods).sum() / math.log(2)


#: the paper's fixed distortion weight: its loss is 0.05·255²·MSE + λ_R·R + α·L_CCA
PAPER_DISTORTION_WEIGHT = 0.05


class RateDistortionCCALoss(nn.Module):
    """bpp + λ·255²·MSE + α·(λ / 0.05)·L_CCA, plus the auxiliary model's own fitting loss.

    ``lmbda`` follows CompressAI (larger = more bits). The CCA weight keeps the paper's balance:
    the paper writes 0.05·255²·MSE + λ_R·R + α·L_CCA, i.e. it fixes the CCA term against the
    distortion term and moves the rate weight. Divided by λ_R, with λ = 0.05 / λ_R, that is the
    line above, so α means what it means in the paper at every rate. Adding α·L_CCA unscaled (as
    an earlier version did) weighs it 1/(20·λ) times too much — 14× at λ = 0.0035 — and a tiny
    CCA model trained that way spent 2.5× the bits of its α=0 twin for 0.9 dB less PSNR.

    Returns a dict with ``loss`` (for the main optimizer), ``aux_fit`` (for the auxiliary model's
    optimizer, bits per pixel), ``mse``, ``bpp``, ``psnr`` and ``cca`` (bits per pixel; 0 when α
    is 0).
    """

    def __init__(self, lmbda: float, alpha: float = 1.0) -> None:
        super().__init__()
        self.lmbda = lmbda
        self.alpha = alpha
        self.cca_weight = alpha * lmbda / PAPER_DISTORTION_WEIGHT

    def forward(
        self,
        output: dict[str, Any],
        target: Tensor,
        auxiliary: AuxiliarySliceModel | None = None,
    ) -> dict[str, Tensor]:
        n, _, h, w = target.shape
        pixels = n * h * w
        likelihoods = output["likelihoods"]
        main_y_bits = bits(likelihoods["y"])
        bpp = (main_y_bits + bits(likelihoods["z"])) / pixels
        x_hat = output["x_hat"]
        mse = torch.mean((x_hat - target) ** 2)
        result = {
            "mse": mse,
            "bpp": bpp,
            "psnr": 10 * torch.log10(1.0 / mse.detach().clamp_min(1e-12)),
        }
        loss = self.lmbda * 255**2 * mse + bpp
        zero = torch.zeros((), device=target.device)
        result["cca"], result["aux_fit"] = zero, zero
        if auxiliary is not None:
            y, means, scales = output["y"], output["means"], output["scales"]
            # fitting: the auxiliary model learns to predict as well as it can (inputs detached)
            fit = bits(auxiliary(y.detach(), means.detach(), scales.detach())) / pixels
            result["aux_fit"] = fit
            if self.alpha:
                frozen = {k: v.detach() for k, v in auxiliary.named_parameters()}
                frozen.update(dict(auxiliary.named_buffers()))
                aux_likelihoods = functional_call(auxiliary, frozen, (y, means, scales))
                cca = (main_y_bits - bits(aux_likelihoods)) / pixels
                result["cca"] = cca
                loss = loss + self.cca_weight * cca
        result["loss"] = loss
        return result


def split_parameters(
    model: nn.Module,
) -> tuple[Sequence[nn.Parameter], Sequence[nn.Parameter]]:
    """(main parameters, entropy-bottleneck quantiles): the quantiles have their own optimizer."""
    main, quantiles = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (quantiles if name.endswith(".quantiles") else main).append(parameter)
    return main, quantiles
