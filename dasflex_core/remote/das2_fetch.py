"""Fetch a remote das2 or das3 source over a time range and pass its stream through.

A das2 server is asked ``?server=dataset&dataset=ID&start_time=&end_time=``
(plus ``params`` and ``interval`` when given); a das3 ``flex`` URL is asked
``read.time.min``, ``read.time.max`` and the stream format.  The body is cut
into whole packets (:class:`PacketFramer`) and passed on unchanged, so a
broken connection never leaves half a packet behind.

Nothing is written before the first data packet (headers and comments are
held), so every failure up to then still gets its own HTTP status:

* a stream holding only a ``NoDataInInterval`` (das3: ``NoMatchingData``)
  exception is passed on as it is: no data;
* any other exception before the data is a
  :class:`~dasflex_core.errors.RemoteError` quoting the remote's message,
  and so is an error status (4xx or 5xx);
* an exception after the data started means the remote failed mid-stream:
  it is not passed on, the fetch fails instead (the server then ends the
  stream as its output format allows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from dasflex_core import keys
from dasflex_core.codecs.das2 import parse_packet_header
from dasflex_core.codecs.das2_xml import parse_xml
from dasflex_core.errors import NO_DATA_TYPES, RemoteError, StreamError
from dasflex_core.remote.client import RemoteClient, RemoteResponse, with_query

_DAS2_HEADER = re.compile(rb"\[([0-9]{2}|xx|XX)\](\d{6})")
_DAS2_DATA = re.compile(rb":([0-9]{2}):")
_DAS3_PACKET = re.compile(rb"\|([A-Z][a-zA-Z])\|(\d*)\|(\d+)\|")
_COMPRESSED = re.compile(rb"""compression\s*=\s*["'](?!none)[^"']+["']""")
#: Longest header packet accepted from a remote.
MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """A remote das2 source (``kind`` das2: ``url`` is the server, ``dataset`` its id)
    or das3 ``flex`` URL (``kind`` das3), over ``[begin, end)``."""

    kind: str
    url: str
    begin: str
    end: str
    dataset: str = ""
    params: str = ""
    interval: str = ""
    stream: str = "das2"

    def data_url(self) -> str:
        """The URL that asks for the data."""
        if self.kind == "das2":
            query = {"server": "dataset", "dataset": self.dataset,
                     "start_time": self.begin, "end_time": self.end}
            if self.params:
                query["params"] = self.params
            if self.interval:
                query["interval"] = self.interval
            return with_query(self.url, query)
        query = {keys.READ_TIME_MIN: self.begin, keys.READ_TIME_MAX: self.end,
                 keys.FORMAT_TYPE: "das", keys.FORMAT_VERSION: "3" if self.stream == "das3" else "2",
                 keys.FORMAT_SERIAL: "binary"}
        if self.params:
            query[keys.READ_OPTS] = self.params
        if self.interval:
            query[keys.READ_TIME_INTERVAL] = self.interval
        return with_query(self.url, query)


@dataclass(frozen=True, slots=True)
class Packet:
    """One whole packet: ``kind`` is ``header``, ``data``, ``exception`` or ``other``;
    ``start`` is where its payload begins in ``raw``."""

    kind: str
    raw: bytes
    start: int = 0

    def exception(self) -> tuple[str, str] | None:
        """(type, message) of an exception packet; None when the payload is not one."""
        return exception_of(self.raw[self.start:])


def exception_of(xml: bytes) -> tuple[str, str] | None:
    """(type, message) of ``<exception type=... message=...>`` XML, else None."""
    try:
        root = parse_xml(xml.strip(b"\0 \t\r\n"))
    except StreamError:
        return None
    if root.tag != "exception":
        return None
    message = root.attribute("message")
    return root.attribute("type", "") or "", (message if message is not None else root.text).strip()


class PacketFramer:
    """Cuts a das2 or das3 stream into whole packets (data runs are kept together)."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self._buffer = bytearray()
        self._record_sizes: dict[bytes, int] = {}
        self.offset = 0

    def feed(self, data: bytes) -> Iterator[Packet]:
        """The packets completed by ``data``."""
        self._buffer += data
        position = 0
        while position < len(self._buffer):
            found = self._das2_packet(position) if self.stream == "das2" \
                else self._das3_packet(position)
            if found is None:
                break
            packet, position = found
            yield packet
        del self._buffer[:position]
        self.offset += position

    def finish(self) -> None:
        """StreamError-free end: ValueError when bytes of a packet are left over."""
        if self._buffer:
            raise ValueError(f"the stream ends inside a packet ({len(self._buffer)} bytes left)")

    def _das2_packet(self, position: int) -> tuple[Packet, int] | None:
        buffer = self._buffer
        if len(buffer) - position < 10 and buffer[position:position + 1] == b"[":
            return None
        header = _DAS2_HEADER.match(buffer, position)
        if header is not None:
            end = header.end() + int(header.group(2))
            if int(header.group(2)) > MAX_HEADER_BYTES:
                raise ValueError("a header packet is larger than 1 MiB")
            if end > len(buffer):
                return None
            raw = bytes(buffer[position:end])
            tag = header.group(1)
            if tag.lower() == b"xx":
                kind = "exception" if b"<exception" in raw else "other"
                return Packet(kind, raw, header.end() - position), end
            self._define(tag, raw[header.end() - position:])
            return Packet("header", raw), end
        if len(buffer) - position < 4:
            return None
        data = _DAS2_DATA.match(buffer, position)
        if data is None or data.group(1) not in self._record_sizes:
            raise ValueError(f"not a das2 packet at byte {self.offset + position}")
        stride = 4 + self._record_sizes[data.group(1)]
        count = _same_tag_run(buffer, position, stride)
        if not count:
            return None
        end = position + count * stride
        return Packet("data", bytes(buffer[position:end])), end

    def _define(self, tag: bytes, xml: bytes) -> None:
        if tag == b"00":
            if _COMPRESSED.search(xml):
                raise ValueError("it sent a compressed das2 stream")
            return
        try:
            header = parse_packet_header(xml, int(tag))
        except StreamError as error:
            raise ValueError(f"it sent a bad packet header ({error.reason})") from None
        self._record_sizes[tag] = header.record_size

    def _das3_packet(self, position: int) -> tuple[Packet, int] | None:
        match = _DAS3_PACKET.match(self._buffer, position)
        if match is None:
            if len(self._buffer) - position >= 32 or b"|" in self._buffer[position + 1:]:
                head = bytes(self._buffer[position:position + 24])
                if not _could_be_das3(head):
                    raise ValueError(f"not a das3 packet at byte {self.offset + position}")
            return None
        end = match.end() + int(match.group(3))
        if end > len(self._buffer):
            return None
        kind = {b"E": "exception", b"P": "data", b"S": "header", b"H": "header"}.get(
            match.group(1)[:1], "other")
        return Packet(kind, bytes(self._buffer[position:end]), match.end() - position), end


