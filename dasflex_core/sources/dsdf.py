"""DSDF (das2 data source definition file) parsing and conversion to the model.

Syntax, one ``key = value`` per logical line:

* ``;`` starts a comment, except inside a quoted value;
* values may be wrapped in single or double quotes (``''`` inside single
  quotes is a literal quote);
* a line ending in ``$`` continues on the next line, IDL style: a ``+`` and
  a closing quote before the ``$``, and the next line's opening quote, are
  dropped, so ``'one ' + $`` / ``'two'`` reads ``one two``;
* ``key_NN`` and ``keyNN`` (two digits) are list entries ``NN`` of ``key``;
* ``$(VAR)`` and ``$(VAR,default)`` are replaced from ``THIS_FILE``,
  ``THIS_DIR``, other keys of the same file, then the configuration
  (never from an HTTP query); ``substitutions = false`` turns this off.
  In ``reader``, ``$(PARAMS[,default])`` marks where reader options go.

Every error is a :class:`DefinitionError` naming the file and the real line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, partial
from pathlib import Path
from typing import TypeVar

from dasflex_core import keys
from dasflex_core.commands import builtin_commands, builtin_param
from dasflex_core.errors import DefinitionError
from dasflex_core.model import (
    DAS1_BINARY,
    DAS2_BINARY,
    DAS3_BINARY,
    QSTREAM_BINARY,
    Access,
    CacheLevel,
    CommandDef,
    CommandRole,
    Condition,
    Contact,
    Example,
    Flag,
    Param,
    ParamType,
    SourceDef,
    StreamType,
    SubSource,
    Variable,
)
from dasflex_core.sources import common
from dasflex_core.sources import remote as remote_spec
from dasflex_core.sources.remote import RemoteSpec

_KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_LIST_KEY_PATTERN = re.compile(r"(?P<base>[A-Za-z](?:[A-Za-z0-9_]*?[A-Za-z])?)_?(?P<index>\d\d)")
_VARIABLE_PATTERN = re.compile(r"\$\((?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:,(?P<default>[^()]*))?\)")
_PARAMS_PATTERN = re.compile(r"\$\(PARAMS(?:,(?P<default>[^()]*))?\)")
_MAX_SUBSTITUTION_PASSES = 20
_T = TypeVar("_T")

#: Keys holding command lines: substituted values are shell-quoted so that
#: they stay one argv token when the line is split.
_COMMAND_KEYS = frozenset({"reader", "reducer", "cachereader"})

#: Keys that name programs, paths or policies: never copied into ``das2.d2t``.
INTERNAL_KEYS = frozenset({
    "reader", "reducer", "cachereader", "readercmd", "reducercmd", "coveragereducer",
    "readertrans", "compressor", "substitutions", "readaccess", "groupaccess",
    "cachelevel", "subsource", "hascoverage", "paramvalinfo", "examplequery",
    "dropparams", "hapi", "localid", "maxrequestdays", "remote",
})

#: Keys the converter understands (lower case); others pass through to das2.d2t.
KNOWN_KEYS = INTERNAL_KEYS | frozenset({
    "description", "summary", "das2stream", "das3stream", "qstream", "requiresinterval",
    "not_reducible", "not_reducable", "pre_reduced", "param", "examplerange",
    "exampleparams", "exampleinterval", "exampleresolution", "validrange",
    "techcontact", "scicontact", "coord", "item", "data", "securityrealm",
    "server", "rename", "realtime", "items", "hidden",
})


@dataclass(frozen=True, slots=True)
class DsdfEntry:
    """One ``key = value`` of a DSDF; ``index`` is ``NN`` for list keys."""

    key: str
    base: str
    index: str | None
    value: str
    line: int


@dataclass(frozen=True)
class DsdfDocument:
    """A parsed DSDF: entries in file order, looked up case-insensitively."""

    path: str
    entries: tuple[DsdfEntry, ...]
    _scalars: Mapping[str, DsdfEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scalars = {e.base.lower(): e for e in self.entries if e.index is None}
        object.__setattr__(self, "_scalars", scalars)

    def get(self, key: str) -> DsdfEntry | None:
        """The scalar entry ``key`` (any case)."""
        return self._scalars.get(key.lower())

    def value(self, key: str, default: str | None = None) -> str | None:
        """The value of scalar ``key``, or ``default``."""
        entry = self.get(key)
        return entry.value if entry else default

    def items(self, base: str) -> list[DsdfEntry]:
        """List entries ``base_NN`` sorted by index."""
        wanted = base.lower()
        found = [e for e in self.entries if e.index is not None and e.base.lower() == wanted]
        return sorted(found, key=lambda e: e.index or "")

    def error(self, entry: DsdfEntry | None, reason: str) -> DefinitionError:
        """A DefinitionError at ``entry``'s line (or for the whole file)."""
        return DefinitionError(self.path, f"line {entry.line}" if entry else None, reason)


