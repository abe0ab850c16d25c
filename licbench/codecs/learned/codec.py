"""The learned-codec stack: what every learned codec shares, and licbench's own architectures.

::

    Codec                               licbench.codecs.base: the contract of every codec
    └── LearnedCodecBase                here: what every learned codec shares
        ├── LearnedCodec                here: licbench's architectures, "LC" bitstream (bitstream)
        │   └── CCA, ConvNeXtCharm, SwinTCharm   one module each in ``archs/``, registered there
        └── CompressAICodec             compressai_codec: CompressAI-API models, "LZ" container

:class:`LearnedCodecBase` owns, once for both kinds: the spec parameters they share (``device``,
``seed``, ``ckpt`` with ``order``, ``weights``) and their one-line errors; the model of each rate
point, built on first use under ``torch.random.fork_rng`` (a codec never moves its caller's
RNG) and cached; the model tag the bytes carry and its check on decoding; ``encode`` and
``decode`` as templates (check the image, choose the rate point, then the kind's steps);
``decode_profiled``'s stage timing; ``environment()``; 8-bit pixels to tensors and back; and
what complexity counting asks (``complexity_model``, ``macs_counter``). A kind supplies only what
differs: :meth:`~LearnedCodecBase.build` (the model of a rate point and its weights' sha256),
:meth:`~LearnedCodecBase.pad` (the image as the model's input), ``compress`` and ``pack`` (model
output to bytes), ``unpack`` and ``decompress`` (bytes to the 8-bit picture, cropped), and
``version()``.

licbench's architectures (:class:`LearnedCodec`), spec parameters (all strings, as a spec
delivers them)::

    ckpt=FILE_OR_DIR   one checkpoint per rate point (see ``checkpoints`` for formats and order)
    config=NAME        paper (default, or what the checkpoints record) | tiny | small (cca and
                       convnext-charm)
    weights=random     no checkpoint: seeded random weights, for benchmarks and tests only
    seed=N             the seed of weights=random (default 0)
    order=RULE         auto | lmbda | name | name-desc: how rate points are numbered
    device=DEV         cpu (default) | cuda | cuda:N — where g_a and g_s run
    tile=PX            auto (default) | 0 (never) | PX (always; a multiple of 128): run g_a and
                       g_s in tiles of PX×PX pixels (see below)

Quality is the rate-point index 1..N, larger = more bits. ``decode`` needs only the bytes: the
header names the rate point and a 4-byte tag of the model, checked before decoding. Entropy
parameters are always computed on the CPU in float32 (see ``latent_codec`` for what this
guarantees across processes and devices); only the analysis and synthesis transforms use
``device``. An architecture joins in one module of ``archs/`` (its configurations and its codec
class, registered with :func:`~licbench.codecs.learned.configs.register_architecture`); its
network is the module its ``builder`` names.

Tiling (``tiling``) bounds the memory of g_a and g_s on large images. Untiled, the paper
configurations peak at 7.1–8.5 GB RSS coding a 2048×2048 image on CPU (SwinT-ChARM's decode
8.5 GB, CCA's 8.1 GB); with 512-px tiles at 2.5–3.3 GB, for a change in CPU time of CCA −4…+8 %,
ConvNeXt-ChARM +35 %, SwinT-ChARM −12 %; the table is in ``benchmarks/README.md``, section
``learned_memory.py``. With ``tile=auto`` images whose padded size exceeds
:data:`AUTO_TILE_ABOVE` pixels are coded in tiles of :data:`AUTO_TILE` pixels; smaller ones
(Kodak, Tecnick's 1200×1200) exactly as before. Tiled results equal untiled ones up to float32
rounding: max abs difference of x̂ up to 6e-6 (measured, paper configurations at 512×512 and
tiny ones), so an 8-bit value moves by one level only where x̂·255 lies that close to a
rounding boundary (at 2048×2048: 43, 3 and 0 of 12.6 M values for CCA, ConvNeXt-ChARM,
SwinT-ChARM), and the bitstreams measured were identical. Decoding is deterministic for a given
bitstream and setting: the decoder decides from the header's padded size and its own ``tile``,
so an encoder and a decoder may use different settings.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from licbench.codecs.base import Availability, Codec, CodecSpecError, check_rgb8
from licbench.codecs.learned import bitstream
from licbench.codecs.learned.configs import ARCHS, Arch, create_model
from licbench.codecs.learned.latency import StageTimer, make_stage_timer
from licbench.core.machine import cpu_model

if TYPE_CHECKING:  # torch, numpy and compressai load when a codec is made, not when listed
    import numpy as np
    import torch
    from torch import nn

    from licbench.codecs.learned.checkpoints import RatePoint
    from licbench.codecs.learned.model import LearnedCompressionModel

#: tile=auto tiles images whose padded area exceeds this many pixels (2 Mi: 2048×1024; untiled
#: peaks stay below ~5 GB, as they grow by 1.4–1.8 GB per Mpx above the model's ~1 GB) ...
AUTO_TILE_ABOVE = 2 * 1024 * 1024
#: ... in tiles of this many pixels square
AUTO_TILE = 512


@dataclass(frozen=True)
class Frame:
    """Bytes of either kind, parsed: what :class:`LearnedCodecBase` checks before decoding
    (the rate point and the model tag), the image's size, and the kind's own parse."""

    rate_point: int
    tag: bytes
    height: int
    width: int
    #: the kind's own: licbench's (bitstream header, strings), CompressAI's ``Container``
    parsed: Any


class _NoTimer(StageTimer):
    def stage(self, name: str) -> Any:
        return nullcontext()

    def results(self) -> dict[str, float]:
        return {}


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """An HxWx3 uint8 image as a (1, 3, H, W) uint8 tensor: a view of its memory (channels
    last in memory), copied only when the array is read-only or not contiguous (torch warns
    on read-only arrays)."""
    import numpy as np
    import torch

    pixels = np.require(image, requirements=["C", "W"])
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


def picture(pixels: torch.Tensor) -> np.ndarray:
    """A (1, 3, H, W) uint8 picture (on any device) as the HxWx3 uint8 array ``decode`` gives."""
    import torch

    if pixels.dtype != torch.uint8:
        raise TypeError(f"the decoder made {pixels.dtype}, not 8-bit pixels")
    return pixels[0].permute(1, 2, 0).cpu().numpy()


def _available_libraries() -> Availability:
    # looked up, not imported: importing compressai imports torch (seconds, and warnings), and
    # `licbench codecs` only asks whether the packages and the compiled coder are installed
    import importlib.util
    from pathlib import Path

    for module in ("torch", "compressai"):
        if importlib.util.find_spec(module) is None:
            return Availability(
                False, f"the {module} package is not installed", f"pip install {module}"
            )
    spec = importlib.util.find_spec("compressai")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not any(any(Path(folder).glob("ans*.so")) for folder in folders):
        return Availability(
            False,
            "compressai's rANS coder (compressai.ans) is not installed",
            "pip install compressai",
        )
    return Availability.yes()


class LearnedCodecBase(Codec):
    """What every learned codec shares (see the module docstring); a kind subclasses it.

    An instance has ``device``, ``seed``, ``qualities`` and ``rate_points`` (the checkpoints of
    ``ckpt=``, else empty) once :meth:`_parse_shared` has run in the kind's ``__init__``.
    """

    integer_quality: ClassVar[bool] = True
    float_decoder: ClassVar[bool] = True
    #: overwritten per instance with the range of its qualities
    quality_range: ClassVar[tuple[float, float]] = (1, 1)
    #: how many leading bytes of the weights' sha256 the kind's bytes carry as the model tag
    tag_bytes: ClassVar[int] = 4
    #: what the kind's ``unpack`` and the tag check raise on bytes that do not fit
    format_error: ClassVar[type[bitstream.BitstreamError]] = bitstream.BitstreamError
    #: the padding multiple of the model's input (complexity counts on the padded size)
    pad_multiple: ClassVar[int] = 64

    #: how spec errors name the codec ("cca", "compressai")
    spec_name: str
    device: torch.device
    seed: int
    rate_points: list[RatePoint]

    def __init__(self) -> None:
        super().__init__()
        self._models: dict[int, Any] = {}  # rate point -> model, built on first use
        self._tags: dict[int, bytes] = {}  # rate point -> the tag its bytes carry
        self._code: str | None = None

    # ------------------------------------------------------------------ spec
    def _parse_shared(
        self,
        *,
        ckpt: str | None,
        weights: str | None,
        weight_choices: Sequence[str],
        seed: str,
        order: str,
        device: str,
    ) -> None:
        """Check and keep the parameters both kinds take: ``device``, ``seed``, ``weights``
        (one of ``weight_choices``; not with ``ckpt``) and ``order``. The kind reads ``ckpt``
        with :meth:`_read_checkpoints` once it knows which (CCA's official weights, say)."""
        from licbench.codecs.learned.checkpoints import ORDERS

        self.device = self._parse_device(device)
        if weights is not None and weights not in weight_choices:
            choices = (
                f"the only value is weights={weight_choices[0]}"
                if len(weight_choices) == 1
                else f"choose from {', '.join(weight_choices)}"
            )
            raise CodecSpecError(f"{self.spec_name}: weights={weights!r}; {choices}")
        if ckpt and weights:
            raise CodecSpecError(f"{self.spec_name}: give ckpt=... or weights=..., not both")
        if order not in ORDERS:
            raise CodecSpecError(
                f"{self.spec_name}: order={order!r}; choose from {', '.join(ORDERS)}"
            )
        try:
            self.seed = int(seed)
        except ValueError:
            raise CodecSpecError(f"{self.spec_name}: seed={seed!r} is not an integer") from None
        self.rate_points = []

    def _read_checkpoints(self, ckpt: str, order: str) -> None:
        """:attr:`rate_points` from ``ckpt`` (a file or a folder), numbered by ``order``."""
        from licbench.codecs.learned.checkpoints import CheckpointError, discover_rate_points

        try:
            self.rate_points = discover_rate_points(ckpt, order)
        except CheckpointError as exc:
            raise CodecSpecError(f"{self.spec_name}: {exc}") from None

    def _parse_device(self, device: str) -> torch.device:
        import torch

        name = self.spec_name
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise CodecSpecError(f"{name}: device={device!r}; use cpu or cuda[:N]") from None
        if dev.type not in ("cpu", "cuda"):
            raise CodecSpecError(f"{name}: device={device!r}; use cpu or cuda[:N]")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise CodecSpecError(f"{name}: device={device} but torch sees no CUDA device")
        return dev

    def _set_qualities(self, qualities: Sequence[int]) -> None:
        self.qualities = tuple(qualities)
        # known only per instance
        self.quality_range = (min(self.qualities), max(self.qualities))  # type: ignore[misc]

    @classmethod
    def available(cls) -> Availability:
        return _available_libraries()

    # ------------------------------------------------------------------ models
    @property
    def who(self) -> str:
        """How run-time errors name this codec: the spec name, or the model for CompressAI."""
        return self.spec_name

    def rate_point(self, quality: float) -> int:
        """The rate point (set of weights) that codes ``quality``: here the quality itself,
        which must be one of :attr:`qualities`."""
        q = int(quality) if float(quality).is_integer() else -1
        if q not in self.qualities:
            raise ValueError(
                f"{self.who}: quality {quality!r} is not one of its rate points "
                f"{list(self.qualities)}"
            )
        return q

    def rate_points_here(self) -> tuple[int, ...]:
        """The rate points whose weights this codec holds (what bytes may name)."""
        return tuple(self.qualities)

    @abstractmethod
    def build(self, rate_point: int) -> tuple[Any, str]:
        """The model of ``rate_point``, ready to code (eval mode, entropy tables, on its
        device), and the sha256 (hex) that identifies its weights. Runs under a forked RNG
        seeded with :attr:`seed`."""

    def model(self, quality: float = 1) -> Any:
        """The model that codes ``quality``, built on first use (see :meth:`build`)."""
        return self._model_at(self.rate_point(quality))

    def _model_at(self, rate_point: int) -> Any:
        if rate_point not in self._models:
            import torch

            with torch.random.fork_rng(devices=[]):  # leave the caller's RNG alone
                torch.manual_seed(self.seed)
                model, sha256 = self.build(rate_point)
            self._models[rate_point] = model
            self._tags[rate_point] = bytes.fromhex(sha256)[: self.tag_bytes]
        return self._models[rate_point]

    def model_tag(self, quality: float) -> bytes:
        """The tag the bytes of ``quality`` carry: the first bytes of its weights' sha256."""
        rate_point = self.rate_point(quality)
        self._model_at(rate_point)
        return self._tags[rate_point]

    @abstractmethod
    def weights_identity(self) -> str:
        """The weights in one string (sha256 per rate point, or the random seed)."""

    # ------------------------------------------------------------------ encoding
    def encode(self, image: np.ndarray, quality: float) -> bytes:
        check_rgb8(image)
        rate_point = self.rate_point(quality)
        model = self._model_at(rate_point)
        height, width = image.shape[:2]
        payload = self.compress(model, self.pad(image), quality, rate_point)
        return self.pack(payload, rate_point, self._tags[rate_point], height, width)

    @abstractmethod
    def pad(self, image: np.ndarray) -> torch.Tensor:
        """The image as the model's input: a (1, 3, H', W') tensor, padded as the kind pads."""

    @abstractmethod
    def compress(self, model: Any, x: torch.Tensor, quality: float, rate_point: int) -> Any:
        """What the model codes ``x`` into at ``quality`` (strings and what decoding needs)."""

    @abstractmethod
    def pack(self, payload: Any, rate_point: int, tag: bytes, height: int, width: int) -> bytes:
        """The kind's bytes: its header (rate point, tag, the image's size) and ``payload``."""

    # ------------------------------------------------------------------ decoding
    def decode(self, data: bytes) -> np.ndarray:
        return self._decode(data, _NoTimer())

    def decode_profiled(
        self, data: bytes, timer: StageTimer | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Decode, timing the kind's stages (licbench's: ``entropy`` and ``synthesis``;
        CompressAI's: ``total``). ``timer`` defaults to CUDA events on a cuda device and
        ``perf_counter`` on the CPU."""
        timer = timer or make_stage_timer(self.device)
        image = self._decode(data, timer)
        return image, timer.results()

    def _decode(self, data: bytes, timer: StageTimer) -> np.ndarray:
        frame = self.unpack(data)
        rate_point, tag = frame.rate_point, frame.tag
        if rate_point not in self.rate_points_here():
            raise self.format_error(
                f"these bytes use rate point {rate_point}; {self.who} here has "
                f"{list(self.rate_points_here())}"
            )
        model = self._model_at(rate_point)
        if tag != self._tags[rate_point]:
            raise self.format_error(
                f"these bytes were made with other weights than {self.who} rate point "
                f"{rate_point} here: another model, or other weights of it (tag {tag.hex()} "
                f"!= {self._tags[rate_point].hex()}; the weights here: "
                f"{self.weights_identity()})"
            )
        return picture(self.decompress(model, frame, timer))

    @abstractmethod
    def unpack(self, data: bytes) -> Frame:
        """The kind's bytes parsed; its :attr:`format_error` on anything else."""

    @abstractmethod
    def decompress(self, model: Any, frame: Frame, timer: StageTimer) -> torch.Tensor:
        """The (1, 3, height, width) uint8 picture of ``frame`` (padding cropped) on the CPU,
        its work (the copy from the device too) in ``timer``'s stages."""

    # ------------------------------------------------------------------ facts
    @property
    def entropy_device(self) -> str:
        """Where the entropy parameters are computed (what a bitstream's portability rests on)."""
        return str(self.device)

    def environment(self) -> dict[str, str]:
        import torch

        from licbench.codecs.learned.zoo import compressai_version

        env = {
            "device": str(self.device),
            "device_name": cpu_model(),
            "torch": torch.__version__,
            "compressai": compressai_version(),
            "threads": str(torch.get_num_threads()),
            "interop_threads": str(torch.get_num_interop_threads()),
            "entropy_device": self.entropy_device,
        }
        if self.device.type == "cuda":
            env["device_name"] = torch.cuda.get_device_name(self.device)
            env["cuda"] = str(torch.version.cuda)
        return env

    def code_digest(self) -> str:
        """Digest of the code that makes this codec's numbers (:mod:`.code_identity`), once
        per codec."""
        if self._code is None:
            self._code = self._digest_code()
        return self._code

    @abstractmethod
    def _digest_code(self) -> str:
        """What :meth:`code_digest` caches."""

    # ------------------------------------------------------------------ complexity
    #: how complexity counting runs this kind's models part by part on the meta device:
    #: ``"module:function"``, function(model, x) -> MACs per part (``complexity.PARTS``),
    #: imported when counted (:func:`licbench.codecs.learned.complexity.codec_complexity`)
    macs_counter: ClassVar[str]

    @abstractmethod
    def complexity_model(self, quality: float | None = None) -> nn.Module:
        """The model whose parameters and MACs complexity counting counts (default quality:
        the highest, whose model is the largest where sizes change with the rate)."""


class LearnedCodec(LearnedCodecBase):
    """One of licbench's architectures (``arch``) with one checkpoint per rate point.

    Subclasses are declared in ``archs/`` with
    :func:`~licbench.codecs.learned.configs.register_architecture`, which sets :attr:`arch`.
    """

    arch: ClassVar[str] = ""
    #: the bare name (no ckpt=, paper config) runs the published weights from the weights cache
    official_weights: ClassVar[bool] = False
    pad_multiple: ClassVar[int] = 64  # model.PAD_MULTIPLE (model.py imports torch)

    def __init__(
        self,
        *,
        ckpt: str | None = None,
        config: str | None = None,
        weights: str | None = None,
        seed: str = "0",
        order: str = "auto",
        device: str = "cpu",
        tile: str = "auto",
        **unknown: str,
    ) -> None:
        super().__init__()
        if self.arch not in ARCHS:
            raise TypeError("instantiate an architecture's codec (CCA, ...), not LearnedCodec")
        self.spec_name = name = self.arch
        if unknown:
            raise CodecSpecError(
                f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}; it takes ckpt, "
                "config, weights, seed, order, device, tile"
            )
        self.tile = self._parse_tile(tile)
        self._parse_shared(
            ckpt=ckpt,
            weights=weights,
            weight_choices=("random",),
            seed=seed,
            order=order,
            device=device,
        )
        if not ckpt and not weights and self.official_weights and config in (None, "paper"):
            from licbench.codecs.learned.official_weights import (
                OfficialWeightsError,
                official_cca_ckpt,
            )

            try:
                ckpt = official_cca_ckpt()
            except OfficialWeightsError as exc:
                raise CodecSpecError(f"{name}: {exc}") from exc
        if not ckpt and not weights:
            raise CodecSpecError(
                f"{name} needs trained weights: ckpt=FILE_OR_DIR (one checkpoint per rate point), "
                "or weights=random for benchmarks and tests (meaningless rate-distortion)"
            )
        if ckpt:
            self._read_checkpoints(ckpt, order)
            config = self._resolve_config(config)
        self.config = config or "paper"
        if self.config not in self.architecture().configs:
            raise CodecSpecError(
                f"{name}: config={self.config!r}; choose from {sorted(self.architecture().configs)}"
            )
        self._set_qualities(range(1, max(1, len(self.rate_points)) + 1))

    @classmethod
    def architecture(cls) -> Arch:
        """The registry's entry of this codec's architecture (builder and configurations)."""
        return ARCHS[cls.arch]

    # ------------------------------------------------------------------ setup
    def _parse_tile(self, tile: str | int) -> int | None:
        """None for auto, 0 for never, else the tile size in pixels."""
        from licbench.codecs.learned.tiling import TILE_MULTIPLE, check_tile

        if str(tile) == "auto":
            return None
        try:
            size = int(tile)
            return size and check_tile(size)
        except ValueError:
            raise CodecSpecError(
                f"{self.arch}: tile={tile!r}; use auto, 0 (off) or a positive multiple of "
                f"{TILE_MULTIPLE} (pixels)"
            ) from None

    def tile_size(self, height: int, width: int) -> int:
        """The tile size (pixels, 0 = untiled) used for a padded ``height`` × ``width`` image."""
        if self.tile is not None:
            return self.tile
        return AUTO_TILE if height * width > AUTO_TILE_ABOVE else 0

    def _resolve_config(self, config: str | None) -> str | None:
        for rp in self.rate_points:
            if rp.arch is not None and rp.arch != self.arch:
                raise CodecSpecError(f"{self.arch}: {rp.path} is a {rp.arch!r} checkpoint")
        recorded = {rp.config for rp in self.rate_points if rp.config is not None}
        if len(recorded) > 1:
            raise CodecSpecError(f"{self.arch}: checkpoints mix configs {sorted(recorded)}")
        if recorded:
            (have,) = recorded
            if config is not None and config != have:
                raise CodecSpecError(
                    f"{self.arch}: config={config} but the checkpoints are config {have!r}"
                )
            return have
        return config

    @classmethod
    def available(cls) -> Availability:
        libraries = _available_libraries()
        if not libraries.ok or not cls.official_weights:
            return libraries
        from licbench.codecs.learned.official_weights import cca_weights_availability

        return cca_weights_availability()

    @classmethod
    def available_for(cls, params: Mapping[str, str]) -> Availability:
        # with its own weights (ckpt=, weights=random, another config) only the coder matters
        if params.get("ckpt") or params.get("weights") or params.get("config", "paper") != "paper":
            return _available_libraries()
        return cls.available()

    # ------------------------------------------------------------------ models
    def build(self, rate_point: int) -> tuple[LearnedCompressionModel, str]:
        from licbench.codecs.learned.checkpoints import load_weights, read_checkpoint

        model = create_model(self.arch, self.config)
        if self.rate_points:
            rp = self.rate_points[rate_point - 1]
            load_weights(model, read_checkpoint(rp.path), source=str(rp.path))
            sha256 = rp.sha256
        else:
            import hashlib

            identity = f"random:{self.arch}:{self.config}:{self.seed}"
            sha256 = hashlib.sha256(identity.encode()).hexdigest()
            model.update(force=True)
        return model.eval().place(self.device), sha256

    def weights_identity(self) -> str:
        if self.rate_points:
            return ",".join(f"{rp.quality}:{rp.sha256}" for rp in self.rate_points)
        return f"random:seed={self.seed}"

    # ------------------------------------------------------------------ contract
    def version(self) -> str:
        import torch

        from licbench.codecs.learned.model import PAD_MODE, PAD_MULTIPLE
        from licbench.codecs.learned.zoo import compressai_version

        parts = [
            f"arch={self.arch}",
            f"config={self.config}",
            f"bitstream={bitstream.FORMAT_VERSION}",
            f"pad={PAD_MODE}{PAD_MULTIPLE}",
            f"torch={torch.__version__}",
            f"compressai={compressai_version()}",
            f"device={self.device.type}",
            "tile="
            + (f"auto:{AUTO_TILE}>{AUTO_TILE_ABOVE}" if self.tile is None else str(self.tile)),
            f"code={self.code_digest()}",
            ("ckpt=" if self.rate_points else "weights=") + self.weights_identity(),
        ]
        return ";".join(parts)

    def _digest_code(self) -> str:
        """The architecture's modules, the coding glue, the configuration in use."""
        from licbench.codecs.learned.code_identity import arch_code_digest

        return arch_code_digest(self.arch, self.config)

    @property
    def entropy_device(self) -> str:
        return "cpu"  # the latent codec always runs on the CPU in float32 (``model.place``)

    def pad(self, image: np.ndarray) -> torch.Tensor:
        """Replicate padding at the right and bottom to a multiple of 64; tiled, the 8-bit
        image (tiles become floats one by one), else floats in [0, 1]."""
        import numpy as np

        from licbench.codecs.learned.model import pad_image

        height, width = image.shape[:2]
        multiple = self.pad_multiple
        if self.tile_size(-(-height // multiple) * multiple, -(-width // multiple) * multiple):
            below, right = -height % multiple, -width % multiple
            return image_tensor(np.pad(image, ((0, below), (0, right), (0, 0)), mode="edge"))
        return pad_image(image_tensor(image).float() / 255.0, multiple)

    def compress(
        self, model: LearnedCompressionModel, x: torch.Tensor, quality: float, rate_point: int
    ) -> list[bytes]:
        strings, _ = model.compress(x, self.tile_size(*x.shape[-2:]))
        return strings

    def pack(
        self, payload: list[bytes], rate_point: int, tag: bytes, height: int, width: int
    ) -> bytes:
        header = bitstream.Header(rate_point, tag, height, width, self.pad_multiple)
        return bitstream.pack(header, payload)

    def unpack(self, data: bytes) -> Frame:
        header, strings = bitstream.unpack(data)
        if header.pad_multiple != self.pad_multiple:
            raise bitstream.BitstreamError(f"unsupported pad multiple {header.pad_multiple}")
        return Frame(
            header.rate_point, header.model_tag, header.height, header.width, (header, strings)
        )

    def decompress(
        self, model: LearnedCompressionModel, frame: Frame, timer: StageTimer
    ) -> torch.Tensor:
        header, strings = frame.parsed
        hp, wp = header.padded_size
        with timer.stage("entropy"):
            y_hat = model.entropy_decode(
                strings, (hp // model.pad_multiple, wp // model.pad_multiple)
            )
        with timer.stage("synthesis"):
            # the 8-bit picture (tiled: made tile by tile, no float picture is ever whole)
            x_hat = model.synthesize(y_hat, self.tile_size(hp, wp), pixels=True)
            if tuple(x_hat.shape[-3:]) != (3, hp, wp):  # cropped below: only the padding
                raise ValueError(
                    f"{self.arch}: synthesis gave a picture of shape {tuple(x_hat.shape)}; the "
                    f"bitstream's {header.width}x{header.height} image is padded to {wp}x{hp}"
                )
            return x_hat[:1, :, : header.height, : header.width].cpu()  # (a no-op on the CPU)

    # ------------------------------------------------------------------ complexity
    macs_counter: ClassVar[str] = "licbench.codecs.learned.complexity:licbench_macs"

    def complexity_model(self, quality: float | None = None) -> nn.Module:
        """The architecture built on the meta device: no checkpoint is read (every rate
        point has the same architecture), nothing is allocated."""
        import torch

        with torch.device("meta"):
            return create_model(self.arch, self.config)


def __getattr__(name: str) -> type:
    # the architectures' codecs were defined here before each moved into its module of archs/
    # (``licbench.codecs.learned.codec:CCA`` was their registered name): found there by name
    # (all are declared once licbench.codecs is imported, which importing this module does)
    from licbench.codecs.learned.configs import DECLARED_CODECS

    for cls in DECLARED_CODECS.values():
        if cls.__name__ == name and not name.startswith("_"):
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
