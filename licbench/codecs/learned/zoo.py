"""CompressAI's model zoo, read from CompressAI's own tables: names, quality indices, weights.

Why no table of our own: ``compressai.zoo.image`` already lists the architectures (``cfgs``:
quality → constructor sizes) and the published weights (``model_urls``), and a second copy here
would drift from the installed version. Everything below reads those tables, so the set of
models and files is exactly what the installed CompressAI ships.

Pretrained weights come through CompressAI's own loader (``torch.hub.load_state_dict_from_url``
inside the zoo functions), which caches each file under ``torch.hub.get_dir()/checkpoints``
with the URL's file name. Before building a pretrained model we look for those files, so a
machine without them (no internet here, and CompressAI's S3 unreachable) reports what to copy
where instead of hanging on a download. :func:`fetch_zoo_weights` fills the cache on a
connected machine.

Two kinds of ``compressai.zoo`` image models need a word:

* the variable-rate ``-vbr`` models (``compressai.zoo.image_vbr``: bmshj2018-hyperprior-vbr,
  mbt2018-mean-vbr, mbt2018-vbr) code every rate with one set of weights. The rate is the
  quantisation step their interface takes, ``compress(x, stage=2, s=0, inputscale=1/step)``,
  driven here exactly as ``eval_model --vbr_quantstep`` drives it (:func:`prepare_vbr`,
  :func:`vbr_scale`): quality 1..8 is eval_model's default step list
  :data:`VBR_QUANT_STEPS` (10 down to 1, the inverse of the models' trained gains), and a
  quality between two integers takes the geometric mean's path between their steps. Models
  with a variable-rate hyperprior (``vr_entbttlnck``, the first two) rebuild their hyperprior
  tables for every step (``update(force=True, scale=...)``), as eval_model does;
* ``bmshj2018-factorized-relu`` has no published weights in 1.2.8 (its zoo function, asked for
  pretrained weights, silently returns the GDN model's), so it runs with ``ckpt=`` or
  ``weights=random`` only.
"""

from __future__ import annotations

import difflib
import os
import socket
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

METRICS = ("mse", "ms-ssim")
FETCH_COMMAND = "licbench fetch-weights compressai"
#: compressai.zoo.image.model_architectures misspells this one key (underscore)
_ARCHITECTURE_KEYS = {"bmshj2018-factorized-relu": "bmshj2018_factorized_relu"}
#: quality 1..8 of a variable-rate model → its quantisation step: the default of CompressAI
#: 1.2.8's ``eval_model --vbr_quantstep`` (1 / the models' trained ``Gain``), so quality q and
#: eval_model's q-th step code the same; a test reads eval_model's default to keep them equal
VBR_QUANT_STEPS = (10.0, 7.1715, 5.1832, 3.7211, 2.6833, 1.9305, 1.3897, 1.0)


class ZooError(ValueError):
    """A zoo name, metric or quality that CompressAI does not have."""


class MissingWeightsError(ZooError):
    """Pretrained weights that are not in the torch hub cache (and are not downloaded here)."""


class WeightsFetchError(RuntimeError):
    """Weights that could not be downloaded; the message says what to copy where."""


@contextmanager
def _quiet_import() -> Any:
    # compressai's import runs torch.jit.script, which torch 2.14 marks deprecated: a warning
    # about CompressAI's code that users of licbench cannot act on
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
        yield


def compressai_zoo() -> Any:
    """``compressai.zoo.image`` (imports torch and compressai; a few seconds the first time)."""
    with _quiet_import():
        from compressai.zoo import image

    return image


def compressai_version() -> str:
    with _quiet_import():
        import compressai

    return str(compressai.__version__)


def compressai_vbr_zoo() -> Any:
    """``compressai.zoo.image_vbr``: the variable-rate models' tables."""
    with _quiet_import():
        from compressai.zoo import image_vbr

    return image_vbr


def zoo_models() -> list[str]:
    """The single-rate image models of the installed ``compressai.zoo``, in its order."""
    return list(compressai_zoo().cfgs)