# ----------------------------------------------------------------------------- parsing

def _strip_comment(line: str) -> str:
    """Remove a ``;`` comment that is outside quotes."""
    quote = ""
    for pos, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == ";":
            return line[:pos].rstrip()
    return line.rstrip()


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join ``$`` continuation lines; yield (first line number, text)."""
    pending: str | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if pending is not None:
            line = _join_continuation(pending, line)
        else:
            start = number
        if line.endswith("$"):
            pending = line[:-1]
            continue
        pending = None
        if line.strip():
            yield start, line
    if pending is not None and pending.strip():
        yield start, pending


def _join_continuation(head: str, tail: str) -> str:
    """Join the text before a ``$`` and the next line.

    ``'one ' + $`` + ``'two'`` joins inside one quoted string (the closing
    and opening quotes and the ``+`` go); unquoted parts join with a blank.
    """
    head = head.rstrip()
    if head.endswith("+"):
        head = head[:-1].rstrip()
    tail = tail.strip()
    if head.endswith(("'", '"')) and tail.startswith(head[-1]):
        return head[:-1] + tail[1:]
    return f"{head} {tail}" if head and tail else head + tail


def _unquote(value: str) -> str:
    """The value without its quotes; ValueError when a quote is not closed."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("''", "'") if value[0] == "'" else inner
    if value[:1] in ("'", '"'):
        raise ValueError(f"the quote {value[0]} opening the value is never closed")
    return value


def _split_key(key: str) -> tuple[str, str | None]:
    match = _LIST_KEY_PATTERN.fullmatch(key)
    if match:
        return match.group("base"), match.group("index")
    return key, None


def parse_dsdf_text(text: str, path: str) -> DsdfDocument:
    """Parse DSDF text (no substitution); ``path`` is used in messages."""
    entries: list[DsdfEntry] = []
    seen: dict[str, int] = {}
    for line_number, line in _logical_lines(text):
        key_text, sep, value_text = line.partition("=")
        key = key_text.strip()
        if not sep:
            raise DefinitionError(path, f"line {line_number}", f"expected 'key = value', got {line.strip()!r}")
        if not _KEY_PATTERN.fullmatch(key):
            raise DefinitionError(path, f"line {line_number}", f"bad key name {key!r}")
        base, index = _split_key(key)
        identity = f"{base.lower()}#{index}"
        if identity in seen:
            raise DefinitionError(path, f"line {line_number}",
                                  f"key {key!r} repeats the one on line {seen[identity]}")
        seen[identity] = line_number
        try:
            value = _unquote(value_text)
        except ValueError as exc:
            raise DefinitionError(path, f"line {line_number}", f"{key}: {exc}") from None
        entries.append(DsdfEntry(key, base, index, value, line_number))
    return DsdfDocument(path, tuple(entries))


def substitute(document: DsdfDocument, variables: Mapping[str, str]) -> DsdfDocument:
    """Replace ``$(VAR[,default])`` in every value (not ``$(PARAMS)`` in the reader).

    Lookup order: ``variables`` entries ``THIS_FILE``/``THIS_DIR``, the
    document's own scalar keys, the rest of ``variables``, the default.
    """
    flag = document.get("substitutions")
    if flag is not None and not _entry_bool(document, flag):
        return document
    own = {e.key: e.value for e in document.entries if e.index is None}
    lookup = {**{k: v for k, v in variables.items() if not k.startswith("THIS_")}, **own,
              **{k: v for k, v in variables.items() if k.startswith("THIS_")}}
    entries = tuple(_substitute_entry(document, entry, lookup) for entry in document.entries)
    return DsdfDocument(document.path, entries)


