"""``das3_to_das2``: convert a das3 stream on stdin to a das2 stream on stdout.

Rank-1 and rank-2 datasets with fixed-size numeric values (time series,
spectrograms, waveforms) map onto das2 ``<packet>`` headers
(:func:`dasflex_core.codecs.das2to3.map_das3_dataset`); ragged, rank-3,
string and blob datasets have no das2 form and stop the conversion with a
one-line error naming the dataset.  When the das2 record holds the same
binary values in the same order, a run of packets is re-framed with one
vectorised copy; otherwise values are moved field by field.  das2 headers in
das3 framing are re-framed as they are; comments pass through and exceptions
get their das2 type (NoMatchingData -> NoDataInInterval, QueryError ->
IllegalArgument).  A das2 input passes through.  ``-t`` writes a text das2
stream (the das2_ascii encoder, with ``-r``/``-s``).

:class:`AsDas2` is shared with das2_cdf and das2_png: it turns the events of
either stream version into das2 events (das2 headers and records).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dasflex_core.errors import DasFlexError, das2_exception_type
from dasflex_core.tools._common import ToolParser, int_in_range, run_tool

if TYPE_CHECKING:
    import numpy as np

    from dasflex_core.codecs.das2 import PacketHeader
    from dasflex_core.codecs.events import DataRun, Event

PROGRAM = "das3_to_das2"
DESCRIPTION = """\
Convert a das3 (das-basic-stream v3.0) stream on stdin to a das2 stream on
stdout.  Time series, spectrograms and waveforms convert; ragged, rank-3,
string and blob datasets have no das2 form and are reported as errors.
Comments and exceptions are carried across.  A das2 input is passed through."""

#: Bytes of the ``:NN:`` tag in front of every das2 data packet.
DAS2_TAG_BYTES = 4


def build_parser() -> ToolParser:
    """The ``das3_to_das2`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-t", "--text", action="store_true",
                        help="write a text das2 stream (das2_ascii encodings)")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 18), metavar="N",
                        help="with -t: significant digits of binary reals")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), metavar="N",
                        help="with -t: fractional seconds digits of times (default 3)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das3_to_das2``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools._common import Output
    from dasflex_core.tools.das2_to_das3 import stream_events

    output = Output()
    events = AsDas2().events(stream_events())
    if args.text:
        from dasflex_core.tools.das2_ascii import AsciiConverter, Options

        converter = AsciiConverter(Options(args.digits, args.time_decimals))
        for event in events:
            converter.convert(event, output.write)
    else:
        for event in events:
            output.write(event.raw)
    output.flush()
    return 0


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the records of one das3 dataset become das2 records."""

    header: PacketHeader
    sources: dict[str, tuple[str, int | None]]
    tag: bytes
    fast: bool


class AsDas2:
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
        from dasflex_core.codecs.events import (
            Comment,
            DataRun,
            HeaderDefined,
            StreamException,
            StreamStart,
        )

        if isinstance(event, StreamStart):
            return self._stream_start(event)
        if self._das2_input:
            return event
        if isinstance(event, DataRun):
            return self._data_run(event)
        if isinstance(event, HeaderDefined):
            return self._define(event)
        from dasflex_core.codecs import das2

        if isinstance(event, Comment):
            raw = das2.encode_comment(event.type, event.source, event.value)
            return Comment(event.type, event.source, event.value, raw, event.offset)
        if isinstance(event, StreamException):
            kind = das2_exception_type(event.type or DasFlexError.das2_type)
            raw = das2.encode_exception(kind, event.message)
            return StreamException(kind, event.message, raw, event.offset)
        return None

    def _stream_start(self, event: Any) -> Event:
        from dasflex_core.codecs.das2 import StreamHeader, encode_header_packet
        from dasflex_core.codecs.das2to3 import stream_header_to_das2
        from dasflex_core.codecs.events import StreamStart

        self.source_version = event.version
        if isinstance(event.header, StreamHeader):
            self._das2_input = True
            return event
        header = stream_header_to_das2(event.header)
        raw = encode_header_packet(0, header.to_xml())
        return StreamStart(header.version, header, raw, event.offset)

    def _define(self, event: Any) -> Event:
        from dasflex_core.codecs.das2 import PacketHeader, encode_header_packet
        from dasflex_core.codecs.events import HeaderDefined

        if not 1 <= event.packet_id <= 99:
            from dasflex_core.errors import StreamError

            raise StreamError(f"das3 packet id {event.packet_id} has no das2 form "
                              "(das2 ids are 1 to 99)", event.offset)
        if isinstance(event.header, PacketHeader):
            header = event.header
            layout = _Layout(header, {name: (name, None) for name in header.fields},
                             header.tag, header.is_binary)
        else:
            layout = self._das3_layout(event.header, event.packet_id, event.offset)
            header = layout.header
        self._layouts[event.packet_id] = layout
        raw = encode_header_packet(event.packet_id, header.to_xml())
        return HeaderDefined(event.packet_id, header, raw, event.offset)

    @staticmethod
    def _das3_layout(dataset: Any, packet_id: int, offset: int) -> _Layout:
        from dasflex_core.codecs.das2to3 import map_das3_dataset
        from dasflex_core.errors import StreamError
        from dasflex_core.tools._common import located

        with located(offset):
            try:
                mapping = map_das3_dataset(dataset, packet_id)
            except ValueError as exc:
                raise StreamError(f"das3 dataset {dataset.name!r} has no das2 form: {exc}",
                                  offset) from None
        header = mapping.header
        return _Layout(header, mapping.sources, header.tag,
                       _same_wire(dataset, header, mapping.sources))

    def _data_run(self, run: DataRun) -> Event:
        import numpy as np

        from dasflex_core.codecs.das2 import encode_records
        from dasflex_core.codecs.events import DataRun
        from dasflex_core.tools.das2_to_das3 import reframe

        layout = self._layouts[run.packet_id]
        header = layout.header
        count = run.count
        if not self._encode:
            records = _das2_records(layout, run.records, run.offset)
            return DataRun(run.packet_id, header, records, b"", run.offset)
        if count and layout.fast and len(run.raw) % count == 0:
            prefix = len(run.raw) // count - header.record_size
            raw: bytes | memoryview = reframe(run.raw, count, prefix, layout.tag)
            records = np.frombuffer(raw, dtype=header.record_dtype)
            return DataRun(run.packet_id, header, records, raw, run.offset)
        records = _das2_records(layout, run.records, run.offset)
        raw = encode_records(header, records) if count else b""
        return DataRun(run.packet_id, header, records, raw, run.offset)


def _same_wire(dataset: Any, header: PacketHeader, sources: dict[str, tuple[str, int | None]]
               ) -> bool:
    """True when the das3 payload already is the das2 record, byte for byte."""
    from dasflex_core.codecs.das3 import packet_fields
    from dasflex_core.codecs.das3_fields import record_dtype
    from dasflex_core.tools.das2_to_das3 import same_binary_layout

    wire = record_dtype(packet_fields(dataset))
    if wire is None or not header.is_binary:
        return False
    das2_layout: dict[str, Any] = dict(header.dtype.fields or {})
    das3_layout: dict[str, Any] = dict(wire.fields or {})
    pairs = []
    for name in header.fields:
        key, component = sources[name]
        if component is not None:
            return False
        dtype, offset = das2_layout[name][:2]
        pairs.append(((dtype, offset - DAS2_TAG_BYTES), das3_layout[key][:2]))
    return same_binary_layout(pairs, (header.record_size, wire.itemsize))


def _das2_records(layout: _Layout, records: Any, offset: int) -> np.ndarray:
    import numpy as np

    from dasflex_core.errors import StreamError

    if not isinstance(records, np.ndarray):
        raise StreamError("ragged das3 records have no das2 form", offset)
    header = layout.header
    out = np.empty(len(records), dtype=header.record_dtype)
    for name in header.fields:
        key, component = layout.sources[name]
        column = records[key]
        out[name] = column if component is None else column[..., component]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
