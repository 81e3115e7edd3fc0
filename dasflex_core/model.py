"""The typed model of data source definitions and command tables.

Both definition formats (DSDF and our JSON format) load into these frozen
dataclasses, and command tables (``commands/builtin.json``, a site's
``_commands.json``) into a :class:`CommandTable`.  The planner turns a
:class:`SourceDef`'s commands into a graph whose nodes are
:class:`StreamType` values; the catalog turns the public parts into the
nodes clients fetch.  Nothing here reads files or runs programs, and this
module imports no other module of the project.

Field values are plain, immutable data: tuples instead of lists and
``Mapping`` values that callers must not modify.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

#: Comparisons a :class:`Condition` may use.
COMPARISONS = ("eq", "ne", "gt", "lt", "ge", "le")


@dataclass(frozen=True, slots=True, order=True)
class StreamType:
    """A kind of byte stream: a node of the planner's graph.

    ``mime`` is the stream family (``das2``, ``das3``, ``qstream``, ``das1``,
    ``csv``, ``png``, ``cdf``, ``hapi-csv``, ``json``, ...), ``version`` its
    format version (``"2.2"``, ``"3.0"`` or ``""``) and ``serial`` the
    encoding (``binary``, ``text`` or ``""``).  ``str()`` gives
    ``das2/2.2/binary``; :meth:`parse` reads it back.
    """

    mime: str
    version: str = ""
    serial: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.mime, self.version, self.serial) if part)

    @classmethod
    def parse(cls, text: str) -> StreamType:
        """Read ``family[/version[/serial]]``, e.g. ``das2/2.2/binary``."""
        parts = text.strip().split("/")
        if not parts[0] or len(parts) > 3:
            raise ValueError(f"bad stream type {text!r} (expected family/version/serial)")
        parts += [""] * (3 - len(parts))
        return cls(parts[0], parts[1], parts[2])


DAS2_BINARY = StreamType("das2", "2.2", "binary")
DAS2_TEXT = StreamType("das2", "2.2", "text")
DAS3_BINARY = StreamType("das3", "3.0", "binary")
DAS3_TEXT = StreamType("das3", "3.0", "text")
QSTREAM_BINARY = StreamType("qstream", "", "binary")
DAS1_BINARY = StreamType("das1", "", "binary")


class ParamType(StrEnum):
    """The type of a query parameter (the HttpStreamSrc ``type`` names)."""

    ISOTIME = "isotime"
    REAL = "real"
    INTEGER = "integer"
    ENUM = "enum"
    FLAGSET = "FlagSet"
    STRING = "string"
    BOOLEAN = "boolean"


class CommandRole(StrEnum):
    """What a command does in a pipeline."""

    READER = "reader"
    CACHE_READER = "cache_reader"
    TRANSFORM = "transform"
    REDUCER = "reducer"
    FORMATTER = "formatter"
    CONVERTER = "converter"


#: Characters a string parameter may hold unless its definition says otherwise.
SAFE_STRING_PATTERN = r"[A-Za-z0-9 _.,:+=@%/-]*"


@dataclass(frozen=True, slots=True)
class EnumValue:
    """One choice of an ``enum`` parameter."""

    value: str
    label: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag of a ``FlagSet`` parameter (a DSDF ``param_NN`` entry).

    ``value`` is the text sent in the parameter, ``key`` the flag's id in
    catalogs, ``type`` the type of a value that follows the flag, if any.
    """

    key: str
    value: str
    title: str = ""
    type: ParamType | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter a source accepts (in the ``flex`` convention)."""

    key: str
    type: ParamType = ParamType.STRING
    required: bool = False
    label: str = ""
    title: str = ""
    units: str = ""
    range: tuple[str, str] | None = None
    enum: tuple[EnumValue, ...] = ()
    flag_sep: str = " "
    flags: tuple[Flag, ...] = ()
    default: str | None = None
    pattern: str = SAFE_STRING_PATTERN
    max_length: int = 256


@dataclass(frozen=True, slots=True)
class Condition:
    """An activation test on one parameter.

    With ``value`` None the condition holds when ``key`` is present;
    otherwise the value is compared with ``compare`` (numerically when both
    sides are numbers, else as strings).
    """

    key: str
    value: str | None = None
    compare: str = "eq"


@dataclass(frozen=True, slots=True)
class SetEntry:
    """A parameter a triggered command sets for later stages."""

    key: str
    value: str = "true"


@dataclass(frozen=True, slots=True)
class CommandDef:
    """One command: a reader, transform, reducer, formatter or converter.

    ``template`` is a tuple of argv tokens; tokens may hold ``#[...]`` slots
    that the template language fills from the query.  It was split into
    tokens when the definition was loaded, so query values never meet a
    shell.  Every condition must hold for the command to run (AND); no
    conditions means always.  ``input`` is None for readers.  ``cwd`` is the
    directory the command runs in (a reader's definition directory, against
    which relative paths resolve), or None for the server's.  ``requires``
    names the Python modules the command needs; without them the planner
    leaves it out (:mod:`dasflex_core.commands.requirements`).
    """

    name: str
    role: CommandRole
    template: tuple[str, ...]
    output: StreamType
    input: StreamType | None = None
    conditions: tuple[Condition, ...] = ()
    sets: tuple[SetEntry, ...] = ()
    label: str = ""
    title: str = ""
    order: int = 0
    cost: float = 1.0
    streaming: bool = True
    cwd: str | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Convention:
    """How one request convention maps onto ``flex`` keys.

    ``translate`` renames incoming keys (a None target drops the key);
    ``defaults`` are set before the query's own values; ``implies`` gives
    defaults that apply when a key is present and override ``defaults``
    (``format.style`` present: ``format.type`` defaults to ``csv``).
    """

    name: str
    translate: Mapping[str, str | None] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    implies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamFormat:
    """How a stream type is offered: the format keys selecting it, MIME, extension.

    ``style`` is the ``format.style`` value that selects it ("" for a format's
    default layout, which requests without ``format.style`` get).
    """

    stream: StreamType
    format: str
    version: str
    mime: str
    extension: str
    title: str = ""
    style: str = ""


@dataclass(frozen=True)
class CommandTable:
    """Commands, the parameters they read, conventions and stream formats.

    ``aliases`` maps a parameter to value renames applied after checking
    (e.g. ``format.delim``: ``tab`` -> a tab character); ``value_maps`` maps a
    convention to per-incoming-key value renames (das2 ``ascii=1``).  The
    built-in table is :func:`dasflex_core.commands.builtin_commands`.
    """

    commands: tuple[CommandDef, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    conventions: Mapping[str, Convention] = field(default_factory=dict)
    value_maps: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    streams: Mapping[StreamType, StreamFormat] = field(default_factory=dict)

    def merged(self, site: CommandTable) -> CommandTable:
        """This table with ``site``'s entries added; same names are replaced.

        A site's convention is laid over the one of the same name key by key
        (its renames, defaults and value maps added or replacing), so a site
        adds a das2 key without repeating the standard ones.
        """
        replaced = {command.name for command in site.commands}
        kept = tuple(c for c in self.commands if c.name not in replaced)
        conventions = dict(self.conventions)
        for name, rules in site.conventions.items():
            base = conventions.get(name, Convention(name))
            conventions[name] = Convention(name, {**base.translate, **rules.translate},
                                           {**base.defaults, **rules.defaults})
        value_maps = {name: {**self.value_maps.get(name, {}), **site.value_maps.get(name, {})}
                      for name in {*self.value_maps, *site.value_maps}}
        return CommandTable(
            commands=kept + site.commands,
            params={**self.params, **site.params},
            conventions=conventions,
            value_maps=value_maps,
            aliases={**self.aliases, **site.aliases},
            streams={**self.streams, **site.streams},
        )


@dataclass(frozen=True, slots=True)
class Example:
    """A ready-made query: a label and ``flex`` key settings."""

    label: str
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One ``readAccess`` term: ``AGE:1y6m``, ``GROUP:name``, ``USER:name`` or ``IP:cidr,cidr``."""

    method: str
    value: str


