"""GET requests through a WSGI application, as a server would make them (iterate, then close)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Where the CGI front end is mounted in the security tests' requests.
CGI_SCRIPT_NAME = "/cgi-bin/dasflex"
#: The client address of :func:`call` (a documentation address, RFC 5737).
CLIENT_ADDRESS = "192.0.2.7"


class WsgiReply(NamedTuple):
    """Status line, headers and body of one response."""

    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split()[0])

    @property
    def header_map(self) -> dict[str, str]:
        """The headers by lower-case name."""
        return {name.lower(): value for name, value in self.headers}


def wsgi_get(app: WsgiApp, path: str, query: str = "",
             headers: Mapping[str, str] | None = None, *, remote_addr: str = "127.0.0.1",
             script_name: str = "", **environ: str) -> WsgiReply:
    """GET ``path?query`` with ``headers`` (``HTTP_*``) and extra ``environ`` entries."""
    request: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr, "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
    }
    if script_name:
        request["SCRIPT_NAME"] = script_name
    for name, value in (headers or {}).items():
        request["HTTP_" + name.upper().replace("-", "_")] = value
    request.update(environ)
    replies: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        replies.append((status, response_headers))

    chunks = app(request, start_response)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    status_line, response_headers = replies[-1]  # a second call carries exc_info
    return WsgiReply(status_line, response_headers, body)


def cgi_get(app: WsgiApp, path: str, query: str = "",
            headers: Mapping[str, str] | None = None,
            remote_addr: str = "127.0.0.1") -> WsgiReply:
    """:func:`wsgi_get` below the CGI mount point :data:`CGI_SCRIPT_NAME`."""
    return wsgi_get(app, path, query, headers, remote_addr=remote_addr,
                    script_name=CGI_SCRIPT_NAME)


def call(app: WsgiApp, path: str, query: str = "", **environ: str) -> tuple[int, bytes]:
    """(status, body) of a GET from :data:`CLIENT_ADDRESS`."""
    reply = wsgi_get(app, path, query, remote_addr=CLIENT_ADDRESS, **environ)
    return reply.status, reply.body
