"""``das2_to_das3``: convert a das2 stream on stdin to a das3 stream on stdout.

Each das2 ``<packet>`` becomes a das3 ``<dataset>`` as das2C up-converts it
(:mod:`dasflex_core.codecs.das2to3`).  Data are converted a run of packets at
a time: when the das3 packet holds the same binary values in the same order
(the usual case), every das2 record is re-framed with one vectorised copy
(``:NN:`` tag -> ``|Pd|NN|LEN|`` prefix); otherwise the values are moved
field by field and re-encoded.  Comments pass through; exceptions get their
das3 type (NoDataInInterval -> NoMatchingData, IllegalArgument ->
QueryError, anything else ServerError).  A das3 input passes through.

``-t`` writes text values instead (the das3_text encoder, with ``-r``/``-s``).

:func:`stream_events` is shared with the other converter tools: the events
of a das2 or das3 stream read in bounded chunks.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from dasflex_core.errors import DAS3_STREAM_TYPES, das3_exception_type
from dasflex_core.tools._common import ToolParser, int_in_range, run_tool

if TYPE_CHECKING:
    import numpy as np

    from dasflex_core.codecs.das2 import PacketHeader, StreamHeader
    from dasflex_core.codecs.das2to3 import Das2Mapping
    from dasflex_core.codecs.events import DataRun, Event

PROGRAM = "das2_to_das3"
DESCRIPTION = """\
Convert a das2 stream on stdin to a das3 (das-basic-stream v3.0) stream on
stdout.  Binary values keep their encoding; text values stay text.  Comments
and exceptions are carried across.  A das3 input is passed through."""

#: Bytes of the ``:NN:`` tag in front of every das2 data packet.
DAS2_TAG_BYTES = 4


def _das3_stream_type(exception_type: str) -> str:
    """A das3 stream's type for an exception of either stream (others become ServerError)."""
    if exception_type in DAS3_STREAM_TYPES:
        return exception_type
    return das3_exception_type(exception_type)