def _same_tag_run(buffer: bytearray, position: int, stride: int) -> int:
    """How many whole packets from ``position`` carry the first one's tag (one numpy pass)."""
    available = (len(buffer) - position) // stride
    if available <= 1:
        return available
    layout = np.dtype([("tag", "<u4"), ("rest", f"V{stride - 4}")]) if stride > 4 \
        else np.dtype([("tag", "<u4")])
    tags = np.frombuffer(buffer, dtype=layout, count=available, offset=position)["tag"]
    different = np.flatnonzero(tags != tags[0])
    count = int(different[0]) if different.size else available
    del tags  # release the view before the buffer is resized
    return count


def _could_be_das3(head: bytes) -> bool:
    """True while ``head`` may still grow into a das3 packet tag."""
    return re.fullmatch(rb"\|([A-Z]([a-zA-Z](\|(\d*(\|(\d*)?)?)?)?)?)?", head) is not None


def fetch_stream(request: StreamRequest, client: RemoteClient,
                 write: Callable[[bytes], object]) -> int:
    """Pass the remote's stream on to ``write``; return the data bytes passed."""
    with client.slot():
        response = client.get(request.data_url())
        if response.status != 200:
            raise _refusal(response, client)
        return _relay(response, request, client, write)


def _relay(response: RemoteResponse, request: StreamRequest, client: RemoteClient,
           write: Callable[[bytes], object]) -> int:
    framer = PacketFramer("das3" if request.kind == "das3" and request.stream == "das3" else "das2")
    held: list[bytes] = []
    started = False
    passed = 0
    try:
        for chunk in response.chunks():
            out: list[bytes] = []
            for packet in framer.feed(chunk):
                if packet.kind == "exception":
                    if out:  # what came before a failure is relayed first
                        write(b"".join(out))
                        out.clear()
                    _exception(packet, started, held, client)
                    continue
                if packet.kind == "data" and not started:
                    started = True
                    out.extend(held)
                    held.clear()
                (out if started else held).append(packet.raw)
                passed += len(packet.raw) if packet.kind == "data" else 0
            if out:
                write(b"".join(out))
        framer.finish()
    except ValueError as error:
        raise client.failure(f"sent a stream that is not {framer.stream}: {error}") from None
    if not started:
        write(b"".join(held))
    return passed


def _exception(packet: Packet, started: bool, held: list[bytes], client: RemoteClient) -> None:
    """Keep a "no data" exception before the data; any other exception is a failure."""
    kind, message = packet.exception() or ("ServerError", "")
    if kind in NO_DATA_TYPES:
        if not started:
            held.append(packet.raw)
        return
    said = f"{kind}: {' '.join(message.split())[:200]}" if message else kind
    if started:
        raise client.failure(f"broke off the stream ({said})")
    raise client.failure(f"refused the request ({said})")


def _refusal(response: RemoteResponse, client: RemoteClient) -> RemoteError:
    """The error for a non-200 answer, quoting the remote's exception message if it sent one."""
    try:
        body = response.read_all(1 << 20)
    except RemoteError:
        body = b""
    start = body.find(b"<exception")
    found = exception_of(body[start:]) if start >= 0 else None
    said = f"{found[0]}: {' '.join(found[1].split())[:200]}" if found else \
        f"HTTP {response.status} {response.reason}".strip()
    return client.failure(f"refused the request ({said})")

