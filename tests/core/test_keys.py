"""One owner per fact: query keys, conventions, parameters and the default reducer."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dasflex_core import keys
from dasflex_core.commands import builtin_commands, builtin_param
from dasflex_core.errors import QueryError
from dasflex_core.model import CommandRole, CommandTable, Convention, SourceDef
from dasflex_core.planner import Planner, translate
from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

CORE = PROJECT_DIR / "dasflex_core"
BUILTIN = json.loads((CORE / "commands" / "builtin.json").read_text("utf-8"))


def test_every_key_name_is_declared_in_builtin_json_and_back() -> None:
    assert keys.QUERY_KEYS == set(BUILTIN["params"])
    assert all(builtin_param(key).key == key for key in keys.QUERY_KEYS)


def test_the_convention_names_are_the_table_and_schema_ones() -> None:
    assert keys.CONVENTIONS == tuple(BUILTIN["conventions"])
    for schema in ("commands.schema.json", "source.schema.json"):
        document = json.loads((PROJECT_DIR / "schemas" / schema).read_text("utf-8"))
        assert tuple(document["properties"]["conventions"]["propertyNames"]["enum"]) == \
            keys.CONVENTIONS


def test_builtin_json_declares_the_one_default_reducer() -> None:
    reducers = [c for c in builtin_commands().commands if c.role is CommandRole.REDUCER]
    assert {c.name for c in reducers} == {"das2_bin_avgsec"}
    assert all(c.conditions[0].key == keys.BIN_TIME_MAX for c in reducers)


def test_no_definition_carries_a_copy_of_the_standard_facts() -> None:
    site = load_site(PROJECT_DIR / "examples" / "site")
    table_reducer = {c.template for c in builtin_commands().commands
                     if c.role is CommandRole.REDUCER}
    for source in site:
        assert keys.DAS2 not in source.conventions  # the examples add no das2 rules
        assert not {c.template for c in source.commands} & table_reducer
        time_min = source.param(keys.READ_TIME_MIN)
        if time_min is not None and source.definition_format == "dsdf":
            assert (time_min.title, time_min.label) == (builtin_param(keys.READ_TIME_MIN).title,
                                                        builtin_param(keys.READ_TIME_MIN).label)


def _literal_keys(path: Path) -> list[tuple[int, str]]:
    """Query-key string literals in ``path``'s code (docstrings left out)."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in keys.QUERY_KEYS
            and id(node) not in docstrings]


@pytest.mark.parametrize("package", ["planner", "cache", "sources", "commands", "cli", "remote"])
def test_modules_name_query_keys_through_the_keys_module(package: str) -> None:
    found = {str(path.relative_to(PROJECT_DIR)): hits
             for path in sorted((CORE / package).rglob("*.py"))
             if (hits := _literal_keys(path))}
    assert found == {}


def test_translate_renames_maps_values_and_adds_defaults() -> None:
    values = translate({"start_time": "2001-01-01", "end_time": "2001-01-02", "ascii": "1",
                        "resolution": "", "server": "dataset"}, keys.DAS2)
    assert values == {keys.FORMAT_TYPE: "das", keys.FORMAT_VERSION: "2",
                      keys.READ_TIME_MIN: "2001-01-01", keys.READ_TIME_MAX: "2001-01-02",
                      keys.FORMAT_SERIAL: "text"}
    assert translate({"anything": "x"}) == {"anything": "x"}


def test_translate_lays_the_site_and_source_rules_over_the_builtin_ones() -> None:
    site_table = builtin_commands().merged(
        CommandTable(conventions={"flex": Convention("flex", {"t0": keys.READ_TIME_MIN})}))
    planner = Planner(site_table)
    source = SourceDef("A/B", "B", "/a.json",
                       conventions={"das2": Convention("das2", {"until": keys.READ_TIME_MAX},
                                                       {keys.FORMAT_VERSION: "3"})})
    assert planner.translate({"t0": "2001-01-01"}) == {keys.READ_TIME_MIN: "2001-01-01"}
    assert planner.translate({"start": "2001-01-01", "until": "2001-01-02"}, keys.DAS2, source) == {
        keys.FORMAT_TYPE: "das", keys.FORMAT_VERSION: "3",
        keys.READ_TIME_MIN: "2001-01-01", keys.READ_TIME_MAX: "2001-01-02"}


def test_a_site_table_adds_to_a_builtin_convention_without_repeating_it() -> None:
    site_table = CommandTable(conventions={"das2": Convention("das2", {"band": "band"})},
                              value_maps={"das2": {"band": {"high": "h"}}})
    planner = Planner(builtin_commands().merged(site_table))
    assert planner.translate({"start_time": "2001-01-01", "ascii": "yes", "band": "high"},
                             keys.DAS2) == {
        keys.FORMAT_TYPE: "das", keys.FORMAT_VERSION: "2", keys.READ_TIME_MIN: "2001-01-01",
        keys.FORMAT_SERIAL: "text", "band": "h"}


def test_translate_refuses_two_names_for_one_key_and_unknown_conventions() -> None:
    with pytest.raises(QueryError, match="'read.time.min' is given more than once"):
        translate({"start_time": "2001-01-01", "start": "2001-01-02"}, keys.DAS2)
    with pytest.raises(QueryError, match="Unknown request convention 'das9'"):
        translate({}, "das9")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-local and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(("package", "forbidden"), [
    ("cache", "dasflex_core.planner"),
    ("commands", "dasflex_core.sources"),
    ("model.py", "dasflex_core."),
    ("keys.py", "dasflex_core."),
    ("sources", "dasflex_core.planner"),
])
def test_lower_layers_never_import_higher_ones(package: str, forbidden: str) -> None:
    root = CORE / package
    paths = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    offending = {str(path.relative_to(PROJECT_DIR)): sorted(name for name in _imports(path)
                                                            if name.startswith(forbidden))
                 for path in paths}
    assert {name: found for name, found in offending.items() if found} == {}