def _substitute_entry(document: DsdfDocument, entry: DsdfEntry,
                      lookup: Mapping[str, str]) -> DsdfEntry:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name == "PARAMS" and entry.base.lower() == "reader":
            return match.group(0)
        if name in lookup:
            quoted = entry.base.lower() in _COMMAND_KEYS
            return shlex.quote(lookup[name]) if quoted else lookup[name]
        if default is not None:
            return default.strip()
        raise document.error(entry, f"undefined variable $({name}) in {entry.key}")

    value = entry.value
    for _ in range(_MAX_SUBSTITUTION_PASSES):
        new_value = _VARIABLE_PATTERN.sub(replace, value)
        if new_value == value:
            return DsdfEntry(entry.key, entry.base, entry.index, value, entry.line)
        value = new_value
    raise document.error(entry, f"variables in {entry.key} refer to each other endlessly")


def read_dsdf(path: Path, variables: Mapping[str, str] | None = None) -> DsdfDocument:
    """Read and parse a DSDF file, then substitute its variables."""
    text = common.read_definition_text(path)
    document = parse_dsdf_text(text, str(path))
    defaults = {"THIS_FILE": str(path.resolve()), "THIS_DIR": str(path.resolve().parent)}
    return substitute(document, {**(variables or {}), **defaults})


# ----------------------------------------------------------------------------- conversion

def _entry_bool(document: DsdfDocument, entry: DsdfEntry) -> bool:
    try:
        return common.parse_bool(entry.value)
    except ValueError as exc:
        raise document.error(entry, f"{entry.key}: {exc}") from None


def _flag(document: DsdfDocument, key: str) -> bool:
    entry = document.get(key)
    return _entry_bool(document, entry) if entry else False


def _parsed(document: DsdfDocument, entry: DsdfEntry, parse: Callable[[str], _T]) -> _T:
    try:
        return parse(entry.value)
    except ValueError as exc:
        raise document.error(entry, f"{entry.key}: {exc}") from None


def _remote(document: DsdfDocument) -> RemoteSpec | None:
    """The ``remote`` key (a source relaying another server), if the DSDF has one."""
    entry = document.get("remote")
    return _parsed(document, entry, remote_spec.spec_from_text) if entry else None


def _output_type(document: DsdfDocument) -> StreamType:
    remote = _remote(document)
    if remote is not None:
        return remote.output
    if _flag(document, "das3Stream"):
        return DAS3_BINARY
    if _flag(document, "das2Stream"):
        return DAS2_BINARY
    if _flag(document, "qstream"):
        return QSTREAM_BINARY
    return DAS1_BINARY


def _is_reducible(document: DsdfDocument, output: StreamType) -> bool:
    blocked = any(_flag(document, k) for k in ("not_reducible", "not_reducable", "pre_reduced"))
    return not blocked and (output == DAS2_BINARY or document.get("reducer") is not None)


def _reader_command(document: DsdfDocument, output: StreamType,
                    requires_interval: bool) -> CommandDef:
    entry = document.get("reader")
    remote = _remote(document)
    if remote is not None:
        if entry is not None:
            raise document.error(entry, "reader: a source that names a remote has no reader")
        return remote_spec.reader_command(remote, requires_interval=requires_interval,
                                          cwd=str(Path(document.path).resolve().parent))
    if entry is None:
        raise DefinitionError(document.path, "key reader",
                              "missing (every source needs a reader or a remote)")
    text = entry.value
    params_match = _PARAMS_PATTERN.search(text)
    marker = "\x00PARAMS\x00"
    if params_match:
        text = text[:params_match.start()] + marker + text[params_match.end():]
    tokens = _parsed(document, entry, lambda _value: common.split_command(text))
    base_dir = Path(document.path).resolve().parent
    tokens = common.resolve_relative(tokens, base_dir)
    options = f"#[{keys.READ_OPTS}#@#{(params_match.group('default') or '').strip()}]" \
        if params_match else f"#[{keys.READ_OPTS}#@#]"
    tokens = tuple(token.replace(marker, options) for token in tokens)
    if requires_interval:
        tokens += (f"#[{keys.READ_TIME_INTERVAL}]",)
    tokens += (f"#[{keys.READ_TIME_MIN}]", f"#[{keys.READ_TIME_MAX}]")
    if not params_match and not _flag(document, "dropParams"):
        tokens += (options,)
    return CommandDef(name="reader", role=CommandRole.READER, template=tokens, output=output,
                      label="Reader", title="Reads the data source", cwd=str(base_dir))


