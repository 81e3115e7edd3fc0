"""Command tables: the stream tools as typed edges between stream types.

``builtin.json`` (package data) registers dasflex's own tools exactly as a
site's ``_commands.json`` registers its tools: both follow
``schemas/commands.schema.json`` and load into a :class:`CommandTable`.  A
site table is laid over the built-in one with :meth:`CommandTable.merged`:
its commands replace built-in commands of the same name, its parameters and
stream formats are added or replace the built-in ones, and its conventions
are laid over the built-in ones key by key.

``builtin.json`` is the one place that declares the standard query
parameters (:func:`builtin_param`; their names are in
:mod:`dasflex_core.keys`), the request conventions (how ``das2`` and
``hapi`` keys become ``flex`` keys) and the default reducer; definitions
and the planner ask it.  A site's ``_commands.json`` is read by
:func:`dasflex_core.sources.loader.load_command_table`.

Examples
--------
>>> table = builtin_commands()
>>> sorted({c.name for c in table.commands})[:3]
['das2_ascii', 'das2_bin_avgsec', 'das2_cdf']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from dasflex_core.errors import DefinitionError
from dasflex_core.model import (
    CommandDef,
    CommandRole,
    CommandTable,
    Condition,
    Convention,
    EnumValue,
    Param,
    ParamType,
    SetEntry,
    StreamFormat,
    StreamType,
)

__all__ = [
    "builtin_commands",
    "builtin_param",
    "parse_command_table",
    "schema_path",
    "validate_document",
]


def schema_path() -> Path:
    """Where ``commands.schema.json`` lives (the project's ``schemas/``)."""
    return Path(__file__).resolve().parents[2] / "schemas" / "commands.schema.json"


@lru_cache(maxsize=1)
def builtin_commands() -> CommandTable:
    """The built-in command table (package data, loaded once; immutable)."""
    text = (Path(__file__).parent / "builtin.json").read_text("utf-8")
    return parse_command_table(json.loads(text), "builtin.json")


def builtin_param(key: str) -> Param:
    """The built-in declaration of the query parameter ``key`` (see :mod:`dasflex_core.keys`).

    Examples
    --------
    >>> builtin_param("read.time.min").label
    'Start'
    """
    return builtin_commands().params[key]


def validate_document(document: Any, where: str) -> None:
    """Check a command table document against the JSON schema."""
    import jsonschema

    schema = json.loads(schema_path().read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: e.path)), None)
    if error is not None:
        location = "/".join(str(part) for part in error.absolute_path) or None
        raise DefinitionError(where, location, error.message)


def parse_command_table(document: Mapping[str, Any], where: str) -> CommandTable:
    """Turn a (schema-valid) command table document into a :class:`CommandTable`."""
    streams = {}
    for text, entry in document.get("streams", {}).items():
        stream = _stream_type(text, where, f"streams/{text}")
        streams[stream] = StreamFormat(
            stream, entry["format"], entry.get("version", ""), entry["mime"],
            entry["extension"], entry.get("title", ""), entry.get("style", ""),
        )
    params = {key: _param(key, entry, where) for key, entry in document.get("params", {}).items()}
    aliases = {key: dict(entry["aliases"]) for key, entry in document.get("params", {}).items()
               if entry.get("aliases")}
    conventions = {
        name: Convention(name, dict(entry.get("translate", {})), dict(entry.get("defaults", {})),
                         {key: dict(value) for key, value in entry.get("implies", {}).items()})
        for name, entry in document.get("conventions", {}).items()
    }
    value_maps = {name: {key: dict(values) for key, values in entry.get("values", {}).items()}
                  for name, entry in document.get("conventions", {}).items()}
    commands: list[CommandDef] = []
    for name, entry in document.get("commands", {}).items():
        commands.extend(_commands(name, entry, where))
    return CommandTable(tuple(commands), params, conventions, value_maps, aliases, streams)


def _stream_type(text: str, where: str, key: str) -> StreamType:
    """Parse ``family/version/serial`` or raise DefinitionError."""
    try:
        return StreamType.parse(text)
    except ValueError as exc:
        raise DefinitionError(where, key, str(exc)) from exc


def _param(key: str, entry: Mapping[str, Any], where: str) -> Param:
    """One parameter declaration."""
    try:
        kind = ParamType(entry["type"])
    except (KeyError, ValueError) as exc:
        raise DefinitionError(where, f"params/{key}", f"bad type {entry.get('type')!r}") from exc
    extra: dict[str, Any] = {}
    if "pattern" in entry:
        extra["pattern"] = entry["pattern"]
    if "max_length" in entry:
        extra["max_length"] = int(entry["max_length"])
    bounds = entry.get("range")
    return Param(
        key=key,
        type=kind,
        label=entry.get("label", ""),
        title=entry.get("title", ""),
        units=entry.get("units", ""),
        range=(str(bounds[0]), str(bounds[1])) if bounds else None,
        enum=tuple(EnumValue(str(value)) for value in entry.get("enum", ())),
        default=entry.get("default"),
        **extra,
    )


def _commands(name: str, entry: Mapping[str, Any], where: str) -> list[CommandDef]:
    """One command entry: one CommandDef per input stream type."""
    try:
        role = CommandRole(entry["role"])
    except (KeyError, ValueError) as exc:
        raise DefinitionError(where, f"commands/{name}", f"bad role {entry.get('role')!r}") from exc
    template = entry["template"]
    tokens = (template,) if isinstance(template, str) else tuple(template)
    base = CommandDef(
        name=name,
        role=role,
        template=tokens,
        output=StreamType("*") if entry["output"] == "*" else _stream_type(
            entry["output"], where, f"commands/{name}/output"),
        conditions=tuple(Condition(c["key"], c.get("value"), c.get("compare", "eq"))
                         for c in entry.get("activation", ())),
        sets=tuple(SetEntry(s["key"], s.get("value", "true")) for s in entry.get("set", ())),
        title=entry.get("title", ""),
        label=entry.get("label", ""),
        order=int(entry.get("order", 0)),
        cost=float(entry.get("cost", 1.0)),
        streaming=bool(entry.get("streaming", True)),
        requires=tuple(entry.get("requires", ())),
    )
    inputs = entry.get("input")
    if inputs is None:
        if base.output.mime == "*":
            raise DefinitionError(where, f"commands/{name}/output", "a reader cannot output '*'")
        return [base]
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    commands = []
    for text in inputs:
        stream = _stream_type(text, where, f"commands/{name}/input")
        output = stream if base.output.mime == "*" else base.output
        commands.append(replace(base, input=stream, output=output))
    return commands
