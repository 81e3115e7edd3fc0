"""Small das2 streams built by hand, counters of the records in a stream, and a stream decoded."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from dasflex_core.codecs import das2
from dasflex_core.codecs.events import DataRun, EventStream, HeaderDefined
from tests.support.readers.das2packets import packet as header_packet

__all__ = ["MARCH_2013_US2000", "PACKET_XML", "comment", "das2_records", "decoded_packets",
           "decoded_records", "deflated", "exception", "header_packet", "make_das2_stream",
           "records", "simple_stream", "stream_header", "xy_packet_header", "xy_records"]

#: 2013-03-01T00:00:00 in us2000.
MARCH_2013_US2000 = 415_411_200_000_000.0

#: A packet header: x us2000, one <y> (big-endian float) and a 3-item <yscan>.
PACKET_XML = (
    '<packet>\n'
    '  <x type="little_endian_real8" units="us2000"></x>\n'
    '  <y name="bx" type="sun_real4" units="nT"></y>\n'
    '  <yscan name="spec" type="little_endian_real4" zUnits="V**2 m**-2 Hz**-1" yUnits="Hz"'
    ' nitems="3" yTags="10,100,1000"></yscan>\n'
    '</packet>\n'
)


def stream_header(properties: str = 'title="test"', compression: str = "none") -> bytes:
    return header_packet("00", f'<stream version="2.2" compression="{compression}">'
                               f"<properties {properties} /></stream>\n")


def xy_packet_header(packet_id: int = 1, units: str = "us2000") -> bytes:
    xml = (
        "<packet>\n"
        f'  <x type="little_endian_real8" units="{units}"></x>\n'
        '  <y type="little_endian_real4" name="amp" units="V/m"></y>\n'
        "</packet>\n"
    )
    return header_packet(f"{packet_id:02d}", xml)


def xy_records(times: np.ndarray, values: np.ndarray, packet_id: int = 1) -> bytes:
    """``:NN:`` data packets for an x (LE real8) + y (LE real4) packet."""
    dtype = np.dtype([("tag", "S4"), ("x", "<f8"), ("y", "<f4")])
    records = np.empty(len(times), dtype=dtype)
    records["tag"] = b":%02d:" % packet_id
    records["x"] = times
    records["y"] = values
    return records.tobytes()


def comment(text: str) -> bytes:
    return header_packet("xx", f'<comment type="log:info" source="test" value="{text}" />')


def exception(text: str) -> bytes:
    return header_packet("xx", f'<exception type="NoDataInInterval" message="{text}" />')


def simple_stream(count: int = 3, with_comment: bool = True) -> bytes:
    """Stream header, one x+y packet type and ``count`` records one second apart."""
    times = MARCH_2013_US2000 + np.arange(count) * 1e6
    values = np.linspace(-1.5, 1.5, count).astype(np.float32)
    middle = comment("halfway") if with_comment else b""
    half = count // 2
    return (
        stream_header()
        + xy_packet_header()
        + xy_records(times[:half], values[:half])
        + middle
        + xy_records(times[half:], values[half:])
    )


def deflated(stream: bytes) -> bytes:
    """The same stream with ``compression="deflate"`` and a zlib body."""
    length = int(stream[4:10])
    header = stream[10 : 10 + length].replace(b'compression="none"', b'compression="deflate"')
    return b"[00]%06d" % len(header) + header + zlib.compress(stream[10 + length :])


def make_das2_stream(count: int = 20, extra: bytes = b"", title: str = "test stream") -> bytes:
    """A binary das2 stream of :data:`PACKET_XML` records, then ``extra``."""
    stream = das2.StreamHeader(properties=das2.Properties())
    stream.properties.set("title", title)
    header = das2.parse_packet_header(PACKET_XML.encode(), 1)
    records = np.zeros(count, dtype=header.record_dtype)
    records["x0"] = 5.0e8 + np.arange(count) * 1.0e6
    records["y1"] = np.linspace(-5.0, 5.0, count)
    records["yscan2"] = np.arange(count * 3, dtype=np.float32).reshape(count, 3) + 1.0
    return (das2.encode_header_packet(0, stream.to_xml())
            + das2.encode_header_packet(1, PACKET_XML) + das2.encode_records(header, records)
            + extra)


def records(body: bytes) -> int:
    """Number of ``:01:`` data packets in a das2 text stream from the test reader."""
    return sum(1 for line in body.split(b"\n") if line.startswith(b":01:"))


def das2_records(stream: bytes, record_size: int) -> list[bytes]:
    """The ``:01:`` data records of a das2 binary stream (headers skipped)."""
    found, position = [], 0
    while position < len(stream):
        tag = stream[position:position + 4]
        if tag.startswith(b"[") and tag.endswith(b"]"):
            length = int(stream[position + 4:position + 10])
            position += 10 + length
        elif tag == b":01:":
            found.append(stream[position + 4:position + 4 + record_size])
            position += 4 + record_size
        else:
            raise AssertionError(f"unexpected bytes at {position}: {stream[position:position + 20]!r}")
    return found


class _Packets(EventStream[None]):
    """Each packet id's (last) header and record runs, in stream order."""

    def __init__(self) -> None:
        self.headers: dict[int, Any] = {}
        self.runs: dict[int, list[np.ndarray]] = {}

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.headers[event.packet_id] = event.header
        self.runs.setdefault(event.packet_id, [])

    def on_data(self, run: DataRun) -> None:
        self.runs[run.packet_id].append(run.records)


def decoded_packets(stream: bytes) -> dict[int, tuple[Any, np.ndarray]]:
    """Each packet id of a das2 stream, decoded by the codec: its header and all its records."""
    packets = _Packets()
    packets.handle(das2.read_all(stream))
    return {packet_id: (header, np.concatenate(packets.runs[packet_id])
                        if packets.runs[packet_id] else np.empty(0))
            for packet_id, header in packets.headers.items()}


def decoded_records(stream: bytes, packet_id: int = 1) -> tuple[Any, np.ndarray]:
    """The header and all records of one packet id of a das2 stream (see :func:`decoded_packets`)."""
    return decoded_packets(stream)[packet_id]
