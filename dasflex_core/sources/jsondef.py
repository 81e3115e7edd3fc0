"""dasflex's own JSON source definitions (``schemas/source.schema.json``).

A definition is validated against the schema once, at load time, then
converted into the same :class:`~dasflex_core.model.SourceDef` a DSDF
gives.  In command templates, ``$(THIS_DIR)``, ``$(THIS_FILE)`` and
configuration variables (``$(NAME[,default])``) are replaced per argv token,
and relative paths resolve against the definition file's directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import cache, partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from dasflex_core import keys
from dasflex_core.commands import builtin_param
from dasflex_core.errors import DefinitionError
from dasflex_core.model import (
    DAS2_BINARY,
    Access,
    CommandDef,
    CommandRole,
    Condition,
    Contact,
    Convention,
    EnumValue,
    Example,
    Flag,
    Param,
    ParamType,
    SetEntry,
    SourceDef,
    StreamType,
    Variable,
)
from dasflex_core.sources import common
from dasflex_core.sources import remote as remote_spec

if TYPE_CHECKING:
    from dasflex_core.sources.checks import SchemaChecks

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "source.schema.json"

_VARIABLE_PATTERN = re.compile(r"\$\((?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:,(?P<default>[^()]*))?\)")
_T = TypeVar("_T")


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def validate(document: Any, path: str) -> None:
    """Check ``document`` against the schema; raise the first (deepest) problem."""
    import jsonschema

    errors = sorted(_validator().iter_errors(document), key=lambda e: (list(e.path), e.message))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors) or errors[0]
    where = ".".join(str(part) for part in error.absolute_path)
    raise DefinitionError(path, f"key {where}" if where else None, error.message)


def read_json_definition(path: Path, checks: SchemaChecks | None = None) -> dict[str, Any]:
    """Read and validate a JSON definition file (skipping checks ``checks`` remembers)."""
    text = common.read_definition_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(str(path), f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    if checks is None:
        validate(document, str(path))
    else:
        checks.check(document, str(path), SCHEMA_PATH, validate)
    return document


class _Converter:
    """Turns one validated JSON document into a SourceDef."""

    def __init__(self, document: Mapping[str, Any], path: Path, source_id: str,
                 variables: Mapping[str, str]) -> None:
        self.document = document
        self.path = path
        self.source_id = source_id
        base_dir = path.resolve().parent
        self.base_dir = base_dir
        self.variables = {**variables, "THIS_FILE": str(path.resolve()), "THIS_DIR": str(base_dir)}

    def fail(self, where: str, reason: str) -> DefinitionError:
        return DefinitionError(str(self.path), f"key {where}", reason)

    def parsed(self, where: str, parse: Callable[[], _T]) -> _T:
        try:
            return parse()
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def substitute(self, where: str, token: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name, default = match.group("name"), match.group("default")
            if name in self.variables:
                return self.variables[name]
            if default is not None:
                return default.strip()
            raise self.fail(where, f"undefined variable $({name})")

        return _VARIABLE_PATTERN.sub(replace, token)

    def stream_type(self, where: str, text: str) -> StreamType:
        return self.parsed(where, lambda: StreamType.parse(text))

    def command(self, name: str, spec: Mapping[str, Any]) -> CommandDef:
        where = f"commands.{name}"
        template = spec["template"]
        tokens = tuple(template) if isinstance(template, list) else \
            self.parsed(f"{where}.template", lambda: common.split_command(template))
        tokens = tuple(self.substitute(f"{where}.template", token) for token in tokens)
        tokens = common.resolve_relative(tokens, self.base_dir)
        role = CommandRole(spec["role"])
        is_reader = role in (CommandRole.READER, CommandRole.CACHE_READER)
        if is_reader and "input" in spec:
            raise self.fail(f"{where}.input", f"a {role.value} reads no input stream; remove 'input'")
        if not is_reader and "input" not in spec:
            raise self.fail(where, f"a {role.value} needs an 'input' stream type")
        return CommandDef(
            name=name,
            role=role,
            template=tokens,
            output=self.stream_type(f"{where}.output", spec["output"]),
            input=None if is_reader else self.stream_type(f"{where}.input", spec["input"]),
            conditions=tuple(Condition(c["key"], _text(c.get("value")), c.get("compare", "eq"))
                             for c in spec.get("activation", ())),
            sets=tuple(SetEntry(s["key"], _text(s.get("value")) or "true") for s in spec.get("set", ())),
            label=spec.get("label", ""),
            title=spec.get("title", ""),
            order=spec.get("order", 0),
            cost=float(spec.get("cost", 1.0)),
            streaming=spec.get("streaming", True),
            cwd=str(self.base_dir) if is_reader else None,
        )

    def commands(self) -> tuple[CommandDef, ...]:
        """The definition's commands (the planner adds the built-in reducer when it has none)."""
        commands = [self.command(name, spec)
                    for name, spec in self.document.get("commands", {}).items()]
        commands += self.remote_reader()
        readers = [c for c in commands if c.role is CommandRole.READER]
        if not readers and not self.document.get("server") and not self.document.get("rename"):
            raise self.fail("commands", "no command has the role 'reader'")
        return tuple(commands)

    def remote_reader(self) -> list[CommandDef]:
        """The reader a ``remote`` block becomes (:mod:`dasflex_core.sources.remote`)."""
        block = self.document.get("remote")
        if block is None:
            return []
        if any(spec["role"] == "reader" for spec in self.document.get("commands", {}).values()):
            raise self.fail("remote", "a source that names a remote has no reader command")
        spec = self.parsed("remote", lambda: remote_spec.spec_from_json(block))
        return [remote_spec.reader_command(
            spec, requires_interval=self.document.get("requiresInterval", False),
            cwd=str(self.base_dir))]

    def reducible(self) -> bool:
        if "reducible" in self.document:
            return bool(self.document["reducible"])
        outputs = [spec["output"] for spec in self.document.get("commands", {}).values()
                   if spec["role"] == "reader"]
        if "remote" in self.document:
            outputs.append(str(self.remote_reader()[0].output))
        return any(StreamType.parse(o) == DAS2_BINARY for o in outputs if _parses(o))

    def params(self, reducible: bool) -> tuple[Param, ...]:
        specs = self.document.get("params")
        if specs is None:
            standard = common.time_params(reducible=reducible,
                                          requires_interval=self.document.get("requiresInterval", False))
            return (*standard, builtin_param(keys.READ_OPTS))
        return tuple(self.param(key, spec) for key, spec in specs.items())

    def param(self, key: str, spec: Mapping[str, Any]) -> Param:
        where = f"params.{key}"
        if "pattern" in spec:
            self.parsed(f"{where}.pattern", lambda: _compile(spec["pattern"]))
        extra: dict[str, Any] = {}
        if "pattern" in spec:
            extra["pattern"] = spec["pattern"]
        if "maxLength" in spec:
            extra["max_length"] = spec["maxLength"]
        return Param(
            key=key,
            type=ParamType(spec["type"]),
            required=spec.get("required", False),
            label=spec.get("label", ""),
            title=spec.get("title", ""),
            units=spec.get("units", ""),
            range=_range(spec.get("range")),
            enum=tuple(EnumValue(e["value"], e.get("label", ""), e.get("title", ""))
                       for e in spec.get("enum", ())),
            flag_sep=spec.get("flagSep", " "),
            flags=tuple(Flag(name, f["value"], f.get("title", ""),
                             ParamType(f["type"]) if "type" in f else None, f.get("default"))
                        for name, f in spec.get("flags", {}).items()),
            default=_text(spec.get("default")),
            **extra,
        )

    def conventions(self) -> Mapping[str, Convention]:
        """The definition's own rules; the planner lays them over the command table's."""
        return MappingProxyType({
            name: Convention(name, MappingProxyType(dict(spec.get("translate", {}))),
                             MappingProxyType(dict(spec.get("defaults", {}))))
            for name, spec in self.document.get("conventions", {}).items()
        })

    def access(self) -> Access | None:
        spec = self.document.get("access")
        if spec is None or "readAccess" not in spec:
            return None
        realm = spec.get("realm") or self.source_id
        return self.parsed("access.readAccess",
                           lambda: common.parse_access(spec["readAccess"], realm, spec.get("contact", "")))

    def max_request_days(self) -> float:
        days = self.document.get("access", {}).get("maxRequestDays")
        if days is None:
            return 0.0
        return self.parsed("access.maxRequestDays", lambda: common.parse_max_days(days))

    def examples(self) -> tuple[Example, ...]:
        return tuple(Example(e["label"], MappingProxyType(dict(e["settings"])))
                     for e in self.document.get("examples", ()))

    def source(self) -> SourceDef:
        doc = self.document
        reducible = self.reducible()
        valid_range = (doc["validRange"][0], doc["validRange"][1]) if "validRange" in doc else None
        properties = tuple((k, v) for k, v in doc.get("das2Properties", {}).items())
        source = SourceDef(
            id=self.source_id,
            title=doc["title"],
            definition_path=str(self.path),
            summary=doc.get("summary", ""),
            contacts=tuple(Contact(c["name"], c.get("email", ""), c.get("role", "technical"))
                           for c in doc.get("contacts", ())),
            params=self.params(reducible),
            conventions=self.conventions(),
            commands=self.commands(),
            examples=self.examples(),
            valid_range=valid_range,
            coords=tuple(Variable(v["name"], v.get("title", ""), v.get("units", ""))
                         for v in doc.get("coords", ())),
            data=tuple(Variable(v["name"], v.get("title", ""), v.get("units", ""))
                       for v in doc.get("data", ())),
            access=self.access(),
            max_request_days=self.max_request_days(),
            cache_levels=tuple(
                self.parsed(f"cacheLevels.{i}", partial(common.parse_cache_level, f"{i:02d}", text))
                for i, text in enumerate(doc.get("cacheLevels", ()))),
            server=doc.get("server"),
            rename=doc.get("rename"),
            hapi=doc.get("hapi", False),
            realtime=doc.get("realTime", False),
            requires_interval=doc.get("requiresInterval", False),
            reducible=reducible,
            hidden=doc.get("hidden", False),
            sub_sources=tuple(
                self.parsed(f"subSources.{i}", partial(common.parse_sub_source, f"{i:02d}", text))
                for i, text in enumerate(doc.get("subSources", ()))),
            das2_properties=properties,
            definition_format="json",
            interface=MappingProxyType(dict(doc["interface"])) if "interface" in doc else None,
        )
        return replace(source, das2_properties=_das2_properties(source) + properties)


