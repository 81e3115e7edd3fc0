"""Incremental das2 v2.2 stream reader.

:class:`Das2Reader` is fed chunks of any size and returns events in stream
order.  Consecutive data packets with the same id are gathered into one
:class:`DataRun` (at most ``max_run_bytes`` of packets per run, counted from
the run's first packet, so that the events do not depend on how the input was
chunked).  Runs are found without a Python loop per packet: the buffer is
viewed as fixed-size records and the tag column is compared in bulk.

Chunks are parsed in place.  A run inside one chunk is a view of it, never a
copy; a run that straddles chunks is joined once, unless the chunks are
adjacent views of one :class:`WriteOnceBuffer` (what the tools' input loop
hands over), in which case it stays a single view.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NoReturn

import numpy as np

from dasflex_core.codecs.das2_headers import (
    MAX_PACKET_BYTES,
    PacketHeader,
    StreamHeader,
    parse_packet_header,
    parse_stream_header,
)
from dasflex_core.codecs.das2_text import decode_ascii, decode_times
from dasflex_core.codecs.das2_xml import parse_xml
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import StreamError, TimeError

Chunk = bytes | memoryview

#: Default upper bound on the bytes of one DataRun.
DEFAULT_MAX_RUN_BYTES = 1 << 20
_HEADER_PREFIX = 10  # '[NN]' + 6-character length
_FIRST_PROBE = 16


class WriteOnceBuffer(np.ndarray):
    """A byte buffer filled front to back whose bytes never change once handed out.

    :meth:`Das2Reader.feed` keeps read-only views of it instead of copying,
    and merges views that are adjacent in it.  Make one with
    :func:`write_once_buffer` (uninitialised memory: no zero-filling pass).
    """


def write_once_buffer(size: int) -> WriteOnceBuffer:
    """An uninitialised :class:`WriteOnceBuffer` of ``size`` bytes."""
    return np.empty(size, dtype=np.uint8).view(WriteOnceBuffer)


def write_once_view(size: int) -> memoryview:
    """A writable byte view of a new :func:`write_once_buffer` (``view.obj`` is the buffer)."""
    return write_once_buffer(size).data.cast("B")


def _adopt(chunk: bytes | bytearray | memoryview) -> Chunk:
    """``chunk`` itself when its bytes cannot change later, else an immutable copy."""
    if isinstance(chunk, bytes):
        return chunk
    if (isinstance(chunk, memoryview) and isinstance(chunk.obj, bytes | WriteOnceBuffer)
            and chunk.ndim == 1 and chunk.format == "B" and chunk.c_contiguous):
        return chunk.toreadonly()
    return bytes(chunk)


def _address(view: memoryview) -> int:
    """Address of the first byte of a non-empty buffer view."""
    return int(np.frombuffer(view, dtype=np.uint8).__array_interface__["data"][0])


def _merge_adjacent(first: Chunk, second: Chunk) -> memoryview | None:
    """One view over ``first`` then ``second`` when they lie back to back in one WriteOnceBuffer."""
    if not (isinstance(first, memoryview) and isinstance(second, memoryview)):
        return None
    owner = first.obj
    if not isinstance(owner, WriteOnceBuffer) or second.obj is not owner or not first or not second:
        return None
    base = int(owner.__array_interface__["data"][0])
    start = _address(first) - base
    if start + len(first) != _address(second) - base:
        return None
    return memoryview(owner).cast("B").toreadonly()[start:start + len(first) + len(second)]


@dataclass(slots=True)
class _Run:
    """Data packets gathered so far for the DataRun being built."""

    header: PacketHeader
    offset: int
    segments: list[memoryview] = field(default_factory=list)
    count: int = 0


def _packet_id(tag: bytes) -> int | None:
    """The id of a ``[NN]``/``:NN:`` tag, -1 for ``[xx]``, None when malformed."""
    digits = tag[1:3]
    if digits.isdigit():
        return int(digits)
    if tag[0:1] == b"[" and digits.lower() == b"xx":
        return -1
    return None


def _header_length(field_bytes: bytes) -> int | None:
    """The 6-character length (zero- or blank-padded); None when invalid."""
    text = field_bytes.strip()
    return int(text) if text.isdigit() else None


class Das2Reader:
    """Incremental das2 stream parser: ``feed(chunk)`` -> events, ``close()``."""

    def __init__(self, max_run_bytes: int = DEFAULT_MAX_RUN_BYTES) -> None:
        self.max_run_bytes = max_run_bytes
        self.stream: StreamHeader | None = None
        self.headers: dict[int, PacketHeader] = {}
        self._pending: Chunk = b""
        self._base = 0
        self._origin = 0
        self._run: _Run | None = None
        self._inflater: zlib._Decompress | None = None
        self._closed = False
        self._switching = False

    @property
    def offset(self) -> int:
        """Bytes of (decompressed) stream consumed so far."""
        return self._base

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Event]:
        """Parse more bytes; return the events completed by them."""
        if self._closed:
            raise StreamError("das2 reader fed after close()", self._base)
        events: list[Event] = []
        self._consume(_adopt(chunk), events)
        return events

    def close(self) -> list[Event]:
        """Signal end of input; raise StreamError if it ends inside a packet."""
        if self._closed:
            return []
        self._closed = True
        if self._inflater is not None and not self._inflater.eof:
            raise StreamError("deflate-compressed stream body is truncated", self._base + len(self._pending))
        if self._pending:
            raise StreamError(f"stream ends inside a packet ({len(self._pending)} bytes left)", self._base)
        if self.stream is None:
            raise StreamError("empty input: no das2 stream header", 0)
        events: list[Event] = []
        self._flush_run(events)
        return events

    # ------------------------------------------------------------- buffering

    def _consume(self, chunk: Chunk, events: list[Event]) -> None:
        """Parse ``chunk`` in place, after completing the pending partial packet."""
        inflating = self._inflater is not None
        if inflating:
            chunk = self._inflate(chunk)
        start = 0
        merged = _merge_adjacent(self._pending, chunk) if self._pending else None
        if merged is not None:
            self._pending = b""
            self._parse_buffer(merged, 0, events)
            return
        if self._pending:
            taken = self._complete_pending(chunk, events)
            if taken is None:
                return
            if not inflating and self._inflater is not None:  # the header said deflate
                self._consume(chunk[taken:], events)
                return
            start = taken
        self._parse_buffer(chunk, start, events)

    def _complete_pending(self, chunk: Chunk, events: list[Event]) -> int | None:
        """Join the pending bytes with just enough of ``chunk`` for one packet.

        Returns how much of ``chunk`` was used, or None when all of it was.
        """
        pending = self._pending
        needed = self._packet_length(pending)
        taken = len(chunk) if needed is None else min(len(chunk), needed - len(pending))
        self._pending = b""
        self._parse_buffer(b"".join((pending, chunk[:taken])), 0, events)
        return None if self._pending or taken == len(chunk) else taken

    def _packet_length(self, head: Chunk) -> int | None:
        """Total bytes of the packet ``head`` starts with, when already known."""
        head = bytes(head[:_HEADER_PREFIX])
        if head[:1] == b":" and len(head) >= 4:
            packet_id = _packet_id(head[:4])
            header = self.headers.get(packet_id) if packet_id is not None else None
            return header.dtype.itemsize if header is not None else None
        if head[:1] == b"[" and len(head) >= _HEADER_PREFIX:
            length = _header_length(head[4:_HEADER_PREFIX])
            return _HEADER_PREFIX + length if length else None
        return None

    def _parse_buffer(self, data: Chunk, start: int, events: list[Event]) -> None:
        """Parse ``data`` from ``start``; keep its unparsed tail as pending."""
        self._origin = self._base - start
        position = self._parse(data, start, events)
        self._base = self._origin + position
        self._pending = data[position:]
        if self._switching:
            self._switching = False
            compressed, self._pending = self._pending, b""
            self._consume(compressed, events)

    def _inflate(self, chunk: Chunk) -> bytes:
        inflater = self._inflater
        assert inflater is not None
        if inflater.eof:
            if chunk:
                raise StreamError("bytes after the end of the deflate-compressed body", self._base)
            return b""
        try:
            data = inflater.decompress(chunk)
        except zlib.error as exc:
            raise StreamError(f"corrupt deflate-compressed body: {exc}", self._base) from None
        if inflater.unused_data:
            raise StreamError("bytes after the end of the deflate-compressed body", self._base)
        return data

    # --------------------------------------------------------------- parsing

    def _parse(self, data: Chunk, position: int, events: list[Event]) -> int:
        """Parse whole packets of ``data`` from ``position``; return where the tail starts."""
        end = len(data)
        while position < end and not self._switching:
            first = data[position]
            if first == 0x3A and self.stream is not None:
                advanced = self._parse_data(data, position, events)
            elif first == 0x5B:
                advanced = self._parse_bracketed(data, position, events)
            else:
                self._reject_tag(data, position)
            if advanced is None:
                break
            position = advanced
        return position

    def _reject_tag(self, data: Chunk, position: int) -> NoReturn:
        head = bytes(data[position:position + 4])
        where = self._origin + position
        if self.stream is None and head[:1] in (b"<", b"{"):
            raise StreamError("not a das2 stream: an un-packetized document", where)
        if self.stream is None:
            raise StreamError(f"not a das2 stream: first packet must be [00], found {head!r}", where)
        raise StreamError(f"bad packet tag {head!r}", where)

    def _parse_bracketed(self, data: Chunk, position: int, events: list[Event]) -> int | None:
        """A ``[NN]``/``[xx]`` packet: tag, 6-character length, XML."""
        if len(data) - position < _HEADER_PREFIX:
            self._check_partial_tag(data, position)
            return None
        where = self._origin + position
        tag = bytes(data[position:position + 4])
        packet_id = _packet_id(tag) if tag[3:4] == b"]" else None
        if packet_id is None:
            raise StreamError(f"bad packet tag {tag!r}", where)
        if self.stream is None and packet_id != 0:
            raise StreamError(f"not a das2 stream: first packet must be [00], found {tag!r}", where)
        length = _header_length(bytes(data[position + 4:position + _HEADER_PREFIX]))
        if length is None:
            field_bytes = bytes(data[position + 4:position + _HEADER_PREFIX])
            raise StreamError(f"bad length field {field_bytes!r} after {tag!r}", where + 4)
        if length == 0:
            raise StreamError(f"zero-length packet {tag!r}", where)
        if length > MAX_PACKET_BYTES:
            raise StreamError(f"{tag!r} packet of {length} bytes exceeds the {MAX_PACKET_BYTES}-byte limit", where)
        stop = position + _HEADER_PREFIX + length
        if stop > len(data):
            return None
        self._flush_run(events)
        raw = bytes(data[position:stop])
        xml = raw[_HEADER_PREFIX:]
        if packet_id == 0:
            self._define_stream(raw, xml, where, events)
        elif packet_id > 0:
            self._define_packet(packet_id, raw, xml, where, events)
        else:
            self._out_of_band(raw, xml, where, events)
        return stop

    def _check_partial_tag(self, data: Chunk, position: int) -> None:
        """Reject a malformed tag early, before the whole packet has arrived."""
        tag = bytes(data[position:position + 4])
        if len(tag) == 4 and (tag[3:4] != b"]" or _packet_id(tag) is None):
            raise StreamError(f"bad packet tag {tag!r}", self._origin + position)

    def _define_stream(self, raw: bytes, xml: bytes, where: int, events: list[Event]) -> None:
        if self.stream is not None:
            raise StreamError("a second stream header [00]", where)
        header = parse_stream_header(xml, where + _HEADER_PREFIX)
        self.stream = header
        events.append(StreamStart(header.version, header, raw, where))
        if header.compression == "deflate":
            self._inflater = zlib.decompressobj()
            self._switching = True

    def _define_packet(self, packet_id: int, raw: bytes, xml: bytes, where: int, events: list[Event]) -> None:
        header = parse_packet_header(xml, packet_id, where + _HEADER_PREFIX)
        self.headers[packet_id] = header
        events.append(HeaderDefined(packet_id, header, raw, where))

    def _out_of_band(self, raw: bytes, xml: bytes, where: int, events: list[Event]) -> None:
        root = parse_xml(xml, where + _HEADER_PREFIX)
        if root.tag == "comment":
            value = root.attribute("value")
            if value is None:
                value = root.text.strip()
            events.append(
                Comment(root.attribute("type", "") or "", root.attribute("source", "") or "", value, raw, where)
            )
        elif root.tag == "exception":
            message = root.attribute("message")
            if message is None:
                message = root.text.strip()
            events.append(StreamException(root.attribute("type", "") or "", message, raw, where))

    # ----------------------------------------------------------------- data

    def _parse_data(self, data: Chunk, position: int, events: list[Event]) -> int | None:
        """A run of ``:NN:`` packets starting at ``position``."""
        where = self._origin + position
        if len(data) - position < 4:
            self._check_partial_data_tag(data, position)
            return None
        tag = bytes(data[position:position + 4])
        packet_id = _packet_id(tag) if tag[3:4] == b":" else None
        if packet_id is None or packet_id < 0:
            raise StreamError(f"bad packet tag {tag!r}", where)
        header = self.headers.get(packet_id)
        if header is None:
            raise StreamError(f"data packet {tag!r} has no packet header", where)
        run = self._run
        if run is not None and run.header is not header:
            self._flush_run(events)
            run = None
        if run is None:
            run = self._run = _Run(header, where)
        size = header.dtype.itemsize
        limit = max(1, self.max_run_bytes // size)
        available = min((len(data) - position) // size, limit - run.count)
        if available == 0:
            return None
        count = _count_run(data, position, size, tag, available)
        stop = position + count * size
        segment = memoryview(data)[position:stop]
        joined = _merge_adjacent(run.segments[-1], segment) if run.segments else None
        if joined is not None:
            run.segments[-1] = joined
        else:
            run.segments.append(segment)
        run.count += count
        if run.count >= limit or count < available:
            self._flush_run(events)
        return stop

    def _check_partial_data_tag(self, data: Chunk, position: int) -> None:
        digits = bytes(data[position + 1:position + 3])
        if digits and not digits.isdigit():
            raise StreamError(f"bad packet tag {bytes(data[position:position + 4])!r}", self._origin + position)

    def _flush_run(self, events: list[Event]) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        if run.count == 0:
            return
        # One segment is a view of an immutable chunk: no copy.  A run that
        # straddles chunks is joined, the one copy it needs to be contiguous.
        raw = run.segments[0] if len(run.segments) == 1 else b"".join(run.segments)
        records = decode_records(run.header, raw, run.count, run.offset)
        events.append(DataRun(run.header.packet_id, run.header, records, raw, run.offset))


def _count_run(data: Chunk, position: int, size: int, tag: bytes, available: int) -> int:
    """How many of the ``available`` fixed-size records from ``position`` carry ``tag``.

    Probes blocks of growing size so that a short run costs little and a long
    one is checked in a few vectorised comparisons.
    """
    if available == 1:
        return 1
    tags = np.ndarray((available,), dtype="<u4", buffer=data, offset=position, strides=(size,))
    wanted = np.frombuffer(tag, dtype="<u4")[0]
    checked, probe = 1, _FIRST_PROBE
    while checked < available:
        matches = tags[checked:checked + probe] == wanted
        if not matches.all():
            return checked + int(np.argmin(matches))
        checked += len(matches)
        probe *= 8
    return available


def decode_records(header: PacketHeader, raw: bytes | memoryview, count: int, offset: int = 0) -> np.ndarray:
    """Decode ``count`` wire records (tags included) into ``header.record_dtype`` rows.

    Binary packets give a read-only view of ``raw``; text values are parsed
    to float64 (times to us2000).  ``offset`` locates errors.
    """
    if header.is_binary:
        return np.frombuffer(raw, dtype=header.record_dtype, count=count)
    wire = np.frombuffer(raw, dtype=header.dtype, count=count)
    records = np.empty(count, dtype=header.record_dtype)
    for name, plane in zip(header.fields, header.planes, strict=True):
        kind = plane.encoding.kind
        if kind == "real":
            records[name] = wire[name]
        elif kind == "ascii":
            records[name] = decode_ascii(wire[name])
        else:
            records[name] = _decode_time_column(wire[name], header, offset)
    return records


def _decode_time_column(fields: np.ndarray, header: PacketHeader, offset: int) -> np.ndarray:
    try:
        return decode_times(fields)
    except TimeError:
        pass
    for row, value in enumerate(fields):
        try:
            decode_times(np.atleast_1d(value))
        except TimeError as exc:
            where = offset + row * header.dtype.itemsize
            raise StreamError(f"bad time in packet :{header.packet_id:02d}: {exc}", where) from None
    raise StreamError(f"bad time in packet :{header.packet_id:02d}:", offset)


def read_events(fileobj: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[Event]:
    """Read a das2 stream from a binary file object, yielding events."""
    reader = Das2Reader()
    while True:
        chunk = fileobj.read(chunk_size)
        if not chunk:
            break
        yield from reader.feed(chunk)
    yield from reader.close()


def read_all(data: bytes) -> list[Event]:
    """Parse a whole das2 stream held in memory."""
    reader = Das2Reader()
    events = reader.feed(data)
    events.extend(reader.close())
    return events
