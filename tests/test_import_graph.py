"""The core's module-level import graph has no cycles (each job in its own module, lower layers never
import higher ones back), and fetching from the Hub does not depend on the model-building API."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "zoo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.AST, modules: set[str]) -> list[str]:
    """zoo.* modules an import statement names (`from zoo import hub` names zoo.hub when that is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "zoo"]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "zoo":
        subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
        return subs or [node.module]
    return []


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def module_level_imports(tree: ast.Module, modules: set[str]) -> set[str]:
    """Imports that run when the module is imported: top-level statements, including try/if bodies
    (but not `if TYPE_CHECKING:` blocks), never function or class bodies."""
    out: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if _is_type_checking(node):
            continue
        out.update(_targets(node, modules))
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(getattr(node, field, []))
        elif isinstance(node, ast.ExceptHandler):
            stack.extend(node.body)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    return {name: {t for t in module_level_imports(ast.parse(p.read_text()), modules) if t != name}
            for name, p in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_level_import_cycles_among_zoo_modules() -> None:
    graph = import_graph()
    assert "zoo.hub" in graph and "zoo.cache" in graph  # the scan sees the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_hub_never_imports_the_api_and_the_api_never_imports_conversion_at_module_level() -> None:
    hub = ast.parse((ROOT / "hub.py").read_text())
    graph = import_graph()
    modules = set(graph)
    everywhere = {t for node in ast.walk(hub) for t in _targets(node, modules)}
    assert not {t for t in everywhere if t == "zoo.api"}
    assert not graph["zoo.api"] & {"zoo.convert", "zoo.hub", "zoo.cache"}


def test_proposals_use_the_paths_module_not_the_hub() -> None:
    tree = ast.parse((ROOT / "ops" / "proposals.py").read_text())
    modules = set(import_graph())
    names = {t for node in ast.walk(tree) for t in _targets(node, modules)}
    assert "zoo.paths" in names and "zoo.hub" not in names
