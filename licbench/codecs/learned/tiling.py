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

What stays whole, and what does not (issue 20, item 6): per step, a step's input and output maps
were both whole, two maps of the largest level: at 24 MP, CCA-tiny's first level (32 channels
at half the image's side) is 0.78 GB a map, and a job peaked at 3.0 GB. Now

* the steps around the maps finer than :data:`FUSE_FINER_THAN` (the first level of an analysis,
  the last of a synthesis) run *fused* (:func:`_run_segment`): each tile of the level's output
  is computed from the input region it needs through all of them, so no map of that level is
  ever whole; a NAF block among them gets its channel means from one more pass over the steps
  before it. Fused only where that costs at most :data:`FUSE_MAX_POOLED` extra pass (the tiny
  configurations, ConvNeXt-ChARM and SwinT-ChARM): CCA's paper configuration, with four NAF
  blocks a level, would compute its first level about 2.3 times;
* a step whose output has its input's shape (a block) writes into its input map, row band by
  row band (:func:`_run_step`), so a level keeps one map, not two;
* the analysis reads the 8-bit image, each tile made float on its own, and the synthesis writes
  the 8-bit picture, each tile rounded on its own (``prepare``, ``finish``): no float image is
  ever whole (0.29 GB each at 24 MP, with the padded copy and the rounding temporaries three).

One job at 24 MP (6000×4000) with CCA-tiny now peaks at 1.56 GB encoding and 1.67 GB decoding
(RSS of a fresh process, 0.85 GB of it torch and compressai), ConvNeXt-ChARM-tiny at 1.51 and
1.60 GB (``benchmarks/learned_memory_by_size.py``; the table is in ``benchmarks/README.md``).
Fused and in place, the steps compute what they computed before on the same tiles: CCA's and
SwinT-ChARM's results are bit-identical to the per-step tiling's, ConvNeXt-ChARM's differ by
float32 rounding (≤ 1.2e-6 on x̂ and y; other piece shapes), and the tests below bound every
architecture against the untiled result as before.

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
#: maps finer than this (1/2 of the image's side: the largest, with the most channels per
#: pixel) are never made whole when tiling: the steps around them run fused, tile by tile
#: (:func:`_run_segment`) ...
FUSE_FINER_THAN = Fraction(1, 4)
#: ... unless that fused run holds more globally pooled steps than this: each needs one more
#: pass over the run before it (CCA's paper configuration has 4 NAF blocks a level: fused, its
#: first level would cost about 2.3× the computation; it runs step by step, in place)
FUSE_MAX_POOLED = 1

Region = tuple[tuple[int, int], tuple[int, int]]  #: (rows, cols), each (start, stop)


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


