"""Reading, checking and writing learned-codec checkpoints; one file per rate point.

The licbench checkpoint format (version 1)
------------------------------------------
A file written by ``torch.save`` holding a dict of plain types and tensors only, so that it loads
with ``torch.load(weights_only=True)``::

    {
        "format": "licbench.learned-checkpoint",
        "format_version": 1,
        "arch": "cca",                # a name of configs.ARCHS
        "config": "paper",            # a config of that arch
        "lmbda": 0.0130,              # distortion weight of loss = R + lmbda·255²·MSE (see below)
        "state_dict": {...},          # licbench key names, without the derived entropy tables
        "metadata": {                 # training facts; free-form but plain types only
            "epoch": 300, "step": 1_200_000, "loss": ..., "dataset": "...",
            "created": "2025-...", "licbench": "0.1.0", "torch": "2.x", "notes": "...",
        },
    }

``lmbda`` always uses the CompressAI convention: a larger value means more bits. A trainer using
another convention (CCA weights the rate instead: 0.05·255²·MSE + β·R) stores the equivalent
(0.05 / β). The entropy tables (``_quantized_cdf``, ``_offset``, ``_cdf_length``,
``scale_table``) are never stored or trusted: :func:`load_weights` rebuilds them with
``update()``, so they always match the parameters and this compressai.

What else loads
---------------
``{"state_dict": ...}`` wrappers of any kind (CompressAI's and CCA's training checkpoints:
``{epoch, state_dict, loss, optimizer, ...}``), bare state dicts, ``module.`` prefixes
(DataParallel), and the official CCA key names (mapped by the explicit :data:`CCA_KEY_MAP`; keys
of CCA's auxiliary training model are dropped). Anything else fails with the missing, unexpected
and mis-shaped keys listed.

Rate points in a folder
-----------------------
Files ending in .pt, .pth, .pth.tar, .ckpt or .tar (not recursive). Quality 1..N is assigned in
increasing rate: by ``lmbda`` when every file has one, otherwise by file name in natural order
(digits compared as numbers). ``order=name-desc`` reverses the name order, for folders named by a
rate weight (larger = fewer bits); ``order=lmbda`` / ``order=name`` force a rule.
"""

from __future__ import annotations

import numbers
import os
import pickle
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from licbench.codecs.learned.latent_codec import DERIVED_BUFFERS
from licbench.core.files import atomic_writer, file_sha256

CHECKPOINT_FORMAT = "licbench.learned-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".pth.tar", ".ckpt", ".tar")
ORDERS = ("auto", "lmbda", "name", "name-desc")

#: official CCA (``LICAutoencoder``) key prefix → licbench key prefix; inner names are equal
CCA_KEY_MAP: tuple[tuple[str, str], ...] = (
    ("g_a.", "g_a."),
    ("g_s.", "g_s."),
    ("h_a.", "latent.h_a."),
    ("h_mean_s.", "latent.h_mean_s."),
    ("h_scale_s.", "latent.h_scale_s."),
    ("mean_NAF_transforms.", "latent.mean_support_transforms."),
    ("scale_NAF_transforms.", "latent.scale_support_transforms."),
    ("mean_cc_transforms.", "latent.mean_transforms."),
    ("scale_cc_transforms.", "latent.scale_transforms."),
    ("lrp_transforms.", "latent.lrp_transforms."),
    ("z_entropy_bottleneck.", "latent.entropy_bottleneck."),
    ("gaussian_conditional.", "latent.gaussian_conditional."),
)
#: keys of CCA's auxiliary entropy model: used only by the CCA training loss
CCA_TRAINING_ONLY_PREFIXES = ("aux_entropymodel.",)
_LIST_LIMIT = 25
#: the number ``torch.save``'s legacy (non-zip) format pickles first, as its pickle bytes
_LEGACY_MAGIC = bytes.fromhex("8a0a6cfc9c46f9206aa85019")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, is refused, or does not fit the model."""

    def __init__(
        self,
        message: str,
        *,
        missing: Iterable[str] = (),
        unexpected: Iterable[str] = (),
        mismatched: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.mismatched = sorted(mismatched)


def read_checkpoint(path: str | os.PathLike[str], *, mmap: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors that say what happened.

    ``weights_only`` refuses pickles that would build arbitrary objects (and so run code); such a
    file is reported, never executed.
    """
    why = not_a_checkpoint(path)
    if why is not None:
        raise CheckpointError(f"{path} is not a PyTorch checkpoint ({why})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        detail = f"it holds a {found.group(1)}" if found else str(exc).splitlines()[0]
        raise CheckpointError(
            f"{path}: refused by torch.load(weights_only=True) ({detail}): it holds objects "
            "other than tensors and plain containers, which could run code when loaded. Re-save "
            "only the state dict and plain metadata (save_checkpoint does)."
        ) from exc
    except RuntimeError as exc:
        if mmap:  # old (non-zip) serialisation cannot be memory-mapped
            return read_checkpoint(path, mmap=False)
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: cannot read: {exc}") from exc
    except Exception as exc:  # torch's unpickler fails on damaged files with any error at all
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (torch.load failed: {type(exc).__name__}: {exc})"
        ) from exc


