"""The learned architectures' registry: register_architecture, create_model, list_models.

Why a registry that architectures join: an architecture is declared where it is written, in one
module of ``licbench/codecs/learned/archs/`` (its configurations, its codec class decorated with
:func:`register_architecture`, codecs with bundled weights decorated with
:func:`register_codec`), as timm's ``@register_model`` declares a model in its own module. That
package is searched, not listed: a new module there is a new architecture, with its codec, its
models ``name/<config>`` and its command-line choices, and no other file names it (neither this
one, nor :mod:`licbench.codecs`, nor the codec glue). The names sit in the same generic
:class:`~licbench.registry.Registry` as codecs, datasets and metrics (:data:`MODELS`), so a name
is registered once and an unknown one answers with close matches.

Nothing here or in ``archs/`` imports torch, so listing models and codecs and parsing specs stay
cheap: a declaration names its network's builder lazily (``"module:function"``, the module with
the ``torch.nn`` code), imported only by :func:`create_model`. The declarations are imported
with :mod:`licbench.codecs` (:func:`declared_codecs`), so the registry is full whenever this
module can be imported.
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from licbench.registry import Registry, RegistryError, import_object

if TYPE_CHECKING:  # pragma: no cover
    from licbench.codecs.learned.model import LearnedCompressionModel

#: the package whose every module declares one architecture
DECLARATIONS = "licbench.codecs.learned.archs"


def proportional_slices(channels: int, count: int, power: float) -> tuple[int, ...]:
    """Slice sizes ∝ i^power, as CCA computes them: floor each share, the remainder to the last.

    ``proportional_slices(320, 5, 1.7) == (8, 28, 56, 92, 136)``.
    """
    props = [(i + 1) ** power for i in range(count)]
    sizes = [math.floor(channels / sum(props) * p) for p in props]
    sizes[-1] += channels - sum(sizes)
    if min(sizes) < 1:
        raise ValueError(f"{count} slices of {channels} channels leave an empty slice: {sizes}")
    return tuple(sizes)


@dataclass(frozen=True)
class Arch:
    """One architecture: its builder (imported lazily) and its named configurations."""

    builder: str
    configs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    #: its codec class, "module:Class" (declared with :func:`register_architecture`)
    codec: str = ""


#: the learned architectures by name, each registered by its own module in ``archs/``
MODELS: Registry[Arch] = Registry("learned architecture")
#: the codecs those modules declare (an architecture's, and codecs with bundled weights), by
#: name; :mod:`licbench.codecs` puts them in its one table of codec names
DECLARED_CODECS: dict[str, type] = {}
#: what a declared codec class may set itself: what it is called and where its weights come
#: from. Everything that changes its numbers lives in the network module its builder names and
#: in its configuration, which are in its key (:mod:`.code_identity`); a class body with more
#: (a method, a pad multiple) would change numbers the key does not see, so it is refused.
DECLARED_ATTRIBUTES = frozenset({"description", "official_weights", "bundle"})

_Class = TypeVar("_Class", bound=type)


def _check_declaration(cls: type) -> None:
    extra = sorted(
        k
        for k in vars(cls)
        if not k.startswith(("__", "_abc_")) and k not in DECLARED_ATTRIBUTES  # (Python's own)
    )
    if extra:
        raise TypeError(
            f"{cls.__qualname__} declares {', '.join(extra)}: a declared learned codec sets only "
            f"{', '.join(sorted(DECLARED_ATTRIBUTES))}; what changes its numbers belongs in its "
            "network module or its configuration (both in its key)"
        )


def _declare(name: str, cls: type) -> None:
    if name in DECLARED_CODECS:
        raise RegistryError(
            f"learned codec {name!r} is already declared by {DECLARED_CODECS[name].__module__}"
        )
    DECLARED_CODECS[name] = cls


def register_codec(name: str) -> Callable[[_Class], _Class]:
    """Class decorator: declare a learned codec of a registered architecture under ``name``
    (one with bundled weights, say); :mod:`licbench.codecs` lists it with every other codec."""

    def decorator(cls: _Class) -> _Class:
        _check_declaration(cls)
        _declare(name, cls)
        return cls

    return decorator


def register_architecture(
    name: str, *, builder: str, configs: Mapping[str, Any], description: str
) -> Callable[[_Class], _Class]:
    """Class decorator: declare architecture ``name`` with its codec, as timm's
    ``@register_model`` declares a model where it is defined.

    ``builder`` (``"module:function"``, imported on first :func:`create_model`) builds the
    network from one of ``configs`` (name → configuration dataclass); the decorated class (a
    :class:`~licbench.codecs.learned.codec.LearnedCodec` subclass) becomes the codec ``name``
    and the models ``name/<config>``. One module in ``archs/`` per architecture does this; it
    is found there, and nothing else lists it.
    """

    def decorator(cls: _Class) -> _Class:
        _check_declaration(cls)
        codec = f"{cls.__module__}:{cls.__qualname__}"
        MODELS.register(name, Arch(builder, dict(configs), description, codec))
        _declare(name, cls)
        cls.arch = name  # type: ignore[attr-defined]
        if "description" not in vars(cls):
            cls.description = description  # type: ignore[attr-defined]
        return cls

    return decorator


class _RegistryView(Mapping[str, Arch]):
    """``ARCHS``: the registry read as a mapping, for callers that look names up with ``in``,
    ``[]`` and ``.values()`` (the CLI's choices, the codecs' spec checks); it holds nothing."""

    def __getitem__(self, name: str) -> Arch:
        if name not in MODELS:
            raise KeyError(name)
        return MODELS.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(MODELS.names())

    def __len__(self) -> int:
        return len(MODELS.names())


ARCHS: Mapping[str, Arch] = _RegistryView()


def _split_name(arch: str, config: str | None) -> tuple[str, str]:
    if config is None and "/" in arch:
        arch, config = arch.split("/", 1)
    return arch, config or "paper"


def get_config(arch: str, config: str | None = None) -> Any:
    """The configuration object for ``arch`` (``"cca"``) and ``config`` (``"paper"``, ``"tiny"``).

    ``arch`` may also be ``"cca/tiny"``. Unknown names raise ``KeyError`` naming the choices.
    """
    arch, config = _split_name(arch, config)
    try:
        configs = MODELS.get(arch).configs
    except RegistryError as error:
        raise KeyError(str(error)) from None
    if config not in configs:
        raise KeyError(f"{arch} has no config {config!r}; choose from {sorted(configs)}")
    return configs[config]


def list_models(pattern: str = "*") -> list[str]:
    """Names ``arch/config`` matching a shell wildcard, e.g. ``list_models("*/tiny")``."""
    names = [f"{a}/{c}" for a, entry in MODELS.items() for c in entry.configs]
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def create_model(arch: str, config: str | None = None) -> LearnedCompressionModel:
    """Build ``arch`` with the named ``config`` and freshly initialised (untrained) weights.

    Builds on the current default device, so ``with torch.device("meta"): create_model(...)``
    counts parameters without allocating them. Load weights with
    :func:`licbench.codecs.learned.checkpoints.load_weights`.
    """
    arch, config = _split_name(arch, config)
    cfg = get_config(arch, config)
    builder = import_object(MODELS.get(arch).builder)
    return builder(cfg, arch=arch, config_name=config)


def declared_codecs(package: str = DECLARATIONS) -> dict[str, type]:
    """Every learned codec declared so far, after importing each module of ``package``
    (default: ``archs/``, none of whose modules imports torch), by name."""
    found = importlib.import_module(package)
    for module in pkgutil.iter_modules(found.__path__):
        importlib.import_module(f"{package}.{module.name}")
    return dict(DECLARED_CODECS)
