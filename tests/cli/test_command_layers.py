"""The command line out of the core's way: the core names no front end, and who imports whom.

Imports are read with ``ast``, function-local ones included, so an import
hidden inside a function counts like one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import PROJECT_DIR

CORE = PROJECT_DIR / "dasflex_core"
#: Front ends, and the frameworks only they may use.
ADAPTERS = ("dasflex_flask", "dasflex_cgi", "dasflex_ws", "flask", "werkzeug", "gunicorn",
            "websockets")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> Iterator[str]:
    """Every module ``path`` imports (``import``, ``from``, ``import_module("...")``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            yield str(node.args[0].value)


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def names_of(modules: list[Path]) -> dict[str, set[str]]:
    return {module_name(path): set(imported_names(path)) for path in modules}


def test_the_reader_sees_function_local_and_relative_imports(tmp_path: Path) -> None:
    sample = CORE / "codecs" / "__init__.py"
    names = set(imported_names(sample))
    assert "dasflex_core.errors" in names  # `from ..errors import StreamError`
    assert "dasflex_core.codecs.das3.Das3Reader" in names  # inside a function


def test_the_core_names_no_front_end_or_web_framework() -> None:
    found = sorted(f"{module} imports {name}" for module, names in names_of(core_modules()).items()
                   for name in names if name.split(".")[0] in ADAPTERS)
    assert found == []


def test_only_the_command_line_imports_the_command_line() -> None:
    found = sorted(f"{module} imports {name}" for module, names in names_of(core_modules()).items()
                   if not module.startswith(("dasflex_core.cli", "dasflex_core.__main__"))
                   for name in names if name.startswith("dasflex_core.cli"))
    assert found == []


@pytest.mark.parametrize("implementation", ["embedded", "redis_queue", "worker", "build", "base"])
def test_job_queues_never_import_their_package_back(implementation: str) -> None:
    """They import the base names from ``jobs.base``, never from ``jobs/__init__``."""
    assert "dasflex_core.jobs" not in set(imported_names(CORE / "jobs" / f"{implementation}.py"))


def test_the_front_ends_register_serve_and_ws_through_entry_points() -> None:
    from importlib.metadata import entry_points

    from dasflex_core.cli import COMMAND_GROUP, installed_commands

    declared = {entry.name: entry.value for entry in entry_points(group=COMMAND_GROUP)}
    assert declared == {"serve": "dasflex_flask.serve_cmd:register",
                        "ws": "dasflex_ws.ws_cmd:register"}
    assert {name: register.__module__ for name, register in installed_commands().items()} == {
        "serve": "dasflex_flask.serve_cmd", "ws": "dasflex_ws.ws_cmd"}


def test_the_pyproject_declares_the_entry_points_a_fresh_install_needs() -> None:
    import tomllib

    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["dasflex.commands"] == {
        "serve": "dasflex_flask.serve_cmd:register", "ws": "dasflex_ws.ws_cmd:register"}
