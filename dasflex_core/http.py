"""Sans-I/O HTTP: the request model, query parsing and error responses.

Front-ends (Flask, CGI) turn their transport's request into a :class:`Request`
with :meth:`Request.from_environ`, which parses the query string exactly once,
and copy a :class:`Response` back to the transport.  :func:`error_response` is
the one place where a :class:`~dasflex_core.errors.DasFlexError` becomes a
status, headers and a body in the client's format; after the first body byte
:func:`inband_error` gives the das2/das3 packet instead.  Nothing here does I/O.
"""

from __future__ import annotations

import html
import json
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import quote, unquote_to_bytes

from dasflex_core.codecs.packets import (
    das2_exception,
    das2_stream_header,
    das3_exception,
    das3_stream_header,
)
from dasflex_core.errors import (
    DasFlexError,
    QueryError,
    ReaderError,
    TooLargeError,
    UnauthorizedError,
)

LOG = logging.getLogger("dasflex.http")

#: HAPI version declared by every HAPI response.
HAPI_VERSION = "3.3"

#: Most query fields accepted in one request.
MAX_QUERY_FIELDS = 256

#: Error and body styles a client can be answered in.
STYLES = ("das2", "das3", "hapi", "html", "text", "json")

MIME_DAS2 = "text/vnd.das2.das2stream"
MIME_DAS3 = "text/vnd.das.stream"
MIME_JSON = "application/json"
MIME_HTML = "text/html; charset=utf-8"
MIME_TEXT = "text/plain; charset=utf-8"

CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query string: ordered ``(key, value)`` pairs, decoded once."""

    pairs: tuple[tuple[str, str], ...] = ()

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def keys(self) -> list[str]:
        """Distinct keys in first-seen order."""
        return list(dict.fromkeys(name for name, _ in self.pairs))

    def get_all(self, key: str) -> list[str]:
        """Every value given for ``key``."""
        return [value for name, value in self.pairs if name == key]

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of ``key``; :class:`QueryError` if it was given twice."""
        values = self.get_all(key)
        if len(values) > 1:
            raise QueryError(f"query parameter '{key}' was given more than once")
        return values[0] if values else default

    def duplicated(self) -> list[str]:
        """Keys given more than once."""
        counts: dict[str, int] = {}
        for name, _ in self.pairs:
            counts[name] = counts.get(name, 0) + 1
        return [name for name, count in counts.items() if count > 1]

    def to_dict(self) -> dict[str, str]:
        """The query as a dict; :class:`QueryError` if a key was given twice."""
        twice = self.duplicated()
        if twice:
            raise QueryError(f"query parameter '{twice[0]}' was given more than once")
        return dict(self.pairs)

    def without(self, *keys: str) -> Query:
        """A copy with ``keys`` removed."""
        return Query(tuple(pair for pair in self.pairs if pair[0] not in keys))


def parse_query(raw: str | bytes) -> Query:
    """Parse a query string once: split on ``&``, ``+`` is space, percent-decode, UTF-8.

    A WSGI ``QUERY_STRING`` is a latin-1 ``str`` holding the raw bytes.  Bytes
    that are not UTF-8 after decoding, NUL characters, or more than
    :data:`MAX_QUERY_FIELDS` fields raise :class:`QueryError`.
    """
    data = raw.encode("latin-1", "replace") if isinstance(raw, str) else raw
    pairs = []
    for item in data.split(b"&"):
        if not item:
            continue
        key, _, value = item.partition(b"=")
        name = _decode_component(key)
        if name:
            pairs.append((name, _decode_component(value)))
        if len(pairs) > MAX_QUERY_FIELDS:
            raise QueryError(f"too many query parameters (at most {MAX_QUERY_FIELDS})")
    return Query(tuple(pairs))


