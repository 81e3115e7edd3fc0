"""Fetch a remote HAPI dataset over a time range and write it as a das2 stream.

Each range asks ``/data`` once with ``include=header``, so the header that
describes the records comes with them (one request per range, no separate
``/info``).  Request names are the HAPI 2 ones (``id``, ``time.min``,
``time.max``), which every 2.x and 3.x server accepts.  ``format=binary`` is
asked unless the definition says ``csv``; a server answering 1409 (format not
supported) is asked again for CSV.

Ranges longer than the dataset's ``maxRequestDuration`` are split into
consecutive ranges (known from the definition, else learnt from ``/info``
after a 1408).  A 1405 (outside the dataset's range) makes the fetch read
``/info`` once, clip the range to ``startDate``-``stopDate`` and go on.

Nothing is written before the first records arrive, so that every failure up
to then still gets its own HTTP status: 1201 (no data) is a das2
``NoDataInInterval`` exception, 1405 an
:class:`~dasflex_core.errors.OutOfRangeError`, 1408 a
:class:`~dasflex_core.errors.TooLargeError`, 1407 or 1411 (parameters
refused) a :class:`~dasflex_core.errors.ParameterError` when the client chose
them (reader options), anything else a
:class:`~dasflex_core.errors.RemoteError` naming the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dasflex_core.codecs.das2 import encode_exception, encode_header_packet
from dasflex_core.errors import (
    DasFlexError,
    NoDataError,
    OutOfRangeError,
    ParameterError,
    TooLargeError,
)
from dasflex_core.remote.client import RemoteClient, RemoteResponse, with_query
from dasflex_core.remote.hapi_columns import ContentError, columns_of
from dasflex_core.remote.hapi_das2 import RecordConverter, stream_header
from dasflex_core.remote.times import duration_seconds, hapi_time, parse_ns2000, split_range

#: HAPI status codes that mean "no data" rather than a failure.
NO_DATA_CODES = (1201,)
#: HAPI status codes refusing the parameters asked: unknown (1407), repeated or out of order (1411).
PARAMETER_CODES = (1407, 1411)
#: Largest header (the ``#`` lines) read before the records start.
MAX_HEADER_BYTES = 16 << 20
#: Content types that are never HAPI records (a web page instead of data).
_NOT_DATA = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})


@dataclass(frozen=True, slots=True)
class HapiRequest:
    """What to fetch: a dataset of a HAPI server over ``[begin, end)``."""

    server: str
    dataset: str
    begin: str
    end: str
    parameters: tuple[str, ...] = ()
    format: str = "binary"
    max_duration: str = ""
    #: True when the client chose ``parameters`` (reader options), not the definition.
    client_parameters: bool = False


@dataclass
class _Progress:
    """What the fetch has learnt and written so far."""

    converter: RecordConverter | None = None
    header_info: Mapping[str, Any] | None = None
    started: bool = False
    records: int = 0
    dataset_range: tuple[int, int] | None = None
    longest: float | None = None
    format: str = "binary"


class HapiStatusError(Exception):
    """A HAPI status answer (an error document, or 1201)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def fetch_hapi(request: HapiRequest, client: RemoteClient, write: Callable[[bytes], object]) -> int:
    """Write ``request``'s data as a das2 stream to ``write``; return the record count."""
    progress = _Progress(longest=duration_seconds(request.max_duration)
                         if request.max_duration else None, format=request.format)
    begin, end = parse_ns2000(request.begin), parse_ns2000(request.end)
    with client.slot():
        _fetch_ranges(request, client, write, progress, begin, end)
    if not progress.started:
        info = progress.header_info or {}
        write(_stream_start(info, request.dataset))
        write(encode_exception(NoDataError.das2_type, f"No data in the interval {request.begin} "
                               f"to {request.end} at the remote HAPI server {client.remote}"))
    return progress.records


def _fetch_ranges(request: HapiRequest, client: RemoteClient, write: Callable[[bytes], object],
                  progress: _Progress, begin: int, end: int) -> None:
    """Fetch ``[begin, end)`` range by range, re-planning after a 1405 or 1408."""
    pending = split_range(begin, end, progress.longest)
    learnt = False
    while pending:
        start, stop = pending.pop(0)
        try:
            _fetch_range(request, client, write, progress, start, stop)
        except HapiStatusError as status:
            if learnt or status.code not in (1405, 1408):
                raise _mapped(status, request, client) from None
            learnt = True
            _learn_limits(request, client, progress)
            pending = _replanned(start, end, progress)