def _reducer_command(document: DsdfDocument, output: StreamType) -> CommandDef | None:
    """The ``reducer`` key's program, run as ``PROGRAM ... RESOLUTION`` when asked to reduce.

    None without the key, or when it names a reducer of the command table
    (``reducer = das2_bin_avgsec``): the planner then runs the table's
    reducer for a reducible source.
    """
    entry = document.get("reducer")
    if entry is None:
        return None
    tokens = _parsed(document, entry, common.split_command)
    if len(tokens) == 1 and tokens[0] in _table_reducers():
        return None
    tokens = common.resolve_relative(tokens, Path(document.path).resolve().parent)
    return CommandDef(
        name="reducer",
        role=CommandRole.REDUCER,
        template=(*tokens, f"#[{keys.BIN_TIME_MAX}]"),
        input=output,
        output=output,
        conditions=(Condition(keys.BIN_TIME_MAX, "0", "gt"),),
        label="Reduce",
        title="Average into time bins no wider than the resolution",
        order=10,
    )


@cache
def _table_reducers() -> frozenset[str]:
    """The names of the built-in table's reducers."""
    return frozenset(command.name for command in builtin_commands().commands
                     if command.role is CommandRole.REDUCER)


def _option_params(document: DsdfDocument) -> list[Param]:
    """``param_NN`` entries: one becomes a string option, several a FlagSet."""
    if _flag(document, "dropParams"):
        return []
    flags = [_param_flag(document, entry) for entry in document.items("param")]
    options = builtin_param(keys.READ_OPTS)
    if len(flags) > 1:
        return [replace(options, type=ParamType.FLAGSET, flag_sep=" ", flags=tuple(flags))]
    if len(flags) == 1:
        only = flags[0]
        return [replace(options, label=only.value, title=only.title, default=only.default)]
    return [options]


def _param_flag(document: DsdfDocument, entry: DsdfEntry) -> Flag:
    value, title, type_text, default = common.split_fields(entry.value, 4)
    if not value:
        raise document.error(entry, f"{entry.key}: missing the flag (expected 'FLAG | description')")
    flag_type = None
    if type_text:
        try:
            flag_type = ParamType(type_text)
        except ValueError:
            names = ", ".join(t.value for t in ParamType)
            raise document.error(entry, f"{entry.key}: unknown type {type_text!r} (one of {names})") from None
    return Flag(key=f"{entry.base}_{entry.index}", value=value, title=title, type=flag_type,
                default=default or None)


def _examples(document: DsdfDocument, reducible: bool) -> list[Example]:
    per_index = {
        "exampleParams": keys.READ_OPTS,
        "exampleInterval": keys.READ_TIME_INTERVAL,
        "exampleResolution": keys.BIN_TIME_MAX,
    }
    extras: dict[str, dict[str, str]] = {}
    for base, flex_key in per_index.items():
        for entry in document.items(base):
            extras.setdefault(entry.index or "", {})[flex_key] = entry.value
    examples = []
    for entry in document.items("exampleRange"):
        range_text, _sep, label = entry.value.partition("|")
        begin, end = _parsed(document, entry, partial(_ignore_value, common.parse_time_range, range_text))
        examples.append(common.example_from_range(label.strip(), begin, end, reducible=reducible,
                                                  extra=extras.get(entry.index or "")))
    return examples


def _ignore_value(parse: Callable[[str], _T], text: str, _value: str) -> _T:
    """``parse(text)``, called as a value parser that ignores the entry's value."""
    return parse(text)


def _with_value_first(parse: Callable[[str, str], _T], extra: str, value: str) -> _T:
    """``parse(value, extra)``, for parsers whose extra argument comes second."""
    return parse(value, extra)


def _contacts(document: DsdfDocument) -> list[Contact]:
    contacts: list[Contact] = []
    for key, role in (("techContact", "technical"), ("sciContact", "scientific")):
        entry = document.get(key)
        if entry:
            contacts += _parsed(document, entry, partial(_with_value_first, common.parse_contacts, role))
    return contacts


def _variables(document: DsdfDocument, *bases: str) -> tuple[Variable, ...]:
    return tuple(_parsed(document, e, common.parse_variable) for b in bases for e in document.items(b))