def run_steps(
    steps: Sequence[Step],
    x: Tensor,
    tile: int,
    scale: Fraction,
    *,
    prepare: Callable[[Tensor], Tensor] | None = None,
    finish: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Apply ``steps`` to ``x`` in tiles of about ``tile`` × ``tile`` image pixels.

    ``scale``: units of ``x`` per image pixel (1 for an image, 1/16 for a latent). Runs under
    ``torch.inference_mode``; the result is an inference tensor. ``prepare`` (elementwise: the
    8-bit image to floats in [0, 1]) is applied to each piece of ``x`` the first computing step
    reads, so ``x`` may be the 8-bit image, never converted whole; ``finish`` (elementwise:
    floats to 8-bit values) to each piece the last one writes, so the result is the 8-bit
    picture, never a float one. ``x`` itself is never written to (see :func:`_run_step` for the
    maps that are).
    """
    check_tile(tile)
    computing = [index for index, step in enumerate(steps) if not step.whole]
    owned = False  # whether x is a map made here (then a step may overwrite it)
    with torch.inference_mode():
        for group in _groups(steps, scale):
            first = group[0]
            if steps[first].whole:
                x = steps[first].fn(x)
                continue
            edges = {
                "prepare": prepare if first == computing[0] else None,
                "finish": finish if group[-1] == computing[-1] else None,
            }
            if len(group) == 1:
                step = steps[first]
                units = max(step.align, int(tile * scale) // step.align * step.align)
                x = _run_step(step, x, units, in_place=owned, **edges)
            else:
                x = _run_segment([steps[i] for i in group], x, tile, scale, **edges)
            owned = True
            for index in group:
                scale = scale * steps[index].up / steps[index].down
    return x


def _groups(steps: Sequence[Step], scale: Fraction) -> list[list[int]]:
    """``steps`` (indices) in the order they run: alone, or fused with those after them while
    their output is finer than :data:`FUSE_FINER_THAN` and not the transform's result (a
    layout change, ``whole``, alone unless inside a fused run)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for index, step in enumerate(steps):
        scale = scale * step.up / step.down
        if step.whole and not current:
            groups.append([index])
            continue
        current.append(index)
        if index == len(steps) - 1 or scale < FUSE_FINER_THAN or scale == FUSE_FINER_THAN:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    out: list[list[int]] = []
    for group in groups:
        tail: list[int] = []
        while len(group) > 1 and steps[group[-1]].whole:  # layout changes after a fused run
            tail.insert(0, group[-1])
            group = group[:-1]
        pooled = sum(steps[i].pooled is not None for i in group)
        if len(group) > 1 and pooled > FUSE_MAX_POOLED:
            out.extend([i] for i in group)
        else:
            out.append(group)
        out.extend([i] for i in tail)
    return out


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


