"""HAPI ``/data``: check the request, run the source, encode its records as HAPI.

Times are normalised to nanosecond ISO strings before planning, so every
accepted time form gives the same bytes.  ``include=header`` prefixes the
``#``-commented info header; no data is HTTP 200 with ``HAPI 1201`` and an
empty body (or just the header); a failure after the first byte aborts the
connection, as HAPI asks.  The records are encoded with numpy
(:mod:`.hapi_encode`), imported only when a ``/data`` request runs, so that
the metadata endpoints (and a server's master process) never load numpy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dasflex_core import runner
from dasflex_core.auth import check_span
from dasflex_core.codecs import new_reader
from dasflex_core.dastime.hapi import HapiTime, parse_hapi_time
from dasflex_core.errors import NoDataError
from dasflex_core.http import (
    CORS_HEADERS,
    Request,
    Response,
    accepts_gzip,
    error_response,
    gzip_response,
    hapi_reason,
    hapi_status_document,
)
from dasflex_core.protocols import Server, max_request_days, plan_for
from dasflex_core.protocols.hapi_datasets import (
    OUTPUT_FORMATS,
    Dataset,
    Document,
    HapiError,
    dataset_query,
    dataset_source,
    definition_of,
    param,
    select_parameters,
    source_info,
)
from dasflex_core.requestlog import note_pipeline

if TYPE_CHECKING:
    from dasflex_core.protocols.hapi_encode import HapiEncoder
    from dasflex_core.runner import PipelineRun


@dataclass(frozen=True, slots=True)
class DataRequest:
    """A checked ``/data`` request."""

    source: Dataset
    info: Document
    parameters: list[Document]
    start: HapiTime
    stop: HapiTime
    format: str
    header: bool


def parse_data_request(server: Server, request: Request) -> DataRequest:
    """Check a ``/data`` request in the HAPI order and normalise it."""
    start_text = param(request, "start", "time.min")
    stop_text = param(request, "stop", "time.max")
    if start_text is None or stop_text is None:
        raise HapiError(1400, "both 'start' and 'stop' are required")
    output = request.query.get("format") or "csv"
    if output not in OUTPUT_FORMATS:
        raise HapiError(1409, f"format must be one of {', '.join(OUTPUT_FORMATS)}")
    include = request.query.get("include")
    if include not in (None, "", "header"):
        raise HapiError(1410, "include may only be 'header'")
    source = dataset_source(server, request, stop=_lenient_time(stop_text))
    info = source_info(server, request, source)
    parameters = select_parameters(info, request.query.get("parameters"))
    start, stop = _checked_times(info, start_text, stop_text)
    _check_size(server, start, stop)
    check_span(source.id, start.iso(), stop.iso(), max_request_days(server, definition_of(source)))
    return DataRequest(source, info, parameters, start, stop, output, include == "header")


def _lenient_time(text: str) -> str:
    """``text`` as a normalised time for access rules, or "" when it does not parse."""
    try:
        return parse_hapi_time(text).iso()
    except ValueError:
        return ""


def _checked_times(info: Mapping[str, object], start_text: str,
                   stop_text: str) -> tuple[HapiTime, HapiTime]:
    try:
        start = parse_hapi_time(start_text)
    except ValueError as exc:
        raise HapiError(1402, f"bad start time: {exc}") from None
    try:
        stop = parse_hapi_time(stop_text)
    except ValueError as exc:
        raise HapiError(1403, f"bad stop time: {exc}") from None
    if start >= stop:
        raise HapiError(1404, "start must be before stop")
    first, last = parse_hapi_time(str(info["startDate"])), parse_hapi_time(str(info["stopDate"]))
    if start < first or stop > last:
        raise HapiError(1405, f"this dataset has data from {info['startDate']} "
                              f"to {info['stopDate']}")
    return start, stop


def _check_size(server: Server, start: HapiTime, stop: HapiTime) -> None:
    days = server.settings.hapi_max_request_days
    if days and (stop.ns2000 - start.ns2000) > days * 86400e9:
        raise HapiError(1408, f"at most {days:g} days may be requested at once")


def answer_data(server: Server, request: Request) -> Response:
    """Stream ``/data``: the source's das2 output encoded by :class:`HapiEncoder`."""
    from dasflex_core.protocols.hapi_encode import HapiEncoder  # numpy

    wanted = parse_data_request(server, request)
    query = dataset_query(wanted.source, {"read.time.min": wanted.start.iso(),
                                          "read.time.max": wanted.stop.iso()})
    plan = plan_for(definition_of(wanted.source), query, "flex", server, request)
    headers = [("Content-Type", MIME_TYPES[wanted.format]), ("Cache-Control", "no-store"),
               *CORS_HEADERS]
    if request.is_head:
        return Response(200, headers, b"")

    names = [str(parameter["name"]) for parameter in wanted.parameters[1:]]
    encoder = HapiEncoder(names, wanted.format, wanted.start.us2000, wanted.stop.us2000)
    chunks: PipelineRun | None = None
    try:
        chunks = runner.run(plan, first_byte_timeout=server.settings.first_byte_timeout,
                            total_timeout=server.settings.total_timeout)
        note_pipeline(plan, chunks)
        records = _encoded(chunks, encoder)
        first = next(records, b"")
    except NoDataError:
        first = b""
    except Exception as error:
        _close(chunks)
        return error_response(error, "hapi")
    if not first:
        _close(chunks)
        return _no_data_answer(wanted, headers)
    body = _framed(wanted, first, records, chunks)
    response = Response(200, headers, body, close=lambda: _close(chunks))
    return gzip_response(response) if accepts_gzip(request) else response


