"""The codec registry: the one table of codec names.

Built-in codecs are registered lazily here ("module:Class"), so listing names imports nothing
heavy; licbench's learned architectures register themselves, each in its own module of
``licbench/codecs/learned/archs/`` (found there; none imports torch); plugins come in through
the ``licbench.codecs`` entry-point group.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from licbench.codecs.base import (
    Availability,
    Codec,
    CodecSpec,
    CodecSpecError,
    QualityError,
    parse_codec_specs,
)
from licbench.registry import Registry, RegistryError

CODECS: Registry[type[Codec]] = Registry("codec", "licbench.codecs")

CODECS.register("jpeg", "licbench.codecs.pillow:JPEG")
CODECS.register("webp", "licbench.codecs.pillow:WebP")
CODECS.register("jpeg2000", "licbench.codecs.pillow:JPEG2000")
CODECS.register("avif", "licbench.codecs.pillow:AVIF")
CODECS.register("jpegxl", "licbench.codecs.pillow:JPEGXL")
CODECS.register("heic", "licbench.codecs.pillow:HEIC")
# command-line codecs, one TOML definition each in licbench/codecs/external/
CODECS.register("bpg", "licbench.codecs.external:bpg")
CODECS.register("vtm", "licbench.codecs.external:vtm")
CODECS.register("x265", "licbench.codecs.external:x265")
CODECS.register("vvenc", "licbench.codecs.external:vvenc")
CODECS.register("cjxl", "licbench.codecs.external:cjxl")
# CompressAI's zoo and your own CompressAI-API modules: need model=... (compressai:model=mbt2018)
CODECS.register("compressai", "licbench.codecs.learned.compressai_codec:CompressAICodec")


def _register_learned_architectures() -> None:
    # licbench's architectures (cca, convnext-charm, swint-charm; need ckpt=... or
    # weights=random) and their bundled -tiny codecs: each declared in its own module of
    # licbench/codecs/learned/archs/ (no torch), which is searched, not listed here
    from licbench.codecs.learned.configs import declared_codecs

    for name, cls in declared_codecs().items():
        CODECS.register(name, cls)


def _register_user_definitions() -> None:
    # users' TOML definitions from $LICBENCH_CODECS_PATH join the same table (collision = error)
    from licbench.codecs.external import register_user_definitions

    register_user_definitions(CODECS)


_register_learned_architectures()
_register_user_definitions()


def create_codec(spec: str | CodecSpec) -> Codec:
    """Make a codec from a spec such as ``"jpeg"`` or ``"cca:config=tiny,ckpt=DIR"``."""
    if isinstance(spec, str):
        spec = CodecSpec.parse(spec)
    cls = CODECS.get(spec.name)
    try:
        codec = cls(**dict(spec.params))
    except TypeError as exc:
        raise CodecSpecError(f"codec {spec.name!r}: {exc}") from exc
    codec.spec = spec
    return codec


@dataclass(frozen=True)
class CodecInfo:
    """One line of ``licbench codecs``."""

    name: str
    description: str
    availability: Availability
    origin: str


def codec_info(name: str, params: Mapping[str, str] | None = None) -> CodecInfo:
    """Describe a registered codec without failing when it cannot be imported.

    With ``params`` (a spec's), availability is for that spec: ``cca:ckpt=DIR`` runs without
    the official weights that a bare ``cca`` needs.
    """
    try:
        cls = CODECS.get(name)
    except ImportError as exc:
        origin = CODECS.origin(name)
        # a plugin's module is its package's to install; a built-in one is a dependency of ours
        hint = (
            f"reinstall the package that provides it ({origin.removeprefix('plugin ')})"
            if origin.startswith("plugin ")
            else "pip install --force-reinstall licbench (its dependencies provide this codec)"
        )
        return CodecInfo(name, "", Availability(False, f"cannot import: {exc}", hint), origin)
    try:
        availability = cls.available() if params is None else cls.available_for(params)
    except Exception as exc:  # a broken plugin must not break the listing
        availability = Availability(False, f"availability check failed: {exc}")
    return CodecInfo(name, cls.description, availability, CODECS.origin(name))


def list_codecs(pattern: str = "*", *, available_only: bool = False) -> list[str]:
    """Names of registered codecs matching ``pattern`` (shell wildcards)."""
    names = [n for n in CODECS.names() if fnmatch.fnmatchcase(n, pattern)]
    if available_only:
        names = [n for n in names if codec_info(n).availability.ok]
    return names


__all__ = [
    "CODECS",
    "Availability",
    "Codec",
    "CodecInfo",
    "CodecSpec",
    "CodecSpecError",
    "QualityError",
    "RegistryError",
    "codec_info",
    "create_codec",
    "list_codecs",
    "parse_codec_specs",
]
