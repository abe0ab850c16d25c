"""Swin Transformer layers for SwinT-ChARM, working on NHWC tensors of any size.

Why padding inside the block: images are padded only to the model's multiple (64), so a stage's
feature map need not be a multiple of its window. Each block pads its input to whole windows and
masks the padded keys (and, in shifted blocks, keys from other regions of the cyclic shift), so
the result does not depend on what the padding contains. A map that fits in one window is not
shifted, as in Swin.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _relative_position_index(window: int) -> Tensor:
    coords = torch.stack(
        torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return rel[..., 0] * (2 * window - 1) + rel[..., 1]


def _windows(x: Tensor, window: int) -> Tensor:
    """(B, H, W, C) → (B, nW, window², C) for H, W multiples of ``window``."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, -1, window * window, c)


def _unwindows(x: Tensor, window: int, h: int, w: int) -> Tensor:
    b, _, _, c = x.shape
    x = x.view(b, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows, with a learned relative position bias."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads = heads
        self.window = window
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer(
            "relative_position_index", _relative_position_index(window), persistent=False
        )

    def forward(self, x: Tensor, allowed: Tensor | None) -> Tensor:
        """``x``: (B, nW, N, C); ``allowed``: (nW, N, N) booleans (key visible to query) or None."""
        b, nw, n, c = x.shape
        qkv = self.qkv(x).view(b, nw, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (B, nW, heads, N, d)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, self.heads).permute(2, 0, 1)  # (heads, N, N)
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1)) + bias  # (B, nW, heads, N, N)
        if allowed is not None:
            blocked = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device)
            blocked.masked_fill_(~allowed, torch.finfo(x.dtype).min / 2)
            attn = attn + blocked.unsqueeze(1)  # (nW, 1, N, N) broadcast over heads
        out = torch.matmul(attn.softmax(dim=-1), v)
        return self.proj(out.transpose(2, 3).reshape(b, nw, n, c))


class SwinBlock(nn.Module):
    """(Shifted-)window attention and an MLP, each pre-normed with a residual."""

    def __init__(self, dim: int, heads: int, window: int, shift: bool, mlp_ratio: float) -> None:
        super().__init__()
        self.window = window
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def _allowed(
        self, h: int, w: int, hp: int, wp: int, shift: int, device: torch.device
    ) -> Tensor | None:
        if shift == 0 and (h, w) == (hp, wp):
            return None
        valid = torch.zeros(hp, wp, dtype=torch.bool, device=device)
        valid[:h, :w] = True
        region = torch.zeros(hp, wp, dtype=torch.long, device=device)
        if shift:
            cuts = (slice(0, -self.window), slice(-self.window, -shift), slice(-shift, None))
            label = 0
            for rows in cuts:
                for cols in cuts:
                    region[rows, cols] = label
                    label += 1
            valid = torch.roll(valid, (-shift, -shift), dims=(0, 1))
        valid_w = _windows(valid[None, :, :, None], self.window)[0, :, :, 0]  # (nW, N)
        region_w = _windows(region[None, :, :, None], self.window)[0, :, :, 0]
        return (region_w[:, :, None] == region_w[:, None, :]) & valid_w[:, None, :]

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        win = self.window
        hp, wp = -(-h // win) * win, -(-w // win) * win
        shift = win // 2 if self.shift and (h > win or w > win) else 0
        t = F.pad(self.norm1(x), (0, 0, 0, wp - w, 0, hp - h))
        if shift:
            t = torch.roll(t, (-shift, -shift), dims=(1, 2))
        t = self.attn(_windows(t, win), self._allowed(h, w, hp, wp, shift, x.device))
        t = _unwindows(t, win, hp, wp)
        if shift:
            t = torch.roll(t, (shift, shift), dims=(1, 2))
        x = x + t[:, :h, :w, :]
        return x + self.mlp(self.norm2(x))


class SwinStage(nn.Module):
    """``depth`` blocks at one resolution, alternating plain and shifted windows."""

    def __init__(self, dim: int, depth: int, head_dim: int, window: int, mlp_ratio: float) -> None:
        super().__init__()
        if dim % head_dim:
            raise ValueError(f"width {dim} is not a multiple of the head dim {head_dim}")
        self.blocks = nn.ModuleList(
            SwinBlock(dim, dim // head_dim, window, i % 2 == 1, mlp_ratio) for i in range(depth)
        )

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class PatchMerging(nn.Module):
    """Halve the resolution: concatenate each 2×2 neighbourhood, LayerNorm, linear projection."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat(
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1
        )
        return self.reduction(self.norm(x))


class PatchSplitting(nn.Module):
    """Double the resolution: linear projection to 4× channels, LayerNorm, depth-to-space.

    Without ``norm`` and with a bias this is the final 'patch unpack' that produces pixels (or
    the hyper-synthesis output).
    """

    def __init__(self, dim: int, out_dim: int, *, final: bool = False) -> None:
        super().__init__()
        self.reduction = nn.Linear(dim, 4 * out_dim, bias=final)
        self.norm = nn.Identity() if final else nn.LayerNorm(4 * out_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(self.reduction(x)).permute(0, 3, 1, 2)
        return F.pixel_shuffle(x, 2).permute(0, 2, 3, 1)
