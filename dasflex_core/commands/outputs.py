"""What a source can be asked for: the outputs of a command table's stream formats.

An :class:`OutputFormat` is one output a source offers (a stream type with
its ``format.*`` query keys, MIME type, title and file extension from the
command table's ``streams``).  The planner says which stream types a source
reaches (:meth:`dasflex_core.planner.Planner.output_formats`, the one place
discovery asks: ``flex.json`` ``interface.formats``, the request form's
format menus); :func:`outputs_of` turns them into outputs.  These types live
below the planner so that the catalog (:mod:`dasflex_core.sources.catalog`)
can take a lister of them without importing the planner.

Examples
--------
>>> from dasflex_core.commands import builtin_commands
>>> from dasflex_core.model import StreamType
>>> streams = [StreamType.parse("das2/2.2/binary"), StreamType.parse("csv-plain")]
>>> found = outputs_of(builtin_commands(), streams)
>>> [output.key for output in found]
['das/2/binary', 'csv/plain']
>>> found[1].query, found[1].mime
({'format.type': 'csv', 'format.style': 'plain'}, 'text/csv')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dasflex_core.keys import FORMAT_SERIAL, FORMAT_STYLE, FORMAT_TYPE, FORMAT_VERSION
from dasflex_core.model import CommandTable, SourceDef, StreamType

__all__ = ["OutputFormat", "OutputLister", "by_type", "outputs_of", "type_title"]


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


#: Lists a source's outputs (a planner's :meth:`~dasflex_core.planner.Planner.output_formats`).
OutputLister = Callable[[SourceDef], Sequence[OutputFormat]]


def outputs_of(table: CommandTable, streams: Iterable[StreamType]) -> tuple[OutputFormat, ...]:
    """The outputs of ``streams`` as ``table`` offers them; streams without a format entry
    (internal nodes) are left out."""
    found = []
    for stream in streams:
        entry = table.streams.get(stream)
        if entry is None:
            continue
        found.append(OutputFormat(
            type=entry.format, mime=entry.mime, title=entry.title or str(stream),
            extension=entry.extension, stream=stream, version=entry.version,
            serial=_serial(stream, entry.version), style=entry.style,
        ))
    return tuple(found)


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
