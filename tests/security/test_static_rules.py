"""Repository-wide guards: checkpoints load with weights_only=True, nothing runs a shell.

These read the source (with ``ast``, so comments and strings never count) rather than trusting
review: a new ``torch.load(path)`` or ``subprocess.run(..., shell=True)`` anywhere fails here,
and so does a ruff configuration that stops enforcing S602/S604/S605.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "licbench"
SHELL_RULES = ("S602", "S604", "S605")


def python_files(*folders: Path) -> list[Path]:
    files = []
    for folder in folders:
        files.extend(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def repository_python_files() -> list[Path]:
    folders = [ROOT / name for name in ("licbench", "tests", "benchmarks", ".ci")]
    files = python_files(*[f for f in folders if f.is_dir()])
    return files + sorted(ROOT.glob("*.py"))


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def torch_load_names(tree: ast.Module) -> set[str]:
    """Every name under which this module can call torch.load (aliases included)."""
    names = {"torch.load", "torch.serialization.load"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" and alias.asname:
                    names |= {f"{alias.asname}.load", f"{alias.asname}.serialization.load"}
                if alias.name == "torch.serialization" and alias.asname:
                    names.add(f"{alias.asname}.load")
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "torch.serialization"):
            for alias in node.names:
                if alias.name == "load":
                    names.add(alias.asname or "load")
                if alias.name == "serialization":
                    names.add(f"{alias.asname or 'serialization'}.load")
    return names


def unsafe_torch_loads(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = torch_load_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted(node.func) in names:
            safe = any(
                k.arg == "weights_only"
                and isinstance(k.value, ast.Constant)
                and k.value.value is True
                for k in node.keywords
            )
            if not safe:
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def shell_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno}: shell={ast.unparse(keyword.value)}"
                )
        if dotted(node.func) in (
            "os.system",
            "os.popen",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {dotted(node.func)}()")
    return found


def test_every_torch_load_in_the_package_passes_weights_only_true():
    offenders = [hit for path in python_files(PACKAGE) for hit in unsafe_torch_loads(path)]
    assert not offenders, f"torch.load without weights_only=True: {offenders}"


def test_the_torch_load_check_catches_what_it_should(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import torch\nimport torch as th\nfrom torch import load as L\n"
        "torch.load('a')\nth.load('b', weights_only=False)\nL('c')\n"
        "torch.load('d', weights_only=True)\n"
        "text = 'torch.load(x)'  # strings and comments do not count: torch.load(y)\n"
    )
    hits = unsafe_torch_loads(sample, root=tmp_path)
    assert [hit.split(":")[1] for hit in hits] == ["4", "5", "6"]


def test_nothing_in_the_repository_runs_a_shell():
    offenders = [hit for path in repository_python_files() for hit in shell_calls(path)]
    assert not offenders, f"shell=True or a shell-running call: {offenders}"


def _covered(rule: str, selectors: list[str]) -> bool:
    return any(s == "ALL" or rule.startswith(s) for s in selectors)


def test_ruff_configuration_keeps_the_shell_rules():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lint = config["tool"]["ruff"].get("lint", {})
    selected = lint.get("select", []) + lint.get("extend-select", [])
    ignored = lint.get("ignore", []) + lint.get("extend-ignore", [])
    per_file = [rule for rules in lint.get("per-file-ignores", {}).values() for rule in rules]
    for rule in SHELL_RULES:
        assert _covered(rule, selected), f"ruff no longer selects {rule}"
        assert not _covered(rule, ignored), f"ruff ignores {rule}"
        assert not _covered(rule, per_file), f"ruff ignores {rule} for some files"


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_flags_shell_true_with_the_repository_configuration():
    code = "import subprocess\nsubprocess.run('ls', shell=True)\n"
    result = subprocess.run(
        [
            "ruff",
            "check",
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--stdin-filename",
            str(PACKAGE / "shell_probe.py"),
            "--output-format",
            "concise",
            "-",
        ],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "S602" in result.stdout, result.stdout + result.stderr
