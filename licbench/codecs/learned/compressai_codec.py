"""The ``compressai`` codec: CompressAI's zoo models and your own CompressAI-API modules.

Spec parameters (all strings, as a spec delivers them)::

    model=NAME          a compressai.zoo image model (bmshj2018-factorized, mbt2018-mean,
                        cheng2020-attn, ..., the variable-rate mbt2018-mean-vbr, ...) or your
                        own module as package.module:Class (or a function returning one);
                        required
    arg.NAME=VALUE      an argument of your own model's constructor (repeat for each: arg.N=128,
                        arg.M=192,arg.gated=true); VALUE is read as true/false, none, an
                        integer or a float where it is one, else kept as a string
    metric=M            mse (default) | ms-ssim: which published zoo weights (weights=pretrained)
    ckpt=FILE_OR_DIR    your checkpoint(s), one per rate point (a folder: files in natural name
                        order, or by a stored lmbda; see ``checkpoints``)
    weights=W           pretrained (zoo default: CompressAI's published weights, from the torch
                        hub cache) | random (seeded, for tests and benchmarks)
    seed=N              the seed of weights=random (default 0)
    order=RULE          auto | lmbda | name | name-desc: how a ckpt folder is numbered
    device=DEV          cpu (default) | cuda | cuda:N

Quality is the zoo's quality index (1..8 for bmshj2018 and mbt2018, 1..6 for cheng2020) with
zoo weights, else the rate point 1..N of the checkpoints. A variable-rate zoo model (``-vbr``)
has one set of weights (one checkpoint) and takes any quality in 1..8: quality q is
``eval_model --vbr_quantstep``'s q-th default step (10, 7.1715, ..., 1), steps between moving
geometrically (``zoo.vbr_step``), and the model codes at ``inputscale = 1 / step``; the bytes
carry that scale (container format 2), so decoding needs no mapping.

Your own model is built, per checkpoint, the way CompressAI builds its own:

1. with ``arg.NAME=VALUE`` given, as ``Class(NAME=VALUE, ...)`` (every argument without a
   default must be given; checked when the codec is made), then the weights loaded;
2. else, a class with CompressAI's ``from_state_dict`` (every CompressAI model has it: it reads
   N and M off the weights) is built by it, as ``eval_model checkpoint`` does;
3. else (or when ``from_state_dict`` cannot build it but the constructor needs no arguments)
   as ``Class()``, then the weights loaded;

and a model that none of these can build is refused in one line that names the constructor's
arguments and how to give them. A constructor argument that the weights do not reveal (a flag
that changes what the model does, not its tensors' shapes) must be given with ``arg.``.

It stands on the learned-codec stack (:class:`~licbench.codecs.learned.codec.LearnedCodecBase`,
which owns ``device``, ``seed``, ``ckpt``/``order`` and ``weights``, the model of each rate point
under a forked RNG, the tag check, ``environment()``, pixels to tensors and back, and what
complexity counting asks) and supplies what CompressAI's models do their own way: how they are
built, how eval_model pads, and the container. Images are padded to a multiple of 64
with CompressAI's centred zero padding and cropped after decoding, exactly as
``python -m compressai.utils.eval_model`` does, so bpp (up to the container's few bytes), PSNR
and MS-SSIM equal its numbers on the same weights. The bytes are a ``container``: ``decode``
needs nothing else, in any process, and refuses bytes made by another model or other weights.

Entropy tables: pretrained zoo weights keep the tables CompressAI published (as ``eval_model
pretrained`` does); checkpoints and random weights get them from ``update(force=True)`` (as
``eval_model checkpoint`` does), so a checkpoint saved before ``update()`` loads too.

Unlike licbench's own learned codecs, the whole model (entropy parameters included) runs on
``device``: a bitstream is guaranteed to decode only with the same device type and library
versions (CompressAI #279, #309); ``version()`` records all three.

Listing this codec imports neither torch nor compressai; the first instance does.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from licbench.codecs.base import CodecSpecError
from licbench.codecs.learned import container
from licbench.codecs.learned.codec import Frame, LearnedCodecBase, image_tensor
from licbench.core.availability import Availability

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from licbench.codecs.learned.latency import StageTimer

#: images are padded to a multiple of this (six stride-2 stages), as eval_model does
PAD_MULTIPLE = 64
PARAMETERS = ("model", "metric", "ckpt", "weights", "seed", "order", "device")
WEIGHTS = ("pretrained", "random")
#: the prefix of a constructor argument's spec parameter: arg.N=128
ARG_PREFIX = "arg."

_sha256_cache: dict[tuple[str, int, int], str] = {}


def cached_sha256(path: Path) -> str:
    """sha256 of a weights file, computed once per (path, size, mtime) in a process."""
    from licbench.core.files import file_sha256

    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _sha256_cache:
        _sha256_cache[key] = file_sha256(path)
    return _sha256_cache[key]


def argument_value(text: str) -> Any:
    """A spec string as a constructor argument: true/false, none, an int, a float, else itself."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def constructor_arguments(params: Mapping[str, str]) -> dict[str, Any]:
    """The ``arg.NAME=VALUE`` parameters of a spec as keyword arguments, values typed."""
    args = {}
    for key, text in params.items():
        if key.startswith(ARG_PREFIX):
            name = key[len(ARG_PREFIX) :]
            if not name.isidentifier():
                raise CodecSpecError(
                    f"compressai: {key}={text}: {name!r} is not an argument name (arg.NAME=VALUE)"
                )
            args[name] = argument_value(text)
    return args


