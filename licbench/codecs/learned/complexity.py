"""Complexity of a learned codec, measured: parameters and kMAC/pixel per part, and peak memory.

What is counted, and with what
------------------------------
MACs come from ``torch.utils.flop_counter.FlopCounterMode``, torch's own counter: it is
maintained with torch, sees operators at the ATen level (so functional calls count too: GDN's
1×1 convolution, ``torch.matmul`` in window attention, ``F.conv2d`` anywhere), and needs no hooks
per module type, which is where ptflops and thop lose functional ops and attention. It counts
FLOPs of convolutions (also grouped, depthwise and transposed), linear layers, matrix products
and fused attention as 2 per multiply-accumulate; here MACs = FLOPs / 2, and kMAC/px =
MACs / (H·W) / 1000 with H×W the *image* (the field's convention), while the work is the one
done on the padded input (a multiple of 64), which is what the codec really computes.

Everything runs on the ``meta`` device: shapes only, no arithmetic, no memory, so the paper
models on a 768×512 image are counted in about a second. MACs do not depend on the weights.

The parts are run the way coding runs them: analysis g_a on x; hyper analysis h_a on y; hyper
synthesis on ẑ; the context part (the per-slice support, mean, scale and LRP networks of the
channel-wise context, or CompressAI's ``context_prediction`` + ``entropy_parameters``) once per
slice on the decoded slices before it; synthesis g_s on ŷ. The encoder runs g_a, h_a, the hyper
synthesis and the context; the decoder the hyper synthesis, the context and g_s. A serial
autoregressive decoder (CompressAI's ``mbt2018``) computes its masked 5×5 context convolution
one position at a time on 5×5 crops: the same MACs per position as the full convolution run
here (masked taps included, as its decoder multiplies them too).

What the counter cannot see: :data:`NOT_COUNTED`.

Large images: counted on a bounded size, scaled per pixel
---------------------------------------------------------
A run's figure is counted on at most :data:`COUNT_PIXELS` padded pixels (768×512, Kodak's size)
and scaled to the image by its padded area (:func:`counting_size`, ``count_pixels``): a
24-megapixel image costs the same second as a Kodak one. How exact: a convolution (also
strided, transposed, grouped) does the same MACs at every output position, so its MACs are
exactly proportional to the padded area (all maps are the padded image divided by 2^k: the
ratio is the same at every level); so are linear layers and MLPs on tokens. Window attention is
proportional to the number of windows, and Swin blocks pad each map up to whole windows, so
where the image's padded size is not a multiple of the window at some level the count differs
by that level's window padding. Work done once per image whatever its size (CCA's channel
attention: a 1×1 convolution on each pooled 1×1 map) is scaled too, a negligible error.
Measured against a full-size count (the numbers at :func:`counting_size`): ConvNeXt-ChARM
exact, CCA within 0.002 %, SwinT-ChARM's encoder and decoder within 0.11 % (one part, the
hyper analysis with its 4-token windows at 1/64 scale, within 1.6 %).

Peak memory is measured, not estimated: :func:`measure_peak_memory` encodes in one fresh process
and decodes (from the bytes alone) in another, and reads ``resource.getrusage``'s peak resident
set of each, plus ``torch.cuda.max_memory_allocated`` when the codec runs on a GPU.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

#: the counter, named with the torch that ran it (it changes with torch)
COUNTER = f"torch.utils.flop_counter.FlopCounterMode (torch {torch.__version__})"
#: work the counter does not see (so no published kMAC/px figure includes it either)
NOT_COUNTED = (
    "entropy coding: rANS encoding and decoding of z and y, CDF-table lookups, index building",
    "the factorized entropy bottleneck's density network (coding uses tables built once)",
    "elementwise operations: activations (GELU, ReLU, tanh), GDN's square and square root, "
    "NAF simple gates and channel-attention scaling, residual additions, LRP's 0.5·tanh",
    "normalisation and softmax (LayerNorm, attention softmax), pooling, rounding",
    "data movement: padding, concatenation, slicing, window partition and shift, copies",
)
#: a run counts complexity on at most this many padded pixels and scales it per pixel
COUNT_PIXELS = 768 * 512
#: parts, in the order tables show them
PARTS = ("analysis", "synthesis", "hyper_analysis", "hyper_synthesis", "context")
ENCODER_PARTS = ("analysis", "hyper_analysis", "hyper_synthesis", "context")
DECODER_PARTS = ("hyper_synthesis", "context", "synthesis")

#: parameter-name prefixes → part (licbench models keep the entropy model under ``latent.``;
#: CompressAI models at the top); the first match wins, the rest is "other"
_PARAM_PARTS: tuple[tuple[str, str], ...] = (
    ("g_a.", "analysis"),
    ("g_s.", "synthesis"),
    ("latent.h_a.", "hyper_analysis"),
    ("latent.h_s.", "hyper_synthesis"),
    ("latent.h_mean_s.", "hyper_synthesis"),
    ("latent.h_scale_s.", "hyper_synthesis"),
    ("latent.entropy_bottleneck.", "bottleneck"),
    ("latent.", "context"),
    ("h_a.", "hyper_analysis"),
    ("h_s.", "hyper_synthesis"),
    ("h_mean_s.", "hyper_synthesis"),
    ("h_scale_s.", "hyper_synthesis"),
    ("context_prediction.", "context"),
    ("entropy_parameters.", "context"),
    ("entropy_bottleneck.", "bottleneck"),
)


@dataclass(frozen=True)
class Complexity:
    """Parameters and MACs per part of one model on one image size (and peak memory if taken).

    ``params`` has the parts of :data:`PARTS` plus ``bottleneck`` (the factorized prior of z),
    ``other`` and ``total``; ``macs`` the absolute MACs of each part of :data:`PARTS` on the
    padded input; ``peak_memory`` is what :func:`measure_peak_memory` returned, or None.
    """

    params: dict[str, int]
    macs: dict[str, int]
    height: int
    width: int
    padded: tuple[int, int]
    peak_memory: dict[str, Any] | None = None
    counter: str = COUNTER
    not_counted: tuple[str, ...] = field(default=NOT_COUNTED)
    #: the padded size the MACs were counted on when smaller than ``padded`` (then scaled by
    #: the ratio of padded areas), or None: counted on ``padded`` itself
    counted: tuple[int, int] | None = None

    @property
    def pixels(self) -> int:
        return self.height * self.width

    def kmac_per_pixel(self) -> dict[str, float]:
        """kMAC per image pixel of each part, and of the whole encoder and decoder."""
        per_part = {p: self.macs[p] / self.pixels / 1000 for p in PARTS}
        per_part["encoder"] = sum(per_part[p] for p in ENCODER_PARTS)
        per_part["decoder"] = sum(per_part[p] for p in DECODER_PARTS)
        return per_part

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``summary.json`` (kMAC/px rounded to 0.01, parameters exact)."""
        p = self.params
        return {
            "params": {
                "analysis": p["analysis"],
                "synthesis": p["synthesis"],
                "entropy": {
                    "hyper_analysis": p["hyper_analysis"],
                    "hyper_synthesis": p["hyper_synthesis"],
                    "context": p["context"],
                    "bottleneck": p["bottleneck"],
                    "total": p["hyper_analysis"]
                    + p["hyper_synthesis"]
                    + p["context"]
                    + p["bottleneck"],
                },
                "other": p["other"],
                "total": p["total"],
            },
            "kmac_per_pixel": {k: round(v, 2) for k, v in self.kmac_per_pixel().items()},
            "input": [self.height, self.width],
            "padded_input": list(self.padded),
            "counter": self.counter,
            "convention": "kMAC/px = MACs / (H·W) / 1000 of the image; 1 MAC = 2 FLOPs",
            "counted_input": list(self.counted or self.padded),
            "scaled": (
                None
                if self.counted is None
                else f"counted on {self.counted[1]}×{self.counted[0]} padded pixels, scaled "
                f"by the padded area ({self.padded[1]}×{self.padded[0]}): exact for "
                "convolutions and linear layers, window attention within its window padding"
            ),
            "not_counted": list(self.not_counted),
            "peak_memory": self.peak_memory,
        }


