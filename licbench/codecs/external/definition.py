"""A command-line codec described as data: the schema of a definition file and its checks.

One TOML file per codec. Everything that decides the bytes lives in the file (command templates,
file formats, colour handling, quality mapping), so the file's sha256 is part of ``version()``
and a changed definition never reuses old results. A complete example, annotated::

    name = "x265"                          # registry name (default: the file's stem)
    description = "HEVC intra with x265"   # one line for `licbench codecs`
    timeout = 600                          # seconds per tool invocation (default 600)
    timeout_per_megapixel = 0              # plus this many per megapixel of the picture (slow
                                           # tools: a limit that fits a 3 MP image at low QP)
    default_run = true                     # false: left out of `licbench run` without --codecs

    [tools.x265]                           # every executable the codec runs; {x265} in templates
    command = "x265"                       # a name searched on PATH, or a path
    env = "LICBENCH_X265"                  # optional: a variable holding the path (checked first)
    locate = "pkg.module:function"         # optional: a function returning the path (second)
    version = ["{x265}", "--version"]      # prints the version; output kept in version()
    version_pattern = "version (\\S+)"     # optional regex: keep group 1 (else the first line)
    version_returncodes = [0]              # exit codes that count as success (default [0])
    install = "apt-get install x265"       # hint shown when the tool is missing
    [[tools.x265.require]]                 # optional capability checks (all must pass)
    command = ["{x265}", "--help"]
    pattern = "input-csp"                  # regex searched (multi-line) in stdout + stderr
    reason = "this x265 cannot read 4:4:4" # shown as the reason the codec is unavailable

    [quality]
    parameter = "qp"                       # placeholder in templates: {qp}
    range = [0, 51]                        # the tool's range
    integer = true
    larger = "fewer-bytes"                 # "fewer-bytes" (QP): licbench quality = 0 + 51 − qp
    sweep = [47, 42, 37, 32, 27, 22, 17, 12]   # default sweep, in the tool's units

    [params.preset]                        # spec parameters: x265:preset=medium → {preset}
    default = "veryslow"
    choices = ["ultrafast", "medium", "veryslow"]   # optional
    # kind = "file"  → must name an existing file; its sha256 goes into version()
    # env = "VAR"    → default taken from this variable when the spec does not give one
    # required = true → no default: the spec (or env) must give it
    # search = ["{x265_dir}/../share/x.cfg"] → a file parameter's default: the first of these
    #          that exists; {TOOL_dir} is the folder of the tool as found (also tried with
    #          symbolic links resolved). Order: the spec, env, search, default

    [encode]
    input = "yuv"                          # png | ppm | yuv (raw planar, see [yuv])
    output = "hevc"                        # extension of the bitstream file
    command = ["{x265}", "--input", "{input}", "--input-res", "{width}x{height}", "--qp", "{qp}",
               "--output", "{output}"]

    [decode]
    output = "y4m"                         # png | ppm | y4m | yuv (raw planar, see [yuv])
    command = ["{ffmpeg}", "-i", "{input}", "{output}"]

    [yuv]                                  # only when a side exchanges YUV
    chroma = "444"                         # 444 | 420, or "{param}": a spec parameter whose
                                           # choices are among 444 and 420 picks it per codec
    bit_depth = 8                          # container: 8, or 10..16 (little-endian 16-bit words)
    precision = 8                          # bits of the samples (≤ bit_depth; shifted into it)
    rounding = "truncate"                  # truncate (CompressAI's anchors) | round
    dimensions = "stream"                  # stream: the decoder output says it (y4m, png);
                                           # prefix: licbench puts width and height (2 × uint16,
                                           # big-endian) before the bitstream; counted in bpp

Placeholders in ``command`` lists: ``{input}``, ``{output}``, ``{width}``, ``{height}`` (of the
picture given to the tool), ``{quality}`` (licbench's), the quality parameter, every tool, every
spec parameter and ``{devnull}``. Each list item is formatted on its own and the list is run as an
argument vector, never through a shell.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licbench.codecs.base import CodecSpecError

IMAGE_FORMATS = ("png", "ppm")
ENCODE_INPUTS = (*IMAGE_FORMATS, "yuv")
DECODE_OUTPUTS = (*IMAGE_FORMATS, "y4m", "yuv")
DIRECTIONS = ("more-bytes", "fewer-bytes")
BUILTIN_PLACEHOLDERS = ("input", "output", "width", "height", "quality", "devnull")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class DefinitionError(CodecSpecError):
    """A codec definition file that cannot be used, with the file and the reason."""


@dataclass(frozen=True)
class Requirement:
    command: tuple[str, ...]
    pattern: str
    reason: str


@dataclass(frozen=True)
class Tool:
    key: str
    command: str
    version: tuple[str, ...]
    env: str | None = None
    locate: str | None = None
    version_pattern: str | None = None
    version_returncodes: tuple[int, ...] = (0,)
    install: str = ""
    require: tuple[Requirement, ...] = ()


@dataclass(frozen=True)
class Quality:
    parameter: str
    low: float
    high: float
    integer: bool
    larger: str
    sweep: tuple[float, ...]

    def to_tool(self, quality: float) -> float:
        """licbench quality (larger = more bytes) → the tool's parameter value."""
        return self.low + self.high - quality if self.larger == "fewer-bytes" else quality

    def from_tool(self, value: float) -> float:
        return self.to_tool(value)  # the mapping is its own inverse


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None = None
    required: bool = False
    env: str | None = None
    kind: str = "str"
    choices: tuple[str, ...] = ()
    help: str = ""
    #: a file parameter's default: candidate paths with {TOOL_dir} placeholders, first found
    search: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    command: tuple[str, ...]
    input: str = ""
    output: str = ""


