"""Plan a request: the cheapest chain of commands from a reader to the asked format.

The command graph (:func:`build_graph`) has stream types as nodes and
commands as edges weighted by their cost; a virtual :data:`START` node feeds
each reader.  Transforms (PSD) and reducers change the data, not the type:
they run only when the query activates them, and then they must lie on the
path.  :func:`plan` therefore searches a layered copy of the graph, one
layer per required transform, with :func:`networkx.single_source_dijkstra`,
and renders every chosen command's template to an argv list.

Examples
--------
>>> from dasflex_core.sources.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
>>> reader = CommandDef("reader", CommandRole.READER, ("rdr", "#[read.time.min]",
...     "#[read.time.max]"), DAS2_BINARY)
>>> source = SourceDef("Examples/Demo", "Demo", "/x/Demo.dsdf", commands=(reader,))
>>> result = plan(source, {"read.time.min": "2001-01-01", "read.time.max": "2001-01-02",
...     "format.type": "csv"})
>>> result.stages
(('rdr', '2001-01-01T00:00:00', '2001-01-02T00:00:00'), ('das3_csv',))
>>> result.mime, result.filename
('text/csv', 'demo_2001-01-01.csv')
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dasflex_core.cache import BlockJob
from dasflex_core.commands import CommandTable, StreamFormat, builtin_commands
from dasflex_core.commands.requirements import command_available
from dasflex_core.errors import DasFlexError, NoPipelineError, NotFoundError, QueryError
from dasflex_core.sources.model import (
    DAS2_BINARY,
    CacheLevel,
    CommandDef,
    CommandRole,
    Condition,
    Convention,
    Param,
    ParamType,
    Site,
    SourceDef,
    StreamType,
)
from dasflex_core.templates import PREDEFINED_KEYS, Template, compile_template, normalise_value

if TYPE_CHECKING:  # networkx costs ~0.15 s to import: only graph building loads it
    from pathlib import Path

    import networkx as nx

    from dasflex_core.cache.store import CacheIndex

__all__ = ["START", "Plan", "Planner", "build_graph", "plan", "planner_for_site"]

#: The virtual node that feeds every reader.
START = "START"

#: Roles whose commands change values, not types; run in this order when activated.
TRANSFORM_ROLES = (CommandRole.TRANSFORM, CommandRole.REDUCER)
#: Roles that start a pipeline.
READER_ROLES = (CommandRole.READER, CommandRole.CACHE_READER)
#: The tokens of the default reducer a definition gets unless it names one.
DEFAULT_REDUCER_TEMPLATE = ("das2_bin_avgsec", "#[bin.time.max]")

_TIME_MIN = "read.time.min"
_TIME_MAX = "read.time.max"
_RESOLUTION = "bin.time.max"
_READER_OPTIONS = "read.opts"
#: The edge key of the cache reader a planner with a cache adds to a source's graph.
CACHE_COMMAND_NAME = "cache_reader"
#: The cache reader's cost as a fraction of the reader's.
CACHE_COST_FACTOR = 0.01
#: Most missing blocks one plan reports in :attr:`Plan.cache_gaps`.
MAX_CACHE_GAPS = 2000
#: Levels needing more blocks than this for one request are not read from the cache.
MAX_CACHE_BLOCKS = 20000
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_.+-]+")


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned request: argv stages and how to label their output.

    ``error_format`` is the in-band exception format (``das2``, ``das3`` or
    None when the output cannot carry one); ``cwd`` the directory stages run
    in (the source's definition directory); ``commands`` the chosen
    commands' names, for logs.
    """

    stages: tuple[tuple[str, ...], ...]
    mime: str
    disposition: str
    filename: str
    error_format: str | None
    source_id: str
    cwd: str | None = None
    output: str = ""
    commands: tuple[str, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    #: The key of the cache level read, or None when the reader runs.
    cache_level: str | None = None
    #: Blocks of the preferred cache level this request lacked (to queue for building).
    cache_gaps: tuple[BlockJob, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The public summary (``dasflex plan`` output).

        A ``"cache"`` entry (level read, number of missing blocks) appears
        when the request could use a cache level.
        """
        summary: dict[str, Any] = {
            "stages": [list(stage) for stage in self.stages],
            "mime": self.mime,
            "disposition": self.disposition,
            "filename": self.filename,
        }
        if self.cache_level is not None or self.cache_gaps:
            summary["cache"] = {"level": self.cache_level, "gaps": len(self.cache_gaps)}
        return summary


def build_graph(source: SourceDef, commands: Iterable[CommandDef] = ()) -> nx.MultiDiGraph:
    """The command graph of ``source`` with the extra ``commands`` (e.g. built-ins).

    Nodes are :class:`StreamType` values plus :data:`START`; each edge is one
    command (key: its name) with ``command`` and ``cost`` attributes.  A
    source's own transform or reducer replaces the built-in ones of that role;
    a source that is not reducible gets no reducer; a command whose Python
    modules (``requires``) are not installed gets no edge.

    Examples
    --------
    >>> from dasflex_core.sources.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
    >>> reader = CommandDef("reader", CommandRole.READER, ("rdr",), DAS2_BINARY)
    >>> graph = build_graph(SourceDef("A", "A", "/a.dsdf", commands=(reader,)))
    >>> list(graph.successors(START))
    [StreamType(mime='das2', version='2.2', serial='binary')]
    """
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_node(START)
    for command in _effective_commands(source, tuple(commands)):
        if not command_available(command):
            continue
        origin = START if command.input is None else command.input
        graph.add_edge(origin, command.output, key=_edge_key(graph, origin, command),
                       command=command, cost=command.cost)
    return graph


def _effective_commands(source: SourceDef, extra: tuple[CommandDef, ...]) -> list[CommandDef]:
    """The source's commands plus the extra ones it does not override."""
    own = [c for c in source.commands if c.template != DEFAULT_REDUCER_TEMPLATE]
    own_roles = {c.role for c in own}
    own_names = {c.name for c in own}
    chosen = list(own)
    for command in extra:
        if command.name in own_names or command.role in READER_ROLES:
            continue
        if command.role in TRANSFORM_ROLES and command.role in own_roles:
            continue
        if command.role is CommandRole.REDUCER and not source.reducible:
            continue
        chosen.append(command)
    return chosen


def _edge_key(graph: nx.MultiDiGraph, origin: Any, command: CommandDef) -> str:
    """A unique edge key: the command name, suffixed when repeated."""
    key, number = command.name, 1
    while graph.has_edge(origin, command.output, key):
        number += 1
        key = f"{command.name}#{number}"
    return key


@dataclass(frozen=True)
class _SourcePlan:
    """What the planner keeps per source: graph, compiled templates, known keys."""

    source: SourceDef
    graph: nx.MultiDiGraph
    templates: Mapping[int, Template]
    template_keys: frozenset[str]
    commands: tuple[CommandDef, ...]
    transforms: tuple[CommandDef, ...]
    layered: dict[tuple[CommandRole, ...], nx.MultiDiGraph] = field(default_factory=dict)
    cache_command: CommandDef | None = None
    reader_keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _CacheChoice:
    """How a request may use the cache: the level to read (if covered) and the gaps."""

    level: CacheLevel | None
    paramset: str
    gaps: tuple[BlockJob, ...]


class Planner:
    """Plans requests against one command table, caching per-source graphs.

    Keep one planner per process (``Planner()`` uses the built-in table; pass
    ``builtin_commands().merged(site_table)`` to add a site's commands, or use
    :func:`planner_for_site`).  With a ``cache``
    (:class:`~dasflex_core.cache.store.CacheIndex`), sources with cache levels
    get a cheap cache reader that serves coarse requests whose blocks are
    built (see ``docs/cache.md``); ``now`` gives the current time (Unix
    seconds) for the rule that blocks ending in the future are never used.
    """

    def __init__(self, commands: CommandTable | None = None, server_url: str = "",
                 cache: CacheIndex | None = None, *,
                 now: Callable[[], float] = time.time) -> None:
        self.table = commands if commands is not None else builtin_commands()
        self.server_url = server_url
        self.cache = cache
        self._now = now
        self._prepared_sources: dict[str, _SourcePlan] = {}

    def plan(self, source: SourceDef, query: Mapping[str, str],
             convention: str = "flex", *, use_cache: bool = True) -> Plan:
        """Plan ``query`` (in ``convention``'s keys) against ``source``.

        With ``use_cache`` False the cache is neither read nor reported
        (cache builders plan blocks this way).

        Raises
        ------
        QueryError
            For unknown keys, bad or missing values.
        NoPipelineError
            When no chain of commands produces the asked output.
        """
        prepared = self._prepared(source)
        values = self._values(prepared, query, convention)
        roles = _required_roles(prepared.transforms, values)
        choice = self._cache_choice(prepared, values, roles) if use_cache else None
        if choice is not None and choice.level is not None:
            cached = self._cached_plan(prepared, values, roles, choice)
            if cached is not None:
                return cached
        result = self._search(prepared, values, roles, _without_cache(prepared))
        if choice is not None and choice.gaps:
            return replace(result, cache_gaps=choice.gaps)
        return result

    def _search(self, prepared: _SourcePlan, values: dict[str, str],
                roles: tuple[CommandRole, ...], usable: Callable[[CommandDef], bool],
                cache_argv: tuple[str, ...] = ()) -> Plan:
        """The cheapest pipeline over the active commands that ``usable`` allows."""
        graph = self._layered(prepared, roles)
        wanted = _wanted_streams(self.table, values)
        active = frozenset(id(c) for c in prepared.commands
                           if usable(c) and _active(c, values))
        targets = [_node(found.stream, len(roles)) for found in wanted]
        distances, path = _cheapest_path(graph, active, targets)
        if path is None:
            reached = [graph.nodes[node]["stream"] for node in distances]
            raise NoPipelineError(_no_path_message(prepared.source, values, wanted, reached,
                                                   self.table))
        commands = [_edge_command(graph, u, v, active) for u, v in pairwise(path)]
        return self._render(prepared, commands, values, graph.nodes[path[-1]]["stream"],
                            cache_argv)

    # -- the cache -----------------------------------------------------------

    def _cache_choice(self, prepared: _SourcePlan, values: Mapping[str, str],
                      roles: tuple[CommandRole, ...]) -> _CacheChoice | None:
        """The cache level that covers this request, and the preferred level's gaps.

        None when the request cannot use the cache at all: no cache, no cache
        levels, no time range or resolution, a transform (PSD) to run first,
        or reader values that no parameter set describes.
        """
        if self.cache is None or prepared.cache_command is None:
            return None
        resolution = _requested_resolution(values)
        if resolution is None or CommandRole.TRANSFORM in roles:
            return None
        if any(key in values for key in prepared.reader_keys):
            return None
        span = self._cache_span(prepared.source, values)
        if span is None:
            return None
        from dasflex_core.cache.layout import normalise_params

        paramset = normalise_params(values.get(_READER_OPTIONS, ""))
        levels = _usable_levels(prepared.source, paramset, resolution)
        if not levels:
            return None
        begin, end = span
        gaps: tuple[BlockJob, ...] = ()
        for rank, level in enumerate(levels):
            found = self._level_jobs(prepared.source, level, paramset, begin, end)
            if found is None:
                continue
            jobs, complete = found
            if rank == 0:
                gaps = tuple(self.cache.missing(jobs)[:MAX_CACHE_GAPS])
                covered = not gaps
            else:
                covered = all(self.cache.is_built(job) for job in jobs)
            if complete and covered:
                return _CacheChoice(level, paramset, gaps)
        return _CacheChoice(None, paramset, gaps)

    @staticmethod
    def _cache_span(source: SourceDef, values: Mapping[str, str]) -> tuple[float, float] | None:
        """The request's time range clipped to the source's valid range (us2000)."""
        from dasflex_core.cache.store import valid_bounds
        from dasflex_core.dastime import parse_us2000

        try:
            begin = float(parse_us2000(values[_TIME_MIN]))
            end = float(parse_us2000(values[_TIME_MAX]))
        except (KeyError, DasFlexError):
            return None
        low, high = valid_bounds(source)
        begin, end = max(begin, low), min(end, high)
        if not end > begin:
            return None
        return begin, end

    def _level_jobs(self, source: SourceDef, level: CacheLevel, paramset: str, begin: float,
                    end: float) -> tuple[list[BlockJob], bool] | None:
        """The blocks of ``level`` for [begin, end) that have ended, and whether that is all.

        Blocks ending after now are never listed (they are still growing);
        None when the level needs too many blocks to check.
        """
        from dasflex_core.cache.store import block_range_us2000, unix_to_us2000

        assert self.cache is not None
        now = unix_to_us2000(self._now())
        jobs: list[BlockJob] = []
        for job in self.cache.jobs_between(source, level, begin, end, paramset):
            if len(jobs) >= MAX_CACHE_BLOCKS:
                return None
            if block_range_us2000(job.block_start, level.block)[1] > now:
                return jobs, False
            jobs.append(job)
        return jobs, True

    def _cached_plan(self, prepared: _SourcePlan, values: dict[str, str],
                     roles: tuple[CommandRole, ...], choice: _CacheChoice) -> Plan | None:
        """The plan that reads ``choice.level`` from the cache (None if no path)."""
        level = choice.level
        assert level is not None and prepared.cache_command is not None
        requested = _requested_resolution(values) or 0.0
        if (level.resolution or 0.0) >= requested * (1.0 - 1e-9):
            roles = tuple(role for role in roles if role is not CommandRole.REDUCER)
        argv = self._cache_argv(prepared.source, level, choice.paramset, values)
        cache_command = prepared.cache_command
        try:
            result = self._search(prepared, values, roles,
                                  lambda c: c.role not in READER_ROLES or c is cache_command,
                                  argv)
        except NoPipelineError:
            return None
        if result.commands[:1] != (CACHE_COMMAND_NAME,):
            return None
        return replace(result, cache_level=level.key, cache_gaps=choice.gaps)

    def _cache_argv(self, source: SourceDef, level: CacheLevel, paramset: str,
                    values: Mapping[str, str]) -> tuple[str, ...]:
        """``das2_cache_rdr -l KEY DEFINITION CACHE_DIR PARAMSET RES BEGIN END``."""
        assert self.cache is not None
        return (
            "das2_cache_rdr", "-l", level.key, source.definition_path,
            str(self.cache.source_dir(source.id)), paramset,
            f"{level.resolution or 0.0:.17g}", values[_TIME_MIN], values[_TIME_MAX],
        )

    # -- preparation -------------------------------------------------------

    def prepare(self, source: SourceDef) -> None:
        """Build and cache ``source``'s graph and compile its templates now.

        Front-ends may call this for every source at start-up, so that bad
        templates are reported then (as DefinitionError) and requests are fast.
        """
        self._prepared(source)

    def reachable_streams(self, source: SourceDef) -> tuple[StreamType, ...]:
        """The stream types a request for ``source`` can end in without a transform.

        Every stream reachable from the readers through formatters and
        converters whose modules are installed (no PSD, no reduction), in the
        command table's stream order; see
        :func:`dasflex_core.outputs.output_formats`.  Walks the commands
        directly (no graph is built, so networkx stays unloaded).
        """
        commands = [c for c in _effective_commands(source, self.table.commands)
                    if command_available(c) and c.role not in TRANSFORM_ROLES]
        reached = {c.output for c in commands if c.input is None}
        grown = True
        while grown:
            found = {c.output for c in commands if c.input in reached} - reached
            reached |= found
            grown = bool(found)
        ordered = [stream for stream in self.table.streams if stream in reached]
        return tuple(ordered) + tuple(sorted(reached - set(ordered)))

    def _prepared(self, source: SourceDef) -> _SourcePlan:
        """The cached graph and templates of ``source`` (rebuilt if it changed)."""
        cached = self._prepared_sources.get(source.id)
        if cached is not None and cached.source is source:
            return cached
        graph = build_graph(source, self.table.commands)
        cache_command = self._add_cache_reader(graph, source)
        commands = [data["command"] for _, _, data in graph.edges(data=True)]
        templates = {
            id(command): compile_template(command.template, source.id, f"command {command.name}")
            for command in commands
        }
        keys = frozenset().union(*(t.keys for t in templates.values()))
        transforms = tuple(c for c in commands if c.role in TRANSFORM_ROLES)
        reader_keys = frozenset().union(*(
            templates[id(c)].keys for c in commands if c.role is CommandRole.READER
        )) - _CACHE_DESCRIBED_KEYS
        prepared = _SourcePlan(source, graph, templates, keys, tuple(commands), transforms,
                               cache_command=cache_command, reader_keys=reader_keys)
        self._prepared_sources[source.id] = prepared
        return prepared

    def _add_cache_reader(self, graph: nx.MultiDiGraph, source: SourceDef) -> CommandDef | None:
        """Add the cache reader edge when this planner has a cache and the source levels."""
        reader = source.reader
        if self.cache is None or not source.cache_levels or reader is None:
            return None
        self.cache.register(source)
        command = CommandDef(
            name=CACHE_COMMAND_NAME, role=CommandRole.CACHE_READER, template=("das2_cache_rdr",),
            output=DAS2_BINARY, label="Cache", title="Reads pre-reduced cache blocks",
            cost=reader.cost * CACHE_COST_FACTOR, cwd=reader.cwd,
        )
        graph.add_edge(START, DAS2_BINARY, key=_edge_key(graph, START, command),
                       command=command, cost=command.cost)
        return command

    def _layered(self, prepared: _SourcePlan, roles: tuple[CommandRole, ...]) -> nx.MultiDiGraph:
        """The layered graph for these required roles (cached)."""
        graph = prepared.layered.get(roles)
        if graph is None:
            graph = _layer(prepared.graph, roles)
            prepared.layered[roles] = graph
        return graph

    # -- query values ------------------------------------------------------

    def _values(self, prepared: _SourcePlan, query: Mapping[str, str],
                convention: str) -> dict[str, str]:
        """Translate, default, check and normalise the query values.

        Empty values count as absent (HTML forms send every field); an
        implied empty value removes a convention default.
        """
        rules = self._convention(prepared.source, convention)
        value_maps = self.table.value_maps.get(convention, {})
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
        values = {key: value for key, value in merged.items() if value != ""}
        checked = {key: self._checked(prepared, key, value) for key, value in values.items()}
        _check_required(prepared.source, checked)
        _check_time_range(checked)
        return checked

    def _convention(self, source: SourceDef, name: str) -> Convention:
        """The table's convention with the source's own rules laid over it."""
        base = self.table.conventions.get(name)
        own = source.conventions.get(name)
        if base is None and own is None:
            raise QueryError(f"Unknown request convention '{name}'")
        base = base or Convention(name)
        if own is None:
            return base
        return Convention(name, {**base.translate, **own.translate},
                          {**base.defaults, **own.defaults}, {**base.implies, **own.implies})

    def _checked(self, prepared: _SourcePlan, key: str, value: str) -> str:
        """One value checked against its parameter and normalised."""
        param = prepared.source.param(key) or self.table.params.get(key)
        if param is None:
            if key not in prepared.template_keys or key in PREDEFINED_KEYS:
                raise QueryError(f"Unknown query parameter '{key}' for source {prepared.source.id}")
            param = Param(key)
        normal = _normalise(key, value, param)
        return self.table.aliases.get(key, {}).get(normal, normal)

    # -- rendering ---------------------------------------------------------

    def _render(self, prepared: _SourcePlan, commands: Sequence[CommandDef],
                values: dict[str, str], output: StreamType,
                cache_argv: tuple[str, ...] = ()) -> Plan:
        """Render every stage's argv and label the output (the cache reader's is given)."""
        source = prepared.source
        stream_format = self.table.streams.get(output)
        mime = stream_format.mime if stream_format else "application/octet-stream"
        filename = output_filename(source.id, values, stream_format)
        context = {**values, "_SERVER_": self.server_url, "_LOCAL_ID_": source.id,
                   "_FILENAME_": filename}
        stages = tuple(
            cache_argv if c is prepared.cache_command
            else tuple(prepared.templates[id(c)].render(context))
            for c in commands
        )
        reader = commands[0]
        return Plan(
            stages=stages,
            mime=mime,
            disposition=content_disposition(mime, filename),
            filename=filename,
            error_format=_error_format(output),
            source_id=source.id,
            cwd=reader.cwd,
            output=str(output),
            commands=tuple(c.name for c in commands),
            values=MappingProxyType(values),
        )


def plan(site_or_source: Site | SourceDef, query: Mapping[str, str],
         convention: str = "flex", source_id: str | None = None,
         planner: Planner | None = None) -> Plan:
    """Plan ``query`` for a source (or the source ``source_id`` of a site).

    Uses ``planner`` when given, else a process-wide planner over the
    built-in command table (so repeated calls hit its graph cache).

    Raises
    ------
    NotFoundError
        When ``source_id`` names no source of the site.
    QueryError, NoPipelineError
        See :meth:`Planner.plan`.
    """
    source = site_or_source
    if isinstance(site_or_source, Site):
        found = site_or_source.get(source_id or "")
        if found is None:
            raise NotFoundError(f"No data source '{source_id}'")
        source = found
    assert isinstance(source, SourceDef)
    return (planner or default_planner()).plan(source, query, convention)


@lru_cache(maxsize=1)
def default_planner() -> Planner:
    """The process-wide planner over the built-in command table."""
    return Planner()


def planner_for_site(site: Site, server_url: str = "", cache_dir: Path | None = None) -> Planner:
    """A planner over the built-in commands merged with the site's own table.

    With ``cache_dir`` the planner reads (and reports gaps of) the cache there.
    """
    table = builtin_commands()
    if site.commands is not None:
        table = table.merged(site.commands)
    cache = None
    if cache_dir is not None:
        from dasflex_core.cache.store import CacheIndex

        cache = CacheIndex(cache_dir, site)
    return Planner(table, server_url, cache)


# --------------------------------------------------------------------------
# Cache helpers

#: Reader template keys a cache block's time range and parameter set describe.
_CACHE_DESCRIBED_KEYS = frozenset({_TIME_MIN, _TIME_MAX, _READER_OPTIONS}) | PREDEFINED_KEYS


def _without_cache(prepared: _SourcePlan) -> Callable[[CommandDef], bool]:
    """A filter leaving out the planner's own cache reader."""
    cache_command = prepared.cache_command
    return lambda command: command is not cache_command


def _requested_resolution(values: Mapping[str, str]) -> float | None:
    """The asked resolution in seconds, or None when no reduction is asked for."""
    try:
        seconds = float(values.get(_RESOLUTION, "0"))
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _usable_levels(source: SourceDef, paramset: str, resolution: float) -> list[CacheLevel]:
    """Levels for ``paramset`` no coarser than ``resolution``, coarsest first."""
    from dasflex_core.cache.layout import normalise_params

    levels = [level for level in source.cache_levels
              if normalise_params(level.params) == paramset
              and (level.resolution or 0.0) <= resolution * (1.0 + 1e-9)]
    return sorted(levels, key=lambda level: level.resolution or 0.0, reverse=True)


# --------------------------------------------------------------------------
# Query helpers


def _normalise(key: str, value: str, param: Param) -> str:
    """Check one value; FlagSet and enum parameters use the model's fields."""
    return normalise_value(key, value, _ParamView(param))


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
    begin, end = values.get(_TIME_MIN), values.get(_TIME_MAX)
    if begin and end and _sortable(begin) >= _sortable(end):
        raise QueryError(f"The time range is empty: {_TIME_MIN} must be before {_TIME_MAX}")


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


def _active(command: CommandDef, values: Mapping[str, str]) -> bool:
    """True when every activation condition of ``command`` holds."""
    return all(condition_holds(c, values) for c in command.conditions)


def _required_roles(transforms: Iterable[CommandDef],
                    values: Mapping[str, str]) -> tuple[CommandRole, ...]:
    """The transform roles the query activates, in pipeline order."""
    active = {c.role for c in transforms if _active(c, values)}
    return tuple(role for role in TRANSFORM_ROLES if role in active)


def _wanted_streams(table: CommandTable, values: Mapping[str, str]) -> list[StreamFormat]:
    """The stream formats that satisfy format.type/version/serial/style.

    Without ``format.style`` only a format's default layout (style "") is wanted.
    """
    kind = values.get("format.type", "das")
    version = _VERSION_ALIASES.get(values.get("format.version", ""), values.get("format.version"))
    serial = values.get("format.serial")
    style = values.get("format.style", "")
    return [
        found for found in table.streams.values()
        if found.format == kind
        and (not version or found.version == version)
        and (not serial or found.stream.serial in (serial, ""))
        and found.style == style
    ]


_VERSION_ALIASES = {"2.2": "2", "3.0": "3", "1.1": "1"}


# --------------------------------------------------------------------------
# Graph search


def _node(stream: Any, layer: int) -> str:
    """The name of a stream type's node in a layer (strings hash fast)."""
    if isinstance(stream, StreamType):
        return f"{stream.mime}/{stream.version}/{stream.serial}@{layer}"
    return f"{stream}@{layer}"


def _layer(graph: nx.MultiDiGraph, roles: tuple[CommandRole, ...]) -> nx.MultiDiGraph:
    """A copy of ``graph`` with one layer per required role.

    Node ``"<stream>@<layer>"`` (attribute ``stream``) is a stream type in a
    layer; converters stay within a layer, a command of the i-th required
    role leads from layer i to i + 1, and readers start at layer 0.
    Transforms not required are left out.
    """
    import networkx as nx

    layered = nx.MultiDiGraph()
    layered.add_node(_node(START, 0), stream=START)

    def link(origin: Any, origin_layer: int, target: Any, target_layer: int,
             key: str, data: Mapping[str, Any]) -> None:
        head, tail = _node(origin, origin_layer), _node(target, target_layer)
        layered.add_node(head, stream=origin)
        layered.add_node(tail, stream=target)
        layered.add_edge(head, tail, key=key, **data)

    for origin, target, key, data in graph.edges(keys=True, data=True):
        command: CommandDef = data["command"]
        if command.role in TRANSFORM_ROLES:
            if command.role in roles:
                layer = roles.index(command.role)
                link(origin, layer, target, layer + 1, key, data)
        elif origin == START:
            link(START, 0, target, 0, key, data)
        else:
            for layer in range(len(roles) + 1):
                link(origin, layer, target, layer, key, data)
    return layered


def _cheapest_path(graph: nx.MultiDiGraph, active: frozenset[int],
                   targets: Sequence[str]) -> tuple[dict[str, float], list[str] | None]:
    """Distances from START over active commands, and the path to the best target."""
    import networkx as nx

    def weight(_u: str, _v: str, edges: Mapping[str, Mapping[str, Any]]) -> float | None:
        costs = [d["cost"] for d in edges.values() if id(d["command"]) in active]
        return min(costs) if costs else None

    distances, paths = nx.single_source_dijkstra(graph, _node(START, 0), weight=weight)
    reached = [node for node in targets if node in distances]
    if not reached:
        return distances, None
    best = min(reached, key=lambda node: (distances[node], len(paths[node])))
    return distances, paths[best]


def _edge_command(graph: nx.MultiDiGraph, origin: str, target: str,
                  active: frozenset[int]) -> CommandDef:
    """The cheapest active command on the edge ``origin -> target``."""
    candidates = [d["command"] for d in graph.get_edge_data(origin, target).values()
                  if id(d["command"]) in active]
    return min(candidates, key=lambda c: c.cost)


def _no_path_message(source: SourceDef, values: Mapping[str, str],
                     wanted: Sequence[StreamFormat], reached: Iterable[Any],
                     table: CommandTable) -> str:
    """Say what was asked and what the source can produce for this request."""
    asked = "/".join(values[k] for k in ("format.type", "format.version", "format.serial",
                                         "format.style") if values.get(k)) or "das"
    streams = [stream for stream in reached if stream != START]
    if not streams:
        return f"Source {source.id} has no reader that runs for this request"
    can = ", ".join(sorted({str(s) for s in streams if s in table.streams})) or "no output format"
    if not wanted:
        return f"Unknown output format '{asked}'; source {source.id} can produce: {can}"
    return f"Source {source.id} cannot produce '{asked}' for this request; it can produce: {can}"


def _error_format(output: StreamType) -> str | None:
    """The in-band exception format a stream of this type can carry."""
    if output.mime == "das2":
        return "das2"
    if output.mime == "das3":
        return "das3"
    return None


# --------------------------------------------------------------------------
# Output naming


def content_disposition(mime: str, filename: str) -> str:
    """``inline`` for text (but CSV), ``attachment`` otherwise.

    Examples
    --------
    >>> content_disposition("text/csv", "a.csv")
    'attachment; filename="a.csv"'
    """
    kind = "inline" if mime.startswith("text/") and mime != "text/csv" else "attachment"
    return f'{kind}; filename="{filename}"'


def output_filename(source_id: str, values: Mapping[str, str],
                    stream_format: StreamFormat | None) -> str:
    """A meaningful file name: source, time range, resolution, options, extension.

    Examples
    --------
    >>> output_filename("Examples/Random", {"read.time.min": "2001-01-01T00:00:00",
    ...     "read.time.max": "2001-01-01T12:30:00", "bin.time.max": "300"}, None)
    'random_2001-01-01_2001-01-01T12-30_bin-5min.bin'
    """
    parts = [source_id.rstrip("/").rsplit("/", 1)[-1].lower() or "data"]
    if _TIME_MIN in values:
        parts.append(iso_range(values[_TIME_MIN], values.get(_TIME_MAX)))
    if "dft.length" in values:
        parts.append(f"psd-{values['dft.length']}")
    resolution = values.get("bin.time.max")
    if resolution and float(resolution) > 0:
        parts.append(time_resolution(float(resolution)))
    options = normalised_options(values.get("read.opts", ""))
    if options:
        parts.append(options)
    extension = stream_format.extension if stream_format else "bin"
    stem = _UNSAFE_FILENAME.sub("-", "_".join(parts))[:200]
    return f"{stem}.{extension}"


def iso_range(begin: str, end: str | None) -> str:
    """``YYYY-MM-DD[THH-MM[-SS]]``, then ``_`` and the end unless the span is one day."""
    start = _parse_iso(begin)
    stop = _parse_iso(end) if end else None
    text = _iso_label(begin, start)
    if stop is None:
        return text
    if start is not None and _is_midnight(start) and (stop - start).total_seconds() == 86400:
        return text
    return f"{text}_{_iso_label(end or '', stop)}"


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:26])
    except ValueError:
        return None


