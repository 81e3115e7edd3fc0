"""das2 v2.2 stream codec: the public API in one place.

Import from here; the implementation is split over ``das2_props`` (typed
properties), ``das2_headers`` (encodings, planes, headers, fills),
``das2_reader`` (incremental reader) and ``das2_writer`` (writer, OOB
encoders).

Reading::

    reader = Das2Reader()
    for chunk in chunks:
        for event in reader.feed(chunk):
            ...            # StreamStart, HeaderDefined, DataRun, Comment, StreamException
    events = reader.close()

A :class:`~dasflex_core.codecs.events.DataRun` holds consecutive data packets
with the same id (at most ``DEFAULT_MAX_RUN_BYTES`` of them, split the same
way however the input is chunked): ``records`` is a numpy structured array
with one row per packet and one field per plane, named ``<kind><index>``
(``x0``, ``y1``, ``yscan2``; see :meth:`PacketHeader.field`).  Binary values
keep their wire dtype; ``asciiN`` values are float64 (unparsable text is
-1e31) and ``timeN`` values us2000 float64.  Records of binary packets are
read-only views of ``raw`` (bytes).  Errors are ``StreamError(reason, offset)``.

Writing::

    writer = Das2Writer(sys.stdout.buffer.write)
    writer.write_stream_header(stream_header)
    writer.write_packet_header(packet_header)
    writer.write_records(packet_header, records)
    writer.close()
"""

from __future__ import annotations

from dasflex_core.codecs.das2_headers import (
    DEFAULT_FILL,
    MAX_PACKET_BYTES,
    MAX_YSCAN_ITEMS,
    Encoding,
    PacketHeader,
    Plane,
    StreamHeader,
    fill_mask,
    is_time_units,
    parse_encoding,
    parse_packet_header,
    parse_stream_header,
    plane_fill,
)
from dasflex_core.codecs.das2_props import Properties, Property, cascade, property_for
from dasflex_core.codecs.das2_reader import (
    DEFAULT_MAX_RUN_BYTES,
    Das2Reader,
    decode_records,
    read_all,
    read_events,
)
from dasflex_core.codecs.das2_writer import (
    Das2Writer,
    encode_comment,
    encode_exception,
    encode_header_packet,
    encode_records,
)

__all__ = [
    "DEFAULT_FILL",
    "DEFAULT_MAX_RUN_BYTES",
    "MAX_PACKET_BYTES",
    "MAX_YSCAN_ITEMS",
    "Das2Reader",
    "Das2Writer",
    "Encoding",
    "PacketHeader",
    "Plane",
    "Properties",
    "Property",
    "StreamHeader",
    "cascade",
    "decode_records",
    "encode_comment",
    "encode_exception",
    "encode_header_packet",
    "encode_records",
    "fill_mask",
    "is_time_units",
    "parse_encoding",
    "parse_packet_header",
    "parse_stream_header",
    "plane_fill",
    "property_for",
    "read_all",
    "read_events",
]
