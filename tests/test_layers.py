"""Layers that hold: who may import whom, read from the source with ``ast``.

Every import counts: at a module's top, inside a function, under
``if TYPE_CHECKING:`` and ``importlib.import_module("literal")``.  The rules
(docs/architecture.md, "Layers and imports", says the same):

1. the core imports no front end and no web framework;
2. the front ends do not import each other;
3. no import cycle between modules;
4. a function imports only a heavy library (the ``banned-module-level-imports``
   of pyproject.toml) or what :data:`LAZY_LOADS` allows, each with its reason;
5. a module imports only from its own unit and from units of lower layers
   (:data:`LAYERS`, bottom-up).

The first tests run the same checks on a small made-up tree, so each rule is
seen to fail; the last ones check that the lazy loads keep their promise.
"""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import PROJECT_DIR

PACKAGES = ("dasflex_core", "dasflex_flask", "dasflex_cgi", "dasflex_ws")
FRONT_ENDS = ("dasflex_flask", "dasflex_cgi", "dasflex_ws")
WEB_FRAMEWORKS = ("flask", "werkzeug", "gunicorn", "websockets")
PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
RUFF = PYPROJECT["tool"]["ruff"]["lint"]
#: The heavy libraries: imported by a light module only inside the function that needs them.
HEAVY = tuple(RUFF["flake8-tidy-imports"]["banned-module-level-imports"])

#: The layers, bottom-up: (name, units).  A unit is a module or subpackage of dasflex_core
#: (``__init__`` is the package root; ``__main__`` belongs to ``cli``) or a front end.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors", ("__init__", "errors")),
    ("vocabulary", ("keys", "model", "units", "dastime", "stages", "metrics", "xmltext")),
    ("templates, tables, auth", ("textfmt", "templates", "commands", "auth", "requestlog")),
    ("streams, definitions", ("codecs", "sources")),
    ("HTTP model, running", ("http", "runner", "settings")),
    ("cache, remote servers", ("cache", "migrate", "remote")),
    ("planner", ("planner",)),
    ("tools", ("tools", "coverage")),
    ("jobs", ("jobs",)),
    ("protocols", ("protocols",)),
    ("site checks", ("verify",)),
    ("command line", ("cli",)),
    ("front ends", FRONT_ENDS),
)


@dataclass(frozen=True)
class LazyLoad:
    """Functions of ``importer`` may import ``targets`` (module-name patterns), because ``why``."""

    importer: str
    targets: tuple[str, ...]
    why: str


#: The deliberate lazy loads: each keeps a heavy library (or, for das3_csv and the job queue,
#: a start-up cost) out of a process that does not need it.  pyproject.toml's PLC0415 ignores name these files.
LAZY_LOADS = (
    LazyLoad("dasflex_core.auth", ("crypt",),
             "the legacy DES crypt check: `crypt` warns on import and is gone in Python 3.13"),
    LazyLoad("dasflex_core.cache.builder", ("dasflex_core.codecs.das2",),
             "an empty block's stream header is written by the das2 codec (numpy)"),
    LazyLoad("dasflex_core.codecs", ("dasflex_core.codecs.das2", "dasflex_core.codecs.das3"),
             "the package root picks a reader; numpy-free codec modules (events, packets) "
             "live in the package"),
    LazyLoad("dasflex_core.codecs.summary", ("dasflex_core.codecs.das2", "dasflex_core.dastime.vec"),
             "the /verify page imports the summary; numpy loads with the first stream"),
    LazyLoad("dasflex_core.dastime", ("dasflex_core.dastime.leap", "dasflex_core.dastime.vec"),
             "TT2000 and epoch arrays need numpy; scalar time parsing does not"),
    LazyLoad("dasflex_core.protocols", ("dasflex_core.jobs",),
             "the queue that builds cache blocks loads with the first block to build: a CGI "
             "request on a site without a cache never pays for it"),
    LazyLoad("dasflex_core.protocols.hapi_data", ("dasflex_core.protocols.hapi_encode",),
             "the HAPI encoder (numpy) loads with the first /hapi/data request"),
    LazyLoad("dasflex_core.tools.das*", ("dasflex_core.tools.*.*",),
             "a program loads its tool family when it runs: --help and usage errors are instant"),
    LazyLoad("dasflex_core.tools.text.csv",
             ("dasflex_core.codecs.das3", "dasflex_core.codecs.das2to3",
              "dasflex_core.tools.text.csv_das3"),
             "das3_csv loads the das3 side for das3 input or -p only"),
    LazyLoad("dasflex_flask", ("dasflex_flask.app",),
             "Flask loads when an app is built; `dasflex --help` imports this package for serve"),
    LazyLoad("dasflex_flask.serve_cmd", ("dasflex_flask.master",),
             "gunicorn and Flask load when `dasflex serve` runs"),
    LazyLoad("dasflex_ws.ws_cmd", ("dasflex_ws.server",),
             "websockets loads when `dasflex ws` runs"),
)