MIME_TYPES = {"csv": "text/csv; charset=utf-8", "binary": "application/octet-stream",
              "json": "application/json"}


def _encoded(chunks: Iterable[bytes], encoder: HapiEncoder) -> Iterator[bytes]:
    """Non-empty encoded pieces of the das2 stream in ``chunks``."""
    reader = new_reader("das2")
    for chunk in chunks:
        piece = encoder.feed(reader.feed(chunk))
        if piece:
            yield piece
        if encoder.done:
            return
    piece = encoder.feed(reader.close())
    if piece:
        yield piece


def _framed(wanted: DataRequest, first: bytes, records: Iterator[bytes],
            chunks: PipelineRun | None) -> Iterator[bytes]:
    """Header (if asked), records, JSON framing; errors propagate (abort)."""
    try:
        if wanted.format == "json":
            yield json_head(header_document(wanted))
        elif wanted.header:
            yield commented_header(header_document(wanted))
        yield first
        yield from records
        if wanted.format == "json":
            from dasflex_core.protocols.hapi_encode import JSON_TAIL  # loaded with the encoder

            yield JSON_TAIL
    finally:
        _close(chunks)


def json_head(document: Mapping[str, object]) -> bytes:
    """A JSON document's text up to its ``"data": [`` (rows and tail follow)."""
    text = json.dumps(document, indent=1)
    return (text[: text.rfind("}")].rstrip() + ',\n "data": [').encode("utf-8")


def _close(chunks: PipelineRun | None) -> None:
    if chunks is not None:
        chunks.close()


def header_document(wanted: DataRequest, code: int = 1200) -> Document:
    """The info header of a data response (``format`` included)."""
    message = "OK" if code == 1200 else "OK - no data for time range"
    return {**hapi_status_document(code, message), **wanted.info,
            "parameters": wanted.parameters, "format": wanted.format}


def commented_header(document: Mapping[str, object]) -> bytes:
    """A JSON header with each line prefixed by ``#`` (``include=header``)."""
    lines = json.dumps(document, indent=1).splitlines()
    return "".join(f"#{line}\n" for line in lines).encode("utf-8")


def _no_data_answer(wanted: DataRequest, headers: list[tuple[str, str]]) -> Response:
    """HTTP 200 with ``HAPI 1201``: an empty body, or just the header."""
    reason = hapi_reason(200, 1201, "OK - no data for time range")
    if wanted.format == "json":
        document = {**header_document(wanted, 1201), "data": []}
        body = json.dumps(document, indent=1).encode("utf-8") + b"\n"
    elif wanted.header:
        body = commented_header(header_document(wanted, 1201))
    else:
        body = b""
    return Response(200, list(headers), body, reason=reason)
