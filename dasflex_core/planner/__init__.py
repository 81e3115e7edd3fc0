"""Plan a request: the cheapest chain of commands from a reader to the asked format.

The command graph (:func:`build_graph`) has stream types as nodes and
commands as edges weighted by their cost; a virtual :data:`START` node feeds
each reader.  Transforms (PSD) and reducers change the data, not the type:
they run only when the query activates them, and then they must lie on the
path.  :func:`plan` therefore searches a layered copy of the graph, one
layer per required transform, with :func:`networkx.single_source_dijkstra`,
and renders every chosen command's template to an argv list.

The package's rooms: :mod:`~dasflex_core.planner.query` translates request
conventions (:func:`translate`, the only translator) and checks values,
:mod:`~dasflex_core.planner.search` builds and searches the graph,
:mod:`~dasflex_core.planner.naming` names the output; which cache level a
request reads is the cache's decision (:mod:`dasflex_core.cache.choice`).
This module holds :class:`Planner`, which puts them together.

Examples
--------
>>> from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
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

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from dasflex_core import keys
from dasflex_core.cache import BlockJob
from dasflex_core.cache.choice import CacheChoice, CachePolicy
from dasflex_core.cache.store import CacheIndex
from dasflex_core.commands import builtin_commands
from dasflex_core.commands.outputs import OutputFormat, outputs_of
from dasflex_core.errors import NoPipelineError, NotFoundError
from dasflex_core.model import (
    CommandDef,
    CommandRole,
    CommandTable,
    Site,
    SourceDef,
    StreamType,
)
from dasflex_core.planner import query as _query
from dasflex_core.planner.naming import content_disposition, output_filename
from dasflex_core.planner.query import condition_holds
from dasflex_core.planner.search import (
    READER_ROLES,
    START,
    TRANSFORM_ROLES,
    add_command,
    available_commands,
    build_graph,
    cheapest_path,
    edge_command,
    layered,
    no_path_message,
    node,
)
from dasflex_core.templates import Template, compile_template

if TYPE_CHECKING:  # networkx costs ~0.15 s to import: only graph building loads it
    import networkx as nx

__all__ = [
    "START",
    "Plan",
    "Planner",
    "build_graph",
    "condition_holds",
    "default_planner",
    "plan",
    "planner_for_site",
    "translate",
]


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

    def to_json(self) -> dict[str, object]:
        """The public summary (``dasflex plan`` output).

        A ``"cache"`` entry (level read, number of missing blocks) appears
        when the request could use a cache level.
        """
        summary: dict[str, object] = {
            "stages": [list(stage) for stage in self.stages],
            "mime": self.mime,
            "disposition": self.disposition,
            "filename": self.filename,
        }
        if self.cache_level is not None or self.cache_gaps:
            summary["cache"] = {"level": self.cache_level, "gaps": len(self.cache_gaps)}
        return summary


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


class Planner:
    """Plans requests against one command table, caching per-source graphs.

    Keep one planner per process (``Planner()`` uses the built-in table; pass
    ``builtin_commands().merged(site_table)`` to add a site's commands, or use
    :func:`planner_for_site`).  With a ``cache`` (a :class:`CacheIndex`),
    sources with cache levels get a cheap cache reader that serves coarse
    requests whose blocks are built, as :class:`CachePolicy` chooses (see
    ``docs/cache.md``); ``now`` gives the current time (Unix seconds) for
    the rule that blocks ending in the future are never used.
    """

    def __init__(self, commands: CommandTable | None = None, server_url: str = "",
                 cache: CacheIndex | None = None, *,
                 now: Callable[[], float] = time.time) -> None:
        self.table = commands if commands is not None else builtin_commands()
        self.server_url = server_url
        self.cache = cache
        self._cache_policy = CachePolicy(cache, now) if cache is not None else None
        self._prepared_sources: dict[str, _SourcePlan] = {}

    def plan(self, source: SourceDef, query: Mapping[str, str],
             convention: str = keys.FLEX, *, use_cache: bool = True) -> Plan:
        """Plan ``query`` (in ``convention``'s keys) against ``source``.

        With ``use_cache`` False the cache is neither read nor reported
        (cache builders plan blocks this way, see :meth:`plan_block`).

        Raises
        ------
        QueryError
            For unknown keys, bad or missing values.
        NoPipelineError
            When no chain of commands produces the asked output.
        """
        prepared = self._prepared(source)
        values = _query.checked_values(self.table, source,
                                       self.translate(query, convention, source),
                                       prepared.template_keys)
        roles = _query.required_roles(prepared.transforms, values)
        choice = self._cache_choice(prepared, values, roles) if use_cache else None
        if choice is not None and choice.level is not None:
            cached = self._cached_plan(prepared, values, roles, choice)
            if cached is not None:
                return cached
        result = self._search(prepared, values, roles, _without_cache(prepared))
        if choice is not None and choice.gaps:
            return replace(result, cache_gaps=choice.gaps)
        return result

    def plan_block(self, source: SourceDef, query: Mapping[str, str]) -> Plan:
        """Plan a cache block's ``flex`` query without reading the cache.

        This is the plan callable :func:`dasflex_core.cache.builder.build_block` takes.
        """
        return self.plan(source, query, keys.FLEX, use_cache=False)

    def translate(self, query: Mapping[str, str], convention: str = keys.FLEX,
                  source: SourceDef | None = None) -> dict[str, str]:
        """``query`` in ``flex`` keys, as :meth:`plan` reads it (values not yet checked).

        The command table's ``convention`` rules, with ``source``'s own laid
        over them, rename the keys; empty values and dropped keys are left
        out, the convention's defaults added.  Protocols read a request's
        time range through this, never with their own key lists.

        Raises
        ------
        QueryError
            For an unknown convention, or two keys meaning one ``flex`` key.

        Examples
        --------
        >>> Planner().translate({"end_time": "2001-01-02", "server": "dataset"}, "das2")
        {'format.type': 'das', 'format.version': '2', 'read.time.max': '2001-01-02'}
        """
        return _query.translate(self.table, query, convention, source)

    def _search(self, prepared: _SourcePlan, values: dict[str, str],
                roles: tuple[CommandRole, ...], usable: Callable[[CommandDef], bool],
                cache_argv: tuple[str, ...] = ()) -> Plan:
        """The cheapest pipeline over the active commands that ``usable`` allows."""
        graph = self._layered(prepared, roles)
        wanted = _query.wanted_streams(self.table, values)
        active = frozenset(id(c) for c in prepared.commands
                           if usable(c) and _query.is_active(c, values))
        targets = [node(found.stream, len(roles)) for found in wanted]
        distances, path = cheapest_path(graph, active, targets)
        if path is None:
            reached = [graph.nodes[name]["stream"] for name in distances]
            raise NoPipelineError(no_path_message(prepared.source, _query.asked_format(values),
                                                  wanted, reached, self.table))
        commands = [edge_command(graph, u, v, active) for u, v in pairwise(path)]
        return self._render(prepared, commands, values, graph.nodes[path[-1]]["stream"],
                            cache_argv)

    # -- the cache -----------------------------------------------------------

    def _cache_choice(self, prepared: _SourcePlan, values: Mapping[str, str],
                      roles: tuple[CommandRole, ...]) -> CacheChoice | None:
        """What :class:`CachePolicy` chooses for this request (None without a cache reader)."""
        if self._cache_policy is None or prepared.cache_command is None:
            return None
        return self._cache_policy.choose(prepared.source, values,
                                         transform=CommandRole.TRANSFORM in roles,
                                         reader_keys=prepared.reader_keys)

    def _cached_plan(self, prepared: _SourcePlan, values: dict[str, str],
                     roles: tuple[CommandRole, ...], choice: CacheChoice) -> Plan | None:
        """The plan that reads ``choice.level`` from the cache (None if no path)."""
        cache_command = prepared.cache_command
        assert choice.level is not None and cache_command is not None
        if choice.reduced:
            roles = tuple(role for role in roles if role is not CommandRole.REDUCER)
        try:
            result = self._search(prepared, values, roles,
                                  lambda c: c.role not in READER_ROLES or c is cache_command,
                                  choice.argv)
        except NoPipelineError:
            return None
        if result.commands[:1] != (cache_command.name,):
            return None
        return replace(result, cache_level=choice.level.key, cache_gaps=choice.gaps)

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
        command table's stream order; see :meth:`output_formats`.  Walks the commands
        directly (no graph is built, so networkx stays unloaded).
        """
        commands = [c for c in available_commands(source, self.table.commands)
                    if c.role not in TRANSFORM_ROLES]
        reached = {c.output for c in commands if c.input is None}
        grown = True
        while grown:
            found = {c.output for c in commands if c.input in reached} - reached
            reached |= found
            grown = bool(found)
        ordered = [stream for stream in self.table.streams if stream in reached]
        return tuple(ordered) + tuple(sorted(reached - set(ordered)))

    def output_formats(self, source: SourceDef) -> tuple[OutputFormat, ...]:
        """Every output this planner can produce for ``source``, in the table's stream order.

        The one place discovery asks (``flex.json``, the request form's
        menus): the :meth:`reachable_streams` that have a format entry.  An
        output whose commands need a Python module that is not installed has
        no edge, so it is not listed; a source without a reader, or one that
        redirects elsewhere, offers nothing.

        Examples
        --------
        >>> from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
        >>> reader = CommandDef("reader", CommandRole.READER, ("rdr",), DAS2_BINARY)
        >>> source = SourceDef("Examples/Demo", "Demo", "/x/Demo.dsdf", commands=(reader,))
        >>> found = {output.key: output for output in Planner().output_formats(source)}
        >>> found["das/2/binary"].query
        {'format.type': 'das', 'format.version': '2', 'format.serial': 'binary'}
        >>> found["parquet"].mime
        'application/vnd.apache.parquet'
        """
        if source.reader is None or source.redirect:
            return ()
        return outputs_of(self.table, self.reachable_streams(source))

    def _prepared(self, source: SourceDef) -> _SourcePlan:
        """The cached graph and templates of ``source`` (rebuilt if it changed)."""
        cached = self._prepared_sources.get(source.id)
        if cached is not None and cached.source is source:
            return cached
        graph = build_graph(source, self.table.commands)
        cache_command = self._cache_policy.reader_command(source) if self._cache_policy else None
        if cache_command is not None:
            add_command(graph, cache_command)
        commands = [data["command"] for _, _, data in graph.edges(data=True)]
        templates = {
            id(command): compile_template(command.template, source.id, f"command {command.name}")
            for command in commands
        }
        template_keys = frozenset().union(*(t.keys for t in templates.values()))
        transforms = tuple(c for c in commands if c.role in TRANSFORM_ROLES)
        reader_keys = frozenset().union(*(
            templates[id(c)].keys for c in commands if c.role is CommandRole.READER
        ))
        prepared = _SourcePlan(source, graph, templates, template_keys, tuple(commands),
                               transforms, cache_command=cache_command, reader_keys=reader_keys)
        self._prepared_sources[source.id] = prepared
        return prepared

    def _layered(self, prepared: _SourcePlan, roles: tuple[CommandRole, ...]) -> nx.MultiDiGraph:
        """The layered graph for these required roles (cached)."""
        graph = prepared.layered.get(roles)
        if graph is None:
            graph = layered(prepared.graph, roles)
            prepared.layered[roles] = graph
        return graph

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


def _without_cache(prepared: _SourcePlan) -> Callable[[CommandDef], bool]:
    """A filter leaving out the planner's own cache reader."""
    cache_command = prepared.cache_command
    return lambda command: command is not cache_command


def _error_format(output: StreamType) -> str | None:
    """The in-band exception format a stream of this type can carry."""
    if output.mime == "das2":
        return "das2"
    if output.mime == "das3":
        return "das3"
    return None


def plan(site_or_source: Site | SourceDef, query: Mapping[str, str],
         convention: str = keys.FLEX, source_id: str | None = None,
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


def translate(query: Mapping[str, str], convention: str = keys.FLEX,
              source: SourceDef | None = None, planner: Planner | None = None) -> dict[str, str]:
    """``query`` in ``flex`` keys (see :meth:`Planner.translate`).

    Uses ``planner`` when given (its command table may add a site's rules),
    else the process-wide planner over the built-in table.

    Examples
    --------
    >>> translate({"start": "2001-01-01", "stop": "2001-01-02"}, "hapi")["read.time.max"]
    '2001-01-02'
    """
    return (planner or default_planner()).translate(query, convention, source)


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
    cache = CacheIndex(cache_dir, site) if cache_dir is not None else None
    return Planner(table, server_url, cache)
