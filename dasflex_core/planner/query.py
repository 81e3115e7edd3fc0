"""A query as the planner reads it: convention keys translated, values checked.

:func:`translate` is the one place a request convention's keys become
``flex`` keys (:mod:`dasflex_core.keys`): the command table's rules
(``commands/builtin.json`` plus a site's table), with the source's own rules
laid over them.  :func:`checked_values` then checks every value against its
parameter; :func:`condition_holds` decides which commands a query activates.

Examples
--------
>>> from dasflex_core.commands import builtin_commands
>>> translate(builtin_commands(), {"start_time": "2001-01-01", "resolution": "60"}, "das2")
{'format.type': 'das', 'format.version': '2', 'read.time.min': '2001-01-01', 'bin.time.max': '60'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dasflex_core import keys
from dasflex_core.errors import QueryError
from dasflex_core.model import (
    CommandDef,
    CommandRole,
    CommandTable,
    Condition,
    Convention,
    Param,
    ParamType,
    SourceDef,
    StreamFormat,
)
from dasflex_core.planner.search import TRANSFORM_ROLES
from dasflex_core.templates import PREDEFINED_KEYS, normalise_value

__all__ = [
    "asked_format",
    "checked_values",
    "condition_holds",
    "convention_rules",
    "is_active",
    "required_roles",
    "translate",
    "wanted_streams",
]

#: ``format.version`` values that name the same version.
_VERSION_ALIASES = {"2.2": "2", "3.0": "3", "1.1": "1"}


def convention_rules(table: CommandTable, name: str, source: SourceDef | None = None) -> Convention:
    """The table's convention ``name`` with ``source``'s own rules laid over it.

    Raises
    ------
    QueryError
        When neither knows the convention.
    """
    base = table.conventions.get(name)
    own = source.conventions.get(name) if source is not None else None
    if base is None and own is None:
        raise QueryError(f"Unknown request convention '{name}'")
    base = base or Convention(name)
    if own is None:
        return base
    return Convention(name, {**base.translate, **own.translate},
                      {**base.defaults, **own.defaults}, {**base.implies, **own.implies})


def translate(table: CommandTable, query: Mapping[str, str], convention: str,
              source: SourceDef | None = None) -> dict[str, str]:
    """``query`` in ``flex`` keys: renamed, values mapped, the convention's defaults added.

    Empty values count as absent (HTML forms send every field); keys the
    convention drops (das2 ``server``, ``dataset``) are left out.  A key the
    query gives brings the convention's ``implies`` defaults for it, which
    win over the plain defaults; an implied empty value removes a default
    (``format.style`` given: ``format.type`` is ``csv`` and das2's
    ``format.version`` default goes).  Values are not checked (see
    :func:`checked_values`).

    Raises
    ------
    QueryError
        For an unknown convention, or two keys meaning one ``flex`` key.
    """
    rules = convention_rules(table, convention, source)
    value_maps = table.value_maps.get(convention, {})
    translated: dict[str, str] = {}
    for key, value in query.items():
        target = rules.translate.get(key, key)
        if target is None or value == "":
            continue
        if key in value_maps:
            value = value_maps[key].get(value.strip().lower(), value)
        if target in translated:
            raise QueryError(f"Query parameter '{target}' is given more than once")
        translated[target] = value
    implied = {key: value for given in translated
               for key, value in rules.implies.get(given, {}).items()}
    merged = {**rules.defaults, **implied, **translated}
    return {key: value for key, value in merged.items() if value != ""}


def checked_values(table: CommandTable, source: SourceDef, values: Mapping[str, str],
                   template_keys: frozenset[str]) -> dict[str, str]:
    """Every value checked against its parameter and normalised; required ones present.

    A key neither the source nor the table declares is accepted only when a
    command template of the source reads it (``template_keys``).

    Raises
    ------
    QueryError
        For unknown keys, bad or missing values, an empty time range.
    """
    checked = {key: _checked(table, source, template_keys, key, value)
               for key, value in values.items()}
    _check_required(source, checked)
    _check_time_range(checked)
    return checked


def _checked(table: CommandTable, source: SourceDef, template_keys: frozenset[str],
             key: str, value: str) -> str:
    """One value checked against its parameter and normalised."""
    param = source.param(key) or table.params.get(key)
    if param is None:
        if key not in template_keys or key in PREDEFINED_KEYS:
            raise QueryError(f"Unknown query parameter '{key}' for source {source.id}")
        param = Param(key)
    normal = normalise_value(key, value, _ParamView(param))
    return table.aliases.get(key, {}).get(normal, normal)


@dataclass(frozen=True, slots=True)
class _ParamView:
    """A :class:`Param` as :func:`normalise_value` reads it."""

    param: Param

    @property
    def type(self) -> str:
        return self.param.type.value.lower()

    @property
    def choices(self) -> tuple[str, ...]:
        if self.param.type is ParamType.FLAGSET:
            return tuple(flag.value for flag in self.param.flags)
        return tuple(item.value for item in self.param.enum)

    @property
    def separator(self) -> str:
        return self.param.flag_sep

    @property
    def pattern(self) -> str:
        return self.param.pattern

    @property
    def max_length(self) -> int:
        return self.param.max_length

    @property
    def minimum(self) -> float | None:
        return _bound(self.param, 0)

    @property
    def maximum(self) -> float | None:
        return _bound(self.param, 1)


def _bound(param: Param, index: int) -> float | None:
    """A numeric bound of ``param.range`` (None when absent or not a number)."""
    if param.range is None or param.type not in (ParamType.REAL, ParamType.INTEGER):
        return None
    try:
        return float(param.range[index])
    except ValueError:
        return None


def _check_required(source: SourceDef, values: Mapping[str, str]) -> None:
    """Refuse a query lacking a required parameter of the source."""
    for param in source.params:
        if param.required and param.key not in values:
            raise QueryError(f"Missing query parameter '{param.key}'")


def _check_time_range(values: Mapping[str, str]) -> None:
    """Refuse an empty or reversed time range (values are ISO normalised)."""
    begin, end = values.get(keys.READ_TIME_MIN), values.get(keys.READ_TIME_MAX)
    if begin and end and _sortable(begin) >= _sortable(end):
        raise QueryError(f"The time range is empty: {keys.READ_TIME_MIN} must be before "
                         f"{keys.READ_TIME_MAX}")


def _sortable(iso: str) -> str:
    """ISO text padded so that string order is time order."""
    date, _, clock = iso.partition("T")
    return f"{date}T{clock.ljust(20, '0')}"


def condition_holds(condition: Condition, values: Mapping[str, str]) -> bool:
    """True when ``condition`` holds for the query values.

    Examples
    --------
    >>> condition_holds(Condition("bin.time.max", "0", "gt"), {"bin.time.max": "60"})
    True
    """
    value = values.get(condition.key)
    if value is None:
        return False
    if condition.value is None:
        return True
    left: float | str
    right: float | str
    try:
        left, right = float(value), float(condition.value)
    except ValueError:
        left, right = value, condition.value
    return bool(_COMPARE[condition.compare](left, right))


_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
}


def is_active(command: CommandDef, values: Mapping[str, str]) -> bool:
    """True when every activation condition of ``command`` holds."""
    return all(condition_holds(c, values) for c in command.conditions)


def required_roles(transforms: Iterable[CommandDef],
                   values: Mapping[str, str]) -> tuple[CommandRole, ...]:
    """The transform roles the query activates, in pipeline order."""
    active = {c.role for c in transforms if is_active(c, values)}
    return tuple(role for role in TRANSFORM_ROLES if role in active)


def wanted_streams(table: CommandTable, values: Mapping[str, str]) -> list[StreamFormat]:
    """The stream formats that satisfy format.type/version/serial/style.

    Without ``format.style`` only a format's default layout (style "") is wanted.
    """
    kind = values.get(keys.FORMAT_TYPE, "das")
    version = values.get(keys.FORMAT_VERSION)
    version = _VERSION_ALIASES.get(version or "", version)
    serial = values.get(keys.FORMAT_SERIAL)
    style = values.get(keys.FORMAT_STYLE, "")
    return [
        found for found in table.streams.values()
        if found.format == kind
        and (not version or found.version == version)
        and (not serial or found.stream.serial in (serial, ""))
        and found.style == style
    ]


def asked_format(values: Mapping[str, str]) -> str:
    """The asked output format as ``type/version/serial/style`` (for messages)."""
    parts = (keys.FORMAT_TYPE, keys.FORMAT_VERSION, keys.FORMAT_SERIAL, keys.FORMAT_STYLE)
    return "/".join(values[key] for key in parts if values.get(key)) or "das"
