"""das3 (das-basic-stream v3.0) stream codec: incremental reader and writer.

Reading::

    reader = Das3Reader()
    for chunk in chunks:
        for event in reader.feed(chunk):
            ...            # StreamStart, HeaderDefined, DataRun, Comment, StreamException
    events = reader.close()

Every packet is ``|TYPE|ID|LENGTH|`` plus LENGTH bytes.  ``StreamStart.header``
is a :class:`StreamHeader3`; ``HeaderDefined.header`` a :class:`Dataset` (or a
das2 :class:`~.das2.PacketHeader` for a das2 ``<packet>`` in das3 framing).

``DataRun.records`` of a dataset whose packets all have the same size is a
numpy structured array, one row per packet and one field per ``<packet>``
variable named ``<dimension>:<role>`` (see :func:`packet_fields` for dtypes
and units); binary-only records are read-only views of the input.  Datasets
with ragged or variable-width items give a list with one dict per packet
(see :mod:`.das3_packet`).  das2 headers give das2 records (fields ``x0``,
``y1``... as in :mod:`.das2`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import StreamError
from ..xmltext import parse_root
from .das2 import parse_packet_header
from .das2_text import decode_ascii, decode_times
from .das3_encode import encode_records
from .das3_fields import PacketField, decode_text, packet_fields, record_dtype, value_dtype
from .das3_model import (
    Dataset,
    Dimension,
    PacketItems,
    Property3,
    Sequence,
    StreamHeader3,
    Values,
    Variable,
    parse_dataset,
    parse_stream_header,
)
from .das3_packet import decode_packets
from .das3_xml import dataset_xml, stream_header_xml
from .events import Comment, DataRun, Event, HeaderDefined, StreamException, StreamStart
from .packets import das3_comment as encode_comment
from .packets import das3_exception as encode_exception
from .packets import das3_packet as encode_packet

__all__ = [
    "Das3Reader",
    "Das3Writer",
    "Dataset",
    "Dimension",
    "PacketField",
    "PacketItems",
    "Property3",
    "Sequence",
    "StreamHeader3",
    "Values",
    "Variable",
    "dataset_xml",
    "encode_comment",
    "encode_exception",
    "encode_header",
    "encode_packet",
    "encode_records",
    "packet_fields",
    "parse_dataset",
    "parse_stream_header",
    "read_all",
    "stream_header_xml",
]

_FRAME = re.compile(rb"\|([A-Za-z]{2})\|(\d{0,10})\|(\d{1,9})\|")
_MAX_FRAME_PREFIX = 26
_SUPPORTED = (b"Sx", b"Hx", b"Pd", b"Cx", b"Ex")


@dataclass(frozen=True, slots=True)
class _Definition:
    """What the reader knows about one packet id."""

    header: Any
    fields: list[PacketField] | None
    wire: np.dtype | None
    decode: Callable[[np.ndarray], np.ndarray] | None


@dataclass(frozen=True, slots=True)
class _Frame:
    kind: bytes
    packet_id: int
    length: int
    prefix: int


class Das3Reader:
    """Incremental das3 stream reader: ``feed`` bytes, get events."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offset = 0
        self._started = False
        self._definitions: dict[int, _Definition] = {}
        self._framings: dict[tuple[int, int], tuple[np.dtype, np.dtype]] = {}
        self._error: StreamError | None = None

    @property
    def headers(self) -> dict[int, Any]:
        """The current header of every defined packet id."""
        return {pid: definition.header for pid, definition in self._definitions.items()}

    def feed(self, chunk: bytes) -> list[Event]:
        """Add bytes; return the events of every packet now complete.

        When a packet is invalid, the events before it are returned first and
        the :class:`StreamError` is raised by the next ``feed``/``close``.
        """
        self._raise_pending()
        self._buffer += chunk
        return self._parse()

    def close(self) -> list[Event]:
        """End of input: return the last events; raise if a packet is partial."""
        self._raise_pending()
        events = self._parse()
        self._raise_pending()
        if self._buffer:
            raise StreamError(f"stream ends inside a packet ({len(self._buffer)} bytes left)",
                              self._offset)
        if not self._started:
            raise StreamError("empty stream: no |Sx| stream header", self._offset)
        return events

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _parse(self) -> list[Event]:
        events: list[Event] = []
        pos = 0
        try:
            while pos < len(self._buffer):
                frame = self._frame_at(pos)
                if frame is None or pos + frame.prefix + frame.length > len(self._buffer):
                    break
                event, pos = self._packet(frame, pos)
                events.append(event)
        except StreamError as exc:
            if not events:
                raise
            self._error = exc
        finally:
            del self._buffer[:pos]
            self._offset += pos
        return events

    def _frame_at(self, pos: int) -> _Frame | None:
        buffer = self._buffer
        match = _FRAME.match(buffer, pos)
        if match is None:
            head = bytes(buffer[pos:pos + _MAX_FRAME_PREFIX])
            if len(head) >= _MAX_FRAME_PREFIX or not _could_be_frame(head):
                raise StreamError(f"invalid das3 packet framing {_show(head)}",
                                  self._offset + pos)
            return None
        kind = match.group(1)
        if kind not in _SUPPORTED:
            raise StreamError(f"das3 packets of type {kind.decode()!r} are not supported "
                              "(only Sx, Hx, Pd, Cx, Ex)", self._offset + pos)
        return _Frame(kind, int(match.group(2) or 0), int(match.group(3)), match.end() - pos)

    def _packet(self, frame: _Frame, pos: int) -> tuple[Event, int]:
        offset = self._offset + pos
        if not self._started and frame.kind != b"Sx":
            raise StreamError("a das3 stream must start with a |Sx| stream header", offset)
        if frame.kind == b"Pd":
            return self._data_run(frame, pos)
        end = pos + frame.prefix + frame.length
        raw = bytes(self._buffer[pos:end])
        payload = raw[frame.prefix:]
        if frame.kind == b"Sx":
            return self._stream_start(frame, raw, payload, offset), end
        if frame.kind == b"Hx":
            return self._header(frame, raw, payload, offset), end
        return _out_of_band(frame.kind, raw, payload, offset), end

    def _stream_start(self, frame: _Frame, raw: bytes, payload: bytes,
                      offset: int) -> StreamStart:
        if self._started:
            raise StreamError("a second |Sx| stream header", offset)
        if frame.packet_id != 0:
            raise StreamError("the stream header must have id 0 or an empty id", offset)
        header = parse_stream_header(payload, offset + frame.prefix)
        self._started = True
        return StreamStart(header.version, header, raw, offset)

    def _header(self, frame: _Frame, raw: bytes, payload: bytes, offset: int) -> HeaderDefined:
        if frame.packet_id == 0:
            raise StreamError("packet id 0 is reserved for the stream header", offset)
        where = offset + frame.prefix
        if payload.lstrip()[:7] == b"<packet":
            definition = _das2_definition(payload, frame.packet_id, where)
        else:
            definition = _das3_definition(parse_dataset(payload, where), where)
        self._definitions[frame.packet_id] = definition
        self._framings = {key: value for key, value in self._framings.items()
                          if key[0] != frame.packet_id}
        return HeaderDefined(frame.packet_id, definition.header, raw, offset)

    def _data_run(self, frame: _Frame, pos: int) -> tuple[DataRun, int]:
        definition = self._definitions.get(frame.packet_id)
        offset = self._offset + pos
        if definition is None:
            raise StreamError(f"data packet for undefined id {frame.packet_id}", offset)
        if definition.wire is not None:
            return self._fixed_run(frame, pos, definition)
        assert definition.fields is not None
        payloads: list[bytes] = []
        offsets: list[int] = []
        start = pos
        while True:
            end = pos + frame.prefix + frame.length
            payloads.append(bytes(self._buffer[pos + frame.prefix:end]))
            offsets.append(self._offset + pos)
            pos = end
            frame_next = self._next_data_frame(pos, frame.packet_id)
            if frame_next is None:
                break
            frame = frame_next
        raw = bytes(self._buffer[start:pos])
        records = decode_packets(definition.fields, payloads, offsets)
        return DataRun(frame.packet_id, definition.header, records, raw, offset), pos

    def _next_data_frame(self, pos: int, packet_id: int) -> _Frame | None:
        if pos >= len(self._buffer) or self._buffer[pos:pos + 4] != b"|Pd|":
            return None
        frame = self._frame_at(pos)
        if frame is None or frame.packet_id != packet_id:
            return None
        if pos + frame.prefix + frame.length > len(self._buffer):
            return None
        return frame

    def _fixed_run(self, frame: _Frame, pos: int, definition: _Definition) -> tuple[DataRun, int]:
        wire = definition.wire
        assert wire is not None and definition.decode is not None
        if frame.length != wire.itemsize:
            raise StreamError(f"data packet of {frame.length} bytes for id {frame.packet_id}, "
                              f"whose records are {wire.itemsize} bytes", self._offset + pos)
        stride = frame.prefix + frame.length
        framed, heads = self._framed_dtypes(frame.packet_id, frame.prefix, wire)
        count = _count_same_prefix(self._buffer, pos, heads)
        with memoryview(self._buffer) as view:
            raw = bytes(view[pos:pos + count * stride])
        records = definition.decode(np.frombuffer(raw, dtype=framed))
        run = DataRun(frame.packet_id, definition.header, records, raw, self._offset + pos)
        return run, pos + count * stride


    def _framed_dtypes(self, packet_id: int, prefix: int,
                       wire: np.dtype) -> tuple[np.dtype, np.dtype]:
        """Record dtype with the framing skipped, and the framing-check dtype."""
        key = (packet_id, prefix)
        if key not in self._framings:
            stride = prefix + wire.itemsize
            framed = shifted_dtype(wire, prefix, stride)
            self._framings[key] = (framed, _prefix_dtype(prefix, stride))
        return self._framings[key]


