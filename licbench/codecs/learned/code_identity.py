"""What code a learned codec runs, as one digest in its ``version()`` (so in its codec key).

A learned codec's output depends on its weights (their sha256 is in the key already), the
libraries (torch, compressai: versions in the key) and the Python code that defines the network
and the coding around it. A fix to a layer, a changed padding rule or a reordered slice loop
changes the numbers while every version string stays the same, so the key carries a digest of
that code too.

Which code
    * licbench's architectures: the module of the architecture's builder (``cca.py``, ...) and,
      transitively, every ``licbench.codecs.learned`` module it imports (found by reading the
      import statements, nested ones included, without importing anything): layers, the latent
      codec, slice coder, support policy, model base class, tiling. Plus the codec glue that turns
      pixels into bytes and back (``codec.py``: the learned-codec stack's base and licbench's
      kind, ``bitstream.py``), not followed further (it imports checkpoint downloading, latency
      timers: no part of the numbers). An architecture's declaration (its module in ``archs/``)
      holds its configurations, and the registry (``configs.py``) every architecture's, so
      instead of those files the *configuration in use* is digested (its dataclass ``repr``:
      every width, depth and slice size); a declaration can hold nothing else that changes the
      numbers (``configs.register_architecture`` refuses it).
    * CompressAI models (zoo or your own ``package.module:Class``): the source files of the model
      class and of each base class up to ``torch.nn.Module`` (compressai's ``google.py`` and
      ``base.py``, say), or, for a factory function, the module defining it; the rest of
      compressai (layers, entropy models) is covered by the compressai version already in the
      key. For your own model, also every module of your package that the defining module
      imports, transitively (your layers).

How it is digested
    Each file's code without its docstrings and comments (``ast.unparse`` of the parsed module,
    docstrings dropped), so editing documentation does not make every stored result stale, while
    any change to a statement does. Another module of licbench (reports, metrics, the harness)
    never enters a learned codec's key. ``ast.unparse`` may lay out the same code differently
    under another Python minor version (rarely): then results are recomputed, never reused wrongly.

Costs a few milliseconds per file, once per process (cached by path, size and mtime).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: licbench's learned-codec package: the closure of an architecture stays inside it
PACKAGE = "licbench.codecs.learned"
#: the coding glue of licbench's learned codecs, digested without following its imports
GLUE = (f"{PACKAGE}.codec", f"{PACKAGE}.bitstream")
#: hold the architectures' configurations: replaced by the configuration in use (the registry,
#: and the package of declarations, one module per architecture)
CONFIGS = f"{PACKAGE}.configs"
DECLARATIONS = f"{PACKAGE}.archs"

_file_cache: dict[tuple[str, int, int], str] = {}


def module_file(name: str) -> Path:
    """The source file of module ``name``, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise LookupError(f"no Python source for module {name}")
    return Path(spec.origin)


def _imported(path: Path, package: str) -> set[str]:
    """Modules under ``package`` that the file imports, anywhere in it (nested imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # "from package import module" names a module as well as "from package.module"
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if _is_module(name, package))
    return found


def _is_module(name: str, package: str) -> bool:
    """Whether ``name`` is a module file inside ``package`` (not a class imported from one)."""
    if not name.startswith(package + "."):
        return False
    folder = module_file(package).parent
    parts = name[len(package) + 1 :].split(".")
    return folder.joinpath(*parts[:-1], parts[-1] + ".py").is_file()


def module_closure(
    start: Iterable[str],
    package: str = PACKAGE,
    exclude: Iterable[str] = (CONFIGS, DECLARATIONS),
) -> list[str]:
    """``start`` and every module under ``package`` they import, transitively, except the
    modules ``exclude`` names and those under them; sorted."""
    skip = tuple(exclude)

    def wanted(name: str) -> bool:
        return not any(name == s or name.startswith(s + ".") for s in skip)

    seen: set[str] = set()
    todo = [name for name in start if wanted(name)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(m for m in _imported(module_file(name), package) if wanted(m))
    return sorted(seen)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_text(path: str | os.PathLike[str]) -> str:
    """The code of a Python file without docstrings and comments, in one canonical layout."""
    source = Path(path).read_text(encoding="utf-8")
    return ast.unparse(_strip_docstrings(ast.parse(source)))


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of :func:`code_text`, cached per (path, size, mtime) in this process."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _file_cache:
        _file_cache[key] = hashlib.sha256(code_text(path).encode()).hexdigest()
    return _file_cache[key]


def code_digest(files: Sequence[tuple[str, str | os.PathLike[str]]], extra: str = "") -> str:
    """One digest of named files' code (name, path) and ``extra`` text: 16 hex digits."""
    digest = hashlib.sha256()
    for name, path in sorted(files, key=lambda item: item[0]):
        digest.update(f"{name}\0{file_digest(path)}\0".encode())
    digest.update(extra.encode())
    return digest.hexdigest()[:16]


def arch_modules(arch: str) -> list[str]:
    """The modules whose code a licbench architecture runs (see the module docstring)."""
    from licbench.codecs.learned.configs import MODELS

    builder = MODELS.get(arch).builder.split(":", 1)[0]
    return sorted({*module_closure([builder]), *GLUE})


def arch_code_digest(arch: str, config: str) -> str:
    """The code digest of a licbench architecture with one of its configurations."""
    from licbench.codecs.learned.configs import get_config

    files = [(name, module_file(name)) for name in arch_modules(arch)]
    return code_digest(files, repr(get_config(arch, config)))


def class_files(obj: Any) -> list[tuple[str, Path]]:
    """Source files of a model class and its bases up to ``torch.nn.Module`` (or of the module
    defining a factory function); (module name, path), each once."""
    if isinstance(obj, type):
        owners: list[Any] = [
            c for c in obj.__mro__ if c.__module__.split(".")[0] not in ("torch", "builtins")
        ]
    else:
        owners = [obj]
    files: dict[str, Path] = {}
    for owner in owners:
        try:
            path = inspect.getsourcefile(owner)
        except TypeError:  # built in: no source to digest
            continue
        if path and path.endswith(".py"):
            files.setdefault(owner.__module__, Path(path))
    return sorted(files.items())


def model_code_digest(obj: Any, *, own: bool = False) -> str:
    """The code digest of a CompressAI-API model class (or factory function). ``own``: a
    user's model, whose package's modules imported (transitively) by the defining module are
    digested too (their layers, say); compressai's are covered by its version."""
    files = dict(class_files(obj))
    if own:
        top = obj.__module__.split(".")[0]
        for name in module_closure([obj.__module__], package=top, exclude=()):
            files.setdefault(name, module_file(name))
    return code_digest(sorted(files.items()))


__all__ = [
    "arch_code_digest",
    "arch_modules",
    "class_files",
    "code_digest",
    "code_text",
    "model_code_digest",
    "module_closure",
]
