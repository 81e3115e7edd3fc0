"""The one route table: a request path to the protocol handler that answers it.

Every front end (Flask, the plain WSGI callable used under CGI) calls
:func:`dispatch`; none of them routes on its own.

=============================================  ===================================
path                                           handler
=============================================  ===================================
``/`` or ``/server`` with ``?server=...``      legacy das2.2 API
``/``                                          home page
``/id.txt``, ``/logo.png``, ``/peers.xml``     legacy ``id``, ``logo``, ``peers``
``/id.json``                                   server id and title as JSON
``/hapi``, ``/hapi/...``                       HAPI 3.3
``/source/<id>/flex``, ``/source/<id>/das2``   data (flex or das2 convention)
``/source/``, ``/source/<dir>/``               directory listing
``/source/<id>.html``                          request form (or a directory page)
``/verify`` (GET, HEAD, POST)                  stream validation form and report
``/admin/log``, ``/admin/log/<n>``,            request log and usage (administrators)
``/admin/usage``
``/source/<id>/coverage.png``                  where a source has data (PNG)
``/source/...`` (other), ``/catalog.json``,    catalog files
``/root.json``, ``/nodes.csv``
=============================================  ===================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dasflex_core.errors import NotFoundError, QueryError
from dasflex_core.http import (
    Query,
    Request,
    Response,
    error_response,
    error_style,
    json_response,
    read_body,
)
from dasflex_core.protocols import (
    Server,
    admin,
    catalog_files,
    hapi,
    html,
    legacy,
    source_data,
    verify_page,
)

#: Top-level catalog files.
TOP_FILES = ("catalog.json", "root.json", "nodes.csv")

#: Paths answered by a legacy keyword.
LEGACY_ALIASES = {"/id.txt": "id", "/logo.png": "logo", "/peers.xml": "peers"}

#: Methods every route answers.
METHODS = ("GET", "HEAD")

#: Methods a front end must pass on (``POST`` only reaches ``/verify``).
ALL_METHODS = (*METHODS, "POST")


def read_request_body(request: Request, environ: Mapping[str, object]) -> Request:
    """``request`` with its body read from ``environ`` when a route takes one."""
    if request.method != "POST" or request.path != "/verify":
        return request
    return replace(request, body=read_body(environ, verify_page.MAX_UPLOAD_BYTES))


def dispatch(server: Server, request: Request) -> Response:
    """Answer ``request`` (any path, any method)."""
    path = request.path
    if path == "/verify":
        return verify_page.handle(server, request, dispatch)
    if request.method not in METHODS:
        response = error_response(QueryError(f"method {request.method} is not allowed"),
                                  error_style(request, "text"))
        response.status = 405
        response.headers.append(("Allow", ", ".join(METHODS)))
        return response
    if path in ("/", "/server"):
        if "server" in request.query:
            return legacy.handle(server, request)
        return html.home(server, request)
    if path == "/id.json":
        settings = server.settings
        return json_response({"id": settings.server_id, "title": settings.site_title})
    if path in LEGACY_ALIASES:
        keyword = LEGACY_ALIASES[path]
        return legacy.handle(server, replace(request, query=Query((("server", keyword),))))
    if path == "/hapi" or path.startswith("/hapi/"):
        return _hapi(server, request, path[len("/hapi"):])
    if admin.is_admin_path(path):
        return admin.handle(server, request)
    if path.startswith("/source/"):
        return _source(server, request, path[len("/source/"):])
    if path.lstrip("/") in TOP_FILES:
        return catalog_files.handle(server, request, path.lstrip("/"))
    return error_response(NotFoundError("no such page"), error_style(request, "text"))


def _hapi(server: Server, request: Request, endpoint: str) -> Response:
    if not server.settings.hapi_enabled:
        return error_response(NotFoundError("HAPI is not enabled on this server"), "hapi")
    return hapi.handle(server, request, endpoint)


def _source(server: Server, request: Request, rest: str) -> Response:
    if rest.endswith("/coverage.png"):
        return admin.coverage_plot(server, request, rest[: -len("/coverage.png")])
    data = source_data.split_data_path(rest)
    if data is not None:
        return source_data.handle(server, request, *data)
    if rest == "" or rest.endswith("/"):
        return html.listing(server, request, rest)
    if rest.endswith("/index.html"):
        return html.listing(server, request, rest[: -len("index.html")])
    if rest.endswith(".html"):
        stem = rest[: -len(".html")]
        if server.site.get(stem) is not None:
            return html.form(server, request, stem)
        return html.listing(server, request, stem)
    return catalog_files.handle(server, request, "source/" + rest)
