"""Any PyTorch module with CompressAI's API as a model: import it, check it, load its weights.

The API is CompressAI's: ``compress(x) -> {"strings": ..., "shape": ...}`` and
``decompress(strings, shape) -> {"x_hat": ...}``, plus (optionally) ``update(force=True)`` to
build the entropy coder's tables. ``model=package.module:Name`` names a module class, or any
callable that returns such a module when called without arguments (a factory function is how a
model whose constructor needs arguments comes in).

Checkpoints come in the layouts training scripts actually write (reference notes, item 5):
the state dict bare or wrapped (``state_dict``, ``model_state_dict``, ``model``, ``net``,
``network``), keys prefixed ``module.`` (DataParallel), CompressAI's older key names, with or
without the entropy tables. A checkpoint that does not fit the module is refused with the
missing, unexpected and mis-shaped keys named, never loaded half-way.

The entropy tables (``_quantized_cdf``, ``_offset``, ``_cdf_length``, ``scale_table``) of a
module with ``update`` are never taken from the file: ``update(force=True)`` rebuilds them from
the parameters, as CompressAI's ``eval_model checkpoint`` does by default, so they always match
the weights and the installed CompressAI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from licbench.codecs.learned.checkpoints import CheckpointError, key_differences
from licbench.codecs.learned.checkpoints import mismatch_error as checkpoint_mismatch
from licbench.registry import import_object

#: keys a training script may wrap the state dict in, tried in this order
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")
#: CompressAI's derived entropy-coder buffers (what ``update()`` computes)
TABLE_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
#: how many key names an error message lists before "... and N more"
LIST_LIMIT = 8


class ModelAPIError(TypeError):
    """A model that is not a torch module with CompressAI's compress/decompress API."""


def import_model_factory(target: str) -> Callable[[], Any]:
    """The class or factory that ``model=package.module:Name`` names, checked as far as possible.

    A class is checked for the API before anything is built, so the error comes at once.
    """
    try:
        factory = import_object(target)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ModelAPIError(f"model={target}: cannot import it: {exc}") from exc
    if not callable(factory):
        kind = type(factory).__name__
        raise ModelAPIError(f"model={target} is a {kind}, not a class or function")
    if isinstance(factory, type):
        check_model_api(factory, target)
    return factory  # type: ignore[no-any-return]


def check_model_api(model: Any, where: str = "") -> None:
    """Raise :class:`ModelAPIError` unless ``model`` (a module or its class) has the API."""
    import torch

    cls = model if isinstance(model, type) else type(model)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if not issubclass(cls, torch.nn.Module):
        raise ModelAPIError(f"{where or name}: {name} is not a torch.nn.Module")
    lacking = [m for m in ("compress", "decompress") if not callable(getattr(cls, m, None))]
    if lacking:
        raise ModelAPIError(
            f"{where or name}: {name} has no {' and no '.join(lacking)} method; a model needs "
            "CompressAI's API: compress(x) -> {'strings', 'shape'} and "
            "decompress(strings, shape) -> {'x_hat'}"
        )


def unwrap_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, Any]:
    """The state dict inside ``obj``: wrappers opened, ``module.`` prefixes removed."""
    import torch

    for key in WRAPPER_KEYS:
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(f"{source}: holds no state dict (expected a dict of tensors)")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        shown = ", ".join(sorted(map(str, obj))[:LIST_LIMIT])
        raise CheckpointError(
            f"{source}: neither a state dict nor one wrapped in {'/'.join(WRAPPER_KEYS)}; "
            f"keys: {shown}"
        )
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in tensors.items()}


def rename_old_keys(model: Any, state_dict: dict[str, Any]) -> dict[str, Any]:
    """CompressAI's older entropy-bottleneck key names in today's, for every bottleneck."""
    from compressai.entropy_models import EntropyBottleneck
    from compressai.models.utils import remap_old_keys

    for name, module in model.named_modules():
        if name and isinstance(module, EntropyBottleneck):
            state_dict = dict(remap_old_keys(name, state_dict))
    return state_dict


def _has_update(model: Any) -> bool:
    return callable(getattr(model, "update", None))


def _is_table(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in TABLE_BUFFERS


def tables_emptied(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``state_dict`` whose entropy tables are empty tensors, for CompressAI's
    ``from_state_dict``: its loader sizes a table from the file only where the model knows the
    table's kind (a variable-rate bottleneck's it does not), and ``update(force=True)``
    rebuilds every table after loading anyway."""
    return {k: v.new_empty(0) if _is_table(k) else v for k, v in state_dict.items()}


def state_dict_mismatch(model: Any, state_dict: Mapping[str, Any]) -> tuple[list, list, list]:
    """(missing, unexpected, mis-shaped) keys of ``state_dict`` against ``model``.

    The entropy tables are left out of the comparison for a module that rebuilds them.
    """
    skip = _is_table if _has_update(model) else (lambda key: False)
    return key_differences(model, state_dict, skip)


def mismatch_error(model: Any, mismatch: tuple[list, list, list], source: str) -> CheckpointError:
    cls = type(model)
    return checkpoint_mismatch(f"{cls.__module__}.{cls.__qualname__}", mismatch, source, LIST_LIMIT)


def load_into(model: Any, state_dict: Mapping[str, Any], source: str = "checkpoint") -> Any:
    """Load a checked state dict into ``model``, rebuild its tables; returns it in eval mode.

    ``torch.nn.Module.load_state_dict`` is called directly: CompressAI's override requires the
    entropy tables to be in the dict, and they are rebuilt here instead.
    """
    import torch

    mismatch = state_dict_mismatch(model, state_dict)
    if any(mismatch):
        raise mismatch_error(model, mismatch, source)
    if _has_update(model):
        weights = {k: v for k, v in state_dict.items() if not _is_table(k)}
        torch.nn.Module.load_state_dict(model, weights, strict=False)
        model.update(force=True)
    else:
        model.load_state_dict(dict(state_dict))
    return model.eval()


def tables_missing(model: Any) -> bool:
    """Whether some entropy model of ``model`` has no CDF table yet (``update()`` not run)."""
    return any(
        buffer.numel() == 0
        for name, buffer in model.named_buffers()
        if name.rsplit(".", 1)[-1] == "_quantized_cdf"
    )


def prepare(model: Any) -> Any:
    """Eval mode, no gradients, tables built if they are missing."""
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if _has_update(model) and tables_missing(model):
        model.update(force=True)
    return model
