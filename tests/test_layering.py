"""Imports point down only, and no licbench module imports itself round a circle.

The order (``shared/DESIGN.md``): core helpers → registry → codecs, datasets, metrics → bench →
results → reports, references → api → cli. A room may import its own modules and any lower
layer; never a higher layer, and never a sibling of its own layer (codecs, datasets and metrics
share what they all need through ``licbench.core`` instead). Why a test: a lazy import inside a
function reads as harmless in review and is how ``metrics`` came to import ``codecs`` and
``codecs`` to import ``bench``; the source itself is read here (with ``ast``: every ``import``
and ``from`` statement, also those inside functions and under ``if TYPE_CHECKING``, relative
ones resolved), so no such edge gets in unnoticed.

Lazy names written as strings (``"module:Class"`` registry entries, the facade's table in
``licbench/__init__.py``) are not imports and are not read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "licbench"

#: each room (a module, or a package with everything under it) and its layer, low to high
LAYERS: dict[str, int] = {
    "licbench.core": 0,
    "licbench.paths": 0,
    "licbench.registry": 1,
    "licbench.codecs": 2,
    "licbench.datasets": 2,
    "licbench.metrics": 2,
    "licbench.bench": 3,
    "licbench.results": 4,  # (may not exist yet: nothing here requires a room to exist)
    "licbench.reports": 5,
    "licbench.references": 5,
    "licbench.api": 6,
    "licbench": 6,  # the package's own __init__: the facade beside api (lazy names, as strings)
    "licbench.cli": 7,
}

# Edges up the stack, or between reports and references, allowed only while those two packages
# are rewritten on top of ``licbench.results``: (importing file, imported module). Only files of
# reports/ and references/ may be listed, and an entry that is no longer true fails the test
# below (delete it then). Empty since the results layer landed; the three it held were
# references/compare.py -> reports.analysis, reports/outputs.py -> references.compare and
# reports/outputs.py -> licbench (the facade, for the version).
KNOWN_UNTIL_RESULTS_LAYER: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One imported licbench module, where it is imported, and whether at module level."""

    path: Path
    line: int
    target: str
    statement: str
    module_level: bool

    @property
    def file(self) -> str:
        return self.path.relative_to(ROOT).as_posix()

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.statement}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    return {module_name(p): p for p in files}


def room(module: str) -> str | None:
    """The entry of :data:`LAYERS` that ``module`` belongs to (the longest matching prefix)."""
    best = None
    for name in LAYERS:
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best)
        ):
            best = name
    if best == "licbench" and module != "licbench":
        return None  # a new top-level module: it must be given a layer, not fall to the facade
    return best


def _inside_functions(tree: ast.Module) -> set[int]:
    """ids of the import statements inside a function (they run when it is called).

    Everything else runs when the module is imported, also under ``if``/``try`` at the top and
    under ``if TYPE_CHECKING`` (type checkers follow those imports, and so do readers).
    """
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }


def imports_of(path: Path, modules: dict[str, Path], source: str | None = None) -> list[Import]:
    """Every licbench module that ``path`` imports, wherever in the file the statement is.

    ``source`` stands in for the file's text (the test of the parser itself).
    """
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    lazy = _inside_functions(tree)
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "licbench" or alias.name.startswith("licbench."):
                    statement = f"import {alias.name}"
                    found.append(
                        Import(path, node.lineno, alias.name, statement, id(node) not in lazy)
                    )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not (target == "licbench" or target.startswith("licbench.")):
                continue
            statement = "from {}{} import {}".format(
                "." * node.level, node.module or "", ", ".join(a.name for a in node.names)
            )
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                # ``from licbench.x import y`` imports the module licbench.x.y when there is one
                found.append(
                    Import(
                        path,
                        node.lineno,
                        sub if sub in modules else target,
                        statement,
                        id(node) not in lazy,
                    )
                )
    return found


def all_imports() -> list[Import]:
    modules = source_files()
    return [imp for path in modules.values() for imp in imports_of(path, modules)]


def violation(imp: Import) -> str | None:
    """Why ``imp`` breaks the layering, or None when it points down or stays in its room."""
    source_room = room(module_name(imp.path))
    target_room = room(imp.target)
    if source_room is None:
        return f"{imp.file} is in no layer: add its room to LAYERS in tests/test_layering.py"
    if target_room is None:
        return f"{imp}: {imp.target} is in no layer: add its room to LAYERS"
    if source_room == target_room:
        return None
    mine, theirs = LAYERS[source_room], LAYERS[target_room]
    if theirs < mine:
        return None
    where = "a higher layer" if theirs > mine else "a sibling room of the same layer"
    return (
        f"{imp}: {source_room} (layer {mine}) imports {imp.target} "
        f"({where}: {target_room}, layer {theirs})"
    )


