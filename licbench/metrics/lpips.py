"""LPIPS with the AlexNet backbone (``lpips-alex``, lower is better), never downloading at run time.

The ``lpips`` package (v0.1 linear layers, shipped inside the package) sits on torchvision's
ImageNet AlexNet. Left alone, ``lpips.LPIPS()`` asks torchvision for that backbone, which
downloads it when it is not cached, in the middle of a benchmark. Here the network is built with
a random backbone (no download possible), and the backbone's weights are loaded from the torch hub
cache ourselves, with ``weights_only=True``, after checking that the file is there:

    $TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth

(``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch`` or ``~/.cache/torch``, as for torch hub.)

When it is missing the metric is unavailable and says which file is needed and how to get it:
``licbench fetch-weights lpips`` on a connected machine downloads it into the same place,
checking that its sha256 starts with the 8 hex digits in its name (torch hub's convention).

The file's hash is checked again when the metric loads it (once per process, about 0.3 s), so a
stored LPIPS value always comes from the official weights: the result store keys jobs by metric
name, not by the weights behind it. Tests plant a random backbone under the official name and
skip that check with the explicit ``verify_hash=False`` of :class:`LPIPSAlex` — the only way to
skip it.

Inputs are the 8-bit RGB images scaled to [−1, 1] (``x / 127.5 − 1``), which is what the
package expects without ``normalize=True``; the value is the spatial average over the image.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licbench.core.availability import Availability
from licbench.core.files import atomic_writer, file_sha256

if TYPE_CHECKING:  # numpy and urllib are imported where used: the metric table stays light
    import numpy as np

#: torchvision's ImageNet AlexNet (IMAGENET1K_V1), the backbone LPIPS was calibrated on
ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
#: torch hub convention: the file name carries the first hex digits of its sha256
ALEXNET_SHA256_PREFIX = "7be5be79"
FETCH_HINT = "run `licbench fetch-weights lpips` on a machine with internet"


class WeightsError(RuntimeError):
    """LPIPS weights that are missing, damaged or not the expected file."""


def torch_home() -> Path:
    """Torch's cache folder, resolved as ``torch.hub`` does (without importing torch)."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "torch"


def backbone_path() -> Path:
    """Where the AlexNet backbone must be: ``$TORCH_HOME/hub/checkpoints/<ALEXNET_FILE>``."""
    return torch_home() / "hub" / "checkpoints" / ALEXNET_FILE


def missing_message(path: Path) -> str:
    return (
        f"LPIPS needs torchvision's AlexNet weights at {path} and they are not there; "
        f"{FETCH_HINT} (with TORCH_HOME set as here, or copy {ALEXNET_FILE} into "
        f"{path.parent} afterwards)"
    )


def availability() -> Availability:
    """Whether ``lpips-alex`` can be computed here, without importing torch."""
    import importlib.util

    for module, dist in (("lpips", "lpips"), ("torchvision", "torchvision")):
        if importlib.util.find_spec(module) is None:
            return Availability(
                False, f"the {dist} package is not installed", f"pip install {dist}"
            )
    path = backbone_path()
    if not path.is_file():
        return Availability(False, missing_message(path), FETCH_HINT)
    return Availability.yes()


_verified: dict[tuple[str, int, int], str] = {}