def _replanned(start: int, end: int, progress: _Progress) -> list[tuple[int, int]]:
    """The ranges left after learning the dataset's range and longest request."""
    if progress.dataset_range is not None:
        first, last = progress.dataset_range
        start, end = max(start, first), min(end, last)
    return split_range(start, end, progress.longest)


def _learn_limits(request: HapiRequest, client: RemoteClient, progress: _Progress) -> None:
    """Read ``/info`` for the dataset's time range and ``maxRequestDuration``."""
    info = _info(request, client)
    try:
        progress.dataset_range = (parse_ns2000(str(info["startDate"])),
                                  parse_ns2000(str(info["stopDate"])))
    except (KeyError, DasFlexError):
        progress.dataset_range = None
    longest = info.get("maxRequestDuration")
    if isinstance(longest, str):
        progress.longest = duration_seconds(longest) or progress.longest


def _info(request: HapiRequest, client: RemoteClient) -> Mapping[str, Any]:
    query = {"id": request.dataset}
    if request.parameters:
        query["parameters"] = ",".join(request.parameters)
    response = client.get(with_query(f"{request.server}/info", query))
    if response.status != 200:
        raise _mapped(_status_of(response), request, client)
    document = response.json()
    if not isinstance(document, dict):
        raise client.failure("sent an info document that is not a JSON object")
    return document


def _data_url(request: HapiRequest, start: int, stop: int, output: str) -> str:
    query = {"id": request.dataset, "time.min": hapi_time(start), "time.max": hapi_time(stop)}
    if request.parameters:
        query["parameters"] = ",".join(request.parameters)
    query["format"] = output
    query["include"] = "header"
    return with_query(f"{request.server}/data", query)


def _fetch_range(request: HapiRequest, client: RemoteClient, write: Callable[[bytes], object],
                 progress: _Progress, start: int, stop: int) -> None:
    response = client.get(_data_url(request, start, stop, progress.format))
    if _is_status(response):
        status = _status_of(response)
        if status.code == 1409 and progress.format == "binary":
            progress.format = "csv"
            _fetch_range(request, client, write, progress, start, stop)
            return
        if status.code in NO_DATA_CODES:
            return
        raise status
    if "hapi 1201" in response.reason.lower():
        response.read_all()
        return
    if response.content_type in _NOT_DATA:
        response.discard()
        raise client.failure(f"sent {response.content_type} instead of HAPI data")
    try:
        _relay(response, progress.format, request, client, write, progress)
    except ContentError as error:
        raise client.failure(f"sent data that do not fit its header: {error}") from None


def _relay(response: RemoteResponse, output: str, request: HapiRequest, client: RemoteClient,
           write: Callable[[bytes], object], progress: _Progress) -> None:
    """Convert one ``/data`` body (header lines, then records) to das2 packets as it arrives."""
    chunks = response.chunks()
    info, rest = _read_header(chunks, client)
    if info is None:  # the server ignored include=header: ask /info on a second connection
        with client.sibling() as other:
            info = dict(_info(request, other))
    status = info.get("status")
    if isinstance(status, Mapping) and status.get("code") in NO_DATA_CODES and not rest:
        for _ in chunks:
            pass
        progress.header_info = progress.header_info or info
        return
    converter = _converter_for(info, progress)
    convert = converter.binary if output == "binary" else converter.csv
    for data in _prepend(rest, chunks):
        packets = convert(data)
        if packets:
            _write_packets(packets, info, request, write, progress)
    if output == "binary":
        converter.check_finished()
    else:
        tail = converter.csv(b"", final=True)
        if tail:
            _write_packets(tail, info, request, write, progress)


def _write_packets(packets: bytes, info: Mapping[str, Any], request: HapiRequest,
                   write: Callable[[bytes], object], progress: _Progress) -> None:
    converter = progress.converter
    assert converter is not None
    if not progress.started:
        write(_stream_start(info, request.dataset) + converter.header_packets())
        progress.started = True
    progress.records += len(packets) // converter.packets_dtype.itemsize
    write(packets)