def _access(document: DsdfDocument, source_id: str) -> Access | None:
    entry = document.get("readAccess")
    group = document.get("groupAccess")
    realm = document.value("securityRealm") or source_id
    if entry is None and group is not None:
        return _parsed(document, group, lambda t: common.parse_access(f"GROUP:{t}", realm))
    if entry is None:
        return None
    return _parsed(document, entry, lambda t: common.parse_access(t, realm))


def _max_request_days(document: DsdfDocument) -> float:
    entry = document.get("maxRequestDays")
    return 0.0 if entry is None else _parsed(document, entry, common.parse_max_days)


def _cache_levels(document: DsdfDocument) -> tuple[CacheLevel, ...]:
    return tuple(_parsed(document, e, partial(common.parse_cache_level, e.index or ""))
                 for e in document.items("cacheLevel"))


def _sub_sources(document: DsdfDocument) -> tuple[SubSource, ...]:
    return tuple(_parsed(document, e, partial(common.parse_sub_source, e.index or ""))
                 for e in document.items("subSource"))


def _das2_properties(document: DsdfDocument) -> tuple[tuple[str, str], ...]:
    public = []
    for entry in document.entries:
        if entry.base.lower() in INTERNAL_KEYS:
            continue
        name = entry.base if entry.index is None else f"{entry.base}_{entry.index}"
        public.append((name, entry.value))
    return tuple(public)


def _valid_range(document: DsdfDocument) -> tuple[str, str] | None:
    entry = document.get("validRange")
    return _parsed(document, entry, common.parse_time_range) if entry else None


def _server(document: DsdfDocument) -> str | None:
    """The ``server`` key: the absolute URL of the server that owns the source."""
    entry = document.get("server")
    if entry is None or not entry.value:
        return None
    if not re.match(r"https?://[^/\s]+", entry.value):
        raise document.error(entry, f"server: expected an absolute http(s) URL, got {entry.value!r}")
    return entry.value


def to_source(document: DsdfDocument, source_id: str) -> SourceDef:
    """Convert a parsed (and substituted) DSDF into a :class:`SourceDef`."""
    redirect = _server(document) or document.value("rename")
    output = _output_type(document)
    requires_interval = _flag(document, "requiresInterval") or document.get("items") is not None
    reducible = _is_reducible(document, output)
    commands: list[CommandDef] = []
    if document.get("reader") is not None or not redirect:
        commands.append(_reader_command(document, output, requires_interval))
        reducer = _reducer_command(document, output) if reducible else None
        commands += [reducer] if reducer else []
    params = common.time_params(reducible=reducible, requires_interval=requires_interval)
    return SourceDef(
        id=source_id,
        title=document.value("description") or source_id,
        definition_path=document.path,
        summary=document.value("summary") or "",
        contacts=tuple(_contacts(document)),
        params=tuple(params + _option_params(document)),
        commands=tuple(commands),
        examples=tuple(_examples(document, reducible)),
        valid_range=_valid_range(document),
        coords=_variables(document, "coord"),
        data=_variables(document, "item", "data"),
        access=_access(document, source_id),
        cache_levels=_cache_levels(document),
        server=_server(document),
        rename=document.value("rename") or None,
        hapi=_flag(document, "hapi"),
        realtime=_flag(document, "realTime"),
        requires_interval=requires_interval,
        reducible=reducible,
        hidden=_flag(document, "hidden"),
        sub_sources=_sub_sources(document),
        das2_properties=_das2_properties(document),
        definition_format="dsdf",
        max_request_days=_max_request_days(document),
    )


def load_dsdf(path: Path, source_id: str, variables: Mapping[str, str] | None = None) -> SourceDef:
    """Read the DSDF at ``path`` and convert it into a :class:`SourceDef`."""
    return to_source(read_dsdf(path, variables), source_id)


def unknown_keys(document: DsdfDocument) -> list[DsdfEntry]:
    """Entries the converter does not interpret (they pass through to das2.d2t)."""
    return [e for e in document.entries if e.base.lower() not in KNOWN_KEYS]


__all__ = [
    "INTERNAL_KEYS",
    "DsdfDocument",
    "DsdfEntry",
    "load_dsdf",
    "parse_dsdf_text",
    "read_dsdf",
    "substitute",
    "to_source",
    "unknown_keys",
]
