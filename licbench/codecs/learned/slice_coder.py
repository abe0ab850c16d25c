"""The channel-wise slice loop, written once, and the slice networks it runs.

Slice i of y is predicted from the hyper parameters and the decoded earlier slices that a
:class:`~licbench.codecs.learned.support_policy.SupportPolicy` selects: mean and scale networks
(optionally behind support transforms, CCA's NAF blocks) give (mu, sigma), a per-use *step*
quantises or codes the slice, and latent residual prediction (LRP, optional) refines it before it
becomes context for the next slices. Training (likelihoods), rANS encoding, rANS decoding and
CCA's auxiliary model differ only in that step and in the policy, so :meth:`SliceCoder.run_slices`
is the only loop over slices: a fix or a change of the context rule reaches all four at once, and
the encoder and the decoder cannot drift apart (their CDF indexes come from the same code).

Attribute names (``mean_transforms``, ``scale_transforms``, ``lrp_transforms``,
``mean_support_transforms``, ``scale_support_transforms``) are checkpoint keys: never rename them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from licbench.codecs.learned.latent_config import HyperSupport
from licbench.codecs.learned.support_policy import SupportPolicy

#: builds a slice network: (kind "mean" | "scale" | "lrp", slice index, in channels, out channels)
ParamNetFactory = Callable[[str, int, int, int], nn.Module]
#: builds a support transform: (kind "mean" | "scale", slice index, channels)
SupportNetFactory = Callable[[str, int, int], nn.Module]
#: one use of the loop: (slice index, mu, sigma) -> the quantised slice (before LRP)
SliceStep = Callable[[int, Tensor, Tensor], Tensor]


def round_ste(x: Tensor) -> Tensor:
    """Round; with autograd on, a straight-through estimator (exact rounding in inference)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return x + (torch.round(x) - x).detach()
    return torch.round(x)


class SliceCoder(nn.Module):
    """Slice networks for a slice schedule and a support policy, and the loop that runs them.

    ``hyper_support``: ``"full"`` feeds every slice network all M hyper channels, ``"slice"``
    only those of its own slice. Subclasses call :meth:`build_slice_networks` where their
    networks belong in the module order (it fixes state-dict order and seeded initialisation).
    """

    def __init__(
        self,
        slices: Sequence[int],
        policy: SupportPolicy,
        *,
        hyper_support: HyperSupport,
        lrp: bool,
    ) -> None:
        super().__init__()
        self.slices = tuple(slices)
        self.policy = policy
        self.hyper_support = hyper_support
        self.lrp = lrp

    def build_slice_networks(
        self, param_net: ParamNetFactory, support_net: SupportNetFactory | None = None
    ) -> None:
        widths = [self.support_channels(i) for i in range(len(self.slices))]
        shapes = list(enumerate(zip(widths, self.slices, strict=True)))  # (i, (in, out))
        if support_net is not None:
            self.mean_support_transforms = nn.ModuleList(
                support_net("mean", i, c) for i, c in enumerate(widths)
            )
            self.scale_support_transforms = nn.ModuleList(
                support_net("scale", i, c) for i, c in enumerate(widths)
            )
        self.mean_transforms = nn.ModuleList(param_net("mean", i, c, n) for i, (c, n) in shapes)
        self.scale_transforms = nn.ModuleList(param_net("scale", i, c, n) for i, (c, n) in shapes)
        if self.lrp:
            self.lrp_transforms = nn.ModuleList(
                param_net("lrp", i, c + n, n) for i, (c, n) in shapes
            )

    # ----------------------------------------------------------------- structure
    def support_slices(self, index: int) -> range:
        """Which earlier slices slice ``index`` sees (the policy's rule)."""
        return self.policy.indices(index)

    def support_channels(self, index: int) -> int:
        """Input width of slice ``index``'s networks: its hyper part plus the slices it sees."""
        hyper = sum(self.slices) if self.hyper_support == "full" else self.slices[index]
        return hyper + sum(self.slices[j] for j in self.support_slices(index))

    def _hyper_part(self, params: Tensor, index: int) -> Tensor:
        if self.hyper_support == "full":
            return params
        start = sum(self.slices[:index])
        return params[:, start : start + self.slices[index]]

    # ----------------------------------------------------------------- one slice
    def slice_parameters(
        self, index: int, means: Tensor, scales: Tensor, decoded: Sequence[Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(mu, sigma, mean support) of slice ``index`` given the earlier decoded slices."""
        earlier = self.policy.select(index, decoded)
        mean_support = torch.cat([self._hyper_part(means, index), *earlier], dim=1)
        scale_support = torch.cat([self._hyper_part(scales, index), *earlier], dim=1)
        if hasattr(self, "mean_support_transforms"):
            mean_support = self.mean_support_transforms[index](mean_support)
            scale_support = self.scale_support_transforms[index](scale_support)
        mu = self.mean_transforms[index](mean_support)
        sigma = self.scale_transforms[index](scale_support)
        return mu, sigma, mean_support

    def refine(self, index: int, mean_support: Tensor, y_hat: Tensor) -> Tensor:
        """Latent residual prediction: add 0.5·tanh(lrp(support, y_hat)) when enabled."""
        if not self.lrp:
            return y_hat
        lrp = self.lrp_transforms[index](torch.cat([mean_support, y_hat], dim=1))
        return y_hat + 0.5 * torch.tanh(lrp)

    # ----------------------------------------------------------------- the loop
    def run_slices(self, means: Tensor, scales: Tensor, step: SliceStep) -> Tensor:
        """The slice loop: for each slice in order, its parameters from the hyper parameters and
        the policy's earlier slices, ``step`` to quantise (or rANS-code) it, then LRP; returns
        y_hat, all slices concatenated."""
        decoded: list[Tensor] = []
        for index in range(len(self.slices)):
            mu, sigma, support = self.slice_parameters(index, means, scales, decoded)
            decoded.append(self.refine(index, support, step(index, mu, sigma)))
        return torch.cat(decoded, dim=1)
