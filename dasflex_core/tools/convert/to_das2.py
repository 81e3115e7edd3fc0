"""A das3 stream converted to das2 (``das3_to_das2``), and :class:`AsDas2`.

Rank-1 and rank-2 datasets with fixed-size numeric values (time series,
spectrograms, waveforms) map onto das2 ``<packet>`` headers
(:func:`dasflex_core.codecs.das2to3.map_das3_dataset`); ragged, rank-3,
string and blob datasets have no das2 form and stop the conversion with a
one-line error naming the dataset.  When the das2 record holds the same
binary values in the same order, a run of packets is re-framed with one
vectorised copy; otherwise values are moved field by field.  das2 headers in
das3 framing are re-framed as they are; comments pass through and exceptions
get their das2 type (NoMatchingData -> NoDataInInterval, QueryError ->
IllegalArgument).  A das2 input passes through.  With ``text`` the output is
a text das2 stream (the das2_ascii encoder).

:class:`AsDas2` is shared with das2_cdf and das2_png: it turns the events of
either stream version into das2 events (das2 headers and records).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs.das2 import (
    PacketHeader,
    StreamHeader,
    encode_comment,
    encode_exception,
    encode_header_packet,
    encode_records,
)
from dasflex_core.codecs.das2to3 import (
    Das3Mapping,
    das2_records,
    map_das3_dataset,
    stream_header_to_das2,
)
from dasflex_core.codecs.das3_fields import packet_fields, record_dtype
from dasflex_core.codecs.das3_model import Dataset
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import DasFlexError, StreamError, das2_exception_type
from dasflex_core.tools.convert.wire import reframe, same_wire
from dasflex_core.tools.streamio import Output, located, stream_events
from dasflex_core.tools.text.das2 import AsciiConverter
from dasflex_core.tools.text.das2 import Options as AsciiOptions


def convert_stdin(text: bool = False, digits: int | None = None, time_decimals: int | None = None,
                  source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Convert the stream on ``source`` (stdin) to das2 on ``sink`` (stdout); return 0.

    ``text``: a text das2 stream, with ``digits`` significant digits of binary
    reals and ``time_decimals`` fractional seconds digits (default 3).
    """
    output = Output(sink)
    events = AsDas2().events(stream_events(source))
    if text:
        AsciiConverter(AsciiOptions(digits, time_decimals), output.write).handle(events)
    else:
        for event in events:
            output.write(event.raw)
    output.flush()
    return 0


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the records of one das3 dataset become das2 records."""

    mapping: Das3Mapping
    tag: bytes
    fast: bool

    @property
    def header(self) -> PacketHeader:
        """The das2 packet header."""
        return self.mapping.header


class AsDas2(EventStream[Event]):
    """Turns das2 or das3 events into das2 events whose ``raw`` is das2 bytes."""

    def __init__(self, encode: bool = True) -> None:
        """``encode=False`` leaves ``raw`` of converted data runs empty (records only)."""
        self._encode = encode
        self._layouts: dict[int, _Layout] = {}
        self._das2_input = False
        #: The input's stream version (``2.2``, ``3.0``...), once its header was seen.
        self.source_version: str | None = None

    def events(self, events: Iterable[Event]) -> Iterator[Event]:
        """The das2 events for ``events`` (das2 events pass through)."""
        for event in events:
            converted = self.convert(event)
            if converted is not None:
                yield converted

    def convert(self, event: Event) -> Event | None:
        """The das2 event for one event (None when it has no das2 counterpart)."""
        if self._das2_input and not isinstance(event, StreamStart):
            return event
        return self.dispatch(event)

    def on_stream_start(self, event: StreamStart) -> StreamStart:
        self.source_version = event.version
        if isinstance(event.header, StreamHeader):
            self._das2_input = True
            return event
        header = stream_header_to_das2(event.header)
        raw = encode_header_packet(0, header.to_xml())
        return StreamStart(header.version, header, raw, event.offset)

    def on_packet_header(self, event: HeaderDefined) -> HeaderDefined:
        if not 1 <= event.packet_id <= 99:
            raise StreamError(f"das3 packet id {event.packet_id} has no das2 form "
                              "(das2 ids are 1 to 99)", event.offset)
        if isinstance(event.header, PacketHeader):
            header = event.header
            mapping = Das3Mapping(header, {name: (name, None) for name in header.fields})
            layout = _Layout(mapping, header.tag, header.is_binary)
        else:
            layout = self._das3_layout(event.header, event.packet_id, event.offset)
            header = layout.header
        self._layouts[event.packet_id] = layout
        raw = encode_header_packet(event.packet_id, header.to_xml())
        return HeaderDefined(event.packet_id, header, raw, event.offset)

    def on_data(self, run: DataRun) -> DataRun:
        layout = self._layouts[run.packet_id]
        header = layout.header
        count = run.count
        if not self._encode:
            records = das2_records(layout.mapping, run.records, run.offset)
            return DataRun(run.packet_id, header, records, b"", run.offset)
        if count and layout.fast and len(run.raw) % count == 0:
            prefix = len(run.raw) // count - header.record_size
            raw: bytes | memoryview = reframe(run.raw, count, prefix, layout.tag)
            records = np.frombuffer(raw, dtype=header.record_dtype)
            return DataRun(run.packet_id, header, records, raw, run.offset)
        records = das2_records(layout.mapping, run.records, run.offset)
        raw = encode_records(header, records) if count else b""
        return DataRun(run.packet_id, header, records, raw, run.offset)

    def on_comment(self, event: Comment) -> Comment:
        raw = encode_comment(event.type, event.source, event.value)
        return Comment(event.type, event.source, event.value, raw, event.offset)

    def on_exception(self, event: StreamException) -> StreamException:
        kind = das2_exception_type(event.type or DasFlexError.das2_type)
        raw = encode_exception(kind, event.message)
        return StreamException(kind, event.message, raw, event.offset)

    @staticmethod
    def _das3_layout(dataset: Dataset, packet_id: int, offset: int) -> _Layout:
        with located(offset):
            try:
                mapping = map_das3_dataset(dataset, packet_id)
            except ValueError as exc:
                raise StreamError(f"das3 dataset {dataset.name!r} has no das2 form: {exc}",
                                  offset) from None
        return _Layout(mapping, mapping.header.tag, _same_wire(dataset, mapping))


def _same_wire(dataset: Dataset, mapping: Das3Mapping) -> bool:
    """True when the das3 payload already is the das2 record, byte for byte."""
    header = mapping.header
    wire = record_dtype(packet_fields(dataset))
    if wire is None or not header.is_binary:
        return False
    links = ((name, *mapping.sources[name]) for name in header.fields)
    return same_wire(header, wire, links)