def _decode_component(raw: bytes) -> str:
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError("the query string is not valid UTF-8 after percent-decoding") from None
    if "\x00" in text:
        raise QueryError("the query string contains a NUL character")
    return text


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, independent of the web framework."""

    method: str = "GET"
    path: str = "/"
    query: Query = field(default_factory=Query)
    headers: Mapping[str, str] = field(default_factory=dict)
    base_url: str = "http://localhost"
    http_version: str = "HTTP/1.1"
    remote_addr: str = ""
    raw_query: str = ""
    body: bytes = b""

    @classmethod
    def from_environ(cls, environ: Mapping[str, object], *, server_url: str = "") -> Request:
        """Build a request from a WSGI environment; parse its query string once.

        ``server_url`` (the canonical external URL) overrides the base URL that
        would otherwise be rebuilt from the ``Host`` header and ``SCRIPT_NAME``.
        """
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        raw_query = str(environ.get("QUERY_STRING", ""))
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            path=_wsgi_text(str(environ.get("PATH_INFO", ""))) or "/",
            query=parse_query(raw_query),
            headers=headers,
            base_url=server_url or _base_url(environ, headers),
            http_version=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
            remote_addr=str(environ.get("REMOTE_ADDR", "")),
            raw_query=raw_query,
        )

    def header(self, name: str, default: str = "") -> str:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    @property
    def is_head(self) -> bool:
        """True for a HEAD request (send headers, no body)."""
        return self.method == "HEAD"

    def wants_html(self) -> bool:
        """True when the client is a browser (its ``Accept`` names ``text/html``)."""
        return "text/html" in self.header("accept")

    def url_for(self, path: str, query: str = "") -> str:
        """An absolute URL on this server for ``path`` (no port rewriting)."""
        url = self.base_url + quote(path, safe="/:,@!$'()*;=~-._")
        return f"{url}?{query}" if query else url


def read_body(environ: Mapping[str, object], limit: int) -> bytes:
    """The request body of a WSGI environment, at most ``limit`` bytes.

    A body must declare its ``Content-Length``; one larger than ``limit``
    raises :class:`~dasflex_core.errors.TooLargeError` before anything is read.
    """
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return b""
    if not text.isdigit():
        raise QueryError("the Content-Length header is not a number")
    length = int(text)
    if length > limit:
        raise TooLargeError(f"the request body has {length} bytes; at most {limit} are accepted")
    stream = environ.get("wsgi.input")
    data = stream.read(length) if length and hasattr(stream, "read") else b""
    if len(data) != length:
        raise QueryError("the request body ended before its Content-Length")
    return bytes(data)


def _wsgi_text(value: str) -> str:
    """WSGI strings are latin-1 views of the raw bytes; give back the UTF-8 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise QueryError("the request path is not valid UTF-8") from None


def _base_url(environ: Mapping[str, object], headers: Mapping[str, str]) -> str:
    scheme = str(environ.get("wsgi.url_scheme", "http"))
    host = headers.get("host")
    if not host:
        host = str(environ.get("SERVER_NAME", "localhost"))
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host = f"{host}:{port}"
    script = _wsgi_text(str(environ.get("SCRIPT_NAME", ""))).rstrip("/")
    return f"{scheme}://{host}{quote(script)}"


@dataclass(slots=True)
class Response:
    """A status, headers and a body (bytes, or an iterable of byte chunks).

    ``reason`` replaces the standard reason phrase (HAPI puts its code there).
    ``close`` is called by the front-end when the body is done or abandoned.
    ``zero_copy``, when set, is called (before iterating the body) by a front
    end that can move the rest of a piped body straight to its socket: it
    passes a sink ``sink(pipe_fd, limit) -> bytes moved (0 at EOF)``; the body
    then yields only what is not moved that way, in order.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""
    reason: str = ""
    close: Callable[[], None] | None = None
    zero_copy: Callable[[Callable[[int, int], int]], None] | None = None

    @property
    def status_line(self) -> str:
        """``"200 OK"`` or the status with the custom reason phrase."""
        return f"{self.status} {self.reason or _standard_reason(self.status)}"

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), if any."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def _standard_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def text_response(text: str, *, status: int = 200, mime: str = MIME_TEXT,
                  extra: Iterable[tuple[str, str]] = ()) -> Response:
    """A small complete response with CORS headers."""
    body = text.encode("utf-8")
    headers = [("Content-Type", mime), *CORS_HEADERS, *extra]
    return Response(status, headers, body)


def json_response(document: object, *, status: int = 200, reason: str = "",
                  extra: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON document as a complete response."""
    response = text_response(json.dumps(document, indent=1) + "\n", status=status,
                             mime=MIME_JSON, extra=extra)
    response.reason = reason
    return response


def redirect_response(location: str, *, permanent: bool = False) -> Response:
    """A 301/302 to an absolute URL (das2 clients match ``Location`` exactly)."""
    status = 301 if permanent else 302
    body = f"Moved to {location}\n"
    return text_response(body, status=status, extra=[("Location", location)])


def error_style(request: Request, default: str) -> str:
    """The style to answer an error in: ``html`` for browsers, else ``default``.

    HAPI clients always get HAPI JSON, whatever their ``Accept`` header says.
    """
    if default == "hapi":
        return "hapi"
    return "html" if request.wants_html() else default