# -- reading imports -------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One module imported by another."""

    importer: str
    target: str  # a module of the project, or the top-level name of a library
    line: int
    local: bool  # inside a function or class body
    typing: bool  # under ``if TYPE_CHECKING:``


def module_names(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """``{module name: path}`` of every module of ``packages`` under ``root``."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def read_imports(root: Path, packages: Sequence[str] = PACKAGES) -> list[Import]:
    """Every import of every module of ``packages`` under ``root``."""
    modules = module_names(root, packages)
    found = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found += [Import(name, target, line, local, typing)
                  for target, line, local, typing in _imports_in(tree, package, modules)]
    return found


def _imports_in(tree: ast.Module, package: str,
                modules: Mapping[str, Path]) -> Iterator[tuple[str, int, bool, bool]]:
    """(target, line, local, typing) of each import in ``tree``."""
    pending: list[tuple[ast.AST, bool, bool]] = [(tree, False, False)]
    while pending:
        node, local, typing = pending.pop()
        for target in _targets(node, package, modules):
            yield target, getattr(node, "lineno", 0), local, typing
        inner_local = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef
                                          | ast.ClassDef | ast.Lambda)
        inner_typing = typing or (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test))
        pending.extend((child, inner_local, inner_typing) for child in ast.iter_child_nodes(node))


def _targets(node: ast.AST, package: str, modules: Mapping[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_module(alias.name, modules) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        return sorted({f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                       else _module(base, modules) for alias in node.names})
    if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
            == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
        return [_module(str(node.args[0].value), modules)]
    return []


def _module(name: str, modules: Mapping[str, Path]) -> str:
    """The project module ``name`` names (its deepest existing part), or its library."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return parts[0]


# -- the rules ---------------------------------------------------------------------------


def unit_of(module: str) -> str:
    """The unit of a module: its dasflex_core subpackage or module, or its front end."""
    parts = module.split(".")
    if parts[0] != "dasflex_core":
        return parts[0]
    if len(parts) == 1:
        return "__init__"
    return "cli" if parts[1] == "__main__" else parts[1]


def core_naming_front_ends(imports: Sequence[Import]) -> list[str]:
    return sorted(f"{i.importer}:{i.line} imports {i.target}" for i in imports
                  if i.importer.split(".")[0] == "dasflex_core"
                  and i.target.split(".")[0] in (*FRONT_ENDS, *WEB_FRAMEWORKS))


def front_ends_naming_each_other(imports: Sequence[Import]) -> list[str]:
    return sorted(f"{i.importer}:{i.line} imports {i.target}" for i in imports
                  if i.importer.split(".")[0] in FRONT_ENDS
                  and i.target.split(".")[0] in FRONT_ENDS
                  and i.target.split(".")[0] != i.importer.split(".")[0])


def cycles(imports: Sequence[Import]) -> list[list[str]]:
    """The import cycles (strongly connected groups of two or more modules)."""
    project = {i.importer for i in imports}
    graph: dict[str, set[str]] = {module: set() for module in project}
    for i in imports:
        if i.target in project and i.target != i.importer:
            graph[i.importer].add(i.target)
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return sorted(found)


def allowed_lazily(importer: str, target: str) -> LazyLoad | None:
    """The lazy load that lets a function of ``importer`` import ``target``, if any."""
    for lazy in LAZY_LOADS:
        if fnmatch.fnmatchcase(importer, lazy.importer) and any(
                fnmatch.fnmatchcase(target, pattern) for pattern in lazy.targets):
            return lazy
    return None


def unjustified_local_imports(imports: Sequence[Import]) -> list[str]:
    return sorted(f"{i.importer}:{i.line} imports {i.target} inside a function" for i in imports
                  if i.local and i.target.split(".")[0] not in HEAVY
                  and allowed_lazily(i.importer, i.target) is None)


def layer_of(unit: str) -> int | None:
    for rank, (_, units) in enumerate(LAYERS):
        if unit in units:
            return rank
    return None


def upward_imports(imports: Sequence[Import]) -> list[str]:
    """Imports of a unit from a unit that is not below it (same layer, or above)."""
    project = {i.importer for i in imports}
    found = []
    for i in imports:
        if i.target not in project or unit_of(i.importer) == unit_of(i.target):
            continue
        low, high = layer_of(unit_of(i.target)), layer_of(unit_of(i.importer))
        if low is None or high is None or low >= high:
            found.append(f"{i.importer}:{i.line} ({unit_of(i.importer)}) imports {i.target} "
                         f"({unit_of(i.target)})")
    return sorted(found)


# -- the rules fail on a made-up tree ------------------------------------------------------


def _write_tree(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


BAD_TREE = {
    "dasflex_core/__init__.py": "",
    "dasflex_core/errors.py": "def fail():\n    import json\n    import numpy\n",
    "dasflex_core/keys.py": "from dasflex_core.planner import plan\n",
    "dasflex_core/planner/__init__.py": (
        "from dasflex_core import keys\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from dasflex_core.protocols import Server\n"
        "def plan():\n    from dasflex_flask import views\n"),
    "dasflex_core/protocols/__init__.py": "import importlib\nimportlib.import_module('flask')\n",
    "dasflex_flask/__init__.py": "",
    "dasflex_flask/views.py": "from ..dasflex_ws import server\nfrom . import helper\n",
    "dasflex_flask/helper.py": "",
    "dasflex_ws/__init__.py": "",
    "dasflex_ws/server.py": "from dasflex_flask.views import helper\n",
}


def test_each_rule_fails_on_a_made_up_tree(tmp_path: Path) -> None:
    _write_tree(tmp_path, BAD_TREE)
    imports = read_imports(tmp_path)
    assert core_naming_front_ends(imports) == [
        "dasflex_core.planner:6 imports dasflex_flask.views",
        "dasflex_core.protocols:2 imports flask"]
    assert front_ends_naming_each_other(imports) == [
        "dasflex_flask.views:1 imports dasflex_ws.server",
        "dasflex_ws.server:1 imports dasflex_flask.views"]
    assert cycles(imports) == [["dasflex_core.keys", "dasflex_core.planner"],
                               ["dasflex_flask.views", "dasflex_ws.server"]]
    assert unjustified_local_imports(imports) == [
        "dasflex_core.errors:2 imports json inside a function",
        "dasflex_core.planner:6 imports dasflex_flask.views inside a function"]
    assert upward_imports(imports) == [
        "dasflex_core.keys:1 (keys) imports dasflex_core.planner (planner)",
        "dasflex_core.planner:4 (planner) imports dasflex_core.protocols (protocols)",
        "dasflex_core.planner:6 (planner) imports dasflex_flask.views (dasflex_flask)",
        "dasflex_flask.views:1 (dasflex_flask) imports dasflex_ws.server (dasflex_ws)",
        "dasflex_ws.server:1 (dasflex_ws) imports dasflex_flask.views (dasflex_flask)"]


def test_the_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    _write_tree(tmp_path, BAD_TREE)
    found = {(i.importer, i.target): (i.local, i.typing) for i in read_imports(tmp_path)}
    assert found[("dasflex_core.planner", "dasflex_core.protocols")] == (False, True)
    assert found[("dasflex_core.errors", "numpy")] == (True, False)
    assert found[("dasflex_core.protocols", "flask")] == (False, False)  # import_module
    assert found[("dasflex_flask.views", "dasflex_flask.helper")] == (False, False)  # relative


# -- the rules hold on this project ------------------------------------------------------

IMPORTS = read_imports(PROJECT_DIR)


def test_the_core_imports_no_front_end_and_no_web_framework() -> None:
    assert core_naming_front_ends(IMPORTS) == []


def test_front_ends_do_not_import_each_other() -> None:
    assert front_ends_naming_each_other(IMPORTS) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(IMPORTS) == []


def test_functions_import_only_heavy_libraries_or_the_lazy_loads() -> None:
    assert unjustified_local_imports(IMPORTS) == []


def test_no_layer_imports_from_its_own_layer_or_above() -> None:
    assert upward_imports(IMPORTS) == []


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(i.importer) for i in IMPORTS}
    assert sorted(unit for unit in units if layer_of(unit) is None) == [], (
        "place the new unit in LAYERS (and in docs/architecture.md)")


def test_every_lazy_load_is_used_and_loads_something_new() -> None:
    """No stale entry: each one is used, and its target is not already loaded at the top."""
    loaded = _top_level_closure(IMPORTS)
    for lazy in LAZY_LOADS:
        uses = [i for i in IMPORTS if i.local and allowed_lazily(i.importer, i.target) is lazy]
        assert uses, f"{lazy} is not used"
        for use in uses:
            assert use.target not in loaded[use.importer], f"{use} is loaded at the top already"


def _top_level_closure(imports: Sequence[Import]) -> dict[str, set[str]]:
    """What importing each module loads: its top-level imports and its packages, transitively."""
    direct: dict[str, set[str]] = {i.importer: set() for i in imports}
    for i in imports:
        if not i.local and not i.typing:
            direct[i.importer].add(i.target)
    for module in direct:
        parts = module.split(".")
        direct[module].update(".".join(parts[:end]) for end in range(1, len(parts))
                              if ".".join(parts[:end]) in direct)
    closure: dict[str, set[str]] = {}
    for module in direct:
        seen, pending = set(), [module]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(direct.get(current, ()))
        closure[module] = seen
    return closure


def test_ruff_ignores_the_import_rule_only_for_the_lazy_loads() -> None:
    """pyproject.toml's PLC0415 ignores in the packages are exactly the lazy loads' files."""
    modules = module_names(PROJECT_DIR, PACKAGES)
    globs = [glob for glob, rules in RUFF["per-file-ignores"].items()
             if "PLC0415" in rules and glob.split("/")[0].lstrip("{").split(",")[0] in PACKAGES]
    ignored = {name for name, path in modules.items()
               if any(_glob_matches(glob, path.relative_to(PROJECT_DIR).as_posix())
                      for glob in globs)}
    lazy = {i.importer for i in IMPORTS if i.local and allowed_lazily(i.importer, i.target)
            and i.target.split(".")[0] not in HEAVY}
    assert ignored == lazy


def _glob_matches(glob: str, path: str) -> bool:
    """``fnmatch`` with one ``{a,b}`` group, as ruff's globs allow."""
    if "{" not in glob:
        return fnmatch.fnmatchcase(path, glob)
    head, _, rest = glob.partition("{")
    choices, _, tail = rest.partition("}")
    return any(_glob_matches(head + choice + tail, path) for choice in choices.split(","))


def test_the_architecture_document_lists_these_layers() -> None:
    document = (PROJECT_DIR / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert layer_table() in document, layer_table()


def layer_table() -> str:
    """The layer table as docs/architecture.md shows it (top layer first)."""
    rows = [f"{rank + 1:>2}  {name:<24}{', '.join(units)}"
            for rank, (name, units) in reversed(list(enumerate(LAYERS)))]
    return "\n".join(rows)


# -- the lazy loads keep these processes light ------------------------------------------

LIGHT_PROCESSES = {
    "dasflex --help": (
        "import contextlib, io\nfrom dasflex_core.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n",
        (*HEAVY, *WEB_FRAMEWORKS, "dasflex_core.protocols", "dasflex_core.planner",
         "dasflex_core.cli.plan_cmd", "dasflex_flask.master", "dasflex_ws.server")),
    "the route table (every web worker, every CGI request)": (
        "import dasflex_core.protocols.routes\n",
        (*HEAVY, *WEB_FRAMEWORKS, "xml.sax.saxutils", "urllib.request")),
    "the Flask package (the serve entry point)": (
        "import dasflex_flask, dasflex_flask.serve_cmd\n",
        (*WEB_FRAMEWORKS, "dasflex_core.protocols")),
}


@pytest.mark.parametrize("process", sorted(LIGHT_PROCESSES))
def test_light_processes_load_no_heavy_module(process: str) -> None:
    code, forbidden = LIGHT_PROCESSES[process]
    probe = code + f"import sys\nprint(' '.join(n for n in {forbidden!r} if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.split() == []
