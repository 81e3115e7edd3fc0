"""The command graph and its search: the cheapest chain of commands to an output type.

:func:`build_graph` makes a graph whose nodes are stream types (plus the
virtual :data:`START` node that feeds every reader) and whose edges are
commands weighted by their cost.  Transforms (PSD) and reducers change the
data, not the type: when a query activates them they must lie on the path,
so :func:`layered` copies the graph into one layer per required role and
:func:`cheapest_path` runs :func:`networkx.single_source_dijkstra` on it.

networkx is imported only when a graph is built (it costs ~0.15 s).

Examples
--------
>>> from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
>>> reader = CommandDef("reader", CommandRole.READER, ("rdr",), DAS2_BINARY)
>>> graph = build_graph(SourceDef("A", "A", "/a.dsdf", commands=(reader,)))
>>> path = cheapest_path(layered(graph, ()), frozenset({id(reader)}), [node(DAS2_BINARY, 0)])[1]
>>> path
['START@0', 'das2/2.2/binary@0']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from dasflex_core.commands.requirements import command_available
from dasflex_core.model import (
    CommandDef,
    CommandRole,
    CommandTable,
    SourceDef,
    StreamFormat,
    StreamType,
)

if TYPE_CHECKING:  # networkx costs ~0.15 s to import: only graph building loads it
    import networkx as nx

__all__ = [
    "READER_ROLES",
    "START",
    "TRANSFORM_ROLES",
    "EdgeData",
    "Stream",
    "add_command",
    "available_commands",
    "build_graph",
    "cheapest_path",
    "edge_command",
    "layered",
    "no_path_message",
    "node",
]

#: The virtual node that feeds every reader.
START = "START"

#: Roles whose commands change values, not types; run in this order when activated.
TRANSFORM_ROLES = (CommandRole.TRANSFORM, CommandRole.REDUCER)
#: Roles that start a pipeline.
READER_ROLES = (CommandRole.READER, CommandRole.CACHE_READER)

#: A node of the command graph: a stream type, or :data:`START`.
Stream = StreamType | str


class EdgeData(TypedDict):
    """The attributes of a command edge."""

    command: CommandDef
    cost: float


def build_graph(source: SourceDef, commands: Iterable[CommandDef] = ()) -> nx.MultiDiGraph:
    """The command graph of ``source`` with the extra ``commands`` (e.g. built-ins).

    Nodes are :class:`StreamType` values plus :data:`START`; each edge is one
    command (key: its name) with ``command`` and ``cost`` attributes.  A
    source's own transform or reducer replaces the built-in ones of that role;
    a source that is not reducible gets no reducer; a command whose Python
    modules (``requires``) are not installed gets no edge
    (:func:`available_commands`).

    Examples
    --------
    >>> from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
    >>> reader = CommandDef("reader", CommandRole.READER, ("rdr",), DAS2_BINARY)
    >>> graph = build_graph(SourceDef("A", "A", "/a.dsdf", commands=(reader,)))
    >>> list(graph.successors(START))
    [StreamType(mime='das2', version='2.2', serial='binary')]
    """
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_node(START)
    for command in available_commands(source, commands):
        add_command(graph, command)
    return graph


def add_command(graph: nx.MultiDiGraph, command: CommandDef) -> None:
    """Add ``command`` as an edge (from :data:`START` for a reader)."""
    origin = START if command.input is None else command.input
    graph.add_edge(origin, command.output, key=_edge_key(graph, origin, command),
                   command=command, cost=command.cost)


def available_commands(source: SourceDef, extra: Iterable[CommandDef]) -> list[CommandDef]:
    """The commands ``source`` gets (:func:`build_graph`) whose required modules are installed."""
    return [c for c in _effective_commands(source, tuple(extra)) if command_available(c)]


def _effective_commands(source: SourceDef, extra: tuple[CommandDef, ...]) -> list[CommandDef]:
    """The source's commands plus the extra ones it does not override."""
    own = list(source.commands)
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


def _edge_key(graph: nx.MultiDiGraph, origin: Stream, command: CommandDef) -> str:
    """A unique edge key: the command name, suffixed when repeated."""
    key, number = command.name, 1
    while graph.has_edge(origin, command.output, key):
        number += 1
        key = f"{command.name}#{number}"
    return key


def node(stream: Stream, layer: int) -> str:
    """The name of a stream type's node in a layer (strings hash fast)."""
    if isinstance(stream, StreamType):
        return f"{stream.mime}/{stream.version}/{stream.serial}@{layer}"
    return f"{stream}@{layer}"


def layered(graph: nx.MultiDiGraph, roles: tuple[CommandRole, ...]) -> nx.MultiDiGraph:
    """A copy of ``graph`` with one layer per required role.

    Node ``"<stream>@<layer>"`` (attribute ``stream``) is a stream type in a
    layer; converters stay within a layer, a command of the i-th required
    role leads from layer i to i + 1, and readers start at layer 0.
    Transforms not required are left out.
    """
    import networkx as nx

    result = nx.MultiDiGraph()
    result.add_node(node(START, 0), stream=START)

    def link(origin: Stream, origin_layer: int, target: Stream, target_layer: int,
             key: str, data: EdgeData) -> None:
        head, tail = node(origin, origin_layer), node(target, target_layer)
        result.add_node(head, stream=origin)
        result.add_node(tail, stream=target)
        result.add_edge(head, tail, key=key, **data)

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
    return result


def cheapest_path(graph: nx.MultiDiGraph, active: frozenset[int],
                  targets: Sequence[str]) -> tuple[dict[str, float], list[str] | None]:
    """Distances from START over active commands (by id), and the path to the best target."""
    import networkx as nx

    def weight(_u: str, _v: str, edges: Mapping[str, EdgeData]) -> float | None:
        costs = [d["cost"] for d in edges.values() if id(d["command"]) in active]
        return min(costs) if costs else None

    distances, paths = nx.single_source_dijkstra(graph, node(START, 0), weight=weight)
    reached = [name for name in targets if name in distances]
    if not reached:
        return distances, None
    best = min(reached, key=lambda name: (distances[name], len(paths[name])))
    return distances, paths[best]


def edge_command(graph: nx.MultiDiGraph, origin: str, target: str,
                 active: frozenset[int]) -> CommandDef:
    """The cheapest active command on the edge ``origin -> target``."""
    candidates = [d["command"] for d in graph.get_edge_data(origin, target).values()
                  if id(d["command"]) in active]
    return min(candidates, key=lambda c: c.cost)


def no_path_message(source: SourceDef, asked: str, wanted: Sequence[StreamFormat],
                    reached: Iterable[Stream], table: CommandTable) -> str:
    """Say what was asked and what the source can produce for this request."""
    streams = [stream for stream in reached if stream != START]
    if not streams:
        return f"Source {source.id} has no reader that runs for this request"
    can = ", ".join(sorted({str(s) for s in streams if s in table.streams})) or "no output format"
    if not wanted:
        return f"Unknown output format '{asked}'; source {source.id} can produce: {can}"
    return f"Source {source.id} cannot produce '{asked}' for this request; it can produce: {can}"
