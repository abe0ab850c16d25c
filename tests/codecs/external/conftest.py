"""Fixtures for command-line codecs: fresh tool probes, a private temp folder, fake executables."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from licbench.codecs import CODECS
from licbench.codecs.external import builtin_definitions


@pytest.fixture(autouse=True)
def fresh_probes() -> Iterator[None]:
    """Tool paths, checks and versions are cached per class: forget them around each test."""

    def clear() -> None:
        for name in builtin_definitions():
            CODECS.get(name).clear_cache()

    clear()
    yield
    clear()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile's folder for this test only, so a test can check that nothing is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``fake_bin("bpgenc", "bpgdec")``: executables on PATH that are never meant to run."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")

    def make(*names: str, script: str = "#!/bin/sh\nexit 99\n") -> Path:
        for name in names:
            path = folder / name
            path.write_text(script)
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return folder

    return make


class FakeRun:
    """Stands in for ``tools.execute``, the one place licbench starts a tool: records every argv
    and lets a test say what each tool writes and prints. Nothing else is mocked."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.handlers: list[tuple[Callable[[list[str]], bool], Callable[[list[str]], object]]] = []

    def on(self, match: Callable[[list[str]], bool], action: Callable[[list[str]], object]):
        self.handlers.append((match, action))

    def __call__(self, argv, **kwargs) -> subprocess.CompletedProcess:
        argv = [str(a) for a in argv]
        assert kwargs.get("shell") in (None, False)
        self.calls.append(argv)
        for match, action in self.handlers:
            if match(argv):
                result = action(argv)
                if isinstance(result, subprocess.CompletedProcess):
                    return result
                code, out = result if isinstance(result, tuple) else (0, result or "")
                return subprocess.CompletedProcess(argv, code, str(out).encode(), b"")
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    from licbench.codecs.external import tools

    fake = FakeRun()
    monkeypatch.setattr(tools, "execute", fake)
    return fake