def build_parser() -> ToolParser:
    """The ``das2_to_das3`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-t", "--text", action="store_true",
                        help="write values as text (utf8) instead of binary")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 17), metavar="N",
                        help="with -t: significant digits of reals")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), default=3,
                        metavar="N", help="with -t: fractional seconds digits (default 3)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_to_das3``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools._common import Output

    output = Output()
    convert = _text_converter(args) if args.text else Das2ToDas3().convert
    for event in stream_events():
        output.write(convert(event))
    output.flush()
    return 0


def _text_converter(args: argparse.Namespace) -> Callable[[Event], bytes]:
    from dasflex_core.tools.das3_text import Options, TextConverter

    converter = TextConverter(Options(args.digits, args.time_decimals, upconvert=True))

    def convert(event: Event) -> bytes:
        pieces: list[bytes] = []
        converter.convert(event, pieces.append)
        return b"".join(pieces)

    return convert


def stream_events(source: BinaryIO | None = None) -> Iterator[Event]:
    """The events of the das2 or das3 stream on ``source`` (default: stdin).

    Raises StreamError for empty input or a stream that is neither.
    """
    from dasflex_core.codecs import make_reader
    from dasflex_core.errors import StreamError
    from dasflex_core.tools._common import read_chunks

    reader: Any = None
    for chunk in read_chunks(source):
        if reader is None:
            reader = make_reader(chunk)
        yield from reader.feed(chunk)
    if reader is None:
        raise StreamError("empty input: expected a das2 or das3 stream", 0)
    yield from reader.close()


def reframe(raw: bytes | memoryview, count: int, old_prefix: int, new_prefix: bytes) -> memoryview:
    """Replace the first ``old_prefix`` bytes of each of ``count`` equal packets by ``new_prefix``."""
    import numpy as np

    rows = np.frombuffer(raw, dtype=np.uint8).reshape(count, -1)
    head = len(new_prefix)
    out = np.empty((count, head + rows.shape[1] - old_prefix), dtype=np.uint8)
    out[:, :head] = np.frombuffer(new_prefix, dtype=np.uint8)
    out[:, head:] = rows[:, old_prefix:]
    return out.data.cast("B")


def same_binary_layout(pairs: Sequence[tuple[tuple[Any, int], tuple[Any, int]]],
                       sizes: tuple[int, int]) -> bool:
    """True when each (dtype, offset) pair matches and holds binary numbers only.

    ``sizes`` are the two record sizes, which must match as well.
    """
    if sizes[0] != sizes[1]:
        return False
    for (left_type, left_offset), (right_type, right_offset) in pairs:
        base = left_type.base if left_type.subdtype else left_type
        if left_type != right_type or left_offset != right_offset or base.kind not in "fiu":
            return False
    return True


class Das2ToDas3:
    """Turns the events of a das2 stream into das3 bytes, one event at a time."""

    def __init__(self) -> None:
        self._stream: StreamHeader | None = None
        self._layouts: dict[int, _Layout] = {}
        self._das3_input = False

    def convert(self, event: Event) -> bytes | memoryview:
        """The das3 bytes for ``event``."""
        from dasflex_core.codecs.events import (
            Comment,
            DataRun,
            HeaderDefined,
            StreamException,
            StreamStart,
        )

        if isinstance(event, StreamStart):
            return self._stream_start(event)
        if self._das3_input:
            return event.raw
        if isinstance(event, DataRun):
            return self._layouts[event.packet_id].encode(event)
        if isinstance(event, HeaderDefined):
            return self._define(event.packet_id, event.header, event.offset)
        from dasflex_core.codecs import das3

        if isinstance(event, Comment):
            return das3.encode_comment(event.type, event.source, event.value)
        if isinstance(event, StreamException):
            kind = _das3_stream_type(event.type)
            return das3.encode_exception(kind, event.message)
        return b""

    def _stream_start(self, event: Any) -> bytes:
        from dasflex_core.codecs.das2 import StreamHeader
        from dasflex_core.codecs.das2to3 import stream_header_from_das2
        from dasflex_core.codecs.das3 import encode_packet, stream_header_xml

        if not isinstance(event.header, StreamHeader):
            self._das3_input = True
            return event.raw
        self._stream = event.header
        return encode_packet("Sx", None, stream_header_xml(stream_header_from_das2(event.header)))

    def _define(self, packet_id: int, header: PacketHeader, offset: int) -> bytes:
        from dasflex_core.codecs.das2to3 import map_das2_packet
        from dasflex_core.codecs.das3 import dataset_xml, encode_header
        from dasflex_core.errors import StreamError
        from dasflex_core.tools._common import located

        with located(offset):
            try:
                mapping = map_das2_packet(header, self._stream)
            except ValueError as exc:
                raise StreamError(f"packet {packet_id:02d} has no das3 form: {exc}", offset) from None
        self._layouts[packet_id] = _Layout(packet_id, header, mapping)
        return encode_header(packet_id, dataset_xml(mapping.dataset))


class _Layout:
    """How the records of one das2 packet id become das3 data packets."""

    def __init__(self, packet_id: int, header: PacketHeader, mapping: Das2Mapping) -> None:
        from dasflex_core.codecs.das3 import packet_fields
        from dasflex_core.codecs.das3_fields import record_dtype, value_dtype

        self.packet_id = packet_id
        self.header = header
        self.mapping = mapping
        self.fields = packet_fields(mapping.dataset)
        self.values = value_dtype(self.fields)
        wire = record_dtype(self.fields)
        self.prefix = b"|Pd|%d|%d|" % (packet_id, header.record_size)
        self.fast = wire is not None and header.is_binary and self._same_wire(wire)

    def _same_wire(self, wire: np.dtype) -> bool:
        das2_layout: dict[str, Any] = dict(self.header.dtype.fields or {})
        das3_layout: dict[str, Any] = dict(wire.fields or {})
        pairs = []
        for field in self.fields:
            name, component = self.mapping.sources[field.key]
            if component is not None:
                return False
            dtype, offset = das2_layout[name][:2]
            pairs.append(((dtype, offset - DAS2_TAG_BYTES), das3_layout[field.key][:2]))
        return same_binary_layout(pairs, (self.header.record_size, wire.itemsize))

    def encode(self, run: DataRun) -> bytes | memoryview:
        """The ``|Pd|`` packets of one run of das2 records."""
        import numpy as np

        from dasflex_core.codecs.das3 import encode_records

        count = run.count
        if count == 0:
            return b""
        if self.fast and len(run.raw) == count * (DAS2_TAG_BYTES + self.header.record_size):
            return reframe(run.raw, count, DAS2_TAG_BYTES, self.prefix)
        records = np.empty(count, dtype=self.values)
        for field in self.fields:
            name, _ = self.mapping.sources[field.key]
            records[field.key] = run.records[name]
        return encode_records(self.packet_id, self.mapping.dataset, records)


if __name__ == "__main__":
    raise SystemExit(main())
