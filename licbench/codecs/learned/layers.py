"""Convolutional building blocks shared by the learned transforms.

Attribute names of :class:`NAFBlock`, :class:`ResidualBottleneckBlock` and
:class:`NAFSupportTransform` are those of CCA's official modules (``dwconv``, ``sca``, ``FFN``,
``norm1``, ``conv1``, ``beta``, ...) so that official checkpoints load without renaming inside a
block; the module-level renaming lives in ``checkpoints.CCA_KEY_MAP``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv(in_ch: int, out_ch: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """A 'same'-padded convolution; stride 2 halves the size exactly for even inputs."""
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_ch: int, out_ch: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """A transposed convolution that multiplies the size by ``stride`` exactly."""
    return nn.ConvTranspose2d(
        in_ch,
        out_ch,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        output_padding=stride - 1,
    )


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an NCHW tensor (NAFNet's and ConvNeXt's 'channels first')."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class SimpleGate(nn.Module):
    """NAFNet's activation: split the channels in two halves and multiply them."""

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=1)
        return a * b


class NAFBlock(nn.Module):
    """NAFNet block: gated depthwise branch with simplified channel attention, then a gated FFN.

    ``beta`` and ``gamma`` start at zero, so a fresh block is the identity.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Sequential(
            nn.Conv2d(dim, 2 * dim, 1),
            nn.Conv2d(2 * dim, 2 * dim, 3, padding=1, groups=2 * dim),
        )
        self.sg = SimpleGate()
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim, 1))
        self.FFN = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1), SimpleGate(), nn.Conv2d(dim, dim, 1))
        self.norm1 = LayerNorm2d(dim)
        self.norm2 = LayerNorm2d(dim)
        self.conv1 = nn.Conv2d(dim, dim, 1)
        self.beta = nn.Parameter(torch.zeros(1, dim, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, dim, 1, 1))

    def gated(self, x: Tensor) -> Tensor:
        """The gated depthwise branch, before the channel attention (local: 3×3)."""
        return self.sg(self.dwconv(self.norm1(x)))

    def forward(self, x: Tensor, mean: Tensor | None = None) -> Tensor:
        """``mean``: the channel means of ``gated(x)`` over the whole map, when ``x`` is a tile
        of it (the channel attention is global; see ``tiling``); by default those of ``x``."""
        h = self.gated(x)
        h = self.conv1(h * self.sca[1](self.sca[0](h) if mean is None else mean))
        x = x + h * self.beta
        return x + self.FFN(self.norm2(x)) * self.gamma


class ResidualBottleneckBlock(nn.Module):
    """1×1 → 3×3 → 1×1 bottleneck (half width, ReLU) with an identity skip."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = channels // 2
        self.conv1 = conv(channels, mid, 1, 1)
        self.conv2 = conv(mid, mid, 3, 1)
        self.conv3 = conv(mid, channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return x + self.conv3(h)


class NAFSupportTransform(nn.Module):
    """CCA's per-slice context transform: 1×1 in, NAF blocks with a skip around them, 1×1 out.

    It keeps the channel count (hyper parameters + earlier slices), so its output is both the
    input of the slice's parameter network and the support of its residual prediction.
    """

    def __init__(self, channels: int, dim: int, blocks: int) -> None:
        super().__init__()
        self.in_conv = conv(channels, dim, 1, 1)
        self.blocks = nn.ModuleList(NAFBlock(dim) for _ in range(blocks))
        self.out_conv = conv(dim, channels, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.in_conv(x)
        skip = h
        for block in self.blocks:
            h = block(h)
        return self.out_conv(h + skip)


def slice_transform(
    in_ch: int,
    out_ch: int,
    hidden: Sequence[int],
    kernels: Sequence[int],
    activation: Callable[[], nn.Module],
) -> nn.Sequential:
    """Three stride-1 convolutions in→hidden[0]→hidden[1]→out, activations in between.

    Used for the mean, scale and LRP networks of every slice (indices 0, 2, 4 hold the
    convolutions, as in CCA's and ChARM's state dicts).
    """
    widths = [in_ch, *hidden, out_ch]
    layers: list[nn.Module] = []
    for i, k in enumerate(kernels):
        if i:
            layers.append(activation())
        layers.append(conv(widths[i], widths[i + 1], k, 1))
    return nn.Sequential(*layers)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block: 7×7 depthwise conv, LayerNorm, 4× MLP with GELU, layer scale, residual."""

    def __init__(
        self, dim: int, kernel_size: int = 7, mlp_ratio: int = 4, layer_scale: float = 1e-6
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, mlp_ratio * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(mlp_ratio * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))

    def forward(self, x: Tensor) -> Tensor:
        h = self.dwconv(x).permute(0, 2, 3, 1)
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h))))
        return x + (self.gamma * h).permute(0, 3, 1, 2)