def _count_same_prefix(buffer: bytearray, pos: int, heads: np.dtype) -> int:
    """How many complete packets from ``pos`` share the first packet's framing.

    The framing bytes of every packet are viewed as a few unsigned integer
    columns (8, 4, 2, 1 bytes wide) and compared with the first packet's in
    one vectorised pass.
    """
    available = (len(buffer) - pos) // heads.itemsize
    if available <= 1:
        return 1
    rows = np.frombuffer(buffer, dtype=heads, count=available, offset=pos)
    same = np.ones(available, dtype=bool)
    for name in rows.dtype.names or ():
        column = rows[name]
        same &= column == column[0]
    count = available if same.all() else int(np.argmin(same))
    del rows, column
    return count


def shifted_dtype(dtype: np.dtype, shift: int, itemsize: int, skip: str = "") -> np.dtype:
    """``dtype`` with every field moved by ``shift`` bytes in records of ``itemsize``."""
    fields: Any = dtype.fields or {}
    names = [name for name in dtype.names or () if name != skip]
    spec: dict[str, Any] = {
        "names": names,
        "formats": [fields[name][0] for name in names],
        "offsets": [fields[name][1] + shift for name in names],
        "itemsize": itemsize,
    }
    return np.dtype(spec)  # type: ignore[call-overload]