def _das2_properties(source: SourceDef) -> tuple[tuple[str, str], ...]:
    """The DSDF keys a das2 client expects, made from a JSON definition."""
    props: list[tuple[str, str]] = [("description", source.title)]
    if source.summary:
        props.append(("summary", source.summary))
    stream_keys = {"das2": "das2Stream", "das3": "das3Stream", "qstream": "qstream"}
    if source.output and source.output.mime in stream_keys:
        props.append((stream_keys[source.output.mime], "1"))
    if source.valid_range:
        props.append(("validRange", f"{source.valid_range[0]} to {source.valid_range[1]}"))
    for role, key in (("technical", "techContact"), ("scientific", "sciContact")):
        people = [f"{c.name} <{c.email}>" if c.email else c.name
                  for c in source.contacts if c.role == role]
        if people:
            props.append((key, ", ".join(people)))
    for index, example in enumerate(source.examples):
        begin = example.settings.get(keys.READ_TIME_MIN)
        end = example.settings.get(keys.READ_TIME_MAX)
        if begin and end:
            props.append((f"exampleRange_{index:02d}", f"{begin} to {end} | {example.label}"))
        if example.settings.get(keys.READ_OPTS):
            props.append((f"exampleParams_{index:02d}", example.settings[keys.READ_OPTS]))
    if source.access:
        props.append(("securityRealm", source.access.realm))
    if source.requires_interval:
        props.append(("requiresInterval", "1"))
    return tuple(props)


def _range(bounds: list[Any] | None) -> tuple[str, str] | None:
    """A JSON ``[low, high]`` as two strings."""
    if bounds is None:
        return None
    return _text(bounds[0]) or "", _text(bounds[1]) or ""


def _text(value: Any) -> str | None:
    """JSON scalars as the strings the model holds (booleans as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parses(text: str) -> bool:
    try:
        StreamType.parse(text)
    except ValueError:
        return False
    return True


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regular expression: {exc}") from None


def to_source(document: Mapping[str, Any], path: Path, source_id: str,
              variables: Mapping[str, str] | None = None) -> SourceDef:
    """Convert a validated JSON definition into a :class:`SourceDef`."""
    return _Converter(document, path, source_id, variables or {}).source()


def load_json_definition(path: Path, source_id: str,
                         variables: Mapping[str, str] | None = None,
                         checks: SchemaChecks | None = None) -> SourceDef:
    """Read, validate and convert the JSON definition at ``path``."""
    return to_source(read_json_definition(path, checks), path, source_id, variables)
