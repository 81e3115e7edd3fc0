"""The protocol modules import each other downhill only, and the route table stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dasflex_core.protocols

PACKAGE = "dasflex_core.protocols"
FOLDER = Path(dasflex_core.protocols.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.Module, known: set[str]) -> set[str]:
    """Protocol modules imported anywhere in ``tree`` (in functions too, not for typing)."""
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in known)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _graph() -> dict[str, set[str]]:
    paths = sorted(FOLDER.glob("*.py"))
    known = {_module_name(path) for path in paths}
    return {_module_name(path): _imported(ast.parse(path.read_text()), known) - {_module_name(path)}
            for path in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the submodules, or None (the package ``__init__`` is the root)."""
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph[module] - {PACKAGE}):
            if state.get(target) == 1:
                return [*trail[trail.index(target):], target]
            if target not in state:
                found = visit(target, [*trail, target])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and module != PACKAGE:
            found = visit(module, [module])
            if found:
                return found
    return None


def test_the_graph_sees_function_local_imports() -> None:
    graph = _graph()
    assert f"{PACKAGE}.hapi_data" in graph[f"{PACKAGE}.hapi"]
    assert f"{PACKAGE}.verify_page" in graph[f"{PACKAGE}.routes"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_between_protocol_modules() -> None:
    assert _cycle(_graph()) is None


def test_the_package_root_imports_no_protocol_module() -> None:
    assert _graph()[PACKAGE] == set()


def test_the_route_table_imports_neither_numpy_nor_networkx() -> None:
    code = ("import sys, dasflex_core.protocols.routes\n"
            "print(' '.join(m for m in ('numpy', 'networkx', 'jsonschema') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