@dataclass(frozen=True)
class YUV:
    chroma: str = "444"
    bit_depth: int = 8
    precision: int = 8
    rounding: str = "truncate"
    dimensions: str = "stream"
    #: the spec parameter that picks ``chroma`` per codec ("" when the definition fixes it);
    #: ``chroma`` then holds that parameter's default
    chroma_param: str = ""


@dataclass(frozen=True)
class Definition:
    name: str
    description: str
    path: Path
    sha256: str
    tools: dict[str, Tool]
    quality: Quality
    params: dict[str, Param]
    encode: Step
    decode: Step
    yuv: YUV
    timeout: float = 600.0
    #: added to ``timeout`` per megapixel of the picture a tool is given
    timeout_per_megapixel: float = 0.0
    #: whether `licbench run` without --codecs includes it (when available)
    default_run: bool = True

    def tool_timeout(self, pixels: int | None) -> float:
        """Seconds one tool invocation may take for a picture of ``pixels`` (None: unknown)."""
        return self.timeout + self.timeout_per_megapixel * (pixels or 0) / 1e6


def _fail(path: Path, message: str) -> DefinitionError:
    return DefinitionError(f"codec definition {path}: {message}")


def _table(path: Path, data: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(path, f"missing [{key}] table")
        return {}
    if not isinstance(value, dict):
        raise _fail(path, f"{key} must be a table")
    return value


def _argv(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise _fail(
            path,
            f"{where} must be a non-empty list of arguments (run without a shell, so one string "
            "per argument)",
        )
    if not all(isinstance(item, str | int | float) for item in value):
        raise _fail(path, f"{where}: every argument must be a string or a number")
    return tuple(str(item) for item in value)


def _unknown_keys(path: Path, where: str, table: dict[str, Any], known: set[str]) -> None:
    extra = set(table) - known
    if extra:
        raise _fail(path, f"unknown key(s) in {where}: {', '.join(sorted(extra))}")


def _placeholders(argv: tuple[str, ...]) -> set[str]:
    names: set[str] = set()
    for item in argv:
        try:
            parsed = list(string.Formatter().parse(item))
        except ValueError as exc:
            raise ValueError(f"argument {item!r}: {exc}") from None
        for _, field_name, spec, conversion in parsed:
            if field_name is None:
                continue
            if spec or conversion or not _IDENT.match(field_name):
                raise ValueError(
                    f"argument {item!r}: only plain placeholders like {{name}} are allowed"
                )
            names.add(field_name)
    return names


def _parse_tool(path: Path, key: str, table: Any) -> Tool:
    if not isinstance(table, dict):
        raise _fail(path, f"[tools.{key}] must be a table")
    _unknown_keys(
        path,
        f"[tools.{key}]",
        table,
        {
            "command",
            "env",
            "locate",
            "version",
            "version_pattern",
            "version_returncodes",
            "install",
            "require",
        },
    )
    command = table.get("command")
    if not isinstance(command, str) or not command:
        raise _fail(path, f'[tools.{key}] needs command = "NAME_OR_PATH"')
    if "version" not in table:
        raise _fail(path, f"[tools.{key}] needs version = [...] (the command printing its version)")
    version = _argv(path, f"tools.{key}.version", table["version"])
    pattern = table.get("version_pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(path, f"tools.{key}.version_pattern: {exc}") from None
    codes = table.get("version_returncodes", [0])
    if not isinstance(codes, list) or not all(isinstance(c, int) for c in codes):
        raise _fail(path, f"tools.{key}.version_returncodes must be a list of integers")
    locate = table.get("locate")
    if locate is not None and (not isinstance(locate, str) or ":" not in locate):
        raise _fail(path, f'tools.{key}.locate must be "module:function"')
    requirements = []
    for i, req in enumerate(table.get("require", [])):
        if not isinstance(req, dict) or not isinstance(req.get("pattern"), str):
            raise _fail(path, f"tools.{key}.require[{i}] needs command, pattern and reason")
        _unknown_keys(path, f"tools.{key}.require[{i}]", req, {"command", "pattern", "reason"})
        try:
            re.compile(req["pattern"])
        except re.error as exc:
            raise _fail(path, f"tools.{key}.require[{i}].pattern: {exc}") from None
        requirements.append(
            Requirement(
                _argv(path, f"tools.{key}.require[{i}].command", req.get("command")),
                req["pattern"],
                str(req.get("reason") or f"{key} lacks a required capability"),
            )
        )
    return Tool(
        key=key,
        command=command,
        version=version,
        env=table.get("env"),
        locate=locate,
        version_pattern=pattern,
        version_returncodes=tuple(codes),
        install=str(table.get("install", "")),
        require=tuple(requirements),
    )


def _parse_quality(path: Path, table: dict[str, Any]) -> Quality:
    _unknown_keys(path, "[quality]", table, {"parameter", "range", "integer", "larger", "sweep"})
    parameter = table.get("parameter", "quality")
    if not isinstance(parameter, str) or not _IDENT.match(parameter):
        raise _fail(path, 'quality.parameter must be an identifier such as "qp"')
    bounds = table.get("range")
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds)
        or not bounds[0] < bounds[1]
    ):
        raise _fail(path, "quality.range must be [low, high], finite numbers with low < high")
    larger = table.get("larger", "more-bytes")
    if larger not in DIRECTIONS:
        raise _fail(path, f"quality.larger must be one of {DIRECTIONS}")
    sweep = table.get("sweep")
    if not isinstance(sweep, list) or not sweep:
        raise _fail(path, "quality.sweep must be a non-empty list (in the tool's units)")
    integer = bool(table.get("integer", True))
    low, high = float(bounds[0]), float(bounds[1])
    for value in sweep:
        if not isinstance(value, int | float) or not low <= value <= high:
            raise _fail(path, f"quality.sweep value {value!r} is outside {bounds}")
        if integer and float(value) != int(value):
            raise _fail(path, f"quality.sweep value {value!r} is not an integer")
    return Quality(parameter, low, high, integer, larger, tuple(float(v) for v in sweep))


def _parse_param(path: Path, name: str, table: Any) -> Param:
    if not isinstance(table, dict):
        raise _fail(path, f"[params.{name}] must be a table")
    if not _IDENT.match(name):
        raise _fail(path, f"parameter name {name!r} must be an identifier")
    _unknown_keys(
        path,
        f"[params.{name}]",
        table,
        {"default", "required", "env", "kind", "choices", "help", "search"},
    )
    kind = table.get("kind", "str")
    if kind not in ("str", "file"):
        raise _fail(path, f'params.{name}.kind must be "str" or "file"')
    default = table.get("default")
    choices = tuple(str(c) for c in table.get("choices", []))
    if default is not None and choices and str(default) not in choices:
        raise _fail(path, f"params.{name}.default {default!r} is not among its choices")
    search = table.get("search", [])
    if not isinstance(search, list) or not all(isinstance(s, str) and s for s in search):
        raise _fail(path, f"params.{name}.search must be a list of paths")
    if search and kind != "file":
        raise _fail(path, f'params.{name}.search is for kind = "file" parameters')
    return Param(
        name=name,
        default=None if default is None else str(default),
        required=bool(table.get("required", False)),
        env=table.get("env"),
        kind=kind,
        choices=choices,
        help=str(table.get("help", "")),
        search=tuple(search),
    )


def _parse_step(path: Path, which: str, table: dict[str, Any], formats: tuple[str, ...]) -> Step:
    _unknown_keys(path, f"[{which}]", table, {"command", "input", "output"})
    command = _argv(path, f"{which}.command", table.get("command"))
    fmt_key = "input" if which == "encode" else "output"
    fmt = table.get(fmt_key)
    if fmt not in formats:
        raise _fail(path, f"{which}.{fmt_key} must be one of {formats}")
    if which == "encode":
        ext = table.get("output")
        if not isinstance(ext, str) or not re.match(r"^[A-Za-z0-9]+$", ext):
            raise _fail(path, 'encode.output must be the bitstream\'s file extension, e.g. "bpg"')
        return Step(command, input=fmt, output=ext)
    return Step(command, output=fmt)


def _parse_yuv(path: Path, table: dict[str, Any], params: dict[str, Param]) -> YUV:
    _unknown_keys(
        path, "[yuv]", table, {"chroma", "bit_depth", "precision", "rounding", "dimensions"}
    )
    chroma, chroma_param = str(table.get("chroma", "444")), ""
    named = re.fullmatch(r"\{([a-z_][a-z0-9_]*)\}", chroma)
    if named:
        chroma_param = named.group(1)
        param = params.get(chroma_param)
        if (
            param is None
            or param.default is None
            or not param.choices
            or not set(param.choices) <= {"444", "420"}
        ):
            raise _fail(
                path,
                f"yuv.chroma = {chroma!r} needs [params.{chroma_param}] with a default and "
                'choices among "444" and "420"',
            )
        chroma = param.default
    yuv = YUV(
        chroma=chroma,
        bit_depth=int(table.get("bit_depth", 8)),
        precision=int(table.get("precision", table.get("bit_depth", 8))),
        rounding=str(table.get("rounding", "truncate")),
        dimensions=str(table.get("dimensions", "stream")),
        chroma_param=chroma_param,
    )
    if yuv.chroma not in ("444", "420"):
        raise _fail(path, 'yuv.chroma must be "444" or "420"')
    if not (yuv.bit_depth == 8 or 10 <= yuv.bit_depth <= 16):
        raise _fail(path, "yuv.bit_depth must be 8 or 10..16")
    if not 8 <= yuv.precision <= yuv.bit_depth:
        raise _fail(path, "yuv.precision must lie between 8 and yuv.bit_depth")
    if yuv.rounding not in ("truncate", "round"):
        raise _fail(path, 'yuv.rounding must be "truncate" or "round"')
    if yuv.dimensions not in ("stream", "prefix"):
        raise _fail(path, 'yuv.dimensions must be "stream" or "prefix"')
    return yuv


def parse_definition(text: str, path: Path) -> Definition:
    """Parse and check one definition; every problem is a :class:`DefinitionError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    _unknown_keys(
        path,
        "the top level",
        data,
        {
            "name",
            "description",
            "timeout",
            "timeout_per_megapixel",
            "default_run",
            "tools",
            "quality",
            "params",
            "encode",
            "decode",
            "yuv",
        },
    )
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(path, f"name {name!r}: use lower-case letters, digits, '-', '_', '.', '+'")
    tools_table = _table(path, data, "tools")
    if not tools_table:
        raise _fail(path, "[tools] must name at least one executable")
    tools = {}
    for key, table in tools_table.items():
        if not _IDENT.match(key):
            raise _fail(path, f"tool name {key!r} must be an identifier (it is a placeholder)")
        tools[key] = _parse_tool(path, key, table)
    quality = _parse_quality(path, _table(path, data, "quality"))
    params = {n: _parse_param(path, n, t) for n, t in _table(path, data, "params", False).items()}
    encode = _parse_step(path, "encode", _table(path, data, "encode"), ENCODE_INPUTS)
    decode = _parse_step(path, "decode", _table(path, data, "decode"), DECODE_OUTPUTS)
    yuv = _parse_yuv(path, _table(path, data, "yuv", False), params)
    if yuv.dimensions == "stream" and decode.output == "yuv":
        raise _fail(
            path,
            'a raw yuv decoder output does not say its size: set yuv.dimensions = "prefix"',
        )
    timeout = data.get("timeout", 600)
    if not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
        raise _fail(path, "timeout must be a positive, finite number of seconds")
    per_megapixel = data.get("timeout_per_megapixel", 0)
    if not isinstance(per_megapixel, int | float) or not 0 <= per_megapixel < float("inf"):
        raise _fail(path, "timeout_per_megapixel must be a finite number of seconds, 0 or more")
    default_run = data.get("default_run", True)
    if not isinstance(default_run, bool):
        raise _fail(path, "default_run must be true or false")

    # every placeholder must be known, and names must not shadow each other
    if quality.parameter == "quality" and quality.larger != "more-bytes":
        raise _fail(path, 'quality.parameter: name the tool\'s own parameter (e.g. "qp")')
    own = [] if quality.parameter == "quality" else [quality.parameter]
    names = [*BUILTIN_PLACEHOLDERS, *own, *tools, *params]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise _fail(path, f"placeholder name(s) used twice: {', '.join(sorted(duplicates))}")
    known = set(names)
    commands = {"encode.command": encode.command, "decode.command": decode.command}
    for key, tool in tools.items():
        commands[f"tools.{key}.version"] = tool.version
        for i, req in enumerate(tool.require):
            commands[f"tools.{key}.require[{i}].command"] = req.command
    tool_dirs = {f"{key}_dir" for key in tools}
    for key, param in params.items():
        try:
            used = _placeholders(param.search)
        except ValueError as exc:
            raise _fail(path, f"params.{key}.search: {exc}") from None
        if used - tool_dirs:
            raise _fail(
                path,
                f"params.{key}.search uses {', '.join(sorted(used - tool_dirs))}; it knows "
                f"only the tools' folders ({', '.join(sorted(tool_dirs))})",
            )
    for where, argv in commands.items():
        try:
            used = _placeholders(argv)
        except ValueError as exc:
            raise _fail(path, f"{where}: {exc}") from None
        unknown = used - known
        if unknown:
            raise _fail(
                path,
                f"{where} uses unknown placeholder(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})",
            )
        if not where.startswith("encode") and not where.startswith("decode"):
            if used - set(tools) - {"devnull"}:
                raise _fail(path, f"{where} may only use tool placeholders")
        if where == "decode.command":
            if used & {"quality", quality.parameter}:
                raise _fail(path, "decode.command cannot use the quality: decoding uses the bytes")
            if used & {"width", "height"} and yuv.dimensions != "prefix":
                raise _fail(
                    path,
                    'decode.command can use {width}/{height} only with yuv.dimensions = "prefix"',
                )

    return Definition(
        name=name,
        description=str(data.get("description", "")),
        path=path,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        tools=tools,
        quality=quality,
        params=params,
        encode=encode,
        decode=decode,
        yuv=yuv,
        timeout=float(timeout),
        timeout_per_megapixel=float(per_megapixel),
        default_run=default_run,
    )


def load_definition(path: str | Path) -> Definition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(path, f"cannot read it: {exc}") from None
    return parse_definition(text, path)