@dataclass(frozen=True, slots=True)
class Access:
    """Who may read a source: any rule grants access (OR).

    ``raw`` is the ``readAccess`` text as written, ``realm`` the HTTP Basic
    realm (DSDF ``securityRealm``).
    """

    rules: tuple[AccessRule, ...]
    realm: str
    raw: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class CacheLevel:
    """A cache block set (DSDF ``cacheLevel_NN``).

    ``resolution`` is seconds, or None for ``intrinsic`` (full resolution);
    ``block`` the block period (``hourly``, ``daily``, ...).
    """

    key: str
    resolution: float | None
    resolution_text: str
    block: str
    params: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """A person to contact; ``role`` is ``technical`` or ``scientific``."""

    name: str
    email: str = ""
    role: str = "technical"


@dataclass(frozen=True, slots=True)
class Variable:
    """A coordinate or data item described by a source."""

    name: str
    title: str = ""
    units: str = ""


@dataclass(frozen=True, slots=True)
class SubSource:
    """A HAPI sub-dataset (DSDF ``subSource_NN``)."""

    key: str
    description: str = ""
    resolution: str = ""
    params: str = ""


@dataclass(frozen=True, slots=True)
class SourceDef:
    """One data source, whatever format defined it.

    ``id`` is the path below the site root without extension
    (``Examples/Random``).  ``das2_properties`` holds the DSDF keys that go
    into the ``das2.d2t`` header (internal keys removed).  ``definition_path``
    is for messages and the server only; it is never served.  ``interface``
    (JSON definitions only) holds HttpStreamSrc ``interface`` sections that
    replace the generated ones in ``flex.json``.
    """

    id: str
    title: str
    definition_path: str
    summary: str = ""
    contacts: tuple[Contact, ...] = ()
    params: tuple[Param, ...] = ()
    conventions: Mapping[str, Convention] = field(default_factory=dict)
    commands: tuple[CommandDef, ...] = ()
    examples: tuple[Example, ...] = ()
    valid_range: tuple[str, str] | None = None
    coords: tuple[Variable, ...] = ()
    data: tuple[Variable, ...] = ()
    access: Access | None = None
    cache_levels: tuple[CacheLevel, ...] = ()
    server: str | None = None
    rename: str | None = None
    hapi: bool = False
    realtime: bool = False
    requires_interval: bool = False
    reducible: bool = True
    hidden: bool = False
    sub_sources: tuple[SubSource, ...] = ()
    das2_properties: tuple[tuple[str, str], ...] = ()
    definition_format: str = "dsdf"
    interface: Mapping[str, Any] | None = None
    #: Longest time range one request may ask for, in days (0: the server's limit).
    max_request_days: float = 0.0

    @property
    def reader(self) -> CommandDef | None:
        """The first reader command, if any."""
        return next((c for c in self.commands if c.role is CommandRole.READER), None)

    @property
    def output(self) -> StreamType | None:
        """What the reader writes."""
        reader = self.reader
        return reader.output if reader else None

    @property
    def protected(self) -> bool:
        """True when reading needs authorization."""
        return self.access is not None and bool(self.access.rules)

    @property
    def redirect(self) -> str | None:
        """Where requests for this source should go instead, if anywhere."""
        return self.rename or self.server

    def param(self, key: str) -> Param | None:
        """The parameter named ``key``, if the source has one."""
        return next((p for p in self.params if p.key == key), None)

    def convention(self, name: str) -> Convention:
        """The source's own rules for the named convention, or none.

        The standard rules live in the command table (``commands/builtin.json``);
        the planner lays these over them (:func:`dasflex_core.planner.translate`).
        """
        return self.conventions.get(name) or Convention(name)


