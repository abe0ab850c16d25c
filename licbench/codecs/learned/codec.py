"""The learned codecs as licbench codecs: CCA, ConvNeXt-ChARM and SwinT-ChARM.

Spec parameters (all strings, as a spec delivers them)::

    ckpt=FILE_OR_DIR   one checkpoint per rate point (see ``checkpoints`` for formats and order)
    config=NAME        paper (default, or what the checkpoints record) | tiny
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
``device``.

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

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

from licbench.codecs.base import Availability, Codec, CodecSpecError, check_rgb8
from licbench.codecs.learned import bitstream
from licbench.codecs.learned.configs import ARCHS, create_model
from licbench.codecs.learned.latency import StageTimer, make_stage_timer
from licbench.core.machine import cpu_model

if TYPE_CHECKING:  # torch, numpy and compressai load when a codec is made, not when listed
    import numpy as np
    import torch

    from licbench.codecs.learned.checkpoints import RatePoint
    from licbench.codecs.learned.model import LearnedCompressionModel

#: tile=auto tiles images whose padded area exceeds this many pixels (2 Mi: 2048×1024; untiled
#: peaks stay below ~5 GB, as they grow by 1.4–1.8 GB per Mpx above the model's ~1 GB) ...
AUTO_TILE_ABOVE = 2 * 1024 * 1024
#: ... in tiles of this many pixels square
AUTO_TILE = 512


class _NoTimer(StageTimer):
    def stage(self, name: str) -> Any:
        return nullcontext()

    def results(self) -> dict[str, float]:
        return {}


class LearnedCodec(Codec):
    """One learned architecture (``arch``) with one checkpoint per rate point."""

    arch: ClassVar[str] = ""
    integer_quality: ClassVar[bool] = True
    float_decoder: ClassVar[bool] = True
    #: overwritten per instance with (1, number of rate points)
    quality_range: ClassVar[tuple[float, float]] = (1, 1)
    #: the bare name (no ckpt=, paper config) runs the published weights from the weights cache
    official_weights: ClassVar[bool] = False

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
        from licbench.codecs.learned.checkpoints import (
            ORDERS,
            CheckpointError,
            discover_rate_points,
        )

        name = self.arch
        if name not in ARCHS:
            raise TypeError("instantiate CCA, ConvNeXtCharm or SwinTCharm, not LearnedCodec")
        if unknown:
            raise CodecSpecError(
                f"{name}: unknown parameter(s) {', '.join(sorted(unknown))}; it takes ckpt, "
                "config, weights, seed, order, device, tile"
            )
        self.device = self._parse_device(device)
        self.tile = self._parse_tile(tile)
        if weights not in (None, "random"):
            raise CodecSpecError(f"{name}: weights={weights!r}; the only value is weights=random")
        if ckpt and weights:
            raise CodecSpecError(f"{name}: give ckpt=... or weights=random, not both")
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
        if order not in ORDERS:
            raise CodecSpecError(f"{name}: order={order!r}; choose from {', '.join(ORDERS)}")
        self.rate_points: list[RatePoint] = []
        self.seed: int | None = None
        if ckpt:
            try:
                self.rate_points = discover_rate_points(ckpt, order)
            except CheckpointError as exc:
                raise CodecSpecError(f"{name}: {exc}") from exc
            config = self._resolve_config(config)
        else:
            try:
                self.seed = int(seed)
            except ValueError:
                raise CodecSpecError(f"{name}: seed={seed!r} is not an integer") from None
        self.config = config or "paper"
        if self.config not in ARCHS[self.arch].configs:
            raise CodecSpecError(
                f"{name}: config={self.config!r}; choose from {sorted(ARCHS[self.arch].configs)}"
            )
        count = max(1, len(self.rate_points))
        self.qualities = tuple(range(1, count + 1))
        self.quality_range = (1, count)  # type: ignore[misc]  # known only per instance
        self._models: dict[int, LearnedCompressionModel] = {}
        self._tags: dict[int, bytes] = {}
        self._code: str | None = None

    # ------------------------------------------------------------------ setup
    def _parse_device(self, device: str) -> torch.device:
        import torch

        try:
            dev = torch.device(device)
        except RuntimeError:
            raise CodecSpecError(f"{self.arch}: device={device!r}; use cpu or cuda[:N]") from None
        if dev.type not in ("cpu", "cuda"):
            raise CodecSpecError(f"{self.arch}: device={device!r}; use cpu or cuda[:N]")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise CodecSpecError(f"{self.arch}: device={device} but torch sees no CUDA device")
        return dev

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
        coder = cls._coder_available()
        if not coder.ok or not cls.official_weights:
            return coder
        from licbench.codecs.learned.official_weights import cca_weights_availability

        return cca_weights_availability()

    @classmethod
    def available_for(cls, params: Mapping[str, str]) -> Availability:
        # with its own weights (ckpt=, weights=random, another config) only the coder matters
        if params.get("ckpt") or params.get("weights") or params.get("config", "paper") != "paper":
            return cls._coder_available()
        return cls.available()

    @staticmethod
    def _coder_available() -> Availability:
        # looked up, not imported: importing compressai imports torch (seconds, and warnings),
        # and `licbench codecs` only asks whether the compiled coder is installed
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("compressai")
        folders = list(spec.submodule_search_locations or []) if spec else []
        if not any(any(Path(folder).glob("ans*.so")) for folder in folders):
            return Availability(
                False,
                "compressai's rANS coder (compressai.ans) is not installed",
                "pip install compressai",
            )
        return Availability.yes()

    # ------------------------------------------------------------------ models
    def _quality_index(self, quality: float) -> int:
        q = int(quality) if float(quality).is_integer() else -1
        if not 1 <= q <= len(self.qualities):
            raise ValueError(
                f"{self.arch}: quality {quality!r} is not a rate point 1..{len(self.qualities)}"
            )
        return q

    def model(self, quality: float = 1) -> LearnedCompressionModel:
        """The model of one rate point, loaded on first use (eval mode, entropy tables built)."""
        import torch

        from licbench.codecs.learned.checkpoints import load_weights, read_checkpoint

        q = self._quality_index(quality)
        if q not in self._models:
            with torch.random.fork_rng(devices=[]):  # leave the caller's RNG alone
                torch.manual_seed(self.seed or 0)
                model = create_model(self.arch, self.config)
            if self.rate_points:
                rp = self.rate_points[q - 1]
                self._tags[q] = bytes.fromhex(rp.sha256)[:4]
                load_weights(model, read_checkpoint(rp.path), source=str(rp.path))
            else:
                identity = f"random:{self.arch}:{self.config}:{self.seed}"
                self._tags[q] = hashlib.sha256(identity.encode()).digest()[:4]
                model.update(force=True)
            self._models[q] = model.eval().place(self.device)
        return self._models[q]

    def model_tag(self, quality: float) -> bytes:
        self.model(quality)
        return self._tags[self._quality_index(quality)]

    # ------------------------------------------------------------------ contract
    def version(self) -> str:
        import compressai
        import torch

        from licbench.codecs.learned.model import PAD_MODE, PAD_MULTIPLE

        parts = [
            f"arch={self.arch}",
            f"config={self.config}",
            f"bitstream={bitstream.FORMAT_VERSION}",
            f"pad={PAD_MODE}{PAD_MULTIPLE}",
            f"torch={torch.__version__}",
            f"compressai={compressai.__version__}",
            f"device={self.device.type}",
            "tile="
            + (f"auto:{AUTO_TILE}>{AUTO_TILE_ABOVE}" if self.tile is None else str(self.tile)),
            f"code={self.code_digest()}",
        ]
        if self.rate_points:
            parts.append("ckpt=" + ",".join(f"{rp.quality}:{rp.sha256}" for rp in self.rate_points))
        else:
            parts.append(f"weights=random:seed={self.seed}")
        return ";".join(parts)

    def code_digest(self) -> str:
        """Digest of the code this architecture and configuration run (the architecture's
        modules, the coding glue, the configuration: :mod:`.code_identity`); once per codec."""
        if self._code is None:
            from licbench.codecs.learned.code_identity import arch_code_digest

            self._code = arch_code_digest(self.arch, self.config)
        return self._code

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        import numpy as np
        import torch

        from licbench.codecs.learned.model import pad_image

        check_rgb8(image)
        model = self.model(quality)
        q = self._quality_index(quality)
        height, width = image.shape[:2]
        multiple = model.pad_multiple
        tile = self.tile_size(-(-height // multiple) * multiple, -(-width // multiple) * multiple)
        if tile:  # the 8-bit image, padded (edge = replicate): tiles become floats one by one
            below, right = -height % multiple, -width % multiple
            pixels = np.pad(image, ((0, below), (0, right), (0, 0)), mode="edge")
            x = torch.from_numpy(pixels).permute(2, 0, 1)[None]
        else:
            # a writable, contiguous copy only when needed: torch warns on read-only arrays
            pixels = np.require(image, requirements=["C", "W"])
            x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255.0
            x = pad_image(x, multiple)
        strings, _ = model.compress(x, tile)
        header = bitstream.Header(q, self._tags[q], height, width, model.pad_multiple)
        return bitstream.pack(header, strings)

    def decode(self, data: bytes) -> np.ndarray:
        return self._decode(data, _NoTimer())

    def decode_profiled(
        self, data: bytes, timer: StageTimer | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """Decode, timing ``entropy`` (z, hyper synthesis, slices) and ``synthesis`` (g_s).

        ``timer`` defaults to CUDA events on a cuda device and ``perf_counter`` on the CPU.
        """
        timer = timer or make_stage_timer(self.device)
        image = self._decode(data, timer)
        return image, timer.results()

    def _decode(self, data: bytes, timer: StageTimer) -> np.ndarray:
        import torch

        header, strings = bitstream.unpack(data)
        if header.rate_point > len(self.qualities):
            raise bitstream.BitstreamError(
                f"bitstream uses rate point {header.rate_point}; this codec has "
                f"{len(self.qualities)}"
            )
        model = self.model(header.rate_point)
        if header.model_tag != self._tags[header.rate_point]:
            raise bitstream.BitstreamError(
                f"bitstream was made by another model than {self.arch} rate point "
                f"{header.rate_point} of this codec (model tag {header.model_tag.hex()} != "
                f"{self._tags[header.rate_point].hex()})"
            )
        if header.pad_multiple != model.pad_multiple:
            raise bitstream.BitstreamError(f"unsupported pad multiple {header.pad_multiple}")
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
            pixels = x_hat[0, :, : header.height, : header.width].permute(1, 2, 0)
            if pixels.dtype != torch.uint8:
                raise TypeError(f"{self.arch}: synthesis gave {pixels.dtype}, not 8-bit pixels")
            image = pixels.cpu().numpy()
        return image

    def environment(self) -> dict[str, str]:
        import compressai
        import torch

        env = {
            "device": str(self.device),
            "device_name": cpu_model(),
            "torch": torch.__version__,
            "compressai": compressai.__version__,
            "threads": str(torch.get_num_threads()),
            "interop_threads": str(torch.get_num_interop_threads()),
            "entropy_device": "cpu",
        }
        if self.device.type == "cuda":
            env["device_name"] = torch.cuda.get_device_name(self.device)
            env["cuda"] = str(torch.version.cuda)
        return env


class CCA(LearnedCodec):
    arch = "cca"
    description = ARCHS["cca"].description
    official_weights = True  # `licbench fetch-weights cca`: the paper's four checkpoints


class ConvNeXtCharm(LearnedCodec):
    arch = "convnext-charm"
    description = ARCHS["convnext-charm"].description


class SwinTCharm(LearnedCodec):
    arch = "swint-charm"
    description = ARCHS["swint-charm"].description