def _converter_for(info: Mapping[str, Any], progress: _Progress) -> RecordConverter:
    """The converter of this header: the one in use when the layout is the same."""
    converter = RecordConverter(columns_of(info))
    previous = progress.converter
    if previous is not None:
        if not previous.same_layout(converter):
            raise ContentError("its header changed between two time ranges")
        return previous
    progress.converter = converter
    progress.header_info = info
    return converter


def _stream_start(info: Mapping[str, Any], dataset: str) -> bytes:
    header = stream_header(info, dataset) if info else None
    xml = header.xml_bytes() if header is not None else b'<stream version="2.2">\n</stream>\n'
    return encode_header_packet(0, xml)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _read_header(chunks: Iterator[bytes], client: RemoteClient) -> tuple[dict[str, Any] | None, bytes]:
    """The ``#`` header lines as JSON (None when the body has none) and the bytes after them."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        end = _header_end(buffer)
        if end is not None:
            break
        if len(buffer) > MAX_HEADER_BYTES:
            raise client.failure("sent a header larger than 16 MiB")
    end = _header_end(buffer, final=True)
    assert end is not None
    if end == 0:
        return None, buffer
    lines = buffer[:end].decode("utf-8", "replace").splitlines()
    text = "\n".join(line[1:] if line.startswith("#") else line for line in lines)
    try:
        document = json.loads(text)
    except ValueError:
        raise client.failure("sent a data header that is not JSON") from None
    if not isinstance(document, dict):
        raise client.failure("sent a data header that is not a JSON object")
    return document, buffer[end:]


def _header_end(buffer: bytes, final: bool = False) -> int | None:
    """Where the ``#`` lines end in ``buffer`` (None: not known yet)."""
    position = 0
    while position < len(buffer):
        if buffer[position:position + 1] != b"#":
            return position
        newline = buffer.find(b"\n", position)
        if newline < 0:
            return len(buffer) if final else None
        position = newline + 1
    return position if final else None


def _is_status(response: RemoteResponse) -> bool:
    """True for an error status, or a JSON status document instead of data."""
    return response.status != 200 or response.content_type in ("application/json", "text/json")


def _status_of(response: RemoteResponse) -> HapiStatusError:
    """The HAPI status of a JSON answer (or of the HTTP status when there is none)."""
    body = response.read_all()
    code, message = 0, ""
    try:
        document = json.loads(body.decode("utf-8", "replace")) if body.strip() else {}
        status = document.get("status", {}) if isinstance(document, dict) else {}
        code = int(status.get("code", 0))
        message = str(status.get("message", ""))
    except (ValueError, AttributeError, TypeError):
        pass
    if not code:
        reason = response.reason.lower()
        code = 1201 if "hapi 1201" in reason else 1500 if response.status >= 500 \
            else 1200 if response.status == 200 else 1400
        message = f"HTTP {response.status} {response.reason}".strip()
    return HapiStatusError(code, message)


def _mapped(status: HapiStatusError, request: HapiRequest, client: RemoteClient) -> DasFlexError:
    """The local error for a remote HAPI status.

    A parameter refused (1407 unknown, 1411 repeated or out of order) is the
    client's mistake (400) when the client chose the parameters, else the
    definition's (a remote failure, 502).
    """
    message = " ".join(status.message.split())[:200]
    said = f" ({status.code} {message})" if message else f" ({status.code})"
    if status.code in PARAMETER_CODES and request.client_parameters:
        return ParameterError(f"The remote HAPI server {client.remote} refuses the parameters "
                              f"{','.join(request.parameters)}{said}")
    if status.code == 1405:
        return OutOfRangeError(f"The time range lies outside the data of the remote HAPI "
                               f"server {client.remote}{said}")
    if status.code == 1408:
        return TooLargeError(f"The remote HAPI server {client.remote} refuses a time range "
                             f"this long{said}; ask for a shorter one")
    if status.code == 1406:
        return client.failure(f"does not know this dataset{said}")
    if status.code == 1200:
        return client.failure("answered without data or a status")
    return client.failure(f"refused the request{said}")


def hapi_parameters(value: str) -> tuple[str, ...]:
    """Comma-separated parameter names as a tuple (blank names dropped)."""
    return tuple(name.strip() for name in value.split(",") if name.strip())