def not_a_checkpoint(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be a file ``torch.save`` wrote, judged from its container; else None.

    torch.load's own errors on such files are internal ("list index out of range" for a text
    file, a C++ assertion for a zip), so the two formats torch writes are recognised first: a zip
    archive holding ``*/data.pkl``, or (the legacy format) a pickle that starts with torch's
    magic number. A file that cannot be opened is left to torch.load to report.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if size == 0:
        return "the file is empty"
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            return f"a damaged zip archive: {exc}"
        if not any(name.count("/") == 1 and name.endswith("/data.pkl") for name in names):
            return "a zip archive, but not one torch.save wrote: it has no data.pkl"
        return None
    if head.startswith(b"\x80"):  # a pickle (protocol 2 or later)
        if _LEGACY_MAGIC in head:
            return None
        return "a Python pickle, but not one torch.save wrote: it lacks torch's magic number"
    if tarfile.is_tarfile(path):  # torch's oldest format
        return None
    if all(byte >= 0x20 or byte in b"\t\n\r" for byte in head):
        return "it is a text file, not a zip archive or a pickle as torch.save writes"
    return "neither a zip archive nor a pickle, the formats torch.save writes"


def extract_state_dict(obj: Any) -> dict[str, Tensor]:
    """The state dict inside a checkpoint: unwrap ``{"state_dict": ...}``, strip ``module.``."""
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError("checkpoint holds no state dict (expected a dict of tensors)")
    if not all(isinstance(v, Tensor) for v in obj.values()):
        keys = ", ".join(sorted(map(str, obj))[:10])
        raise CheckpointError(f"checkpoint is neither a state dict nor wraps one; keys: {keys}")
    return {(k[7:] if k.startswith("module.") else k): v for k, v in obj.items()}


