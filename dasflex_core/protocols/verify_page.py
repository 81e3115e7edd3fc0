"""``/verify``: check a das2 or das3 stream and answer an HTML validation report.

The stream is an uploaded file (``POST``, ``multipart/form-data`` field
``file`` or a raw body, at most :data:`MAX_UPLOAD_BYTES`) or a URL of this
server's own data.  A URL is never fetched over the network: its host must be
this server's and its path is answered in-process by the route table, so no
other host can be reached through the page (the route table's ``dispatch``
is passed in as ``answer``, so this page never imports the table that routes
to it).  The report gives the version, the packets and their record counts,
the first and last time, and the first error with its byte offset.

This is the web page; ``dasflex verify`` (:mod:`dasflex_core.verify`) checks
a whole server from the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from dasflex_core.codecs.summary import EventReader, StreamSummary, start_summary
from dasflex_core.errors import DasFlexError, QueryError, StreamError
from dasflex_core.http import (
    MIME_HTML,
    Request,
    Response,
    error_response,
    iterate_body,
    parse_query,
    text_response,
)
from dasflex_core.protocols import Server, printable
from dasflex_core.protocols.html import page

if TYPE_CHECKING:
    pass

#: How a URL of this server is answered in-process (the route table's ``dispatch``).
Answer = Callable[[Server, Request], Response]

#: Largest upload accepted (bytes); front ends read at most this much.
MAX_UPLOAD_BYTES = 32 << 20

#: Most bytes of a local URL's stream that are checked.
MAX_URL_BYTES = 256 << 20

#: Methods ``/verify`` answers.
VERIFY_METHODS = ("GET", "HEAD", "POST")

_SNIFF = 4


@dataclass(slots=True)
class Report:
    """The outcome of checking one stream."""

    origin: str
    summary: Mapping[str, object] = field(default_factory=dict)
    bytes_read: int = 0
    truncated: bool = False
    error: StreamError | None = None
    http_status: int | None = None


def handle(server: Server, request: Request, answer: Answer) -> Response:
    """Answer ``/verify`` (the form, or the report of an upload or a local URL).

    ``answer`` answers a local URL's request in-process (the route table's ``dispatch``).
    """
    try:
        if request.method not in VERIFY_METHODS:
            raise QueryError(f"method {request.method} is not allowed on /verify")
        if request.method == "POST":
            return _report_page(server, request, _posted_report(server, request, answer))
        url = request.query.get("url")
        if not url:
            return _page(server, request, "Verify a das2 or das3 stream", _form(server, request))
        return _report_page(server, request, verify_local_url(server, request, url, answer))
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        response = error_response(error, "html")
        if request.method not in VERIFY_METHODS:
            response.status = 405
            response.headers.append(("Allow", ", ".join(VERIFY_METHODS)))
        return response


def verify_chunks(chunks: Iterable[bytes], origin: str, limit: int | None = None) -> Report:
    """Check the stream in ``chunks`` (at most ``limit`` bytes); never raises StreamError."""
    report = Report(origin)
    summary: StreamSummary | None = None
    reader: EventReader | None = None
    try:
        for chunk in _sniffed(chunks, limit, report):
            if reader is None or summary is None:
                reader, summary = start_summary(chunk)
            summary.add_all(reader.feed(chunk))
        if reader is None or summary is None:
            raise StreamError("empty input: no das2 or das3 stream header", 0)
        if not report.truncated:
            summary.add_all(reader.close())
    except StreamError as error:
        report.error = error
    if summary is None:
        summary = StreamSummary("unknown")
    report.summary = summary.result()
    return report


def _sniffed(chunks: Iterable[bytes], limit: int | None, report: Report) -> Iterator[bytes]:
    """Chunks regrouped so the first holds the sniffed bytes; stop after ``limit``."""
    pending = b""
    for chunk in chunks:
        if limit is not None and report.bytes_read + len(chunk) > limit:
            chunk = chunk[: limit - report.bytes_read]
            report.truncated = True
        report.bytes_read += len(chunk)
        if report.bytes_read < _SNIFF and not report.truncated:
            pending += chunk
            continue
        yield pending + chunk if pending else chunk
        pending = b""
        if report.truncated:
            return
    if pending:
        yield pending


# ----------------------------------------------------------------- sources


def _posted_report(server: Server, request: Request, answer: Answer) -> Report:
    content_type = request.header("content-type")
    if not content_type.lower().startswith("multipart/form-data"):
        return verify_chunks([request.body], "uploaded body")
    fields = parse_multipart(content_type, request.body)
    upload = fields.get("file")
    if upload is not None and upload[1]:
        return verify_chunks([upload[1]], f"uploaded file {upload[0] or '(unnamed)'}")
    url = fields.get("url")
    if url is not None and url[1].strip():
        return verify_local_url(server, request, url[1].decode("utf-8", "replace"), answer)
    raise QueryError("choose a file to upload or give a URL of this server's data")


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """``{field name: (file name, bytes)}`` of a ``multipart/form-data`` body."""
    head = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise QueryError("the upload is not a valid multipart/form-data body")
    fields: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = (str(part.get_filename() or ""), payload if isinstance(payload, bytes) else b"")
    return fields


def verify_local_url(server: Server, request: Request, url: str, answer: Answer) -> Report:
    """Check the stream this server answers for ``url`` (``answer`` answers it in-process)."""
    inner = local_request(server, request, url)
    response = answer(server, inner)
    chunks = iterate_body(response.body)
    try:
        report = verify_chunks(chunks, f"{inner.path}?{inner.raw_query}".rstrip("?"),
                               MAX_URL_BYTES)
    except DasFlexError as error:  # the pipeline failed after its first byte
        report = Report(url, error=StreamError(f"the stream ended with an error: {error}"))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        if response.close is not None:
            response.close()
    report.http_status = response.status
    return report


def local_request(server: Server, request: Request, url: str) -> Request:
    """The in-process request for ``url``; :class:`QueryError` for any other host."""
    parts = urlsplit(url.strip())
    base = urlsplit(server.base_url(request))
    hosts = {base.netloc.lower(), urlsplit(request.base_url).netloc.lower()}
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc.lower() not in hosts:
            raise QueryError(f"verify only reads this server's data ({base.netloc}); "
                             f"refusing '{printable(parts.netloc or parts.scheme)}'")
    path = unquote(parts.path, errors="strict")
    prefix = base.path.rstrip("/")
    if prefix and parts.netloc:
        if not (path == prefix or path.startswith(prefix + "/")):
            raise QueryError(f"the URL is not below this server's address {base.geturl()}")
        path = path[len(prefix):]
    if not path.startswith("/") or path.startswith("/verify"):
        raise QueryError("give the URL of a data request on this server")
    headers = {"authorization": request.header("authorization")} if request.header(
        "authorization") else {}
    return Request(method="GET", path=path, query=parse_query(parts.query), headers=headers,
                   base_url=request.base_url, remote_addr=request.remote_addr,
                   raw_query=parts.query)


# ----------------------------------------------------------------- pages


def _page(server: Server, request: Request, title: str, body: str) -> Response:
    text = page(title, body, server.settings.site_title, server.base_url(request))
    return text_response(text, mime=MIME_HTML)


def _form(server: Server, request: Request) -> str:
    action = escape(f"{server.base_url(request)}/verify")
    return (
        "<p>Check that a file is a valid das2 or das3 stream.</p>"
        f'<form method="post" action="{action}" enctype="multipart/form-data">'
        f'<p><label>file (at most {MAX_UPLOAD_BYTES >> 20} MB)</label> '
        '<input type="file" name="file"></p>'
        '<p><label>or a URL of this server\'s data</label> '
        '<input type="text" name="url" size="80"></p>'
        '<p><button type="submit">Verify</button></p></form>'
    )


def _report_page(server: Server, request: Request, report: Report) -> Response:
    verdict = "valid" if report.error is None else "INVALID"
    return _page(server, request, f"Stream {verdict}", render_report(report))


def render_report(report: Report) -> str:
    """The report as an HTML fragment; every value is escaped."""
    summary = report.summary
    rows = [
        ("checked", report.origin),
        ("result", "valid" if report.error is None else "invalid"),
        ("format", summary.get("format", "")),
        ("version", summary.get("version", "")),
        ("bytes checked", f"{report.bytes_read}" + (" (truncated)" if report.truncated else "")),
        ("records", summary.get("records", 0)),
        ("first time", summary.get("first_time") or ""),
        ("last time", summary.get("last_time") or ""),
        ("comments", summary.get("comment_count", 0)),
    ]
    if report.http_status is not None:
        rows.insert(1, ("HTTP status", report.http_status))
    if report.error is not None:
        offset = report.error.offset
        rows.append(("first error", report.error.reason))
        rows.append(("error offset", "" if offset is None else f"byte {offset}"))
    table = "".join(f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>"
                    for name, value in rows)
    return f"<table>{table}</table>{_packet_table(summary)}{_exception_list(summary)}"


def _packet_table(summary: Mapping[str, object]) -> str:
    packets = _mapping(summary.get("packets"))
    if not packets:
        return ""
    rows = "".join(
        f"<tr><td>{escape(key)}</td>"
        f"<td>{escape(str(_mapping(_mapping(entry).get('definition')).get('kind', '')))}</td>"
        f"<td>{_mapping(entry).get('definitions', 0)}</td>"
        f"<td>{_mapping(entry).get('records', 0)}</td></tr>"
        for key, entry in packets.items())
    return ("<h2>Packets</h2><table><tr><th>id</th><th>kind</th><th>definitions</th>"
            f"<th>records</th></tr>{rows}</table>")


def _exception_list(summary: Mapping[str, object]) -> str:
    exceptions = summary.get("exceptions") or []
    if not isinstance(exceptions, list) or not exceptions:
        return ""
    items = "".join(f"<li>{escape(str(item['type']))}: {escape(str(item['message']))}</li>"
                    for item in map(_mapping, exceptions))
    return f"<h2>Exceptions in the stream</h2><ul>{items}</ul>"


def _mapping(value: object) -> Mapping[str, object]:
    """``value`` when it is a mapping (a part of a summary), else an empty one."""
    return value if isinstance(value, Mapping) else {}