def _run_step(
    step: Step,
    x: Tensor,
    size: int,
    *,
    prepare: Callable[[Tensor], Tensor] | None = None,
    finish: Callable[[Tensor], Tensor] | None = None,
    in_place: bool = False,
) -> Tensor:
    """One step over ``x`` tile by tile.

    With ``in_place``, a step whose output has its input's shape and type (a block: most steps)
    writes into ``x`` itself, so only one map of the level exists instead of two (at 24 MP,
    CCA-tiny's first level is 0.78 GB a map, the paper configuration's 4.6 GB). Tiles are
    computed in row bands into a band-sized buffer; a band is written back only once the band
    below it is computed, since that band's halo still reads the rows above it as they were.
    The tiles read, and what they compute, are exactly those of the out-of-place run.
    """
    dims = _spatial(step)
    height, width = x.shape[dims[0]], x.shape[dims[1]]
    halo = -(-step.halo // step.align) * step.align  # keep the extended tile on the grid
    fn = step.fn
    if step.pooled is not None:
        mean = _tiled_mean(step.pooled, x, dims, size, halo, prepare)
        fn = partial(step.fn, mean=mean)

    def scaled(span: tuple[int, int], origin: int = 0) -> tuple[int, int]:
        return tuple((v - origin) * step.up // step.down for v in span)  # type: ignore[return-value]

    out: Tensor | None = None
    overwrite = False
    band: tuple[tuple[int, int], Tensor] | None = None  # the rows being computed
    pending: tuple[tuple[int, int], Tensor] | None = None  # computed, not yet written back
    for rows, cols, ext_rows, ext_cols in _tiles(height, width, size, halo):
        piece = _crop(x, dims, ext_rows, ext_cols)
        piece = fn(prepare(piece) if prepare is not None else piece)
        if finish is not None:
            piece = finish(piece)
        centre = _crop(piece, dims, scaled(rows, ext_rows[0]), scaled(cols, ext_cols[0]))
        if out is None and not overwrite:  # the first tile says what the output is
            shape = list(piece.shape)
            shape[dims[0]], shape[dims[1]] = scaled((height, width))
            same = shape == list(x.shape) and piece.dtype == x.dtype
            overwrite = in_place and same and step.up == step.down and halo <= size
            if not overwrite:
                out = piece.new_empty(shape)
        if out is not None:
            _crop(out, dims, scaled(rows), scaled(cols)).copy_(centre)
        else:
            if band is None or band[0] != rows:  # a new row band
                if pending is not None:
                    _write_rows(x, dims, *pending)
                pending = band
                shape = list(x.shape)
                shape[dims[0]] = rows[1] - rows[0]
                band = (rows, x.new_empty(shape))
            _crop(band[1], dims, (0, rows[1] - rows[0]), cols).copy_(centre)
        del piece, centre
    if out is not None:
        return out
    for finished in (pending, band):
        if finished is not None:
            _write_rows(x, dims, *finished)
    return x


def _write_rows(x: Tensor, dims: tuple[int, int], rows: tuple[int, int], values: Tensor) -> None:
    x.narrow(dims[0], rows[0], rows[1] - rows[0]).copy_(values)


def _extend(span: tuple[int, int], halo: int, align: int, limit: int) -> tuple[int, int]:
    """``span`` widened by ``halo`` and out to the ``align`` grid, within ``[0, limit)``."""
    return (
        max(0, (span[0] - halo) // align * align),
        min(limit, -(-(span[1] + halo) // align) * align),
    )


def _dims_of(steps: Sequence[Step], index: int) -> tuple[int, int]:
    """Spatial dims of the map step ``index`` reads: its own, or a layout change's next step's
    (a whole step's input has the layout of the step before it)."""
    if not steps[index].whole:
        return _spatial(steps[index])
    return _spatial(next(s for s in reversed(steps[:index]) if not s.whole))


def _run_segment(
    steps: Sequence[Step],
    x: Tensor,
    tile: int,
    scale: Fraction,
    *,
    prepare: Callable[[Tensor], Tensor] | None = None,
    finish: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Several steps fused: each tile of the output is computed from the input region it
    needs, through every step, so the maps between them are never whole (only one tile of
    each at a time).

    The region a step must read is found backwards from the tile: the inputs its output region
    comes from (÷ up × down), widened by the step's halo and out to its grid, within its map.
    So each step computes, on a piece, exactly what the per-step tiling computes on a tile
    (the same halos and grids; a piece is just a little larger), and the result equals it up
    to float rounding (other piece shapes). A globally pooled step (a NAF block) first gets
    its mean from a pass over its input map tile by tile, each tile made by the steps before
    it in the same way.
    """
    sizes = [(x.shape[_spatial(steps[0])[0]], x.shape[_spatial(steps[0])[1]])]
    for step in steps:
        height, width = sizes[-1]
        sizes.append((height * step.up // step.down, width * step.up // step.down))
    fns: list[Callable[..., Tensor]] = [step.fn for step in steps]
    for index, step in enumerate(steps):
        if step.pooled is not None:
            fns[index] = partial(
                step.fn, mean=_segment_mean(steps, fns, sizes, index, x, tile, scale, prepare)
            )
    last = max(i for i, step in enumerate(steps) if not step.whole)
    dims = _spatial(steps[last])
    out_scale = scale * Fraction(sizes[-1][0], sizes[0][0])
    units = max(steps[last].align, int(tile * out_scale))
    height, width = sizes[-1]
    out: Tensor | None = None
    for rows, cols, _, _ in _tiles(height, width, units, 0):
        piece = _region(steps, fns, sizes, x, (rows, cols), prepare)
        if finish is not None:
            piece = finish(piece)
        if out is None:
            shape = list(piece.shape)
            shape[dims[0]], shape[dims[1]] = height, width
            out = piece.new_empty(shape)
        _crop(out, dims, rows, cols).copy_(piece)
        del piece
    assert out is not None
    return out


def _region(
    steps: Sequence[Step],
    fns: Sequence[Callable[..., Tensor]],
    sizes: Sequence[tuple[int, int]],
    x: Tensor,
    region: Region,
    prepare: Callable[[Tensor], Tensor] | None,
    out_dims: tuple[int, int] | None = None,
) -> Tensor:
    """The output of ``steps`` (run on ``x``, whose maps have ``sizes``) over ``region`` of
    the last one's output map (its spatial dims ``out_dims``, by default the last computing
    step's), computed from the inputs it needs only."""
    if not steps:  # (a pooled first step: its input is x itself)
        assert out_dims is not None
        piece = _crop(x, out_dims, *region)
        return prepare(piece) if prepare is not None else piece
    needed: list[Region] = [region] * len(steps)
    want = region
    for index in reversed(range(len(steps))):
        step = steps[index]
        if step.whole:
            needed[index] = want
            continue
        halo = -(-step.halo // step.align) * step.align
        height, width = sizes[index]

        def back(span: tuple[int, int], step: Step = step) -> tuple[int, int]:
            return span[0] * step.down // step.up, -(-span[1] * step.down // step.up)

        want = (
            _extend(back(want[0]), halo, step.align, height),
            _extend(back(want[1]), halo, step.align, width),
        )
        needed[index] = want
    have = needed[0]
    piece = _crop(x, _dims_of(steps, 0), *have)
    if prepare is not None:
        piece = prepare(piece)
    for index, step in enumerate(steps):
        if step.whole:
            piece = fns[index](piece)
            continue
        dims = _spatial(step)
        rows, cols = needed[index]
        local = ((rows[0] - have[0][0], rows[1] - have[0][0]),)
        local += ((cols[0] - have[1][0], cols[1] - have[1][0]),)
        piece = fns[index](_crop(piece, dims, *local))
        have = tuple(  # type: ignore[assignment]
            (span[0] * step.up // step.down, span[1] * step.up // step.down)
            for span in (rows, cols)
        )
    if out_dims is None:
        out_dims = _spatial(steps[max(i for i, step in enumerate(steps) if not step.whole)])
    local = tuple((a - h[0], b - h[0]) for (a, b), h in zip(region, have, strict=True))
    return _crop(piece, out_dims, *local)


def _segment_mean(
    steps: Sequence[Step],
    fns: Sequence[Callable[..., Tensor]],
    sizes: Sequence[tuple[int, int]],
    index: int,
    x: Tensor,
    tile: int,
    scale: Fraction,
    prepare: Callable[[Tensor], Tensor] | None,
) -> Tensor:
    """The mean over the whole map that step ``index`` reads of its ``pooled`` function, that
    map made tile by tile by the steps before it (:func:`_tiled_mean` with a computed input)."""
    step = steps[index]
    assert step.pooled is not None
    dims = _spatial(step)
    height, width = sizes[index]
    halo = -(-step.halo // step.align) * step.align
    level = scale * Fraction(height, sizes[0][0])
    units = max(step.align, int(tile * level) // step.align * step.align)
    total: Tensor | None = None
    dtype = torch.get_default_dtype()
    for rows, cols, ext_rows, ext_cols in _tiles(height, width, units, halo):
        region = (ext_rows, ext_cols)
        piece = _region(steps[:index], fns[:index], sizes, x, region, prepare, dims)
        dtype = piece.dtype
        piece = step.pooled(piece)
        local = [(a - e, b - e) for (a, b), (e, _) in ((rows, ext_rows), (cols, ext_cols))]
        part = _crop(piece, dims, *local).sum(dim=dims, keepdim=True, dtype=torch.float64)
        total = part if total is None else total + part
        del piece
    assert total is not None
    return (total / (height * width)).to(dtype)


def _tiled_mean(
    pooled: Callable[[Tensor], Tensor],
    x: Tensor,
    dims: tuple[int, int],
    size: int,
    halo: int,
    prepare: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """The mean over the whole map of ``pooled(x)``, summed over tile centres in float64."""
    height, width = x.shape[dims[0]], x.shape[dims[1]]
    total: Tensor | None = None
    for rows, cols, ext_rows, ext_cols in _tiles(height, width, size, halo):
        piece = _crop(x, dims, ext_rows, ext_cols)
        piece = pooled(prepare(piece) if prepare is not None else piece)
        local = [(a - e, b - e) for (a, b), (e, _) in ((rows, ext_rows), (cols, ext_cols))]
        part = _crop(piece, dims, *local).sum(dim=dims, keepdim=True, dtype=torch.float64)
        total = part if total is None else total + part
        del piece
    assert total is not None
    return (total / (height * width)).to(x.dtype)