def vbr_models() -> list[str]:
    """The variable-rate image models of the installed ``compressai.zoo``, in its order."""
    return list(compressai_vbr_zoo().cfgs)


def is_vbr(name: str) -> bool:
    """Whether ``name`` is one of the zoo's variable-rate models."""
    return name in compressai_vbr_zoo().cfgs


def _tables(name: str) -> Any:
    """The zoo module whose tables (cfgs, model_urls, architectures) hold ``name``."""
    return compressai_vbr_zoo() if is_vbr(name) else compressai_zoo()


def check_zoo_name(name: str) -> str:
    """``name`` if it is a zoo model licbench offers, else a :class:`ZooError` that says why."""
    models = zoo_models() + vbr_models()
    if name in models:
        return name
    close = difflib.get_close_matches(name, models, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ZooError(
        f"model={name} is not a compressai.zoo image model{hint} (known: {', '.join(models)}; "
        "or give your own module as model=package.module:Class)"
    )


def zoo_qualities(name: str) -> tuple[int, ...]:
    """The zoo's quality indices for ``name`` (1..8 for bmshj2018/mbt2018, 1..6 for cheng2020;
    1..8 for a variable-rate model: :data:`VBR_QUANT_STEPS`)."""
    if is_vbr(check_zoo_name(name)):
        return tuple(range(1, len(VBR_QUANT_STEPS) + 1))
    return tuple(sorted(compressai_zoo().cfgs[name]))


def zoo_architecture(name: str) -> type:
    """The model class of a zoo name."""
    key = _ARCHITECTURE_KEYS.get(name, name)
    return _tables(name).model_architectures[key]  # type: ignore[no-any-return]


def zoo_sizes(name: str) -> dict[int, tuple[int, ...]]:
    """Constructor arguments (N, M or N) per rate point, as the zoo builds untrained models.

    A single-rate model has a rate point per quality; a variable-rate one has one (1), whose
    weights serve every quality.
    """
    sizes = _tables(check_zoo_name(name)).cfgs[name]
    return {1: tuple(sizes)} if is_vbr(name) else dict(sizes)


def constructor_options(name: str) -> dict[str, Any]:
    """Keyword arguments the zoo (and ``eval_model checkpoint``) build ``name`` with besides its
    sizes: ``vr_entbttlnck=True`` (the variable-rate hyperprior) for the variable-rate models
    whose constructor takes it, as ``compressai.zoo.image_vbr`` builds its published models."""
    import inspect

    if is_vbr(name) and "vr_entbttlnck" in inspect.signature(zoo_architecture(name)).parameters:
        return {"vr_entbttlnck": True}
    return {}


def has_pretrained(name: str, metric: str) -> bool:
    urls = _tables(name).model_urls
    return name in urls and metric in urls[name]


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ZooError(f"metric={metric!r}; choose from {', '.join(METRICS)}")


def weight_urls(name: str, metric: str) -> dict[int, str]:
    """quality → download URL of the published weights (empty when there are none)."""
    check_zoo_name(name)
    check_metric(metric)
    urls = _tables(name).model_urls.get(name, {}).get(metric, {})
    if is_vbr(name):  # one file for every rate: rate point 1
        return {1: urls} if urls else {}
    return dict(sorted(urls.items()))


def hub_checkpoint_dir() -> Path:
    """Where ``torch.hub.load_state_dict_from_url`` caches files: ``<hub dir>/checkpoints``."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weight_file(url: str) -> Path:
    """The cache path torch.hub uses for ``url`` (the URL's file name in the checkpoint dir)."""
    return hub_checkpoint_dir() / os.path.basename(url)


def weight_files(name: str, metric: str) -> dict[int, Path]:
    """quality → the cached file CompressAI's loader reads for that quality (present or not)."""
    return {q: cached_weight_file(url) for q, url in weight_urls(name, metric).items()}


def missing_weights_message(name: str, metric: str, missing: Iterable[Path]) -> str:
    missing = list(missing)
    folder = missing[0].parent if missing else hub_checkpoint_dir()
    return (
        f"no cached weights for compressai {name} ({metric}) in {folder}: "
        f"{len(missing)} file(s) missing; run `{FETCH_COMMAND}` on a connected machine, or copy "
        f"{', '.join(p.name for p in missing)} there"
    )


def require_pretrained(name: str, metric: str) -> dict[int, Path]:
    """The cached weight files of every quality, or :class:`MissingWeightsError` naming them."""
    if not has_pretrained(name, metric):
        raise MissingWeightsError(
            f"compressai {compressai_version()} publishes no {metric} weights for {name}; use "
            "ckpt=FILE_OR_DIR (your own checkpoints of this architecture) or weights=random"
        )
    files = weight_files(name, metric)
    missing = [path for path in files.values() if not path.is_file()]
    if missing:
        raise MissingWeightsError(missing_weights_message(name, metric, missing))
    return files


def build_random(name: str, quality: int) -> Any:
    """An untrained zoo model of rate point ``quality``'s sizes (seed the RNG before calling)."""
    sizes = zoo_sizes(name)
    if quality not in sizes:
        raise ZooError(f"{name} has rate points {sorted(sizes)}, not {quality}")
    return zoo_architecture(name)(*sizes[quality], **constructor_options(name))


def vbr_step(quality: float) -> float:
    """The quantisation step of quality ``quality`` (1..8) of a variable-rate model.

    An integer quality q is eval_model's q-th default step (:data:`VBR_QUANT_STEPS`); between
    two integers the step moves geometrically (log-linearly), so every quality in 1..8 is a
    rate and a larger quality always a smaller step.
    """
    import math

    top = len(VBR_QUANT_STEPS)
    if not 1 <= quality <= top:
        raise ZooError(f"a variable-rate model's quality is 1..{top}, not {quality}")
    low = min(int(quality), top - 1)
    t = quality - low
    if t == 0:
        return VBR_QUANT_STEPS[low - 1]
    if t == 1:
        return VBR_QUANT_STEPS[low]
    a, b = math.log(VBR_QUANT_STEPS[low - 1]), math.log(VBR_QUANT_STEPS[low])
    return math.exp((1 - t) * a + t * b)


def vbr_scale(quality: float) -> Any:
    """The ``inputscale`` of quality ``quality``: ``1 / step`` as eval_model makes it (a 0-d
    float32 tensor of the double ``1.0 / step``)."""
    import torch

    return torch.tensor(1.0 / vbr_step(quality), dtype=torch.float32)


def prepare_vbr(net: Any) -> Any:
    """Set what ``eval_model`` sets on a variable-rate model before coding: quantisation
    offsets on (``no_quantoffset = False``) and, for the model that has one, the scale-to-context
    path (``scl2ctx = True``, mbt2018-vbr)."""
    net.no_quantoffset = False
    if hasattr(net, "scale_to_context"):
        net.scl2ctx = True
    return net


def set_vbr_scale(net: Any, scale: Any) -> None:
    """Rebuild the tables that depend on the scale, as ``eval_model`` does for every step: a
    variable-rate hyperprior's (``update(force=True, scale=scale)``); others have none."""
    from compressai.entropy_models import EntropyBottleneckVbr

    if isinstance(getattr(net, "entropy_bottleneck", None), EntropyBottleneckVbr):
        net.update(force=True, scale=scale)


def build_pretrained(name: str, metric: str, quality: int) -> Any:
    """The zoo's pretrained model through CompressAI's own loader; never downloads.

    The file must already be in the cache (:func:`require_pretrained` checks): CompressAI's
    loader then reads it from there, exactly as ``eval_model pretrained`` does.
    """
    path = require_pretrained(name, metric)[quality]
    if not path.is_file():  # removed since the check
        raise MissingWeightsError(missing_weights_message(name, metric, [path]))
    with _quiet_import():
        from compressai.zoo import image_models

        return image_models[name](quality=quality, metric=metric, pretrained=True, progress=False)


@contextmanager
def _socket_timeout(seconds: float | None) -> Any:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch_zoo_weights(
    models: Iterable[str] | None = None,
    metrics: Iterable[str] = METRICS,
    report: Callable[[str], Any] = print,
    *,
    timeout: float = 60.0,
) -> list[Path]:
    """Download the published weights of ``models`` (default: all) into the torch hub cache.

    Downloads go through CompressAI's own zoo functions (``pretrained=True``), so the files land
    where and under the names its loader expects. Files already cached are not fetched again.
    Without a network the first failed connection stops the fetch and a
    :class:`WeightsFetchError` names, in one line, every file still missing and the folder to
    copy them into; ``timeout`` bounds each connection (seconds). Returns the cached files.
    """
    names = (
        [check_zoo_name(n) for n in models] if models is not None else zoo_models() + vbr_models()
    )
    metrics = list(metrics)
    for metric in metrics:
        check_metric(metric)
    version = compressai_version()
    for name in names:
        for metric in metrics:
            if not has_pretrained(name, metric):
                report(f"compressai {version} publishes no {metric} weights for {name}")
    jobs = [
        (name, metric, quality, path)
        for name in names
        for metric in metrics
        if has_pretrained(name, metric)
        for quality, path in weight_files(name, metric).items()
    ]
    done: list[Path] = []
    with _socket_timeout(timeout):
        for index, (name, metric, quality, path) in enumerate(jobs):
            if path.is_file():
                report(f"have {path.name}")
                done.append(path)
                continue
            report(f"fetching {name} {metric} quality {quality} -> {path}")
            try:
                with _quiet_import():
                    from compressai.zoo import image_models

                    image_models[name](
                        quality=quality, metric=metric, pretrained=True, progress=False
                    )
            except OSError as exc:  # URLError, HTTPError and timeouts are OSErrors
                missing = [p for (*_, p) in jobs[index:] if not p.is_file()]
                root = os.path.dirname(weight_urls(name, metric)[quality])
                raise WeightsFetchError(
                    f"cannot download {path.name} ({type(exc).__name__}: {exc}); on a connected "
                    f"machine run `{FETCH_COMMAND}`, or copy these {len(missing)} file(s) from "
                    f"{root}/ into {path.parent}: {', '.join(p.name for p in missing)}"
                ) from exc
            done.append(path)
    report(f"{len(done)} CompressAI weight file(s) in {hub_checkpoint_dir()}")
    return done


def build_from_checkpoint(name: str, obj: Any, source: str = "checkpoint") -> Any:
    """A zoo architecture with the weights of ``obj`` (a loaded checkpoint), tables rebuilt.

    The sizes (N, M) are not stored in a state dict: the zoo's own size sets of ``name`` are
    tried first, then the class's ``from_state_dict`` (which reads them off the tensors, as
    ``eval_model checkpoint`` does). When nothing fits, the error names the keys that differ
    from the closest of the zoo's sizes. Variable-rate models are built with the options
    eval_model gives them (:func:`constructor_options`).
    """
    from licbench.codecs.learned import own_model

    with _quiet_import():
        from compressai.zoo import load_state_dict as rename_zoo_keys

    state_dict = dict(rename_zoo_keys(own_model.unwrap_state_dict(obj, source)))
    cls = zoo_architecture(name)
    options = constructor_options(name)
    closest: tuple[int, Any, tuple[list, list, list]] | None = None
    for sizes in dict.fromkeys(zoo_sizes(name).values()):
        model = cls(*sizes, **options)
        renamed = own_model.rename_old_keys(model, state_dict)
        mismatch = own_model.state_dict_mismatch(model, renamed)
        if not any(mismatch):
            return own_model.load_into(model, renamed, source)
        score = sum(len(keys) for keys in mismatch)
        if closest is None or score < closest[0]:
            closest = (score, model, mismatch)
    try:
        model = cls.from_state_dict(own_model.tables_emptied(state_dict), **options)
    except Exception:  # noqa: BLE001 - any failure means "does not fit"; reported below
        assert closest is not None
        raise own_model.mismatch_error(closest[1], closest[2], f"{source} ({name})") from None
    model.update(force=True)
    return model.eval()
