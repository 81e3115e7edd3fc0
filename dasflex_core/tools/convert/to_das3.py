"""A das2 stream converted to das3 (``das2_to_das3``).

Each das2 ``<packet>`` becomes a das3 ``<dataset>`` as das2C up-converts it
(:mod:`dasflex_core.codecs.das2to3`).  Data are converted a run of packets at
a time: when the das3 packet holds the same binary values in the same order
(the usual case), every das2 record is re-framed with one vectorised copy
(``:NN:`` tag -> ``|Pd|NN|LEN|`` prefix); otherwise the values are moved
field by field and re-encoded.  Comments pass through; exceptions get their
das3 type (NoDataInInterval -> NoMatchingData, IllegalArgument ->
QueryError, anything else ServerError).  A das3 input passes through.

With ``text`` the values are written as text instead (the das3_text encoder).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from dasflex_core.codecs.das2 import PacketHeader, StreamHeader
from dasflex_core.codecs.das2to3 import (
    Das2Mapping,
    das3_records,
    map_das2_packet,
    stream_header_from_das2,
)
from dasflex_core.codecs.das3 import (
    dataset_xml,
    encode_comment,
    encode_exception,
    encode_header,
    encode_packet,
    encode_records,
    packet_fields,
    stream_header_xml,
)
from dasflex_core.codecs.das3_fields import record_dtype, value_dtype
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import DAS3_STREAM_TYPES, StreamError, das3_exception_type
from dasflex_core.tools.convert.wire import DAS2_TAG_BYTES, reframe, same_wire
from dasflex_core.tools.streamio import Output, located, stream_events
from dasflex_core.tools.text.das3 import Options as TextOptions
from dasflex_core.tools.text.das3 import TextConverter


def das3_stream_type(exception_type: str) -> str:
    """A das3 stream's type for an exception of either stream (others become ServerError)."""
    if exception_type in DAS3_STREAM_TYPES:
        return exception_type
    return das3_exception_type(exception_type)


def convert_stdin(text: bool = False, digits: int | None = None, time_decimals: int | None = None,
                  source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Convert the stream on ``source`` (stdin) to das3 on ``sink`` (stdout); return 0.

    ``text``: values as text, with ``digits`` significant digits of reals and
    ``time_decimals`` fractional seconds digits (default 3).
    """
    output = Output(sink)
    events = stream_events(source)
    if text:
        decimals = 3 if time_decimals is None else time_decimals
        TextConverter(TextOptions(digits, decimals, upconvert=True), output.write).handle(events)
    else:
        converter = Das2ToDas3()
        for event in events:
            output.write(converter.convert(event))
    output.flush()
    return 0


class Das2ToDas3(EventStream[bytes | memoryview]):
    """Turns the events of a das2 stream into das3 bytes, one event at a time."""

    def __init__(self) -> None:
        self._stream: StreamHeader | None = None
        self._layouts: dict[int, _Layout] = {}
        self._das3_input = False

    def convert(self, event: Event) -> bytes | memoryview:
        """The das3 bytes for ``event``."""
        if self._das3_input and not isinstance(event, StreamStart):
            return event.raw
        converted = self.dispatch(event)
        return b"" if converted is None else converted

    def on_stream_start(self, event: StreamStart) -> bytes:
        if not isinstance(event.header, StreamHeader):
            self._das3_input = True
            return event.raw
        self._stream = event.header
        return encode_packet("Sx", None, stream_header_xml(stream_header_from_das2(event.header)))

    def on_data(self, run: DataRun) -> bytes | memoryview:
        return self._layouts[run.packet_id].encode(run)

    def on_packet_header(self, event: HeaderDefined) -> bytes:
        packet_id, offset = event.packet_id, event.offset
        with located(offset):
            try:
                mapping = map_das2_packet(event.header, self._stream)
            except ValueError as exc:
                raise StreamError(f"packet {packet_id:02d} has no das3 form: {exc}", offset) from None
        self._layouts[packet_id] = _Layout(packet_id, event.header, mapping)
        return encode_header(packet_id, dataset_xml(mapping.dataset))

    def on_comment(self, event: Comment) -> bytes:
        return encode_comment(event.type, event.source, event.value)

    def on_exception(self, event: StreamException) -> bytes:
        kind = das3_stream_type(event.type)
        return encode_exception(kind, event.message)


class _Layout:
    """How the records of one das2 packet id become das3 data packets."""

    def __init__(self, packet_id: int, header: PacketHeader, mapping: Das2Mapping) -> None:
        self.packet_id = packet_id
        self.header = header
        self.mapping = mapping
        self.fields = packet_fields(mapping.dataset)
        self.values = value_dtype(self.fields)
        wire = record_dtype(self.fields)
        self.prefix = b"|Pd|%d|%d|" % (packet_id, header.record_size)
        self.fast = wire is not None and header.is_binary and same_wire(header, wire, self._links())

    def _links(self) -> Iterator[tuple[str, str, int | None]]:
        """(das2 field, das3 field, component) of every das3 packet field."""
        for field in self.fields:
            name, component = self.mapping.sources[field.key]
            yield name, field.key, component

    def encode(self, run: DataRun) -> bytes | memoryview:
        """The ``|Pd|`` packets of one run of das2 records."""
        count = run.count
        if count == 0:
            return b""
        if self.fast and len(run.raw) == count * (DAS2_TAG_BYTES + self.header.record_size):
            return reframe(run.raw, count, DAS2_TAG_BYTES, self.prefix)
        records = das3_records(self.fields, self.mapping.sources, run.records, self.values)
        return encode_records(self.packet_id, self.mapping.dataset, records)
