"""das2 v2.2 stream writer and packet encoders (formats as das2C writes them)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader
from dasflex_core.codecs.das2_text import encode_ascii, encode_times
from dasflex_core.codecs.events import DataRun, Event, StreamStart
from dasflex_core.codecs.packets import das2_comment as encode_comment
from dasflex_core.codecs.packets import das2_exception as encode_exception
from dasflex_core.codecs.packets import das2_header_packet as encode_header_packet

_COMPRESSION_ATTRIBUTE = re.compile(rb"""compression\s*=\s*(["'])[^"']*\1""")


def encode_records(header: PacketHeader, records: np.ndarray) -> bytes:
    """Data packets (tags included) for ``records`` laid out as ``header`` says.

    ``records`` needs one field per plane named as in ``header.fields``
    (values are cast to the wire encoding; text planes are formatted the
    das2C way, the last value of each record ending with a newline).
    """
    count = len(records)
    wire = np.empty(count, dtype=header.dtype)
    wire["tag"] = header.tag
    if count == 0:
        return b""
    text_planes: list[tuple[str, Plane]] = []
    for name, plane in zip(header.fields, header.planes, strict=True):
        if plane.encoding.is_text:
            text_planes.append((name, plane))
        else:
            wire[name] = records[name]
    if text_planes:
        _write_text_fields(wire, header, records, text_planes)
    return wire.tobytes()


def _write_text_fields(
    wire: np.ndarray, header: PacketHeader, records: np.ndarray, planes: list[tuple[str, Plane]]
) -> None:
    """Format the text planes into the wire records; the record's last byte becomes a newline."""
    matrix = wire.view(np.uint8).reshape(len(wire), header.dtype.itemsize)
    for name, plane in planes:
        values = np.asarray(records[name], dtype=np.float64)
        if plane.encoding.kind == "time":
            fields = encode_times(values, plane.width)
        else:
            fields = encode_ascii(values, plane.width)
        start = header.field_offset(name)
        matrix[:, start:start + plane.size] = fields.reshape(len(wire), plane.size)
    last = header.planes[-1]
    if last.encoding.is_text:
        matrix[:, -1] = ord("\n")


def _with_compression(raw_packet: bytes, compression: str) -> bytes:
    """Re-frame a stream header packet with its ``compression`` attribute set."""
    xml = raw_packet[10:]
    wanted = b'compression="%s"' % compression.encode("ascii")
    replaced, count = _COMPRESSION_ATTRIBUTE.subn(wanted, xml, count=1)
    if count == 0 and compression != "none":
        replaced = re.sub(rb"<stream\b", b"<stream " + wanted, xml, count=1)
    if replaced == xml:
        return raw_packet
    return encode_header_packet(0, replaced)


class Das2Writer:
    """Writes a das2 stream through ``write`` (e.g. ``sys.stdout.buffer.write``).

    ``compression="deflate"`` compresses everything after the stream header
    (call :meth:`close` at the end); by default output is uncompressed, and a
    passed-through deflate stream header is rewritten to ``compression="none"``.
    """

    def __init__(self, write: Callable[[Any], Any], compression: str = "none") -> None:
        if compression not in ("none", "deflate"):
            raise ValueError(f"unknown das2 compression {compression!r}")
        self._sink = write
        self.compression = compression
        self._deflater: Any = None

    def _write(self, data: bytes | memoryview) -> None:
        if self._deflater is not None:
            compressed = self._deflater.compress(data)
            if compressed:
                self._sink(compressed)
            return
        self._sink(data)

    def _start_body(self) -> None:
        if self.compression == "deflate":
            self._deflater = zlib.compressobj()

    def write_event(self, event: Event) -> None:
        """Pass an event's raw bytes through (stream headers get our compression)."""
        if isinstance(event, StreamStart):
            self._sink(_with_compression(bytes(event.raw), self.compression))
            self._start_body()
        else:
            self._write(event.raw)

    def write_stream_header(self, header: StreamHeader) -> None:
        """Write a ``[00]`` packet (verbatim when ``header`` was read from a stream)."""
        packet = encode_header_packet(0, header.xml_bytes())
        self._sink(_with_compression(packet, self.compression))
        self._start_body()

    def write_packet_header(self, header: PacketHeader) -> None:
        """Write a ``[NN]`` packet header."""
        self._write(encode_header_packet(header.packet_id, header.xml_bytes()))

    def write_records(self, header: PacketHeader, records: np.ndarray) -> None:
        """Write data packets for every row of ``records`` (see :func:`encode_records`)."""
        self._write(encode_records(header, records))

    def write_run(self, run: DataRun) -> None:
        """Re-encode a DataRun from its decoded records."""
        self.write_records(run.header, run.records)

    def write_comment(self, type: str, source: str, value: str) -> None:  # noqa: A002
        """Write a ``[xx]<comment>`` packet."""
        self._write(encode_comment(type, source, value))

    def write_exception(self, type: str, message: str) -> None:  # noqa: A002
        """Write a ``[xx]<exception>`` packet."""
        self._write(encode_exception(type, message))

    def close(self) -> None:
        """Finish the compressed body, if any (no-op for uncompressed output)."""
        if self._deflater is not None:
            self._sink(self._deflater.flush())
            self._deflater = None