def _prefix_dtype(prefix: int, stride: int) -> np.dtype:
    names: list[str] = []
    formats: list[str] = []
    offsets: list[int] = []
    start = 0
    for width in (8, 4, 2, 1):
        while prefix - start >= width:
            names.append(f"p{start}")
            formats.append(f"<u{width}")
            offsets.append(start)
            start += width
    spec: dict[str, Any] = {"names": names, "formats": formats, "offsets": offsets,
                            "itemsize": stride}
    return np.dtype(spec)  # type: ignore[call-overload]


def _could_be_frame(head: bytes) -> bool:
    """True if ``head`` may still grow into a valid ``|XX|ID|LEN|`` prefix."""
    return re.fullmatch(rb"(\|([A-Za-z]{0,2}(\|(\d{0,10}(\|\d{0,9})?)?)?)?)?", head) is not None


def _show(head: bytes) -> str:
    if head.startswith(b"[00]"):
        return "(this is a das2 stream, not das3)"
    if head.lstrip().startswith(b"<"):
        return "(un-packetized das3 documents are not supported)"
    return repr(head[:16])


def _das3_definition(dataset: Dataset, offset: int) -> _Definition:
    fields = packet_fields(dataset)
    _check_delimiters(fields, offset)
    wire = record_dtype(fields)
    if wire is None:
        return _Definition(dataset, fields, None, None)
    decoded = value_dtype(fields)
    needs_copy = any(field.items.is_text for field in fields)

    def decode(records: np.ndarray) -> np.ndarray:
        if not needs_copy:
            return records
        out = np.empty(len(records), dtype=decoded)
        for field in fields:
            out[field.key] = _decode_column(field, records[field.key])
        return out

    return _Definition(dataset, fields, wire, decode)


def _check_delimiters(fields: list[PacketField], offset: int) -> None:
    """Refuse variable-width text runs that nothing could delimit (as das2C does).

    Such items have no count tags; each ragged (``*``) level needs an
    ``idxTerm``, except a single level of the packet's last variable (which
    ends at the packet end).
    """
    for number, field in enumerate(fields):
        if field.items.item_bytes is not None or not field.levels:
            continue
        ragged = [level for level in field.levels if level.extent is None]
        last_single = number == len(fields) - 1 and len(field.levels) == 1
        missing = [level.letter for level in ragged if level.terminator is None]
        if missing and not last_single:
            raise StreamError(f"variable-width items of {field.key} have no idxTerm for "
                              f"index {', '.join(missing)}: the runs cannot be delimited",
                              offset)