def known_sha256(path: Path) -> str:
    """The file's sha256, hashed once per process for each (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        _verified[key] = file_sha256(path)
    return _verified[key]


def check_sha256_prefix(path: Path, prefix: str) -> None:
    actual = known_sha256(path)
    if not actual.startswith(prefix):
        raise WeightsError(
            f"{path}: sha256 {actual[:16]}... does not start with {prefix}; the file is damaged "
            f"or not torchvision's {ALEXNET_FILE}. Delete it and {FETCH_HINT}"
        )


def _lpips_linear_weights() -> Path:
    import lpips

    return Path(lpips.__file__).resolve().parent / "weights" / "v0.1" / "alex.pth"


def build_lpips_alex(path: Path, *, verify_hash: bool = True) -> Any:
    """The LPIPS v0.1 AlexNet network with the backbone from ``path``, in eval mode, on CPU."""
    if not path.is_file():
        raise WeightsError(missing_message(path))
    if verify_hash:
        check_sha256_prefix(path, ALEXNET_SHA256_PREFIX)
    import lpips
    import torch

    with warnings.catch_warnings():
        # lpips passes torchvision the deprecated pretrained=False: a random backbone, no download
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(
            net="alex", version="0.1", pretrained=False, pnet_rand=True, verbose=False
        )

    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    features = {
        k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")
    }
    backbone = {}
    for slice_name, block in model.net.named_children():
        for index, layer in block.named_children():
            for param in layer.state_dict():
                key = f"{index}.{param}"
                if key not in features:
                    raise WeightsError(f"{path}: no features.{key}; is this an AlexNet state dict?")
                backbone[f"{slice_name}.{key}"] = features[key]
    model.net.load_state_dict(backbone, strict=True)

    linear = torch.load(_lpips_linear_weights(), map_location="cpu", weights_only=True)
    result = model.load_state_dict(linear, strict=False)
    missing_lin = [
        k for k in result.missing_keys if k.startswith("lin") and not k.startswith("lins")
    ]
    if result.unexpected_keys or missing_lin:
        raise WeightsError(
            f"the lpips package's linear weights do not fit: unexpected {result.unexpected_keys}, "
            f"missing {missing_lin}"
        )
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def to_lpips_input(image: np.ndarray) -> Any:
    """HxWx3 uint8 → 1x3xHxW float32 tensor in [−1, 1]."""
    import numpy as np
    import torch

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    scaled = image.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return torch.from_numpy(np.ascontiguousarray(scaled.transpose(2, 0, 1)))[None]


class LPIPSAlex:
    """``lpips-alex`` as a callable; the network is built on first use and kept per process."""

    def __init__(self, path: str | Path | None = None, *, verify_hash: bool = True) -> None:
        self._path = Path(path) if path is not None else None
        self.verify_hash = verify_hash
        self._model: Any = None
        self._model_path: Path | None = None

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else backbone_path()

    def model(self) -> Any:
        path = self.path
        if self._model is None or self._model_path != path:
            self._model = build_lpips_alex(path, verify_hash=self.verify_hash)
            self._model_path = path
        return self._model

    def __call__(self, original: np.ndarray, decoded: np.ndarray) -> float:
        import torch

        if original.shape != decoded.shape:
            raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")
        model = self.model()
        with torch.no_grad():
            value = model(to_lpips_input(original), to_lpips_input(decoded))
        return float(value.reshape(-1)[0])


#: the instance the registered metric uses
DEFAULT = LPIPSAlex()


def lpips_alex(original: np.ndarray, decoded: np.ndarray) -> float:
    return DEFAULT(original, decoded)


# ---------------------------------------------------------------------------- fetching weights


def alexnet_url() -> str:
    """torchvision's download address of the backbone (read from torchvision, not repeated)."""
    from torchvision.models import AlexNet_Weights

    url = AlexNet_Weights.IMAGENET1K_V1.url
    if not url.endswith("/" + ALEXNET_FILE):
        raise WeightsError(f"torchvision's AlexNet weights are now {url}, not {ALEXNET_FILE}")
    return url


def fetch_weights(
    *,
    url: str | None = None,
    destination: str | Path | None = None,
    sha256_prefix: str = ALEXNET_SHA256_PREFIX,
    report: Callable[[str], None] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the AlexNet backbone into the torch hub cache; check its sha256 prefix.

    An existing file with the right hash is kept. The download goes to a temporary file in the
    same folder and is renamed only after the check, so a failed or damaged download never
    leaves a file under the name the metric looks for.
    """
    target = Path(destination) if destination is not None else backbone_path()
    say = report or (lambda _message: None)
    if target.is_file():
        try:
            check_sha256_prefix(target, sha256_prefix)
        except WeightsError:
            say(f"{target} has the wrong sha256; downloading it again")
        else:
            say(f"{target} is already there (sha256 {known_sha256(target)[:16]}...)")
            return target
    import urllib.request

    source = url or alexnet_url()
    say(f"downloading {source} to {target}")
    digest = hashlib.sha256()
    with atomic_writer(target) as out, urllib.request.urlopen(source, timeout=timeout) as r:
        for block in iter(lambda: r.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
        actual = digest.hexdigest()
        if not actual.startswith(sha256_prefix):  # raising here keeps the file from the name
            raise WeightsError(
                f"downloaded {source}: sha256 {actual[:16]}... does not start with "
                f"{sha256_prefix}; not saved"
            )
    say(f"saved {target} (sha256 {actual[:16]}...)")
    return target
