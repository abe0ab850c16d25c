"""Finding, checking and running the executables of a command-line codec.

Every process is started with an argument list (never ``shell=True``), with no standard input,
a timeout and captured output, so a hanging or chatty tool cannot stall or flood a run. Looking
a tool up never raises: a missing tool, a failing capability check or an unusable ``locate``
hook becomes a reason why the codec is unavailable.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from licbench.codecs.external.definition import Tool
from licbench.registry import import_object

#: seconds allowed for a version or capability query
QUERY_TIMEOUT = 60.0
#: characters of a failing tool's output quoted in the error
OUTPUT_TAIL = 1500


class ExternalToolError(RuntimeError):
    """A tool that failed, timed out or wrote nothing: says which command and why."""


@dataclass(frozen=True)
class Located:
    path: str | None
    reason: str = ""


def locate(tool: Tool) -> Located:
    """Where the tool is: its ``env`` variable, then its ``locate`` hook, then ``command``."""
    if tool.env and os.environ.get(tool.env):
        candidate = os.environ[tool.env]
        found = shutil.which(candidate)
        if found:
            return Located(found)
        return Located(None, f"{tool.env}={candidate} is not an executable file")
    hook_reason = ""
    if tool.locate:
        try:
            found = str(import_object(tool.locate)())
        except Exception as exc:  # an optional package that is missing or has no binary
            hook_reason = f" ({tool.locate} failed: {type(exc).__name__}: {exc})"
        else:
            if found and shutil.which(found):
                return Located(found)
            hook_reason = f" ({tool.locate} returned {found!r}, not an executable)"
    found = shutil.which(tool.command)
    if found:
        return Located(found)
    where = f"set {tool.env} or " if tool.env else ""
    return Located(None, f"{tool.command} not found ({where}put it on PATH){hook_reason}".strip())


def format_argv(template: Sequence[str], values: Mapping[str, object]) -> list[str]:
    """Fill each argument's placeholders; the result is an argument vector for ``run``."""
    return [item.format_map(values) for item in template]


def run(argv: Sequence[str], *, timeout: float, cwd: str | Path | None = None) -> str:
    """Run ``argv``; return stdout + stderr as text; raise ExternalToolError on any failure."""
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExternalToolError(
            f"{_show(argv)} did not finish within {timeout:g} s and was stopped"
        ) from None
    except OSError as exc:
        raise ExternalToolError(f"{_show(argv)} could not be started: {exc}") from None
    output = _text(done.stdout) + _text(done.stderr)
    if done.returncode != 0:
        raise ExternalToolError(
            f"{_show(argv)} exited with status {done.returncode}: {output[-OUTPUT_TAIL:].strip()}"
        )
    return output


def query(argv: Sequence[str], returncodes: Sequence[int] = (0,)) -> tuple[bool, str]:
    """Run a version or capability query; (accepted, output). Never raises."""
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=QUERY_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return done.returncode in returncodes, _text(done.stdout) + _text(done.stderr)


def version_text(tool: Tool, argv: Sequence[str]) -> str:
    """The tool's version: ``version_pattern``'s group 1 (or match), else the first line."""
    ok, output = query(argv, tool.version_returncodes)
    if not ok:
        raise ExternalToolError(
            f"{_show(argv)} (the version query of {tool.key}) failed: "
            f"{output[-OUTPUT_TAIL:].strip()}"
        )
    if tool.version_pattern:
        match = re.search(tool.version_pattern, output, re.MULTILINE)
        if not match:
            raise ExternalToolError(
                f"{_show(argv)}: no match for {tool.version_pattern!r} in its output "
                f"{output[:300].strip()!r}"
            )
        return (match.group(1) if match.groups() else match.group(0)).strip()
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        raise ExternalToolError(f"{_show(argv)} printed nothing; cannot tell the version")
    return lines[0]


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _show(argv: Sequence[str]) -> str:
    shown = " ".join(str(a) for a in argv)
    return f"`{shown[:300]}`"
