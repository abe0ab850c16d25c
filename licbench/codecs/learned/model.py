"""A learned image compression model: analysis g_a, synthesis g_s and the shared latent codec.

The three architectures differ only in the transforms handed to :class:`LearnedCompressionModel`
(g_a, g_s here; h_a, h_s and the slice networks inside the latent codec).

Padding multiple: 64. g_a downsamples by 16 (four stride-2 steps) and h_a by a further 4 (two
stride-2 steps); for the hyper synthesis to land exactly on y's grid the padded size must be a
multiple of 16·4 = 64 (CCA's eval pads to 128, which is not necessary). Padding is 'replicate' at
the right and bottom: continuing the border costs fewer bits than a step to black would, and the
decoder crops it off.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from licbench.codecs.learned.latent_codec import ChannelARLatentCodec
from licbench.codecs.learned.tiling import run_steps

PAD_MULTIPLE = 64
#: g_s multiplies the latent's size by 16 (g_a divides by it): four stride-2 steps
SYNTHESIS_UPSAMPLING = 16
PAD_MODE = "replicate"


def pad_image(x: Tensor, multiple: int = PAD_MULTIPLE) -> Tensor:
    """Pad (N, C, H, W) at the right and bottom to multiples of ``multiple`` (replicate)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode=PAD_MODE)


def _unit_floats(x: Tensor) -> Tensor:
    """8-bit values → float32 in [0, 1], contiguous (the layout a padded float image has)."""
    return (x.float() / 255.0).contiguous()


def to_pixels(x_hat: Tensor) -> Tensor:
    """x_hat (floats, about [0, 1]) → 8-bit values: clamped, × 255, rounded half to even."""
    return x_hat.clamp(0, 1).mul(255).round().to(torch.uint8)


class LearnedCompressionModel(nn.Module):
    """g_a → latent codec → g_s, with training ``forward`` and real ``compress``/``decompress``.

    For coding, the latent codec stays on the CPU in float32 (see ``latent_codec``); g_a and g_s
    may sit on another device (:meth:`place`).
    """

    def __init__(
        self,
        g_a: nn.Module,
        g_s: nn.Module,
        latent: ChannelARLatentCodec,
        *,
        arch: str,
        config_name: str,
        config: Any,
    ) -> None:
        super().__init__()
        self.g_a = g_a
        self.g_s = g_s
        self.latent = latent
        self.arch = arch
        self.config_name = config_name
        self.config = config
        self.pad_multiple = PAD_MULTIPLE

    def forward(self, x: Tensor) -> dict[str, Any]:
        """{"x_hat", "y_hat", "likelihoods": {"y", "z"}} for x in [0, 1], size a multiple of 64."""
        y = self.g_a(x)
        y_hat, likelihoods = self.latent(y)
        return {"x_hat": self.g_s(y_hat), "y_hat": y_hat, "likelihoods": likelihoods}

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """The model's own hard-quantised reconstruction of x, without entropy coding.

        This is what decoding the bitstream must give; tests compare the two.
        """
        y = self.g_a(x)
        y_hat, _ = self.latent(y, noise=False)
        return self.g_s(y_hat)

    def update(self, force: bool = True) -> None:
        self.latent.update(force=force)

    def place(self, device: str | torch.device) -> LearnedCompressionModel:
        """Put g_a and g_s on ``device`` and the latent codec on the CPU (float32), for coding."""
        self.g_a.to(device)
        self.g_s.to(device)
        self.latent.to("cpu", torch.float32)
        return self

    @torch.no_grad()
    def analyze(self, x: Tensor, tile: int = 0) -> Tensor:
        """y = g_a(x) on g_a's device; ``tile`` > 0: in tiles of that many pixels (``tiling``).

        ``x`` may also be the 8-bit image (uint8, values 0..255): it is then turned into floats
        in [0, 1] (``/ 255``) tile by tile (tiled) or at once, the same values either way.
        """
        device = next(self.g_a.parameters()).device
        if tile:
            prepare = _unit_floats if x.dtype == torch.uint8 else None
            steps = self.g_a.tile_steps()
            return run_steps(steps, x.to(device), tile, Fraction(1), prepare=prepare)
        if x.dtype == torch.uint8:
            x = _unit_floats(x)
        return self.g_a(x.to(device))

    @torch.no_grad()
    def compress(self, x: Tensor, tile: int = 0) -> tuple[list[bytes], tuple[int, int]]:
        """Code x (1, 3, H, W), H and W multiples of 64: ([z, y] strings, z's (h, w)); ``x``
        in [0, 1], or 8-bit (see :meth:`analyze`)."""
        if x.shape[-2] % self.pad_multiple or x.shape[-1] % self.pad_multiple:
            raise ValueError(f"size {tuple(x.shape[-2:])} is not a multiple of {self.pad_multiple}")
        y = self.analyze(x, tile)
        strings, _ = self.latent.compress(y)
        z_shape = (x.shape[-2] // self.pad_multiple, x.shape[-1] // self.pad_multiple)
        return strings, z_shape

    @torch.no_grad()
    def entropy_decode(self, strings: list[bytes], z_shape: tuple[int, int]) -> Tensor:
        """The decoded latent y_hat (on the CPU)."""
        return self.latent.decompress(strings, z_shape)

    @torch.no_grad()
    def synthesize(self, y_hat: Tensor, tile: int = 0, *, pixels: bool = False) -> Tensor:
        """x_hat = g_s(y_hat) on g_s's device, not clamped; ``tile`` > 0: in tiles of that many
        pixels (``tiling``: the same numbers up to float rounding, a fraction of the memory).
        ``pixels``: the 8-bit picture instead (:func:`to_pixels` of x_hat; tiled, tile by tile,
        so no float picture is ever whole)."""
        device = next(self.g_s.parameters()).device
        if tile:
            scale = Fraction(1, SYNTHESIS_UPSAMPLING)
            finish = to_pixels if pixels else None
            return run_steps(self.g_s.tile_steps(), y_hat.to(device), tile, scale, finish=finish)
        x_hat = self.g_s(y_hat.to(device))
        return to_pixels(x_hat) if pixels else x_hat

    @torch.no_grad()
    def decompress(self, strings: list[bytes], z_shape: tuple[int, int], tile: int = 0) -> Tensor:
        return self.synthesize(self.entropy_decode(strings, z_shape), tile)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (works on the meta device: nothing is allocated)."""
    return sum(p.numel() for p in model.parameters())
