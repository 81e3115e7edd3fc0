"""Feed a das2 or das3 stream through the table model into a :class:`TableWriter`.

:class:`TableStream` turns reader events into writer calls: the stream
header starts the document, each new packet type or dataset defines a
table (a header sent again with the same bytes continues its table; a
different definition under the same id makes a new table), each run of
records becomes a :class:`~.model.Batch`.  Comments are ignored; a
"no data" exception (das2 ``NoDataInInterval``, das3 ``NoMatchingData``)
leaves a document without rows; any other exception in the input fails
the tool, as ``das2_cdf`` does.

:func:`run_table_tool` is the whole body of a table program: read stdin
(das2 or das3), write stdout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

from dasflex_core.codecs.das2 import StreamHeader
from dasflex_core.codecs.das3_model import StreamHeader3
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import NO_DATA_TYPES, ReaderError
from dasflex_core.tools.streamio import Output, located, stream_events
from dasflex_core.tools.table.model import (
    Batch,
    StreamInfo,
    Table,
    TableLayout,
    layout_for,
    stream_info,
    table_name,
    unique_name,
)


class TableWriter(Protocol):
    """What every table format implements; output goes through the ``emit`` it was given."""

    def begin(self, info: StreamInfo) -> None:
        """The stream header: start the document."""

    def define(self, table: Table) -> None:
        """A new table (its rows follow in :meth:`write` calls, possibly interleaved)."""

    def write(self, batch: Batch) -> None:
        """Rows of a defined table."""

    def finish(self) -> None:
        """The end of the stream: complete the document."""


class TableStream(EventStream[None]):
    """Routes reader events to a :class:`TableWriter` through the table model."""

    def __init__(self, writer: TableWriter) -> None:
        self.writer = writer
        self._stream: StreamHeader | StreamHeader3 | None = None
        self._started = False
        self._layouts: dict[int, TableLayout] = {}
        self._known: dict[bytes, TableLayout] = {}
        self._names: set[str] = set()

    def on_stream_start(self, event: StreamStart) -> None:
        """Start the document with the stream's title and properties."""
        self._stream = event.header
        if not self._started:
            self._started = True
            self.writer.begin(stream_info(event.header))

    def on_packet_header(self, event: HeaderDefined) -> None:
        """Define a table, or continue a known one."""
        key = bytes(event.raw)
        layout = self._known.get(key)
        if layout is None:
            with located(event.offset):
                name = unique_name(table_name(event.header), self._names)
                layout = layout_for(event.header, self._stream, name)
            self._known[key] = layout
            self.writer.define(layout.table)
        self._layouts[event.packet_id] = layout

    def on_data(self, run: DataRun) -> None:
        """Write a run of records."""
        layout = self._layouts.get(run.packet_id)
        if layout is not None and run.count:
            self.writer.write(layout.batch(run.records))

    def on_comment(self, event: Comment) -> None:
        """Comments are not carried into table formats."""

    def on_exception(self, event: StreamException) -> None:
        """No data: fine; anything else fails the tool."""
        if event.type not in NO_DATA_TYPES:
            raise ReaderError(f"the input stream reported {event.type or 'an error'}: "
                              f"{event.message.strip()}")

    def finish(self) -> None:
        """Complete the document."""
        if not self._started:
            self._started = True
            self.writer.begin(StreamInfo())
        self.writer.finish()


def run_table_tool(make_writer: Callable[[Callable[[bytes], object]], TableWriter],
                   source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Read a das2 or das3 stream from ``source`` (stdin), write the table format to ``sink``.

    ``make_writer(emit)`` builds the writer; everything it emits goes to the
    sink through a bounded buffer.
    """
    output = Output(sink)
    try:
        stream = TableStream(make_writer(output.write))
        for event in stream_events(source):
            stream.handle((event,))
        stream.finish()
    finally:
        output.flush()
    return 0

