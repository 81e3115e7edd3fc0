"""One owner per fact: no copy of the epoch offsets, the seconds-per-unit table or
the exception-type maps outside their owners (read from the source with ``ast``).

Owners: ``dasflex_core/dastime/`` (epochs), ``dasflex_core/units.py`` (seconds per
interval unit), ``dasflex_core/errors.py`` (das2/das3 exception types).
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator
from pathlib import Path

import pytest

from dasflex_core.dastime.core import SECONDS_PER_EPOCH_UNIT
from dasflex_core.errors import DasFlexError
from dasflex_core.units import SECONDS_PER_UNIT

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("dasflex_core", "dasflex_flask", "dasflex_cgi", "dasflex_ws")
TIME_PACKAGE = Path("dasflex_core/dastime")
UNITS_MODULE = Path("dasflex_core/units.py")
ERRORS_MODULE = Path("dasflex_core/errors.py")

#: 1970 -> 2000 in seconds, ms, us and ns; 1970 -> 2000 and 1958 -> 2000 in days.
EPOCH_NUMBERS = frozenset({946_684_800, 946_684_800e3, 946_684_800e6, 946_684_800e9,
                           10_957, 15_340})


def _error_types() -> frozenset[str]:
    names: set[str] = set()
    pending: list[type[DasFlexError]] = [DasFlexError]
    while pending:
        cls = pending.pop()
        names.update((cls.das2_type, cls.das3_type))
        pending.extend(cls.__subclasses__())
    return frozenset(names)


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            yield relative, ast.parse(path.read_text(encoding="utf-8"), str(relative))


def _is_number(node: ast.AST | None) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _is_number(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_number(node.left) and _is_number(node.right)
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _strings(nodes: list[ast.expr | None]) -> list[str]:
    return [node.value for node in nodes
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _number_tables(tree: ast.Module, names: Container[object]) -> list[int]:
    """Dict literals mapping two or more of ``names`` to numbers."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [key for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant) and key.value in names
                    and _is_number(value)]
            if len(keys) >= 2:
                lines.append(node.lineno)
    return lines


def _epoch_copies(tree: ast.Module) -> list[int]:
    """Epoch offsets as numbers, and tables of numbers per epoch unit."""
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and type(node.value) in (int, float)
            and node.value in EPOCH_NUMBERS] + _number_tables(tree, SECONDS_PER_EPOCH_UNIT)


def _seconds_tables(tree: ast.Module) -> list[int]:
    """Dict literals mapping two or more interval-unit spellings to numbers."""
    return _number_tables(tree, SECONDS_PER_UNIT)


def _exception_maps(tree: ast.Module, error_types: frozenset[str]) -> list[int]:
    """Collections or maps naming two or more exception types."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            named = set(_strings(list(node.elts))) & error_types
        elif isinstance(node, ast.Dict):
            named = set(_strings([*node.keys, *node.values])) & error_types
        else:
            continue
        if len(named) >= 2:
            lines.append(node.lineno)
    return lines


def test_the_scans_see_the_owners_themselves() -> None:
    """Each scan finds its fact in its owner, so an empty result elsewhere means something."""
    def parse(path: Path) -> ast.Module:
        return ast.parse((ROOT / path).read_text(encoding="utf-8"))

    assert _epoch_copies(parse(TIME_PACKAGE / "core.py"))
    assert _epoch_copies(ast.parse('S = {"us2000": 1e-6, "t2000": 1.0}'))
    assert _seconds_tables(ast.parse('T = {"s": 1.0, "ms": 1e-3}'))
    assert _exception_maps(ast.parse('M = {"NoDataInInterval": "NoMatchingData"}'), _error_types())
    assert _exception_maps(ast.parse('if t in ("NoDataInInterval", "NoMatchingData"): pass'),
                           _error_types())
    assert not _seconds_tables(ast.parse('T = {"s": "Hz", "ms": "kHz"}'))


@pytest.mark.parametrize(("what", "owner"), [
    ("epoch offsets", TIME_PACKAGE),
    ("seconds-per-unit tables", UNITS_MODULE),
    ("exception-type maps", ERRORS_MODULE),
])
def test_no_copy_outside_the_owner(what: str, owner: Path) -> None:
    error_types = _error_types()
    scan = {"epoch offsets": _epoch_copies,
            "seconds-per-unit tables": _seconds_tables,
            "exception-type maps": lambda tree: _exception_maps(tree, error_types)}[what]
    copies = [f"{path}:{line}" for path, tree in _modules()
              if not path.is_relative_to(owner) for line in scan(tree)]
    assert not copies, f"{what} outside {owner}: {', '.join(copies)}"