def violations() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for imp in all_imports():
        why = violation(imp)
        if why is not None:
            found.setdefault((imp.file, imp.target), []).append(why)
    return found


def test_every_module_has_a_layer():
    unplaced = [name for name in source_files() if room(name) is None]
    assert not unplaced, f"modules in no layer (add their room to LAYERS): {unplaced}"


def test_core_imports_nothing_of_licbench():
    modules = source_files()
    inside = [
        str(imp)
        for name, path in modules.items()
        if room(name) == "licbench.core"
        for imp in imports_of(path, modules)
        if room(imp.target) != "licbench.core"
    ]
    assert not inside, "licbench.core must import nothing of licbench:\n" + "\n".join(inside)


def test_imports_point_down_the_stack():
    found = violations()
    new = sorted(
        why for key, whys in found.items() if key not in KNOWN_UNTIL_RESULTS_LAYER for why in whys
    )
    assert not new, "imports up the stack or across a layer:\n" + "\n".join(new)


def test_known_exceptions_are_only_in_reports_and_references_and_still_true():
    outside = sorted(
        entry
        for entry in KNOWN_UNTIL_RESULTS_LAYER
        if not entry[0].startswith(("licbench/reports/", "licbench/references/"))
    )
    assert not outside, f"only reports/ and references/ may have known exceptions: {outside}"
    stale = sorted(KNOWN_UNTIL_RESULTS_LAYER - set(violations()))
    assert not stale, (
        "these imports are gone: delete them from KNOWN_UNTIL_RESULTS_LAYER in "
        f"tests/test_layering.py: {stale}"
    )


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(step) == 1:
                return path[path.index(step) :] + [step]
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                stack.append(iter(sorted(graph.get(step, ()))))
    return None


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles of ``graph`` until none is left, each found after cutting the last one's last edge
    (so every circle is named at once, not one per test run)."""
    remaining = {node: set(targets) for node, targets in graph.items()}
    cycles = []
    while (cycle := find_cycle(remaining)) is not None:
        cycles.append(cycle)
        remaining[cycle[-2]].discard(cycle[-1])
    return cycles


def import_graph(*, module_level_only: bool) -> tuple[dict[str, set[str]], dict[tuple, Import]]:
    """module -> the licbench modules it imports; and where each edge is written.

    A package's ``__init__`` is not counted as imported by ``import licbench.x.y`` (Python runs
    it first, but it cannot form a circle unless it imports back, which is its own edge).
    """
    modules = source_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    where: dict[tuple, Import] = {}
    for name, path in modules.items():
        for imp in imports_of(path, modules):
            if imp.target in modules and imp.target != name:
                if module_level_only and not imp.module_level:
                    continue
                graph[name].add(imp.target)
                where.setdefault((name, imp.target), imp)
    return graph, where


def describe(cycle: list[str], where: dict[tuple, Import]) -> str:
    steps = zip(cycle, cycle[1:], strict=False)
    return "\n".join(f"  {a} -> {b}   ({where[(a, b)]})" for a, b in steps)


def test_no_import_cycle_at_module_level():
    graph, where = import_graph(module_level_only=True)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (module-level imports):\n" + "\n\n".join(
        describe(cycle, where) for cycle in cycles
    )


def test_no_import_cycle_even_through_imports_inside_functions():
    graph, where = import_graph(module_level_only=False)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (counting imports inside functions):\n" + "\n\n".join(
        describe(cycle, where) for cycle in cycles
    )


def test_the_checker_sees_what_it_must():
    """The parser itself: function-level, TYPE_CHECKING and relative imports all count."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from licbench.bench.store import Store\n"
        "def f():\n"
        "    import licbench.reports.analysis\n"
        "    from ..bench import jobs\n"
        "    from . import psnr\n"
    )
    probe = PACKAGE / "metrics" / "probe.py"  # never written: its text is passed in
    found = sorted(imports_of(probe, source_files(), source), key=lambda i: i.line)
    assert [(i.line, i.target, i.module_level) for i in found] == [
        (3, "licbench.bench.store", True),
        (5, "licbench.reports.analysis", False),
        (6, "licbench.bench.jobs", False),
        (7, "licbench.metrics.psnr", False),
    ]
    assert [bool(violation(i)) for i in found] == [True, True, True, False]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert find_cycles({**graph, "x": {"y"}, "y": {"x"}}) == [["a", "b", "c", "a"], ["x", "y", "x"]]
