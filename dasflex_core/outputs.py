"""What a source can be asked for: every output format the planner can produce for it.

:func:`output_formats` is the one place discovery asks (``flex.json``
``interface.formats``, the request form's format menu, ``dasflex verify``):
it lists the stream types the planner's graph reaches from the source's
reader through formatters and converters, with the command table's
``format.*`` keys, MIME type, title and file extension.  An output whose
commands need a Python module that is not installed has no edge, so it is
not listed.

The planner is passed in, never imported here, so that the catalog
(:mod:`dasflex_core.sources.catalog`, below the planner) can use these types.

Examples
--------
>>> from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY
>>> from dasflex_core.planner import default_planner
>>> reader = CommandDef("reader", CommandRole.READER, ("rdr", "#[read.time.min]"), DAS2_BINARY)
>>> source = SourceDef("Examples/Demo", "Demo", "/x/Demo.dsdf", commands=(reader,))
>>> found = {output.key: output for output in output_formats(source, default_planner())}
>>> found["das/2/binary"].query
{'format.type': 'das', 'format.version': '2', 'format.serial': 'binary'}
>>> found["csv/plain"].query, found["csv/plain"].mime
({'format.type': 'csv', 'format.style': 'plain'}, 'text/csv')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dasflex_core.keys import FORMAT_SERIAL, FORMAT_STYLE, FORMAT_TYPE, FORMAT_VERSION
from dasflex_core.model import SourceDef, StreamType

if TYPE_CHECKING:
    from dasflex_core.planner import Planner

__all__ = ["OutputFormat", "OutputLister", "by_type", "output_formats", "output_lister",
           "type_title"]


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One output a source offers and the query keys that select exactly it.

    ``type``, ``version``, ``serial`` and ``style`` are the values of
    ``format.type``, ``format.version``, ``format.serial`` and
    ``format.style`` ("" when the key is not needed).
    """

    type: str
    mime: str
    title: str
    extension: str
    stream: StreamType
    version: str = ""
    serial: str = ""
    style: str = ""

    @property
    def query(self) -> dict[str, str]:
        """The ``format.*`` query keys (flex convention) that select this output."""
        keys = {FORMAT_TYPE: self.type, FORMAT_VERSION: self.version,
                FORMAT_SERIAL: self.serial, FORMAT_STYLE: self.style}
        return {key: value for key, value in keys.items() if value}

    @property
    def key(self) -> str:
        """A short unique name: type, version, serial and style joined by ``/``."""
        return "/".join(part for part in (self.type, self.version, self.serial, self.style)
                        if part)


#: Lists a source's outputs (see :func:`output_lister`).
OutputLister = Callable[[SourceDef], Sequence[OutputFormat]]


def output_formats(source: SourceDef, planner: Planner) -> tuple[OutputFormat, ...]:
    """Every output ``planner`` can produce for ``source``.

    In the command table's stream order; streams without a format entry
    (internal nodes) are left out.  No reader, or a source that redirects
    elsewhere: nothing.
    """
    if source.reader is None or source.redirect:
        return ()
    table = planner.table
    found = []
    for stream in planner.reachable_streams(source):
        entry = table.streams.get(stream)
        if entry is None:
            continue
        found.append(OutputFormat(
            type=entry.format, mime=entry.mime, title=entry.title or str(stream),
            extension=entry.extension, stream=stream, version=entry.version,
            serial=_serial(stream, entry.version), style=entry.style,
        ))
    return tuple(found)


def output_lister(planner: Planner) -> OutputLister:
    """:func:`output_formats` with ``planner``, computed once per source."""
    found: dict[str, tuple[OutputFormat, ...]] = {}

    def outputs(source: SourceDef) -> tuple[OutputFormat, ...]:
        if source.id not in found:
            found[source.id] = output_formats(source, planner)
        return found[source.id]

    return outputs


def _serial(stream: StreamType, version: str) -> str:
    """The ``format.serial`` a stream needs: its serialisation, unless the version says it."""
    return stream.serial if stream.serial != version else ""


def by_type(outputs: Sequence[OutputFormat]) -> dict[str, list[OutputFormat]]:
    """``outputs`` grouped by ``format.type``, in order of first appearance."""
    groups: dict[str, list[OutputFormat]] = {}
    for output in outputs:
        groups.setdefault(output.type, []).append(output)
    return groups


def type_title(kind: str, members: Sequence[OutputFormat]) -> str:
    """A format type's title: the titles of its outputs (``Das2 binary stream, ...``)."""
    titles = list(dict.fromkeys(member.title for member in members)) or [kind]
    text = ", ".join(titles)
    return text[:1].upper() + text[1:]
