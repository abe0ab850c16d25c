"""The channel-wise autoregressive latent codec (ChARM) shared by CCA, ConvNeXt- and SwinT-ChARM.

A hyperprior z = h_a(y) is coded with a factorized ``EntropyBottleneck``; mean and scale branches
of the hyper synthesis give per-channel parameters; y is split into slices (a schedule: 10×32 or
CCA's uneven [8, 28, 56, 92, 136]) that are coded in order, slice i conditioned on the hyper
parameters and on earlier decoded slices through its own mean and scale networks (optionally
behind a support transform, CCA's NAF blocks), coded with a ``GaussianConditional``, and refined
by latent residual prediction (LRP, optional). All of y goes into one rANS string
(``compressai.ans``); z into another.

Determinism across processes and devices (CompressAI issues #279 and #309)
-------------------------------------------------------------------------
The decoder must compute exactly the CDF index of every symbol that the encoder used; a single
floating-point difference in the hyper synthesis or a slice network may flip an index and
desynchronise the rANS stream. So everything that feeds entropy parameters — z decoding, hyper
synthesis, slice networks, LRP (its output is context for later slices) — runs in this module,
which :meth:`compress` / :meth:`decompress` require to be on the CPU in float32, whatever device
the analysis and synthesis transforms use. Encoder and decoder then run the same CPU kernels on
tensors of the same shapes and the same memory layout (inputs are made contiguous NCHW first:
oneDNN picks convolution kernels by layout, and a channels-last y on the encoder side against a
contiguous one on the decoder side already changes results in the last bit). The entropy tables
are rebuilt from the parameters by :meth:`update`, never trusted from a file.

Guaranteed, and tested: a CPU-encoded bitstream decodes bit-exactly (same y_hat, same pixels) in
a fresh process on the same machine with the same torch and compressai, also with a different
intra-op thread count (the test decodes with one thread what was encoded with two).

Guaranteed by construction, not testable without a GPU: encoding with g_a on a GPU still gives a
bitstream that decodes correctly on the CPU under the conditions above, because no GPU result
enters an entropy parameter.

Not guaranteed: decoding on another CPU family or with another torch / oneDNN / compressai
version (kernels may pick other reduction orders; the codec's ``version()`` names torch and
compressai so results are never mixed across them), and identical pixels when g_s runs on a GPU
instead of the CPU (the latent is decoded exactly; the synthesis may differ in the last bit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import Tensor, nn

from licbench.codecs.learned.latent_config import LatentConfig

#: builds a slice network: (kind "mean" | "scale" | "lrp", slice index, in channels, out channels)
ParamNetFactory = Callable[[str, int, int, int], nn.Module]
#: builds a support transform: (kind "mean" | "scale", slice index, channels)
SupportNetFactory = Callable[[str, int, int], nn.Module]

#: buffers derived from the parameters by ``update()``; never loaded from checkpoints
DERIVED_BUFFERS = ("_offset", "_quantized_cdf", "_cdf_length", "scale_table")


def _round(x: Tensor) -> Tensor:
    """Round; with autograd on, a straight-through estimator (exact rounding in inference)."""
    if torch.is_grad_enabled() and x.requires_grad:
        return x + (torch.round(x) - x).detach()
    return torch.round(x)


class ChannelARLatentCodec(nn.Module):
    """Hyperprior + channel-wise autoregressive slices; see the module docstring.

    ``h_s`` is either a pair (mean branch, scale branch), registered as ``h_mean_s`` and
    ``h_scale_s``, or a single module whose output holds the M means then the M scales.
    """

    def __init__(
        self,
        config: LatentConfig,
        *,
        h_a: nn.Module,
        h_s: nn.Module | tuple[nn.Module, nn.Module],
        param_net: ParamNetFactory,
        support_net: SupportNetFactory | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.slices = tuple(config.slices)
        self.h_a = h_a
        if isinstance(h_s, tuple):
            self.h_mean_s, self.h_scale_s = h_s
        else:
            self.h_s = h_s
        if support_net is not None:
            self.mean_support_transforms = nn.ModuleList(
                support_net("mean", i, self.support_channels(i)) for i in range(len(self.slices))
            )
            self.scale_support_transforms = nn.ModuleList(
                support_net("scale", i, self.support_channels(i)) for i in range(len(self.slices))
            )
        self.mean_transforms = nn.ModuleList(
            param_net("mean", i, self.support_channels(i), n) for i, n in enumerate(self.slices)
        )
        self.scale_transforms = nn.ModuleList(
            param_net("scale", i, self.support_channels(i), n) for i, n in enumerate(self.slices)
        )
        if config.lrp:
            self.lrp_transforms = nn.ModuleList(
                param_net("lrp", i, self.support_channels(i) + n, n)
                for i, n in enumerate(self.slices)
            )
        self.entropy_bottleneck = EntropyBottleneck(config.hyper_channels)
        self.gaussian_conditional = GaussianConditional(None)
        self._tables: tuple[list, list, list] | None = None

    # ----------------------------------------------------------------- structure
    def support_slices(self, index: int) -> range:
        """Which earlier slices slice ``index`` sees (the first ``max_support`` of them)."""
        limit = self.config.max_support
        return range(index if limit is None else min(index, limit))

    def support_channels(self, index: int) -> int:
        hyper = self.config.latent_channels if self.config.hyper_support == "full" else 0
        hyper = hyper or self.slices[index]
        return hyper + sum(self.slices[j] for j in self.support_slices(index))

    def scale_table(self) -> list[float]:
        c = self.config
        lo, hi = math.log(c.scale_min), math.log(c.scale_max)
        return torch.exp(torch.linspace(lo, hi, c.scale_levels)).tolist()

    # ----------------------------------------------------------------- shared steps
    def hyper_synthesis(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """(means, scales), each with M channels on y's grid."""
        if hasattr(self, "h_s"):
            means, scales = self.h_s(z_hat).chunk(2, dim=1)
        else:
            means, scales = self.h_mean_s(z_hat), self.h_scale_s(z_hat)
        return means.contiguous(), scales.contiguous()

    def _hyper_part(self, params: Tensor, index: int) -> Tensor:
        if self.config.hyper_support == "full":
            return params
        start = sum(self.slices[:index])
        return params[:, start : start + self.slices[index]]

    def slice_parameters(
        self, index: int, means: Tensor, scales: Tensor, decoded: Sequence[Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(mu, sigma, mean support) of slice ``index`` given the earlier decoded slices."""
        earlier = [decoded[j] for j in self.support_slices(index)]
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
        if not self.config.lrp:
            return y_hat
        lrp = self.lrp_transforms[index](torch.cat([mean_support, y_hat], dim=1))
        return y_hat + 0.5 * torch.tanh(lrp)

    # ----------------------------------------------------------------- training / eval
    def forward(
        self, y: Tensor, *, noise: bool | None = None, return_hyper: bool = False
    ) -> tuple[Any, ...]:
        """(y_hat, likelihoods {"y", "z"}) for training and rate estimation.

        With ``noise`` (default: in training mode) likelihoods use additive uniform noise, y_hat
        uses straight-through rounding; without it this is exactly the coding path's y_hat.
        ``return_hyper`` adds a third item, the hyper (means, scales), which the CCA loss's
        auxiliary model reads.
        """
        noise = self.training if noise is None else noise
        y = y.contiguous()
        z = self.h_a(y).contiguous()
        _, z_likelihoods = self.entropy_bottleneck(z, training=noise)
        medians = self.entropy_bottleneck._get_medians()
        z_hat = _round(z - medians) + medians
        means, scales = self.hyper_synthesis(z_hat)
        decoded: list[Tensor] = []
        likelihoods = []
        for index, y_slice in enumerate(y.split(self.slices, dim=1)):
            mu, sigma, support = self.slice_parameters(index, means, scales, decoded)
            _, lik = self.gaussian_conditional(y_slice, sigma, mu, training=noise)
            likelihoods.append(lik)
            decoded.append(self.refine(index, support, _round(y_slice - mu) + mu))
        y_hat = torch.cat(decoded, dim=1)
        likelihoods_by_name = {"y": torch.cat(likelihoods, dim=1), "z": z_likelihoods}
        if return_hyper:
            return y_hat, likelihoods_by_name, (means, scales)
        return y_hat, likelihoods_by_name

    # ----------------------------------------------------------------- coding
    def update(self, force: bool = True) -> None:
        """(Re)build the entropy tables from the parameters; needed after loading weights."""
        self.entropy_bottleneck.update(force=force)
        self.gaussian_conditional.update_scale_table(self.scale_table(), force=force)
        gc = self.gaussian_conditional
        self._tables = (
            gc.quantized_cdf.tolist(),
            gc.cdf_length.reshape(-1).int().tolist(),
            gc.offset.reshape(-1).int().tolist(),
        )

    def _coding_tables(self) -> tuple[list, list, list]:
        for p in self.parameters():
            if p.device.type != "cpu" or p.dtype != torch.float32:
                raise RuntimeError(
                    "the latent codec must be on the CPU in float32 for coding (entropy "
                    f"parameters must be computed identically on both sides); found {p.device}, "
                    f"{p.dtype}"
                )
            break
        if self._tables is None:
            raise RuntimeError("entropy tables are not built: call update() after loading weights")
        return self._tables

    @torch.no_grad()
    def compress(self, y: Tensor) -> tuple[list[bytes], Tensor]:
        """Code one latent (1, M, h, w) on the CPU: ([z string, y string], decoded y_hat)."""
        cdfs, lengths, offsets = self._coding_tables()
        y = y.to("cpu", torch.float32).contiguous()
        if y.shape[0] != 1:
            raise ValueError("compress codes one image at a time")
        z = self.h_a(y).contiguous()
        eb = self.entropy_bottleneck
        z_string = eb.compress(z)[0]
        medians = eb._get_medians().detach().reshape(1, -1, 1, 1)
        z_hat = eb.dequantize(eb.quantize(z, "symbols", medians), medians)
        means, scales = self.hyper_synthesis(z_hat)
        gc = self.gaussian_conditional
        symbols: list[int] = []
        indexes: list[int] = []
        decoded: list[Tensor] = []
        for index, y_slice in enumerate(y.split(self.slices, dim=1)):
            mu, sigma, support = self.slice_parameters(index, means, scales, decoded)
            q = gc.quantize(y_slice, "symbols", mu)
            symbols.extend(q.reshape(-1).tolist())
            indexes.extend(gc.build_indexes(sigma).reshape(-1).tolist())
            decoded.append(self.refine(index, support, gc.dequantize(q, mu)))
        encoder = BufferedRansEncoder()
        encoder.encode_with_indexes(symbols, indexes, cdfs, lengths, offsets)
        return [z_string, encoder.flush()], torch.cat(decoded, dim=1)

    @torch.no_grad()
    def decompress(self, strings: Sequence[bytes], z_shape: tuple[int, int]) -> Tensor:
        """Decode ``[z string, y string]`` into y_hat (1, M, 4·zh, 4·zw) on the CPU."""
        cdfs, lengths, offsets = self._coding_tables()
        if len(strings) != 2:
            raise ValueError(f"expected 2 strings (z, y), got {len(strings)}")
        z_hat = self.entropy_bottleneck.decompress([strings[0]], tuple(z_shape)).contiguous()
        means, scales = self.hyper_synthesis(z_hat)
        height, width = means.shape[-2:]
        gc = self.gaussian_conditional
        decoder = RansDecoder()
        decoder.set_stream(strings[1])
        decoded: list[Tensor] = []
        for index, size in enumerate(self.slices):
            mu, sigma, support = self.slice_parameters(index, means, scales, decoded)
            values = decoder.decode_stream(
                gc.build_indexes(sigma).reshape(-1).tolist(), cdfs, lengths, offsets
            )
            q = torch.tensor(values, dtype=torch.int32).reshape(1, size, height, width)
            decoded.append(self.refine(index, support, gc.dequantize(q, mu)))
        return torch.cat(decoded, dim=1)
