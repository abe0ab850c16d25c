"""Command-line codecs described as data (one TOML definition per codec).

The definitions shipped with licbench sit beside this file (``bpg.toml``, ``vtm.toml``, ...); each
is registered by name in :mod:`licbench.codecs` as the lazy entry ``licbench.codecs.external:NAME``,
so listing codecs reads no TOML. Users add their own definitions from folders named in
``LICBENCH_CODECS_PATH`` (``os.pathsep``-separated); they register into the same ``CODECS`` table
when :mod:`licbench.codecs` is imported, and a name that is already taken is an error. See
:mod:`licbench.codecs.external.definition` for the file format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from licbench.codecs.external.codec import ExternalCodec, codec_class
    from licbench.codecs.external.definition import Definition, DefinitionError, load_definition
    from licbench.codecs.external.tools import ExternalToolError
    from licbench.registry import Registry

#: environment variable: folders with users' codec definitions, os.pathsep-separated
CODECS_PATH_ENV = "LICBENCH_CODECS_PATH"
BUILTIN_FOLDER = Path(__file__).resolve().parent

#: names this package exports from its submodules, imported on first use: importing
#: licbench.codecs (which registers users' definitions through here) then reads no TOML parser,
#: numpy or subprocess when there is nothing to register
_EXPORTS = {
    "ExternalCodec": "codec",
    "codec_class": "codec",
    "Definition": "definition",
    "DefinitionError": "definition",
    "load_definition": "definition",
    "ExternalToolError": "tools",
}
_classes: dict[str, type[ExternalCodec]] = {}


def builtin_definitions() -> list[str]:
    """Names of the definitions shipped with licbench (the stems of the TOML files here)."""
    return sorted(p.stem for p in BUILTIN_FOLDER.glob("*.toml"))


def builtin_class(name: str) -> type[ExternalCodec]:
    """The codec class of a shipped definition, made once per process."""
    if name not in _classes:
        from licbench.codecs.external.codec import codec_class
        from licbench.codecs.external.definition import DefinitionError, load_definition

        path = BUILTIN_FOLDER / f"{name}.toml"
        if not path.is_file():
            raise AttributeError(f"no codec definition {name!r} in {BUILTIN_FOLDER}")
        definition = load_definition(path)
        if definition.name != name:
            raise DefinitionError(f"{path}: its name is {definition.name!r}, not {name!r}")
        _classes[name] = codec_class(definition)
    return _classes[name]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    # the registry's lazy entries "licbench.codecs.external:bpg" resolve through here
    if not name.startswith("_") and (BUILTIN_FOLDER / f"{name}.toml").is_file():
        return builtin_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def user_definition_files(value: str | None = None) -> list[Path]:
    """The ``*.toml`` files of the folders in ``LICBENCH_CODECS_PATH``, in path order."""
    value = os.environ.get(CODECS_PATH_ENV, "") if value is None else value
    files: list[Path] = []
    for entry in value.split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser()
        if not folder.is_dir():
            import logging

            logging.getLogger(__name__).warning(
                "%s names %s, which is not a folder; ignored", CODECS_PATH_ENV, folder
            )
            continue
        files.extend(sorted(folder.glob("*.toml")))
    return files


def register_user_definitions(registry: Registry, value: str | None = None) -> list[str]:
    """Register every user definition into ``registry``; returns the names registered.

    Never raises: this runs when :mod:`licbench.codecs` is imported, i.e. for every command. A
    file that cannot be used registers, under its file name, as an unavailable codec whose
    reason is the error (file and line); a name that is already taken is logged and skipped
    (the codec registered first keeps it).
    """
    import logging

    from licbench.registry import RegistryError

    names = []
    for path in user_definition_files(value):
        from licbench.codecs.external.codec import codec_class
        from licbench.codecs.external.definition import DefinitionError, load_definition

        try:
            definition: Definition = load_definition(path)
        except DefinitionError as exc:
            from licbench.codecs.external.broken import broken_class

            name, cls = path.stem, broken_class(path.stem, path, str(exc))
        else:
            name, cls = definition.name, codec_class(definition)
        try:
            registry.register(name, cls, origin=f"definition {path}")
        except RegistryError as exc:
            logging.getLogger(__name__).warning("%s; %s is ignored", exc, path)
            continue
        names.append(name)
    return names


__all__ = [
    "CODECS_PATH_ENV",
    "DefinitionError",
    "ExternalCodec",
    "ExternalToolError",
    "builtin_class",
    "builtin_definitions",
    "codec_class",
    "load_definition",
    "register_user_definitions",
    "user_definition_files",
]