def _signature(factory: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins and C types have none
        return None


def required_arguments(factory: Any) -> list[str]:
    """The names of ``factory``'s parameters that have no default (none when unknown)."""
    signature = _signature(factory)
    if signature is None:
        return []
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in kinds
    ]


def _call_form(factory: Any) -> str:
    """``Net(N, M, gated=False)``: how ``factory`` is called, for messages."""
    name = getattr(factory, "__qualname__", type(factory).__name__)
    signature = _signature(factory)
    return f"{name}{signature}" if signature is not None else f"{name}(...)"


def _give_arguments(names: list[str]) -> str:
    return ",".join(f"{ARG_PREFIX}{name}=…" for name in names)


def _has_from_state_dict(factory: Any) -> bool:
    return isinstance(factory, type) and callable(getattr(factory, "from_state_dict", None))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


def _missing_weights(exc: Exception) -> Availability:
    from licbench.codecs.learned.zoo import FETCH_COMMAND

    return Availability(
        False, f"compressai: {exc}", f"run `{FETCH_COMMAND}` on a connected machine"
    )


class CodecUnavailableError(CodecSpecError):
    """A well-formed spec that cannot run here (weights not cached); carries the Availability."""

    def __init__(self, availability: Availability) -> None:
        super().__init__(availability.reason)
        self.availability = availability