def _decode_column(field: PacketField, column: np.ndarray) -> np.ndarray:
    if field.items.encoding == "utf8":
        return decode_text(field, column)
    if field.items.is_text:
        raw = [bytes(item) for item in column.ravel()]
        if field.items.encoding == "base64":
            raw = [base64.b64decode(item) for item in raw]
        return np.array(raw + [None], dtype=object)[:-1].reshape(column.shape)
    return column


def _das2_definition(payload: bytes, packet_id: int, offset: int) -> _Definition:
    header = parse_packet_header(payload, packet_id, offset)
    tagged = header.dtype
    wire = shifted_dtype(tagged, -4, header.record_size, skip="tag")

    def decode(records: np.ndarray) -> np.ndarray:
        if header.is_binary:
            return records
        out = np.empty(len(records), dtype=header.record_dtype)
        for plane, name in zip(header.planes, header.fields, strict=True):
            kind = plane.encoding.kind
            column = records[name]
            out[name] = (decode_times(column) if kind == "time"
                         else decode_ascii(column) if kind == "ascii" else column)
        return out

    return _Definition(header, None, wire, decode)


def _out_of_band(kind: bytes, raw: bytes, payload: bytes, offset: int) -> Event:
    tag = "comment" if kind == b"Cx" else "exception"
    try:
        root = parse_root(payload)
    except ValueError as exc:
        raise StreamError(f"invalid XML in a |{kind.decode()}| packet: {exc}", offset) from None
    if root.tag != tag:
        raise StreamError(f"expected <{tag}> in a |{kind.decode()}| packet, found <{root.tag}>",
                          offset)
    text = root.text if root.text is not None else root.get("message", root.get("value", ""))
    if tag == "comment":
        return Comment(root.get("type", ""), root.get("source", ""), text, raw, offset)
    return StreamException(root.get("type", ""), text, raw, offset)


def read_all(data: bytes, chunk_size: int | None = None) -> list[Event]:
    """Read a whole das3 stream held in memory (optionally in chunks)."""
    reader = Das3Reader()
    events: list[Event] = []
    step = chunk_size or max(len(data), 1)
    for start in range(0, len(data), step):
        events += reader.feed(data[start:start + step])
    return events + reader.close()


# --------------------------------------------------------------------------
# Writing


def encode_header(packet_id: int, payload: bytes) -> bytes:
    """An ``|Hx|`` packet; das2C writes header ids as ``%02d``."""
    return b"|Hx|%02d|%d|" % (packet_id, len(payload)) + payload


class Das3Writer:
    """Writes a das3 stream through ``write``: events, headers, records."""

    def __init__(self, write: Callable[[bytes], Any]) -> None:
        self._write = write
        self._datasets: dict[int, Dataset] = {}

    def write_event(self, event: Event) -> None:
        """Pass an event read from a das3 stream through unchanged."""
        if isinstance(event, HeaderDefined) and isinstance(event.header, Dataset):
            self._datasets[event.packet_id] = event.header
        self._write(bytes(event.raw))

    def write_stream_header(self, header: StreamHeader3) -> None:
        """Write the ``|Sx|`` stream header."""
        self._write(encode_packet("Sx", None, stream_header_xml(header)))

    def write_dataset(self, packet_id: int, dataset: Dataset) -> None:
        """Write (or redefine) the ``|Hx|`` header of ``packet_id``."""
        if not 1 <= packet_id:
            raise StreamError(f"das3 dataset ids start at 1, not {packet_id}")
        self._datasets[packet_id] = dataset
        self._write(encode_header(packet_id, dataset_xml(dataset)))

    def write_records(self, packet_id: int, records: np.ndarray | list[dict[str, Any]]) -> None:
        """Write decoded records (a structured array or per-packet dicts)."""
        dataset = self._datasets.get(packet_id)
        if dataset is None:
            raise StreamError(f"records for undefined das3 dataset id {packet_id}")
        self._write(encode_records(packet_id, dataset, records))

    def write_comment(self, type: str, source: str, text: str) -> None:  # noqa: A002
        """Write a ``|Cx|`` comment."""
        self._write(encode_comment(type, source, text))

    def write_exception(self, type: str, message: str) -> None:  # noqa: A002
        """Write an ``|Ex|`` exception."""
        self._write(encode_exception(type, message))

    def write_all(self, events: Iterable[Event]) -> None:
        """Pass several events through."""
        for event in events:
            self.write_event(event)


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Events of a das3 stream given as chunks of bytes."""
    reader = Das3Reader()
    for chunk in chunks:
        yield from reader.feed(chunk)
    yield from reader.close()
