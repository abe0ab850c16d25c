"""The codec class a definition becomes: temp files in, the tool runs, temp files out.

Each encode and each decode runs in its own ``TemporaryDirectory`` (removed whatever happens,
also when the tool fails or times out) that is also the tool's working directory, so tools that
drop side files (logs, reconstructions, stats) leave nothing behind.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from licbench.codecs.base import Availability, Codec, CodecSpecError, check_rgb8
from licbench.codecs.external.definition import Definition
from licbench.codecs.external.tools import (
    ExternalToolError,
    format_argv,
    locate,
    query,
    run,
    version_text,
)
from licbench.core.files import file_sha256

if TYPE_CHECKING:  # numpy and the picture files only when coding: version() needs neither
    import numpy as np

_PREFIX = struct.Struct(">HH")


def _format_number(value: float, integer: bool) -> str:
    return str(int(round(value))) if integer else f"{value:.10g}"


class ExternalCodec(Codec):
    """A codec run through command-line tools, as its :class:`Definition` says."""

    definition: ClassVar[Definition]
    #: per class: (tool paths, availability), computed once per process
    _probe: ClassVar[tuple[dict[str, str], Availability] | None] = None
    #: per class: tool versions, computed once per process
    _versions: ClassVar[dict[str, str] | None] = None

    # ------------------------------------------------------------------ availability
    @classmethod
    def _probe_tools(cls) -> tuple[dict[str, str], Availability]:
        if cls._probe is not None:
            return cls._probe
        d = cls.definition
        paths: dict[str, str] = {}
        result = Availability.yes()
        for key, tool in d.tools.items():
            found = locate(tool)
            if found.path is None:
                result = Availability(False, found.reason, tool.install)
                break
            paths[key] = found.path
        if result.ok:
            values = {**paths, "devnull": os.devnull}
            for key, tool in d.tools.items():
                failed = next(
                    (
                        req
                        for req in tool.require
                        if not cls._requirement_met(format_argv(req.command, values), req.pattern)
                    ),
                    None,
                )
                if failed is not None:
                    result = Availability(False, f"{paths[key]}: {failed.reason}", tool.install)
                    break
        cls._probe = (paths, result)
        return cls._probe

    @staticmethod
    def _requirement_met(argv: list[str], pattern: str) -> bool:
        import re

        _, output = query(argv, returncodes=range(256))
        return re.search(pattern, output, re.MULTILINE) is not None

    @classmethod
    def available(cls) -> Availability:
        return cls._probe_tools()[1]

    @classmethod
    def clear_cache(cls) -> None:
        """Forget tool paths, checks and versions (after PATH or the tools changed)."""
        cls._probe = None
        cls._versions = None

    @classmethod
    def tool_paths(cls) -> dict[str, str]:
        """Paths of the tools; ExternalToolError with the reason when the codec is unavailable."""
        paths, availability = cls._probe_tools()
        if not availability.ok:
            hint = f" (install: {availability.hint})" if availability.hint else ""
            raise ExternalToolError(
                f"{cls.definition.name} is unavailable: {availability.reason}{hint}"
            )
        return paths

    @classmethod
    def tool_versions(cls) -> dict[str, str]:
        if cls._versions is None:
            paths = cls.tool_paths()
            values = {**paths, "devnull": os.devnull}
            cls._versions = {
                key: version_text(tool, format_argv(tool.version, values))
                for key, tool in cls.definition.tools.items()
            }
        return cls._versions

    # ------------------------------------------------------------------ parameters
    def __init__(self, **params: str) -> None:
        d = self.definition
        self.params: dict[str, str] = {}
        self.param_files: dict[str, str] = {}
        unknown = set(params) - set(d.params)
        if unknown:
            accepted = ", ".join(sorted(d.params)) or "no parameters"
            raise CodecSpecError(
                f"{d.name}: unknown parameter(s) {', '.join(sorted(unknown))}; it takes {accepted}"
            )
        for name, spec in d.params.items():
            value = params.get(name)
            if value is None and spec.env:
                value = os.environ.get(spec.env) or None
            if value is None and spec.search:
                value = self._search(spec.search)
            if value is None:
                value = spec.default
            if value is None:
                if spec.required:
                    env = f" (or set {spec.env})" if spec.env else ""
                    help_text = f": {spec.help}" if spec.help else ""
                    looked = self._search_places(spec.search)
                    where = f"; none found at {', '.join(looked)}" if looked else ""
                    raise CodecSpecError(f"{d.name} needs {name}=...{env}{help_text}{where}")
                value = ""
            if spec.choices and value not in spec.choices:
                raise CodecSpecError(
                    f"{d.name}: {name}={value!r}; choose from {', '.join(spec.choices)}"
                )
            if spec.kind == "file" and value:
                path = Path(value).expanduser().resolve()
                if not path.is_file():
                    raise CodecSpecError(f"{d.name}: {name}={value}: no such file")
                value = str(path)
                self.param_files[name] = file_sha256(path)
            self.params[name] = value
        #: the YUV format of this instance: a definition may leave chroma to a spec parameter
        self.yuv = d.yuv
        if d.yuv.chroma_param:
            self.yuv = dataclasses.replace(d.yuv, chroma=self.params[d.yuv.chroma_param])

    @classmethod
    def _search_places(cls, templates: tuple[str, ...]) -> list[str]:
        """The candidate paths of a ``search`` list, with the tools' folders as found (and with
        symbolic links resolved: a tool linked onto PATH from its build tree)."""
        paths = cls._probe_tools()[0]
        folders = [
            {f"{key}_dir": os.path.dirname(path) for key, path in paths.items()},
            {f"{key}_dir": os.path.dirname(os.path.realpath(path)) for key, path in paths.items()},
        ]
        places: list[str] = []
        for template in templates:
            for values in folders:
                try:
                    place = os.path.normpath(template.format_map(values))
                except KeyError:  # a tool that was not found
                    continue
                if place not in places:
                    places.append(place)
        return places

    @classmethod
    def _search(cls, templates: tuple[str, ...]) -> str | None:
        return next((p for p in cls._search_places(templates) if os.path.isfile(p)), None)

    # ------------------------------------------------------------------ identity
    @classmethod
    def tool_hashes(cls) -> dict[str, str]:
        """The sha256 of each tool file (its resolved path): a rebuilt tool whose ``--version``
        says the same is still another tool. A ``stat`` per tool when nothing changed
        (:mod:`licbench.codecs.external.fingerprint`)."""
        from licbench.codecs.external.fingerprint import tool_sha256

        return {key: tool_sha256(path) for key, path in cls.tool_paths().items()}

    def version(self) -> str:
        d = self.definition
        parts = [f"definition={d.name}@{d.sha256[:16]}"]
        parts += [f"{key}={text}" for key, text in sorted(self.tool_versions().items())]
        parts += [f"{key}.sha256={v[:16]}" for key, v in sorted(self.tool_hashes().items())]
        # a file parameter by its name and contents: where it is installed changes no output
        shown = {
            k: os.path.basename(v) if k in self.param_files else v for k, v in self.params.items()
        }
        parts += [f"{k}={v}" for k, v in sorted(shown.items())]
        parts += [f"{k}.sha256={v[:16]}" for k, v in sorted(self.param_files.items())]
        return ";".join(parts)

    def environment(self) -> dict[str, str]:
        files = {f"file.{key}": self.params[key] for key in sorted(self.param_files)}
        return {f"tool.{key}": path for key, path in sorted(self.tool_paths().items())} | files

    def time_limit(self, width: int, height: int) -> float | None:
        """For a definition with ``timeout_per_megapixel``: an encode and a decode, each within
        its size-scaled limit. Without it, ``--timeout`` alone (None), as for any codec."""
        if not self.definition.timeout_per_megapixel:
            return None
        return 2 * self.definition.tool_timeout(width * height)

    def tool_quality(self, quality: float) -> float:
        """licbench quality → the tool's parameter, checked against the range."""
        q = self.definition.quality
        if not q.low <= float(quality) <= q.high:
            raise ValueError(
                f"{self.definition.name}: quality {quality:g} is outside [{q.low:g}, {q.high:g}]"
            )
        if q.integer and float(quality) != int(quality):
            raise ValueError(f"{self.definition.name}: quality {quality:g} must be an integer")
        return q.to_tool(float(quality))

    def _values(self, **extra: Any) -> dict[str, Any]:
        return {**self.tool_paths(), **self.params, "devnull": os.devnull, **extra}

    def encode_argv(
        self, input_path: Path, output_path: Path, width: int, height: int, quality: float
    ) -> list[str]:
        """The encoder's argument vector for these files and this quality."""
        q = self.definition.quality
        numbers = {"quality": _format_number(quality, q.integer)}
        # a definition that keeps the default parameter name ("quality") passes licbench's
        # quality through unchanged: then both entries are the same placeholder
        numbers[q.parameter] = _format_number(self.tool_quality(quality), q.integer)
        values = self._values(
            input=str(input_path), output=str(output_path), width=width, height=height, **numbers
        )
        return format_argv(self.definition.encode.command, values)

    def decode_argv(
        self, input_path: Path, output_path: Path, width: int | None, height: int | None
    ) -> list[str]:
        values = self._values(
            input=str(input_path), output=str(output_path), width=width, height=height
        )
        return format_argv(self.definition.decode.command, values)

    # ------------------------------------------------------------------ coding
    def encode(self, image: np.ndarray, quality: float) -> bytes:

        from licbench.codecs.external import pictures

        d = self.definition
        check_rgb8(image)
        height, width = image.shape[:2]
        prefix = self.yuv.dimensions == "prefix"
        if prefix and max(width, height) > 0xFFFF:
            raise ValueError(f"{d.name}: {width}x{height} is too large for its size prefix")
        with tempfile.TemporaryDirectory(prefix=f"licbench-{d.name}-") as tmp:
            folder = Path(tmp)
            source = folder / f"input.{d.encode.input}"
            if d.encode.input == "yuv":
                coded_w, coded_h = pictures.coded_size(width, height, self.yuv)
                if (coded_w, coded_h) != (width, height) and not prefix:
                    raise ValueError(
                        f"{d.name}: a {width}x{height} picture has odd sides, which 4:2:0 cannot "
                        'code; the definition needs yuv.dimensions = "prefix"'
                    )
                pictures.write_yuv(source, pictures.rgb_to_planes(image, self.yuv), self.yuv)
            else:
                coded_w, coded_h = width, height
                pictures.write_image(source, image, d.encode.input)
            target = folder / f"bitstream.{d.encode.output}"
            argv = self.encode_argv(source, target, coded_w, coded_h, quality)
            run(argv, timeout=d.tool_timeout(width * height), cwd=folder)
            if not target.is_file() or target.stat().st_size == 0:
                raise ExternalToolError(f"{d.name}: the encoder wrote no bitstream ({target.name})")
            data = target.read_bytes()
        return _PREFIX.pack(width, height) + data if prefix else data

    def decode(self, data: bytes) -> np.ndarray:
        from licbench.codecs.external import pictures

        d = self.definition
        width = height = None
        coded_w = coded_h = None
        if self.yuv.dimensions == "prefix":
            if len(data) <= _PREFIX.size:
                raise ValueError(f"{d.name}: {len(data)} bytes is too short for a bitstream")
            width, height = _PREFIX.unpack_from(data)
            data = data[_PREFIX.size :]
            coded_w, coded_h = pictures.coded_size(width, height, self.yuv)
        with tempfile.TemporaryDirectory(prefix=f"licbench-{d.name}-") as tmp:
            folder = Path(tmp)
            source = folder / f"bitstream.{d.encode.output}"
            source.write_bytes(data)
            target = folder / f"decoded.{d.decode.output}"
            limit = d.tool_timeout(width * height if width and height else None)
            run(self.decode_argv(source, target, coded_w, coded_h), timeout=limit, cwd=folder)
            if not target.is_file():
                raise ExternalToolError(f"{d.name}: the decoder wrote no picture ({target.name})")
            fmt = d.decode.output
            if fmt in ("png", "ppm"):
                image = pictures.read_image(target)
                if width is None or height is None:  # the picture says its size: job_body checks
                    return image
                out_h, out_w = image.shape[:2]
                self._check_size(out_w, out_h, width, height)
                return image[:height, :width]  # (only a 4:2:0 padding row or column)
            if fmt == "y4m":
                planes, out_w, out_h = pictures.read_y4m(target, self.yuv)
                if width is not None and height is not None:
                    self._check_size(out_w, out_h, width, height, exact=True)
                return pictures.planes_to_rgb(planes, self.yuv, width or out_w, height or out_h)
            assert coded_w is not None and coded_h is not None and width and height
            planes = pictures.read_yuv(target, self.yuv, coded_w, coded_h)
            return pictures.planes_to_rgb(planes, self.yuv, width, height)

    def _check_size(
        self, out_w: int, out_h: int, width: int, height: int, *, exact: bool = False
    ) -> None:
        """The decoder's picture must be the bitstream's (prefix) size, or its coded size (the
        4:2:0 padding of odd sides, which is cropped); ``exact``: the coded size only. Anything
        else is an error: a picture is never cropped or padded to fit."""
        from licbench.codecs.external.pictures import coded_size

        coded = coded_size(width, height, self.yuv)
        accepted = {coded} if exact else {coded, (width, height)}
        if (out_w, out_h) not in accepted:
            shown = f"{width}x{height}"
            if coded != (width, height):
                shown += f" (coded as {coded[0]}x{coded[1]})"
            raise ValueError(
                f"{self.definition.name}: the decoder wrote a {out_w}x{out_h} picture; the "
                f"original is {shown}"
            )


def _describe(definition: Definition) -> str:
    q = definition.quality
    if q.larger == "fewer-bytes":
        mapping = f"quality q → {q.parameter} = {q.low + q.high:g} − q"
    else:
        mapping = f"quality = the tool's {q.parameter}"
    text = definition.description or f"{definition.name} (command line)"
    return f"{text}; {mapping}"


def codec_class(definition: Definition) -> type[ExternalCodec]:
    """A new :class:`ExternalCodec` subclass for ``definition``."""
    q = definition.quality
    qualities = tuple(sorted(q.from_tool(v) for v in q.sweep))
    namespace = {
        "definition": definition,
        "description": _describe(definition),
        "qualities": tuple(int(v) if q.integer else v for v in qualities),
        "quality_range": (q.low, q.high),
        "integer_quality": q.integer,
        "default_run": definition.default_run,
        "_probe": None,
        "_versions": None,
        "__module__": __name__,
        "__doc__": f"Command-line codec from {definition.path}.",
    }
    class_name = "External_" + "".join(c if c.isalnum() else "_" for c in definition.name)
    return type(class_name, (ExternalCodec,), namespace)
