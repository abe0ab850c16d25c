"""One generic registry for codecs, datasets and metrics.

Why one type: every kind of named thing in licbench follows the same rules, so a user learns them
once. A name is registered exactly once (a collision is an error, never a silent overwrite), an
unknown name answers with close matches, an entry may be lazy (``"module:Object"``, imported on
first use so that listing codecs never imports torch), and third-party packages add entries
through an entry-point group (``licbench.codecs``, ``licbench.datasets``, ``licbench.metrics``).
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint, EntryPoints

T = TypeVar("T")


@functools.cache
def _installed_entry_points() -> EntryPoints:
    # one scan of the installed distributions per process, whatever the number of registries:
    # the scan reads every distribution's metadata, and each registry used to pay for it again
    from importlib.metadata import entry_points as scan

    return scan()


def entry_points(group: str) -> Iterable[EntryPoint]:
    """The entry points of ``group`` (e.g. ``licbench.codecs``) of the installed distributions."""
    return _installed_entry_points().select(group=group)


class RegistryError(LookupError):
    """A name that is unknown, or registered twice."""


def import_object(target: str) -> Any:
    """Import ``"package.module:Attr.path"`` and return the object it names."""
    module_name, _, attr_path = target.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"lazy target {target!r} is not of the form 'module:Object'")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names to objects, with lazy entries and entry-point plugins."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._origins: dict[str, str] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str, obj: T | str | None = None, *, origin: str = "licbench"):
        """Register ``obj`` (or a lazy ``"module:Object"`` string) under ``name``.

        Without ``obj`` this returns a decorator, so classes can register themselves.
        """
        if obj is None:

            def decorator(target: T) -> T:
                self.register(name, target, origin=origin)
                return target

            return decorator
        if name in self._entries:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered by {self._origins[name]}; "
                f"{origin} cannot register it again"
            )
        self._entries[name] = obj
        self._origins[name] = origin
        return obj

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            dist = getattr(ep, "dist", None)
            origin = f"plugin {dist.name if dist else ep.value}"
            self.register(ep.name, ep.value, origin=origin)

    def get(self, name: str) -> T:
        """The object registered as ``name``, importing it if it was lazy."""
        self._load_plugins()
        if name not in self._entries:
            raise RegistryError(self._unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = import_object(entry)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._entries))})"

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style wildcard, sorted."""
        self._load_plugins()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def origin(self, name: str) -> str:
        self._load_plugins()
        return self._origins[name]

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self, pattern: str = "*") -> Iterator[tuple[str, T]]:
        for name in self.names(pattern):
            yield name, self.get(name)