# ---------------------------------------------------------------------------- parameters


def count_parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameters of ``model`` per part (see :data:`_PARAM_PARTS`), plus ``other`` and ``total``.

    Works on the meta device (nothing is allocated); tied parameters count once.
    """
    counts = dict.fromkeys((*PARTS, "bottleneck", "other"), 0)
    for name, parameter in model.named_parameters():
        part = next((p for prefix, p in _PARAM_PARTS if name.startswith(prefix)), "other")
        counts[part] += parameter.numel()
    counts["total"] = sum(counts.values())
    return counts


# ---------------------------------------------------------------------------- MACs


def _macs(run: Any, *args: Any) -> tuple[Any, int]:
    """(result of ``run(*args)``, its MACs) under torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        result = run(*args)
    return result, counter.get_total_flops() // 2


def meta_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` on the meta device, in eval mode (``model`` itself is untouched).

    A licbench model is rebuilt from its arch and config (nothing is allocated); any other
    module is deep-copied and moved (its memory, once, for the copy).
    """
    from licbench.codecs.learned.model import LearnedCompressionModel

    if all(p.device.type == "meta" for p in model.parameters()):
        return model.eval()
    if isinstance(model, LearnedCompressionModel):
        from licbench.codecs.learned.configs import create_model

        with torch.device("meta"):
            return create_model(model.arch, model.config_name).eval()
    return copy.deepcopy(model).to("meta").eval()


def licbench_macs(model: nn.Module, x: Tensor) -> dict[str, int]:
    """The parts of a licbench model (g_a, g_s and ``ChannelARLatentCodec``) as coding runs them."""
    latent = model.latent
    y, analysis = _macs(model.g_a, x)
    z, hyper_analysis = _macs(latent.h_a, y)
    (means, scales), hyper_synthesis = _macs(latent.hyper_synthesis, z)

    y_slices = y.split(latent.slices, dim=1)

    def context() -> None:
        # the codec's own slice loop, each step handing back the slice as it is (on the meta
        # device the values do not matter, only the shapes the networks run on)
        latent.run_slices(means, scales, lambda index, mu, sigma: y_slices[index])

    _, context_macs = _macs(context)
    _, synthesis = _macs(model.g_s, y)
    return {
        "analysis": analysis,
        "synthesis": synthesis,
        "hyper_analysis": hyper_analysis,
        "hyper_synthesis": hyper_synthesis,
        "context": context_macs,
    }


def compressai_macs(model: nn.Module, x: Tensor) -> dict[str, int]:
    """A CompressAI-style model: ``g_a``, ``g_s``, optional ``h_a``/``h_s`` (or mean and scale
    branches) and optional ``context_prediction`` + ``entropy_parameters``."""
    y, analysis = _macs(model.g_a, x)
    _, synthesis = _macs(model.g_s, y)
    out = dict.fromkeys(PARTS, 0)
    out.update(analysis=analysis, synthesis=synthesis)
    if not hasattr(model, "h_a"):  # a factorized prior: no hyperprior, no context
        return out
    z, out["hyper_analysis"] = _macs(model.h_a, y)
    if hasattr(model, "h_s"):
        params, out["hyper_synthesis"] = _macs(model.h_s, z)
    else:
        (means, scales), out["hyper_synthesis"] = _macs(
            lambda t: (model.h_mean_s(t), model.h_scale_s(t)), z
        )
        params = torch.cat([means, scales], dim=1)
    if hasattr(model, "context_prediction") and hasattr(model, "entropy_parameters"):

        def context() -> None:
            ctx = model.context_prediction(y)
            model.entropy_parameters(torch.cat([params, ctx], dim=1))

        _, out["context"] = _macs(context)
    return out


def parts_counter(model: nn.Module) -> Callable[[nn.Module, Tensor], dict[str, int]]:
    """How to count a bare model's parts (a codec says it itself: ``macs_counter``): a licbench
    model's with :func:`licbench_macs`, a module with CompressAI's ``g_a`` and ``g_s`` with
    :func:`compressai_macs`."""
    from licbench.codecs.learned.model import LearnedCompressionModel

    if isinstance(model, LearnedCompressionModel):
        return licbench_macs
    if isinstance(getattr(model, "g_a", None), nn.Module) and isinstance(
        getattr(model, "g_s", None), nn.Module
    ):
        return compressai_macs
    raise TypeError(
        f"{type(model).__name__}: cannot find the parts to count (expected g_a and g_s, and "
        "a licbench latent codec or CompressAI's h_a/h_s/context_prediction)"
    )


def count_macs(
    model: nn.Module,
    height: int,
    width: int,
    *,
    pad_multiple: int = 64,
    parts: Callable[[nn.Module, Tensor], dict[str, int]] | None = None,
) -> dict[str, int]:
    """MACs of each part of :data:`PARTS` for one ``height`` × ``width`` image (padded first).

    ``parts`` runs the parts on the meta twin and the meta input (a codec's ``macs_counter``);
    None: :func:`parts_counter` chooses by the model's type.
    """
    count = parts or parts_counter(model)
    hp, wp = -(-height // pad_multiple) * pad_multiple, -(-width // pad_multiple) * pad_multiple
    twin = meta_twin(model)
    x = torch.empty(1, 3, hp, wp, device="meta")
    with torch.no_grad():
        return count(twin, x)


def counting_size(
    height: int, width: int, multiple: int = 64, pixels: int = COUNT_PIXELS
) -> tuple[int, int]:
    """The padded size to count an image's MACs on: its own padded size when that has at most
    ``pixels`` pixels, else one with about the same aspect, multiples of ``multiple`` (and of
    128 where possible, Swin's coarsest window grid), at most ``pixels`` pixels.

    Scaling a count from this size by the ratio of padded areas, against a full count of the
    encoder's and decoder's kMAC/px (paper and tiny configurations, meta device, images of
    1920×1080, 2048×1536 and 6000×4000): ConvNeXt-ChARM exactly equal; CCA +0.0004…+0.0011 %
    (its per-image channel-attention work, scaled as if per pixel); SwinT-ChARM −0.10…+0.006 %
    (window padding; its hyper analysis alone −1.6…+0.6 %). ``tests/codecs/learned/
    test_complexity.py`` holds a case of each to 0.2 %.
    """
    hp, wp = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    if hp * wp <= pixels:
        return hp, wp
    scale = math.sqrt(pixels / (hp * wp))
    grid = 2 * multiple if min(hp, wp) * scale >= 2 * multiple else multiple

    def side(padded: int, other: int) -> int:  # (a side at its minimum leaves the other less)
        return max(multiple, min(int(padded * scale), pixels // other) // grid * grid)

    if hp <= wp:
        h = side(hp, multiple)
        return h, side(wp, h)
    w = side(wp, multiple)
    return side(hp, w), w


def measure_complexity(
    model: nn.Module,
    height: int,
    width: int,
    *,
    pad_multiple: int | None = None,
    peak_memory: Mapping[str, Any] | None = None,
    count_pixels: int | None = None,
    parts: Callable[[nn.Module, Tensor], dict[str, int]] | None = None,
) -> Complexity:
    """Parameters and MACs per part of ``model`` coding one ``height`` × ``width`` image.

    ``pad_multiple`` defaults to the model's own (licbench: 64) or 64. ``peak_memory``, when
    given (from :func:`measure_peak_memory`), is carried into the result. ``count_pixels``:
    count on a padded size of at most that many pixels (:func:`counting_size`) and scale by
    the ratio of padded areas; None: count on the image's own padded size. ``parts``: see
    :func:`count_macs`.
    """
    multiple = pad_multiple or int(getattr(model, "pad_multiple", 64))
    padded = (-(-height // multiple) * multiple, -(-width // multiple) * multiple)
    counted = None
    if count_pixels is not None and padded[0] * padded[1] > count_pixels:
        counted = counting_size(height, width, multiple, count_pixels)
        small = count_macs(model, *counted, pad_multiple=multiple, parts=parts)
        ratio = padded[0] * padded[1] / (counted[0] * counted[1])
        macs = {part: round(value * ratio) for part, value in small.items()}
    else:
        macs = count_macs(model, height, width, pad_multiple=multiple, parts=parts)
    return Complexity(
        params=count_parameters_by_part(model),
        macs=macs,
        height=height,
        width=width,
        padded=padded,
        peak_memory=dict(peak_memory) if peak_memory is not None else None,
        counted=counted,
    )


def model_complexity(
    arch: str,
    config: str,
    height: int,
    width: int,
    *,
    peak_memory: Mapping[str, Any] | None = None,
    count_pixels: int | None = None,
) -> Complexity:
    """:func:`measure_complexity` of a licbench architecture, built on the meta device."""
    from licbench.codecs.learned.configs import create_model

    with torch.device("meta"):
        model = create_model(arch, config)
    return measure_complexity(
        model, height, width, peak_memory=peak_memory, count_pixels=count_pixels
    )


def codec_complexity(
    codec: Any,
    height: int,
    width: int,
    *,
    quality: float | None = None,
    peak_memory: Mapping[str, Any] | None = None,
    count_pixels: int | None = None,
) -> Complexity:
    """Complexity of a learned codec's model at one rate point (default: its highest).

    Asks the codec's class (:class:`~licbench.codecs.learned.codec.LearnedCodecBase`): its
    ``complexity_model`` is the model counted (licbench's architectures: built on the meta
    device, no checkpoint read, every rate point the same; a CompressAI-API model: the model
    of that rate point, whose size may change with quality, the highest giving the largest
    figure) and its ``macs_counter`` runs the model's parts as its coding does
    (:func:`licbench_macs`, :func:`compressai_macs`).
    ``count_pixels``: see :func:`measure_complexity`.
    """
    from licbench.codecs.learned.codec import LearnedCodecBase
    from licbench.registry import import_object

    if not isinstance(codec, LearnedCodecBase):
        raise TypeError(f"{type(codec).__name__} is not a learned codec (no LearnedCodecBase)")
    return measure_complexity(
        codec.complexity_model(quality),
        height,
        width,
        pad_multiple=codec.pad_multiple,
        peak_memory=peak_memory,
        count_pixels=count_pixels,
        parts=import_object(codec.macs_counter),
    )


# ---------------------------------------------------------------------------- peak memory


def _child(spec: str, operation: str, height: int, width: int, quality: int, path: str) -> None:
    """Body of one measuring process: build the codec, encode or decode, print peaks as JSON."""
    import resource

    import numpy as np

    from licbench.codecs import CODECS, CodecSpec, create_codec
    from licbench.codecs.learned.codec import LearnedCodecBase

    def rss_mb() -> float:  # Linux reports kilobytes, macOS bytes
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6

    CODECS.get(CodecSpec.parse(spec).name)  # the codec's module and libraries, before the model
    imported = rss_mb()
    codec = create_codec(spec)
    model = codec.model(quality) if isinstance(codec, LearnedCodecBase) else None
    loaded = rss_mb()
    cuda = torch.cuda.is_available() and any(
        p.device.type == "cuda" for p in (model.parameters() if model is not None else ())
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    if operation == "encode":
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        planes = [128 + 80 * np.sin(0.01 * (c + 1) * xx) * np.cos(0.013 * yy) for c in range(3)]
        image = np.stack(planes, -1) + rng.normal(0, 4, (height, width, 3))
        data = codec.encode(np.clip(image, 0, 255).astype(np.uint8), quality)
        Path(path).write_bytes(data)
    else:
        codec.decode(Path(path).read_bytes())
    peak = rss_mb()
    result = {
        "peak_rss_mb": round(peak, 1),
        "after_import_mb": round(imported, 1),
        "after_model_mb": round(loaded, 1),
        "above_model_mb": round(peak - loaded, 1),
    }
    if cuda:
        result["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 1e6, 1)
    print(json.dumps(result))


def measure_peak_memory(
    spec: str,
    height: int,
    width: int,
    *,
    quality: int = 1,
    threads: int | None = None,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Peak memory of encoding a ``height`` × ``width`` image with codec ``spec`` and decoding it.

    Each operation runs in a fresh Python process (so each peak belongs to one operation, and the
    decoder has only the bytes): ``{"encode": {...}, "decode": {...}, "image": [H, W]}`` with, for
    each, ``peak_rss_mb`` (the process's peak resident set: interpreter, torch, the model and the
    operation), ``after_import_mb`` and ``after_model_mb`` (the peak once the codec's libraries,
    then its model, were loaded), ``above_model_mb`` (how far the operation raised the peak above
    that: its own working memory) and, on a GPU, ``cuda_peak_mb``
    (``torch.cuda.max_memory_allocated`` during the operation).
    """
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    out: dict[str, Any] = {"spec": spec, "image": [height, width], "quality": quality}
    with tempfile.TemporaryDirectory(prefix="licbench-memory-") as folder:
        bitstream = str(Path(folder) / "bitstream.bin")
        for operation in ("encode", "decode"):
            args = json.dumps([spec, operation, height, width, quality, bitstream])
            code = f"import json, {__name__} as m; m._child(*json.loads({args!r}))"
            done = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"{spec}: measuring {operation} failed: {tail}")
            out[operation] = json.loads(done.stdout.strip().splitlines()[-1])
    return out