def _is_midnight(moment: datetime) -> bool:
    return moment.hour == moment.minute == moment.second == moment.microsecond == 0


def _iso_label(text: str, moment: datetime | None) -> str:
    """A time as a file-name label (seconds only when non-zero)."""
    if moment is None:
        return text.replace(":", "-")
    if _is_midnight(moment):
        return moment.strftime("%Y-%m-%d")
    if moment.second == 0 and moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H-%M")
    return moment.strftime("%Y-%m-%dT%H-%M-%S")


def time_resolution(seconds: float) -> str:
    """``bin-N{s,min,hr,day}``, in minutes above 2 min, hours above 2 h, days above 2 d.

    Examples
    --------
    >>> time_resolution(60), time_resolution(7200.0), time_resolution(0.5)
    ('bin-60s', 'bin-2hr', 'bin-0.5s')
    """
    for limit, size, unit in ((172800, 86400, "day"), (7200, 3600, "hr"), (120, 60, "min")):
        if seconds >= limit:
            return f"bin-{seconds / size:g}{unit}"
    return f"bin-{seconds:g}s"


def normalised_options(options: str) -> str:
    """Reader options as a name part: ``-opt value`` pairs joined, sorted, ``_``-joined.

    Examples
    --------
    >>> normalised_options("-b 5 -a")
    '-a_-b-5'
    """
    words = options.split()
    merged: list[str] = []
    for word in words:
        if merged and merged[-1].startswith("-") and not word.startswith("-") \
                and "-" not in merged[-1][1:]:
            merged[-1] = f"{merged[-1]}-{word}"
        else:
            merged.append(word)
    return "_".join(sorted(merged))