@dataclass(frozen=True, slots=True)
class Directory:
    """A catalog directory (from ``_dirinfo_.dsdf``, or implied by its sources)."""

    id: str
    title: str = ""
    summary: str = ""
    hapi: bool = False


@dataclass(frozen=True)
class Site:
    """All sources of one site; ids are looked up case-insensitively.

    ``commands`` is the site's own command table (``_commands.json`` at the
    root, loaded and validated once), or None when it has none.
    """

    root: Path
    sources: Mapping[str, SourceDef]
    directories: Mapping[str, Directory] = field(default_factory=dict)
    commands: CommandTable | None = field(default=None, compare=False)
    _by_lower: Mapping[str, SourceDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lowered = {key.lower(): src for key, src in self.sources.items()}
        object.__setattr__(self, "_by_lower", lowered)

    def get(self, source_id: str) -> SourceDef | None:
        """The source with this id (any case, surrounding slashes ignored)."""
        return self._by_lower.get(source_id.strip("/").lower())

    def __iter__(self) -> Iterator[SourceDef]:
        """Sources in id order."""
        return iter(self.sources[key] for key in sorted(self.sources))

    def __len__(self) -> int:
        return len(self.sources)

    def directory(self, dir_id: str) -> Directory | None:
        """The directory with this id (any case)."""
        wanted = dir_id.strip("/").lower()
        return next((d for k, d in self.directories.items() if k.lower() == wanted), None)
