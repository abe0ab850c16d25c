"""The channel-wise autoregressive latent codec (ChARM) shared by CCA, ConvNeXt- and SwinT-ChARM.

A hyperprior z = h_a(y) is coded with a factorized ``EntropyBottleneck``; mean and scale branches
of the hyper synthesis give per-channel parameters; y is split into slices (a schedule: 10×32 or
CCA's uneven [8, 28, 56, 92, 136]) that are coded in order, slice i conditioned on the hyper
parameters and on earlier decoded slices through its own mean and scale networks (optionally
behind a support transform, CCA's NAF blocks), coded with a ``GaussianConditional``, and refined
by latent residual prediction (LRP, optional). All of y goes into one rANS string
(``compressai.ans``); z into another. The loop over slices is ``slice_coder``'s, shared by
training, encoding, decoding and the CCA loss's auxiliary model; only the per-slice step differs.

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

Guaranteed, and tested: a CPU-encoded bitstream decodes bit-exactly (same y_hat, same pixels)
in a fresh process on the same machine with the same torch, compressai and thread count. With
another thread count the latent still decoded exactly in every measurement, and the pixels moved
by one level in a few values (the synthesis sums in another order).

Measured, not guaranteed: on another instruction set the entropy parameters come out in other
last bits, and on Kodak-sized images that moves a CDF index often enough to desynchronise the
range decoder: the bundled tiny models' Kodak-sample bitstreams, encoded with an AVX-512 CPU's
kernels, decode to garbage in 3 or 4 of 12 jobs per codec with oneDNN capped at SSE4.1 or AVX2
(``licbench run --decode-check`` measures this for any codec; the figures are in the README,
section "Across machines"). Small pictures (the tests' 128×192) happened to survive. So a
bitstream is portable only to a machine whose kernels compute the entropy parameters alike; the
codec's ``version()`` names torch and compressai so results are never mixed across them.

Guaranteed by construction, not testable without a GPU: encoding with g_a on a GPU still gives a
bitstream that decodes correctly on the CPU of the same machine, because no GPU result enters an
entropy parameter; g_s on a GPU may differ from the CPU's in the last bits of the pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from compressai.ans import BufferedRansEncoder, RansDecoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import Tensor, nn

from licbench.codecs.learned.latent_config import LatentConfig
from licbench.codecs.learned.slice_coder import (
    ParamNetFactory,
    SliceCoder,
    SupportNetFactory,
    round_ste,
)
from licbench.codecs.learned.support_policy import earlier_slices

#: buffers derived from the parameters by ``update()``; never loaded from checkpoints
DERIVED_BUFFERS = ("_offset", "_quantized_cdf", "_cdf_length", "scale_table")


class ChannelARLatentCodec(SliceCoder):
    """Hyperprior + channel-wise autoregressive slices; see the module docstring.

    ``h_s`` is either a pair (mean branch, scale branch), registered as ``h_mean_s`` and
    ``h_scale_s``, or a single module whose output holds the M means then the M scales. The
    slice loop and its networks are :class:`SliceCoder`'s, with the policy "slices < i" (or
    the first ``max_support`` of them).
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
        super().__init__(
            config.slices,
            earlier_slices(config.max_support),
            hyper_support=config.hyper_support,
            lrp=config.lrp,
        )
        self.config = config
        self.h_a = h_a
        if isinstance(h_s, tuple):
            self.h_mean_s, self.h_scale_s = h_s
        else:
            self.h_s = h_s
        self.build_slice_networks(param_net, support_net)
        self.entropy_bottleneck = EntropyBottleneck(config.hyper_channels)
        self.gaussian_conditional = GaussianConditional(None)
        self._tables: tuple[list, list, list] | None = None

    def scale_table(self) -> list[float]:
        c = self.config
        lo, hi = math.log(c.scale_min), math.log(c.scale_max)
        return torch.exp(torch.linspace(lo, hi, c.scale_levels)).tolist()

    def hyper_synthesis(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """(means, scales), each with M channels on y's grid."""
        if hasattr(self, "h_s"):
            means, scales = self.h_s(z_hat).chunk(2, dim=1)
        else:
            means, scales = self.h_mean_s(z_hat), self.h_scale_s(z_hat)
        return means.contiguous(), scales.contiguous()

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
        z_hat = round_ste(z - medians) + medians
        means, scales = self.hyper_synthesis(z_hat)
        y_slices = y.split(self.slices, dim=1)
        likelihoods: list[Tensor] = []

        def step(index: int, mu: Tensor, sigma: Tensor) -> Tensor:
            _, lik = self.gaussian_conditional(y_slices[index], sigma, mu, training=noise)
            likelihoods.append(lik)
            return round_ste(y_slices[index] - mu) + mu

        y_hat = self.run_slices(means, scales, step)
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
        y_slices = y.split(self.slices, dim=1)
        # one int32 buffer each, filled in coding order, not Python lists: the coder takes any
        # sequence, and lists of a 24 MP image's 12M symbols and indexes (the 128-channel
        # latents) raised the encode's peak by 0.2 GB
        symbols = torch.empty(y.numel(), dtype=torch.int32)
        indexes = torch.empty(y.numel(), dtype=torch.int32)
        filled = 0

        def step(index: int, mu: Tensor, sigma: Tensor) -> Tensor:
            nonlocal filled
            q = gc.quantize(y_slices[index], "symbols", mu)
            end = filled + q.numel()
            symbols[filled:end] = q.reshape(-1)
            indexes[filled:end] = gc.build_indexes(sigma).reshape(-1)
            filled = end
            return gc.dequantize(q, mu)

        y_hat = self.run_slices(means, scales, step)
        assert filled == y.numel(), "every slice is coded once"
        encoder = BufferedRansEncoder()
        encoder.encode_with_indexes(symbols.numpy(), indexes.numpy(), cdfs, lengths, offsets)
        return [z_string, encoder.flush()], y_hat

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

        def step(index: int, mu: Tensor, sigma: Tensor) -> Tensor:
            values = decoder.decode_stream(
                gc.build_indexes(sigma).reshape(-1).to(torch.int32).numpy(), cdfs, lengths, offsets
            )
            shape = (1, self.slices[index], height, width)
            return gc.dequantize(torch.tensor(values, dtype=torch.int32).reshape(shape), mu)

        return self.run_slices(means, scales, step)
