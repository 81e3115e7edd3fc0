"""A plain WSGI callable over the route table, without Flask (for CGI).

``wsgiref.handlers.CGIHandler().run(make_wsgi_app())`` serves dasflex as a
CGI program; it imports neither Flask nor Werkzeug, so each CGI request
starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from dasflex_core.errors import DasFlexError
from dasflex_core.http import Request, Response, error_response, iterate_body
from dasflex_core.protocols import Server
from dasflex_core.protocols.routes import dispatch, read_request_body
from dasflex_core.requestlog import wrap_application
from dasflex_core.settings import Settings, load_settings
from dasflex_core.sources.loader import load_site

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from dasflex_core.model import Site


def make_wsgi_app(settings: Settings | None = None, *,
                  site: Site | None = None) -> WSGIApplication:
    """A WSGI application serving ``site`` with ``settings`` (both loaded by default)."""
    settings = settings or load_settings()
    if site is None:
        site = load_site(settings.site_dir)
    server = Server(settings, site)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = Request.from_environ(environ, server_url=settings.server_url)
            request = read_request_body(request, environ)
            response = dispatch(server, request)
        except DasFlexError as error:
            response = error_response(error, "text")
            request = None
        except Exception as error:  # noqa: BLE001 - a bug: logged, answered as a 500
            response = error_response(error, "text")
            request = None
        start_response(response.status_line, _headers(response))
        if request is not None and request.is_head:
            _finish(response)
            return []
        return _ClosingBody(response)

    return wrap_application(application, settings)


def _headers(response: Response) -> list[tuple[str, str]]:
    headers = list(response.headers)
    body = response.body
    if isinstance(body, bytes) and response.header("Content-Length") is None:
        headers.append(("Content-Length", str(len(body))))
    return headers


def _finish(response: Response) -> None:
    if response.close is not None:
        response.close()


class _ClosingBody:
    """The body iterator; ``close()`` (called by the WSGI server) ends the pipeline."""

    def __init__(self, response: Response) -> None:
        self._response = response
        self._chunks = iterate_body(response.body)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        _finish(self._response)