def error_response(error: BaseException, style: str) -> Response:
    """Map an error to a complete response in ``style`` (one of :data:`STYLES`).

    Only :class:`DasFlexError` messages reach the client; anything else is a
    bug and becomes a generic internal error, logged with its traceback.
    """
    if not isinstance(error, DasFlexError):
        LOG.error("internal error", exc_info=error)
        error = DasFlexError("Internal server error")
    builders = {
        "das2": _das2_error, "das3": _das3_error, "hapi": _hapi_error,
        "html": _html_error, "json": _json_error, "text": _text_error,
    }
    response = builders[style](error)
    if isinstance(error, UnauthorizedError):
        realm = error.realm.replace('"', "'")
        response.headers.append(("WWW-Authenticate", f'Basic realm="{realm}"'))
    return response


def inband_error(error: BaseException, style: str) -> bytes:
    """The exception packet appended to a stream that has already started."""
    if not isinstance(error, DasFlexError):
        LOG.error("internal error after the first byte", exc_info=error)
        error = DasFlexError("Internal server error")
    if style == "das3":
        return das3_exception(error.das3_type, error.message)
    if style == "das2":
        return das2_exception(error.das2_type, error.message)
    return b""


def _das2_error(error: DasFlexError) -> Response:
    body = das2_stream_header() + das2_exception(error.das2_type, error.message)
    return Response(error.status, [("Content-Type", MIME_DAS2), *CORS_HEADERS], body)


def _das3_error(error: DasFlexError) -> Response:
    body = das3_stream_header() + das3_exception(error.das3_type, error.message)
    return Response(error.status, [("Content-Type", MIME_DAS3), *CORS_HEADERS], body)


#: HAPI code and message of a failed reader (the upstream of a HAPI server).
HAPI_UPSTREAM = (1501, "Internal server error - upstream request error")


def hapi_status_of(error: DasFlexError) -> tuple[int, int, str]:
    """The HTTP status, HAPI code and HAPI message an error maps to.

    A :class:`ReaderError` left at the generic code 1500 is an upstream
    failure for HAPI: code 1501.
    """
    code = getattr(error, "hapi_code", 1500)
    if isinstance(error, ReaderError) and code == 1500:
        code, message = HAPI_UPSTREAM
        return getattr(error, "hapi_status", None) or _hapi_http_status(code), code, message
    status = getattr(error, "hapi_status", None) or _hapi_http_status(code)
    return status, code, error.hapi_message


def _hapi_http_status(code: int) -> int:
    if code < 1400:
        return 200
    if code in (1406, 1407):
        return 404
    return 400 if code < 1500 else 500


def hapi_reason(status: int, code: int, message: str) -> str:
    """The reason phrase carrying the HAPI code, e.g. ``Not Found; HAPI 1406 ...``."""
    return f"{_standard_reason(status)}; HAPI {code} {message}"


def hapi_status_document(code: int, message: str) -> dict[str, object]:
    """``{"HAPI": "3.3", "status": {...}}``."""
    return {"HAPI": HAPI_VERSION, "status": {"code": code, "message": message}}


def _hapi_error(error: DasFlexError) -> Response:
    status, code, summary = hapi_status_of(error)
    message = f"HAPI error {code}: {error.message}" if code >= 1400 else error.message
    return json_response(hapi_status_document(code, message), status=status,
                         reason=hapi_reason(status, code, summary))


def _html_error(error: DasFlexError) -> Response:
    status = error.status if error.status >= 400 else 200
    title = html.escape(_standard_reason(status) if status >= 400 else error.das2_type)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title></head>\n<body><h1>{title}</h1>\n"
        f"<p>{html.escape(error.message)}</p></body></html>\n"
    )
    return text_response(page, status=error.status, mime=MIME_HTML)


def _json_error(error: DasFlexError) -> Response:
    document = {"status": error.status, "type": error.das3_type, "message": error.message}
    return json_response(document, status=error.status)


def _text_error(error: DasFlexError) -> Response:
    return text_response(f"{error.das2_type}: {error.message}\n", status=error.status)


def accepts_gzip(request: Request) -> bool:
    """True when the client lists gzip in ``Accept-Encoding`` (without q=0)."""
    for item in request.header("accept-encoding").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzip_response(response: Response) -> Response:
    """Compress a response's body as it streams (headers adjusted)."""
    response.headers = [(name, value) for name, value in response.headers
                        if name.lower() != "content-length"]
    response.headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    response.body = _gzip_chunks(iterate_body(response.body))
    response.zero_copy = None
    return response


def _gzip_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            packed = compressor.compress(chunk)
            if packed:
                yield packed
        yield compressor.flush()
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def iterate_body(body: bytes | Iterable[bytes]) -> Iterator[bytes]:
    """Iterate a body given as bytes or as chunks."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        if body:
            yield bytes(body)
        return
    yield from body