def map_official_cca_keys(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename official CCA keys with :data:`CCA_KEY_MAP`; drop the auxiliary training model."""
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith(CCA_TRAINING_ONLY_PREFIXES):
            continue
        for official, ours in CCA_KEY_MAP:
            if key.startswith(official) and not key.startswith("latent."):
                key = ours + key[len(official) :]
                break
        out[key] = value
    return out


def _is_derived(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in DERIVED_BUFFERS


def _listing(title: str, keys: list[str], limit: int) -> str:
    shown = keys[:limit]
    more = f" ... and {len(keys) - len(shown)} more" if len(keys) > len(shown) else ""
    return f"\n  {title} ({len(keys)}): " + ", ".join(shown) + more


def mismatch_error(
    subject: str, mismatch: tuple[list, list, list], source: str, limit: int = _LIST_LIMIT
) -> CheckpointError:
    """The error naming what of ``mismatch`` (missing, unexpected, mis-shaped keys, as
    :func:`key_differences` gives them) keeps ``source`` from fitting ``subject``; at most
    ``limit`` keys of each kind are listed."""
    missing, unexpected, mismatched = mismatch
    message = f"{source} does not fit {subject}:"
    if missing:
        message += _listing("missing keys", missing, limit)
    if unexpected:
        message += _listing("unexpected keys", unexpected, limit)
    if mismatched:
        message += _listing("shape mismatches (checkpoint != model)", mismatched, limit)
    return CheckpointError(message, missing=missing, unexpected=unexpected, mismatched=mismatched)


def key_differences(
    model: Any, state_dict: Mapping[str, Any], skip: Callable[[str], bool]
) -> tuple[list[str], list[str], list[str]]:
    """(missing, unexpected, mis-shaped) keys of ``state_dict`` against ``model``, leaving out
    the keys ``skip`` says the model rebuilds itself."""
    expected = {k: v for k, v in model.state_dict().items() if not skip(k)}
    given = {k: v for k, v in state_dict.items() if not skip(k)}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    mismatched = sorted(
        f"{k} {tuple(given[k].shape)} != {tuple(expected[k].shape)}"
        for k in set(given) & set(expected)
        if given[k].shape != expected[k].shape
    )
    return missing, unexpected, mismatched


def check_state_dict(model: nn.Module, state_dict: Mapping[str, Tensor], source: str = "") -> None:
    """Raise :class:`CheckpointError` listing missing, unexpected and mis-shaped keys."""
    mismatch = key_differences(model, state_dict, _is_derived)
    if any(mismatch):
        arch = getattr(model, "arch", type(model).__name__)
        config = getattr(model, "config_name", "")
        raise mismatch_error(f"{arch}/{config}", mismatch, source or "checkpoint")


def normalize_state_dict(model: nn.Module, obj: Any) -> dict[str, Tensor]:
    """The checkpoint's state dict in licbench key names, derived tables dropped."""
    state_dict = extract_state_dict(obj)
    if getattr(model, "arch", None) == "cca":
        state_dict = map_official_cca_keys(state_dict)
    return {k: v for k, v in state_dict.items() if not _is_derived(k)}


def load_weights(model: nn.Module, obj: Any, *, source: str = "") -> None:
    """Check ``obj`` (a checkpoint or state dict) against ``model``, load it, rebuild tables."""
    arch = getattr(model, "arch", None)
    if isinstance(obj, Mapping) and isinstance(obj.get("arch"), str) and obj["arch"] != arch:
        raise CheckpointError(f"{source or 'checkpoint'} is for {obj['arch']!r}, not {arch!r}")
    state_dict = normalize_state_dict(model, obj)
    check_state_dict(model, state_dict, source)
    model.load_state_dict(state_dict, strict=False)
    model.update(force=True)


def _plain(value: Any, where: str) -> Any:
    """``value`` as types ``torch.load(weights_only=True)`` accepts (str subclasses such as
    ``torch.__version__`` would otherwise be pickled as their class and refused)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if isinstance(value, Tensor):
        return value.detach().to("cpu")
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: {type(value).__name__} is not plain data (str, number, list, dict)")


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    *,
    lmbda: float | None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` in the licbench checkpoint format (atomically); returns the path."""
    state_dict = {
        k: v.detach().to("cpu").clone() for k, v in model.state_dict().items() if not _is_derived(k)
    }
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "arch": getattr(model, "arch", None),
        "config": getattr(model, "config_name", None),
        "lmbda": None if lmbda is None else float(lmbda),
        "state_dict": state_dict,
        "metadata": _plain(dict(metadata or {}), "metadata"),
    }
    path = Path(path)
    with atomic_writer(path) as f:
        torch.save(payload, f)
    return path


@dataclass
class RatePoint:
    """One checkpoint file of a codec: quality index, path, and what its header said."""

    quality: int
    path: Path
    lmbda: float | None
    arch: str | None
    config: str | None
    _sha256: str | None = None

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _header(path: Path) -> tuple[float | None, str | None, str | None]:
    obj = read_checkpoint(path, mmap=True)  # tensors stay on disk: only the header is read
    if not isinstance(obj, Mapping):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint of a model (it holds a {type(obj).__name__}, "
            "not a dict of tensors or a dict wrapping a state dict)"
        )
    lmbda = obj.get("lmbda")
    arch, config = obj.get("arch"), obj.get("config")
    return (
        float(lmbda) if isinstance(lmbda, int | float) else None,
        arch if isinstance(arch, str) else None,
        config if isinstance(config, str) else None,
    )


def discover_rate_points(path: str | os.PathLike[str], order: str = "auto") -> list[RatePoint]:
    """The checkpoints of ``path`` (a file or a folder), quality 1..N in increasing rate."""
    if order not in ORDERS:
        raise CheckpointError(f"order={order!r}: choose from {', '.join(ORDERS)}")
    root = Path(path).expanduser()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(
            (p for p in root.iterdir() if p.is_file() and p.name.endswith(CHECKPOINT_SUFFIXES)),
            key=_natural_key,
        )
        if not files:
            raise CheckpointError(
                f"{root}: no checkpoint files ({', '.join(CHECKPOINT_SUFFIXES)}) in this folder"
            )
    else:
        raise CheckpointError(f"ckpt={path}: no such file or folder")
    headers = [(f, *_header(f)) for f in files]
    by_lmbda = all(h[1] is not None for h in headers)
    if order == "lmbda" and not by_lmbda:
        lacking = [h[0].name for h in headers if h[1] is None]
        raise CheckpointError(f"order=lmbda but these checkpoints store no lmbda: {lacking}")
    if order == "lmbda" or (order == "auto" and by_lmbda):
        headers.sort(key=lambda h: (h[1], _natural_key(h[0])))
    elif order == "name-desc":
        headers.reverse()
    return [
        RatePoint(i + 1, f, lmbda, arch, config)
        for i, (f, lmbda, arch, config) in enumerate(headers)
    ]
