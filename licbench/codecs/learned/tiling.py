"""Tiled analysis and synthesis: bounded peak memory on large images, the same numbers.

Why: without it, the paper configurations peak at 7.1–8.5 GB RSS coding a 2048×2048 image on
CPU, three of the six operations over 8 GB (SwinT-ChARM's encode and decode, CCA's decode); with
512-px tiles at 2.5–3.3 GB (``benchmarks/learned_memory.py``; the table is in
``benchmarks/README.md``). Almost all of it is temporaries inside one block at the largest
feature map (H/2 × W/2 × 128–192 channels, 0.5–0.8 GB each): NAF gates at 2× width, ConvNeXt's
and Swin's 4× MLPs, attention matrices, and the copies between them.

How: a transform is described as a list of :class:`Step` s, each one block or one resampling
layer (each transform's ``tile_steps()``, written next to its ``forward``). A step reads a whole
input map and writes a whole output map, but computes it tile by tile: every tile is cut from the
input with a *halo* on each side (clipped at the map's border, where the whole-map computation
sees the same border), run through the step, and only its centre is pasted into the output. So
the big temporaries exist for one tile at a time; what stays is the step's input and output maps
(two maps of the largest level, e.g. 2 × 0.8 GB for CCA at 2048×2048). The peak still grows
with the image area, but at about 0.5 GB per Mpx instead of 1.4–1.8.

Why per step and not the whole transform per tile: the exact halo of a whole transform is the
sum of its steps' halos converted to its input units (26 latent units = 416 px for
ConvNeXt-ChARM's synthesis, 16 = 256 px for SwinT-ChARM's), which would cost 2.3–3.3× the
computation even with 1024-px tiles, and CCA's NAF blocks pool globally (the simplified channel
attention scales each channel by a function of its mean over the *whole* map), which no tile
can see. Per step, halos are a few units, and a NAF block first gathers the mean of its gated
map over all tile centres (one extra, cheaper pass over the map), then hands that mean to every
tile.

The halo of each step is its receptive radius, computed from the layer (not measured), so the
centre of every tile is computed from exactly the inputs it has in the whole-map computation:

* k×k stride-1 convolution (ConvNeXt's 7×7 depthwise, the 3×3s of NAF and residual-bottleneck
  blocks): (k−1)/2 units.
* 5×5 stride-2 convolution with padding 2 (CCA analysis): output j reads inputs 2j−2..2j+2,
  so 2 input units; tiles start on even units so the stride grid is the whole map's.
* 5×5 stride-2 transposed convolution with padding 2 (CCA synthesis): output o reads inputs
  (o−2)/2..(o+2)/2, so 1 input unit. 2×2 stride-2 (transposed) convolutions, patch merging and
  splitting: 0 (disjoint 2×2 cells).
* Swin block with window w: tiles start and end on the window grid (multiples of w in that
  level's units), so every window of a non-shifted block holds the same tokens as in the whole
  map: halo 0. A shifted block (shift w/2) sees different windows only in the w/2 rows/columns
  along a tile's inner edges (there the cyclic shift wraps inside the tile instead of reaching
  the neighbour); the halo is w/2 rounded up to the grid, i.e. w. Tile origins on that grid at
  every level is why ``tile`` must be a multiple of 128 px (window 8 at 1/16 scale).

Accuracy: the same operations on the same inputs, so the tiled result differs from the whole-map
one only by float32 rounding (a convolution kernel blocks its sums differently for another tile
shape, and the NAF means are summed tile by tile in float64). Measured max abs difference of x̂
(values in about [0, 1]): 1.4e-6 (CCA), 5.7e-6 (ConvNeXt-ChARM), 2.5e-6 (SwinT-ChARM) for the
paper configurations at 512×512 with 128-px tiles and every residual branch switched on
(``benchmarks/learned_memory.py --seam-check``); under 2e-6 for the tiny ones
(``tests/codecs/learned/test_tiling.py``). Decoded 8-bit values move by one level where x̂·255
lies that close to a rounding boundary (≤ 3e-5 of them); tiled encoding could, as rarely, flip a
latent's rounding (in every measurement the bitstreams were identical). Tiling is deterministic:
the tile grid depends only on the map size and the tile size.

Cost, measured at 2048×2048 with 512-px tiles: CPU time CCA −4…+8 %, ConvNeXt-ChARM +35 % (its
blocks run slower on tiles than on the whole map; larger tiles, hence less halo, were slower
still), SwinT-ChARM −12 %.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import torch
from torch import Tensor

#: tile sizes are multiples of this many image pixels: SwinT-ChARM's window grid (8) at 1/16 scale
TILE_MULTIPLE = 128


@dataclass(frozen=True)
class Step:
    """One layer or block of a transform, computed tile by tile.

    ``fn(tile)`` (or ``fn(tile, mean)`` with ``pooled``) maps a piece of the input map to the
    same piece of the output map, scaled by ``up/down`` in both spatial dimensions. ``halo``:
    input units each side that the centre's outputs read; ``align``: tile edges inside the map
    fall on multiples of this (stride or window grid). ``channels_last``: the map is NHWC.
    ``pooled``: the step needs the mean over the whole map of ``pooled(x)`` (spatial size kept,
    same halo), gathered over all tiles first and passed to ``fn`` as ``mean`` (N, C, 1, 1).
    ``whole``: run on the whole map at once (layout changes: views, no memory).
    """

    fn: Callable[..., Tensor]
    halo: int = 0
    up: int = 1
    down: int = 1
    align: int = 1
    channels_last: bool = False
    pooled: Callable[[Tensor], Tensor] | None = None
    whole: bool = False


def check_tile(tile: int) -> int:
    """``tile`` (image pixels) if it is a positive multiple of :data:`TILE_MULTIPLE`."""
    if tile <= 0 or tile % TILE_MULTIPLE:
        raise ValueError(f"tile size {tile} px is not a positive multiple of {TILE_MULTIPLE}")
    return tile


def run_steps(steps: Sequence[Step], x: Tensor, tile: int, scale: Fraction) -> Tensor:
    """Apply ``steps`` to ``x`` in tiles of about ``tile`` × ``tile`` image pixels.

    ``scale``: units of ``x`` per image pixel (1 for an image, 1/16 for a latent). Runs under
    ``torch.inference_mode``; the result is an inference tensor.
    """
    check_tile(tile)
    with torch.inference_mode():
        for step in steps:
            if step.whole:
                x = step.fn(x)
                continue
            units = max(step.align, int(tile * scale) // step.align * step.align)
            x = _run_step(step, x, units)
            scale = scale * step.up / step.down
    return x


def _spatial(step: Step) -> tuple[int, int]:
    return (1, 2) if step.channels_last else (2, 3)


def _tiles(height: int, width: int, size: int, halo: int):
    """(core rows, core cols, extended rows, extended cols) as (start, stop) pairs."""
    for r0 in range(0, height, size):
        r1 = min(height, r0 + size)
        for c0 in range(0, width, size):
            c1 = min(width, c0 + size)
            yield (
                (r0, r1),
                (c0, c1),
                (max(0, r0 - halo), min(height, r1 + halo)),
                (max(0, c0 - halo), min(width, c1 + halo)),
            )


def _crop(t: Tensor, dims: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]):
    return t.narrow(dims[0], rows[0], rows[1] - rows[0]).narrow(dims[1], cols[0], cols[1] - cols[0])


def _run_step(step: Step, x: Tensor, size: int) -> Tensor:
    dims = _spatial(step)
    height, width = x.shape[dims[0]], x.shape[dims[1]]
    halo = -(-step.halo // step.align) * step.align  # keep the extended tile on the grid
    fn = step.fn
    if step.pooled is not None:
        fn = partial(step.fn, mean=_tiled_mean(step.pooled, x, dims, size, halo))

    def scaled(span: tuple[int, int], origin: int = 0) -> tuple[int, int]:
        return tuple((v - origin) * step.up // step.down for v in span)  # type: ignore[return-value]

    out: Tensor | None = None
    for rows, cols, ext_rows, ext_cols in _tiles(height, width, size, halo):
        piece = fn(_crop(x, dims, ext_rows, ext_cols))
        if out is None:
            shape = list(piece.shape)
            shape[dims[0]], shape[dims[1]] = scaled((height, width))
            out = piece.new_empty(shape)
        centre = _crop(piece, dims, scaled(rows, ext_rows[0]), scaled(cols, ext_cols[0]))
        _crop(out, dims, scaled(rows), scaled(cols)).copy_(centre)
        del piece, centre
    assert out is not None
    return out


def _tiled_mean(
    pooled: Callable[[Tensor], Tensor], x: Tensor, dims: tuple[int, int], size: int, halo: int
) -> Tensor:
    """The mean over the whole map of ``pooled(x)``, summed over tile centres in float64."""
    height, width = x.shape[dims[0]], x.shape[dims[1]]
    total: Tensor | None = None
    for rows, cols, ext_rows, ext_cols in _tiles(height, width, size, halo):
        piece = pooled(_crop(x, dims, ext_rows, ext_cols))
        local = [(a - e, b - e) for (a, b), (e, _) in ((rows, ext_rows), (cols, ext_cols))]
        part = _crop(piece, dims, *local).sum(dim=dims, keepdim=True, dtype=torch.float64)
        total = part if total is None else total + part
        del piece
    assert total is not None
    return (total / (height * width)).to(x.dtype)