class CompressAICodec(LearnedCodecBase):
    """A CompressAI-API model (zoo or your own) as a licbench codec; see the module docstring.

    On the learned-codec stack (:class:`~licbench.codecs.learned.codec.LearnedCodecBase`) it
    supplies what CompressAI's models do their own way: building (zoo tables, your class,
    checkpoints, random weights; variable-rate scales), CompressAI's centred padding, and the
    ``LZ`` container around ``compress``'s strings and shape.

    Subclasses registered under a name of their own (an entry point of a plugin) set
    :attr:`defaults`, e.g. ``{"model": "my_pkg.models:MyNet", "ckpt": "/models/mynet"}``; spec
    parameters override them.
    """

    description: ClassVar[str] = (
        "CompressAI models: the zoo (model=mbt2018-mean, metric=mse|ms-ssim, quality = zoo "
        "index; the variable-rate -vbr models, quality 1-8 = eval_model's quantisation steps) "
        "or your own module (model=package.module:Class, ckpt=FILE_OR_DIR, arg.NAME=VALUE)"
    )
    defaults: ClassVar[dict[str, str]] = {}
    tag_bytes: ClassVar[int] = container.TAG_BYTES
    format_error: ClassVar[type[container.ContainerError]] = container.ContainerError
    pad_multiple: ClassVar[int] = PAD_MULTIPLE

    def __init__(self, **params: str) -> None:
        super().__init__()
        self.spec_name = "compressai"
        params = {**self.defaults, **params}
        unknown = sorted(k for k in set(params) - set(PARAMETERS) if not k.startswith(ARG_PREFIX))
        if unknown:
            raise CodecSpecError(
                f"compressai: unknown parameter(s) {', '.join(unknown)}; it takes "
                f"{', '.join(PARAMETERS)} and {ARG_PREFIX}NAME=VALUE (your model's constructor)"
            )
        self.args = constructor_arguments(params)
        model = params.get("model", "")
        if not model:
            raise CodecSpecError(
                "compressai needs model=NAME: a compressai.zoo model (e.g. "
                "compressai:model=mbt2018-mean,metric=mse) or your own module "
                "(compressai:model=package.module:Class,ckpt=FILE_OR_DIR)"
            )
        self.model_name = model
        self.is_zoo = ":" not in model
        self.ckpt = params.get("ckpt") or None
        weights = params.get("weights") or None
        order = params.get("order", "auto")
        self._parse_shared(
            ckpt=self.ckpt,
            weights=weights,
            weight_choices=WEIGHTS,
            seed=params.get("seed", "0"),
            order=order,
            device=params.get("device", "cpu"),
        )
        self._factory: Any = None
        self.metric: str | None = None
        self._files: dict[int, Path] = {}  # rate point -> cached zoo file (weights=pretrained)
        #: a variable-rate zoo model: one rate point, any quality in 1..8 (a scale)
        self.vbr = False
        if self.is_zoo:
            self._init_zoo(params.get("metric"), weights)
        else:
            self._init_own(params.get("metric"), weights)
        if self.ckpt:
            self._init_checkpoints(order)
        self._set_qualities(self.qualities)
        self.integer_quality = not self.vbr  # type: ignore[misc]  # known only per instance
        self._scales: dict[int, float] = {}  # rate point -> the scale its tables were made for

    # ------------------------------------------------------------------ setup
    def _init_zoo(self, metric: str | None, weights: str | None) -> None:
        from licbench.codecs.learned import zoo

        self.weights = "checkpoint" if self.ckpt else weights or "pretrained"
        try:
            zoo.check_zoo_name(self.model_name)
            if metric is not None:
                zoo.check_metric(metric)
        except zoo.ZooError as exc:
            raise CodecSpecError(f"compressai: {exc}") from None
        if self.args:
            raise CodecSpecError(
                f"compressai: {ARG_PREFIX}* is for your own model's constructor; a zoo model's "
                "sizes come from the zoo's table or from its checkpoint"
            )
        self.vbr = zoo.is_vbr(self.model_name)
        if metric is not None and self.weights != "pretrained":
            raise CodecSpecError(
                f"compressai: metric= chooses the zoo's published weights; with "
                f"{'ckpt=' if self.ckpt else 'weights=random'} it would mean nothing"
            )
        self.metric = (metric or "mse") if self.weights == "pretrained" else None
        self.qualities = zoo.zoo_qualities(self.model_name)
        if self.metric is not None:
            try:
                self._files = zoo.require_pretrained(self.model_name, self.metric)
            except zoo.MissingWeightsError as exc:
                raise CodecUnavailableError(_missing_weights(exc)) from None
            if not self.vbr:
                self.qualities = tuple(self._files)

    def _init_own(self, metric: str | None, weights: str | None) -> None:
        from licbench.codecs.learned.own_model import ModelAPIError, import_model_factory

        if metric is not None:
            raise CodecSpecError(
                "compressai: metric= chooses zoo weights; your own model's weights come from ckpt="
            )
        if weights == "pretrained":
            raise CodecSpecError(
                f"compressai: weights=pretrained is for zoo models; give {self.model_name} "
                "ckpt=FILE_OR_DIR, or weights=random"
            )
        if not self.ckpt and not weights:
            raise CodecSpecError(
                f"compressai: model={self.model_name} needs trained weights: ckpt=FILE_OR_DIR "
                "(one checkpoint per rate point), or weights=random for tests and benchmarks"
            )
        try:
            self._factory = import_model_factory(self.model_name)
        except ModelAPIError as exc:
            raise CodecSpecError(f"compressai: {exc}") from None
        self.weights = "checkpoint" if self.ckpt else "random"
        self.qualities = (1,)
        self._check_arguments()

    def _check_arguments(self) -> None:
        """Refuse, when the codec is made, arguments the constructor would refuse, and a
        constructor that needs arguments where nothing can supply them."""
        where = f"compressai: model={self.model_name} is built as {_call_form(self._factory)}"
        signature = _signature(self._factory)
        if self.args:
            if signature is not None:
                try:
                    signature.bind(**self.args)
                except TypeError as exc:
                    raise CodecSpecError(
                        f"{where}: {exc} (give each argument as {ARG_PREFIX}NAME=VALUE)"
                    ) from None
            return
        needed = required_arguments(self._factory)
        if not needed:
            return
        if self.weights == "random":
            raise CodecSpecError(
                f"{where}: weights=random has no weights to read its arguments from; give them "
                f"in the spec: {_give_arguments(needed)}"
            )
        if not _has_from_state_dict(self._factory):
            raise CodecSpecError(
                f"{where} and has no from_state_dict to read its arguments from the weights; "
                f"give them in the spec: {_give_arguments(needed)}"
            )

    def _init_checkpoints(self, order: str) -> None:
        self._read_checkpoints(self.ckpt or "", order)
        if self.vbr:
            if len(self.rate_points) != 1:
                raise CodecSpecError(
                    f"compressai: {self.model_name} is a variable-rate model: one checkpoint "
                    f"codes every rate, but {self.ckpt} holds {len(self.rate_points)}"
                )
            return
        self.qualities = tuple(rp.quality for rp in self.rate_points)

    @classmethod
    def available_for(cls, params: Mapping[str, str]) -> Availability:
        """Availability of one spec: a zoo model with published weights needs them cached.

        Reads CompressAI's tables (imports compressai); a spec that is wrong in other ways is
        left to the constructor, whose error says what is wrong.
        """
        base = cls.available()
        params = {**cls.defaults, **params}
        model = params.get("model", "")
        if not base.ok or not model or ":" in model or params.get("ckpt") or params.get("weights"):
            return base
        from licbench.codecs.learned import zoo

        try:
            zoo.require_pretrained(model, params.get("metric") or "mse")
        except zoo.MissingWeightsError as exc:
            return _missing_weights(exc)
        except zoo.ZooError:
            pass
        return base

    # ------------------------------------------------------------------ models
    @property
    def who(self) -> str:
        return f"compressai:model={self.model_name}"

    def rate_point(self, quality: float) -> int:
        """The rate point (weights) that codes ``quality``: a variable-rate model has one."""
        if not self.vbr:
            return super().rate_point(quality)
        low, high = self.quality_range
        if not low <= float(quality) <= high:
            raise ValueError(f"{self.who}: quality {quality!r} is outside {low:g}–{high:g}")
        return 1

    def rate_points_here(self) -> tuple[int, ...]:
        return (1,) if self.vbr else tuple(self.qualities)

    def build(self, rate_point: int) -> tuple[Any, str]:
        """The model of ``rate_point`` (eval mode, tables ready, on the device) and the sha256
        that identifies its weights."""
        from licbench.codecs.learned import own_model, zoo
        from licbench.codecs.learned.checkpoints import read_checkpoint

        q = rate_point
        if self.weights == "checkpoint":
            rp = self.rate_points[q - 1]
            obj, source = read_checkpoint(rp.path), str(rp.path)
            if self.is_zoo:
                net = zoo.build_from_checkpoint(self.model_name, obj, source)
            else:
                net = self._own_model(own_model.unwrap_state_dict(obj, source), source)
            sha256 = rp.sha256
        elif self.weights == "pretrained":
            net = zoo.build_pretrained(self.model_name, self.metric or "mse", q)
            sha256 = cached_sha256(self._files[q])
        else:
            net = zoo.build_random(self.model_name, q) if self.is_zoo else self._own_model(None)
            identity = f"random:{self.model_name}:{q}:{self.seed}"
            sha256 = hashlib.sha256(identity.encode()).hexdigest()
        if self.vbr:
            zoo.prepare_vbr(net)
        return own_model.prepare(net).to(self.device), sha256

    def _own_model(self, state_dict: dict[str, Any] | None, source: str = "") -> Any:
        """Your model, built as the module docstring says, with ``state_dict`` loaded (None:
        as constructed, for weights=random)."""
        from licbench.codecs.learned import own_model

        net = None
        if state_dict is not None and not self.args and _has_from_state_dict(self._factory):
            net = self._from_state_dict(state_dict, source)
        if net is None:
            net = self._factory(**self.args)
            if state_dict is not None:
                state_dict = own_model.rename_old_keys(net, state_dict)
                own_model.load_into(net, state_dict, source)
        own_model.check_model_api(net, f"model={self.model_name}")
        return net

    def _from_state_dict(self, state_dict: dict[str, Any], source: str) -> Any:
        """The model CompressAI's ``from_state_dict`` builds from ``state_dict`` (tables rebuilt,
        as ``eval_model checkpoint`` does), or None where it cannot and the constructor needs
        no arguments (the caller then loads the weights into ``Class()``, naming any key that
        does not fit)."""
        from licbench.codecs.learned.checkpoints import CheckpointError
        from licbench.codecs.learned.own_model import tables_emptied

        try:
            net = self._factory.from_state_dict(tables_emptied(state_dict))
        except Exception as exc:  # noqa: BLE001 - whatever it raised, said in one line below
            needed = required_arguments(self._factory)
            if not needed:
                return None
            form = _call_form(self._factory)
            if isinstance(exc, TypeError):  # the constructor wanted more than the weights give
                raise CheckpointError(
                    f"model={self.model_name}: {form} cannot be built from {source} by "
                    f"from_state_dict ({_one_line(exc)}); give its arguments in the spec: "
                    f"{_give_arguments(needed)}"
                ) from None
            if not any(key.endswith("._quantized_cdf") for key in state_dict):
                raise CheckpointError(
                    f"{source} holds no entropy tables (saved by an older CompressAI?), which "
                    f"{form}.from_state_dict needs; give its arguments in the spec "
                    f"({_give_arguments(needed)}) and the weights load, tables rebuilt"
                ) from None
            raise CheckpointError(
                f"{source} does not fit model={self.model_name} as {form}.from_state_dict reads "
                f"it ({_one_line(exc)}); giving the arguments ({_give_arguments(needed)}) names "
                "the keys that differ"
            ) from None
        if callable(getattr(net, "update", None)):
            net.update(force=True)
        return net.eval()

    def _scaled_model(self, q: int, scale: Any) -> Any:
        """Rate point ``q``'s variable-rate model with the tables of ``scale`` (rebuilt only
        when the scale changes: the same scale always gives the same tables)."""
        import torch

        from licbench.codecs.learned.zoo import set_vbr_scale

        net = self._models[q]
        if self._scales.get(q) != float(scale):
            with torch.no_grad():
                set_vbr_scale(net, scale.to(self.device))
            self._scales[q] = float(scale)
        return net

    # ------------------------------------------------------------------ contract
    def weights_identity(self) -> str:
        """The weights in one string: sha256 per rate point, or the random seed."""
        if self.weights == "random":
            return f"random-seed{self.seed}"
        if self.weights == "checkpoint":
            return ",".join(f"{rp.quality}:{rp.sha256}" for rp in self.rate_points)
        return ",".join(f"{q}:{cached_sha256(path)}" for q, path in self._files.items())

    def _digest_code(self) -> str:
        """The model class's code and its bases' (compressai's own modules, or your module)."""
        from licbench.codecs.learned import zoo
        from licbench.codecs.learned.code_identity import model_code_digest

        owner = zoo.zoo_architecture(self.model_name) if self.is_zoo else self._factory
        return model_code_digest(owner, own=not self.is_zoo)

    def version(self) -> str:
        import torch

        from licbench.codecs.learned.zoo import VBR_QUANT_STEPS, compressai_version

        with_metric = [f"metric={self.metric}"] if self.metric else []
        with_args = (
            [f"args={'/'.join(f'{k}:{v!r}' for k, v in sorted(self.args.items()))}"]
            if self.args
            else []
        )
        with_steps = (
            [f"vbr_steps={'/'.join(map(str, VBR_QUANT_STEPS))}:geometric"] if self.vbr else []
        )
        return ";".join(
            [
                f"compressai={compressai_version()}",
                f"torch={torch.__version__}",
                f"model={self.model_name}",
                *with_metric,
                *with_args,
                *with_steps,
                f"container={container.format_version(self.vbr)}",
                f"pad=centre{PAD_MULTIPLE}",
                f"device={self.device.type}",
                f"code={self.code_digest()}",
                f"weights={self.weights_identity()}",
            ]
        )

    def pad(self, image: np.ndarray) -> torch.Tensor:
        """Floats in [0, 1], contiguous NCHW as torchvision's ToTensor gives eval_model,
        padded as eval_model pads (centred, zeros), on the device."""
        import torch.nn.functional as F
        from compressai.ops import compute_padding

        x = image_tensor(image).contiguous().float().div(255)
        pad, _ = compute_padding(*image.shape[:2], min_div=PAD_MULTIPLE)
        return F.pad(x, pad, mode="constant", value=0).to(self.device)

    def compress(self, model: Any, x: torch.Tensor, quality: float, rate_point: int) -> Any:
        import torch

        from licbench.codecs.learned.zoo import vbr_scale

        scale = vbr_scale(float(quality)) if self.vbr else None
        with torch.no_grad():
            if scale is None:
                out = model.compress(x)
            else:  # as eval_model --vbr_quantstep: stage 2, s=0, inputscale = 1 / step
                model = self._scaled_model(rate_point, scale)
                out = model.compress(x, stage=2, s=0, inputscale=scale.to(self.device))
        if not (isinstance(out, dict) and "strings" in out and "shape" in out):
            got = sorted(out) if isinstance(out, dict) else type(out).__name__
            raise TypeError(
                f"{type(model).__qualname__}.compress(x) must return a dict with 'strings' and "
                f"'shape', got {got}"
            )
        return out["shape"], out["strings"], float(scale) if scale is not None else None

    def pack(self, payload: Any, rate_point: int, tag: bytes, height: int, width: int) -> bytes:
        shape, strings, scale = payload
        return container.pack(
            container.Container(
                self.model_name, tag, rate_point, height, width, PAD_MULTIPLE, shape, strings, scale
            )
        )

    def unpack(self, data: bytes) -> Frame:
        box = container.unpack(data)
        if box.model != self.model_name:
            raise container.ContainerError(
                f"these bytes were made by model {box.model}, not {self.model_name}"
            )
        if (box.scale is not None) != self.vbr:
            kind = "a variable-rate" if box.scale is not None else "a single-rate"
            raise container.ContainerError(
                f"these bytes were made by {kind} model; {self.model_name} here is not one"
            )
        return Frame(box.rate_point, box.weights_tag, box.height, box.width, box)

    def decompress(self, model: Any, frame: Frame, timer: StageTimer) -> torch.Tensor:
        import torch
        import torch.nn.functional as F
        from compressai.ops import compute_padding

        from licbench.codecs.learned.model import to_pixels

        box = frame.parsed
        with timer.stage("total"), torch.no_grad():
            if box.scale is None:
                out = model.decompress(box.strings, box.shape)
            else:  # the scale the bytes carry, as the float32 compress() was given
                scale = torch.tensor(box.scale, dtype=torch.float32)
                model = self._scaled_model(box.rate_point, scale)
                out = model.decompress(
                    box.strings, box.shape, stage=2, s=0, inputscale=scale.to(self.device)
                )
            x_hat = out["x_hat"] if isinstance(out, dict) else None
            if not isinstance(x_hat, torch.Tensor):
                raise TypeError(
                    f"{type(model).__qualname__}.decompress(strings, shape) must return "
                    "{'x_hat': tensor}"
                )
            _, unpad = compute_padding(box.height, box.width, min_div=box.pad_multiple)
            x_hat = F.pad(x_hat, unpad)
            if tuple(x_hat.shape) != (1, 3, box.height, box.width):
                raise ValueError(
                    f"decompress gave x_hat of shape {tuple(x_hat.shape)} for a "
                    f"{box.height}x{box.width} image padded to a multiple of {box.pad_multiple}"
                )
            return to_pixels(x_hat).cpu()

    # ------------------------------------------------------------------ complexity
    macs_counter: ClassVar[str] = "licbench.codecs.learned.complexity:compressai_macs"

    def complexity_model(self, quality: float | None = None) -> nn.Module:
        """The model of ``quality`` (default: the highest: CompressAI's zoo widens N and M at
        its top qualities, so that is the largest figure)."""
        return self.model(quality if quality is not None else max(self.qualities))
