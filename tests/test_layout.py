"""The test suite's own layout: folders mirror the packages, helpers live in tests/support.

* every folder under ``tests/`` is named after a package or module it tests
  (``tests/codecs`` -> ``dasflex_core/codecs``, ``tests/flask`` -> ``dasflex_flask``,
  ``tests/core`` -> the core's top-level modules), after a top-level folder of the
  project (``tests/docs`` -> ``docs/``), or is one of the few cross-cutting folders
  of :data:`CROSS_CUTTING`;
* a test folder holds only ``test_*.py`` modules (each with a test), a
  ``conftest.py`` and ``__init__.py``: plain helpers go to ``tests/support``;
* no file of the suite imports from a test module or a conftest, only from
  ``tests.support`` (fixtures reach tests through conftest.py, never by import).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import system
from tests.support.hapi_server import HapiTestServer
from tests.support.paths import PROJECT_DIR, TESTS_DIR
from tests.support.servers import serving

#: Folders of tests/ that mirror no single package, and why.
CROSS_CUTTING = {
    "support": "the shared helpers (no tests)",
    "conformance": "the das2C conformance vectors (data, no tests)",
    "security": "hostile input and access rules across every front end",
    "browser": "a real browser (and pandas) against a real server: the first run, the formats",
    "fuzz": "hypothesis on every parser",
}
#: The front-end adapters: tests/flask tests dasflex_flask, and so on.
ADAPTERS = ("flask", "cgi", "ws")
#: Top-level folders of the project that tests may mirror (tests/docs -> docs/).
PROJECT_FOLDERS = ("docs", "examples", "schemas", "bench")
#: Folders whose Python files are not test modules.
NOT_TEST_FOLDERS = ("support", "conformance")


def _folders() -> list[Path]:
    return sorted(path for path in TESTS_DIR.iterdir()
                  if path.is_dir() and not path.name.startswith((".", "__")))


def _suite_files() -> list[Path]:
    return sorted(path for path in TESTS_DIR.rglob("*.py")
                  if "__pycache__" not in path.parts and "conformance" not in path.parts)


def mirrored(name: str) -> bool:
    """Whether a folder ``tests/NAME`` names a package, a module or a project folder."""
    core = PROJECT_DIR / "dasflex_core"
    return (name == "core"
            or (name in ADAPTERS and (PROJECT_DIR / f"dasflex_{name}").is_dir())
            or (core / name / "__init__.py").is_file()
            or (core / f"{name}.py").is_file()
            or name in PROJECT_FOLDERS and (PROJECT_DIR / name).is_dir())


def suite_imports(path: Path) -> list[str]:
    """The modules of the suite (``tests.*``, or relative) that ``path`` imports, anywhere in it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                found.append("." * node.level + (node.module or ""))
            elif node.module and (node.module == "tests" or node.module.startswith("tests.")):
                found.extend(f"{node.module}.{alias.name}" if node.module == "tests" else node.module
                             for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.startswith("tests."))
    return found


def defines_a_test(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
               and node.name.startswith("test_")
               or isinstance(node, ast.ClassDef) and node.name.startswith("Test")
               for node in tree.body)


@pytest.mark.parametrize("folder", _folders(), ids=lambda path: path.name)
def test_every_folder_mirrors_a_package_or_is_cross_cutting(folder: Path) -> None:
    assert mirrored(folder.name) or folder.name in CROSS_CUTTING, (
        f"tests/{folder.name} matches no package or module of dasflex_core, dasflex_flask, "
        f"dasflex_cgi or dasflex_ws: move its tests to the folder of what they test")


def test_test_folders_hold_only_tests_and_conftests() -> None:
    misplaced = [str(path.relative_to(TESTS_DIR)) for path in _suite_files()
                 if path.parent != TESTS_DIR
                 and path.relative_to(TESTS_DIR).parts[0] not in NOT_TEST_FOLDERS
                 and path.name not in ("conftest.py", "__init__.py")
                 and not (path.name.startswith("test_") and defines_a_test(path))]
    assert misplaced == [], f"helpers (or modules without a test) outside tests/support: {misplaced}"


def test_every_test_folder_is_a_package() -> None:
    bare = [folder.name for folder in _folders()
            if folder.name != "conformance" and not (folder / "__init__.py").is_file()]
    assert bare == []


def test_only_tests_support_is_imported() -> None:
    offending = {str(path.relative_to(PROJECT_DIR)): [name for name in suite_imports(path)
                                                      if not _from_support(name)]
                 for path in _suite_files()}
    offending = {path: names for path, names in offending.items() if names}
    assert offending == {}, "import helpers from tests.support, never from a test module or conftest"


def _from_support(module: str) -> bool:
    return module == "tests.support" or module.startswith("tests.support.")


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The rules above reject what they are meant to reject."""
    sample = tmp_path / "test_sample.py"
    sample.write_text("from tests.tools.test_converters import make_das2_stream\n"
                      "from tests.support.http import basic\n"
                      "def helper():\n    from tests.jobs.conftest import builds\n"
                      "    from .conftest import x\n")
    assert [name for name in suite_imports(sample) if not _from_support(name)] == [
        "tests.tools.test_converters", "tests.jobs.conftest", ".conftest"]
    assert not defines_a_test(sample)
    assert not mirrored("front") and not mirrored("ops") and not mirrored("tests")
    assert mirrored("codecs") and mirrored("runner") and mirrored("flask") and mirrored("docs")


def test_an_unmarked_test_may_not_start_a_server() -> None:
    """The guard the server starters call fails a test without the ``system`` marker."""
    running = list(system._running)
    try:
        system.enter_test("tests/x/test_y.py::test_z", marked=False)
        with pytest.raises(pytest.fail.Exception, match="test_z starts redis-server: mark it system"):
            system.require_program("redis-server", "redis-server")
        with pytest.raises(pytest.fail.Exception, match="test_z starts the HAPI test server"), \
                serving(HapiTestServer, "the HAPI test server"):
            pass
        system.enter_test("tests/x/test_y.py::test_z", marked=True)
        system.expect_system("redis-server")
    finally:
        system._running[:] = running
