"""The house rules, read from the source: no import cycle, no stage importing a higher one, no module over 400
lines and no function over 40.

Every import counts, those under `if TYPE_CHECKING:` and inside functions too: a lazy import is still a
dependency, and a type-only one still ties a stage to what it names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ui")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
# Data flows up this list: a stage may import its own modules and those of the stages before it, never after.
STAGES = [
    {"rag", "rag.settings", "rag.errors", "rag.models", "rag.tokens"},  # shared by every stage
    {"rag.ingest"},
    {"rag.embed"},
    {"rag.store"},
    {"rag.index"},
    {"rag.retrieve"},
    {"rag.answer"},
    {"rag.quiz"},
    {"rag.evaluate"},
    {"rag.app"},  # the container of live parts
    {"ui"},  # mounted by serve
    {"rag.serve"},
    {"rag.cli", "rag.__main__"},  # `rag serve` runs the server
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The project modules `name` imports: `from rag.x import y` is module rag.x.y when that is one, else rag.x."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: the house uses none, but read them right
                base = name if path.name == "__init__.py" else name.rpartition(".")[0]
                base = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                module = f"{base}.{module}" if module else base
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def stage_of(module: str) -> int:
    """The index in STAGES of the longest prefix that names a stage."""
    best, rank = -1, -1
    for i, names in enumerate(STAGES):
        for stage in names:
            if (module == stage or module.startswith(stage + ".")) and len(stage) > best:
                best, rank = len(stage), i
    assert rank >= 0, f"{module} belongs to no stage: add it to STAGES"
    return rank


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    """The unit of the package graph: a stage's folder (rag.serve.app -> rag.serve), or a module at the top."""
    path = MODULES[module]
    if path.name == "__init__.py" or path.parent in (ROOT / "rag", ROOT):
        return module
    return module.rpartition(".")[0]


def test_the_modules_are_read() -> None:
    assert {"rag.app", "rag.serve.app", "rag.embed.onnx", "rag.ingest.chunk", "ui.data"} <= set(MODULES)
    assert "rag.embed.base" in GRAPH["rag.embed.onnx"] and "rag.serve.models" in GRAPH["rag.serve.api"]


def test_no_import_cycle_between_modules() -> None:
    assert cycles(GRAPH) == []


def test_no_import_cycle_between_packages() -> None:
    folders: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        here = package_of(module)
        folders.setdefault(here, set()).update(there for there in map(package_of, targets) if there != here)
    assert cycles(folders) == []


def test_no_stage_imports_a_higher_one() -> None:
    upward = sorted(f"{module} imports {target}" for module, targets in GRAPH.items() for target in targets
                    if stage_of(target) > stage_of(module))
    assert upward == []


def test_the_top_of_rag_holds_only_the_shared_parts() -> None:
    top = {p.name for p in (ROOT / "rag").glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "app.py", "errors.py", "models.py", "settings.py", "tokens.py"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_400_lines(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it by concern"


def test_no_function_over_40_lines() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert long == []
