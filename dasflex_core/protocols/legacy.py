"""The legacy das2.2 server API: ``?server=list|discovery|dsdf|dataset|...``.

Errors go to das2 clients as a das2 exception stream and to browsers as a
page.  Data requests are planned with the ``das2`` convention (the planner
translates ``start_time``, ``end_time``, ``resolution``, ``params``,
``interval`` and ``ascii``) and streamed; a source that names another server
or was renamed is redirected, and a request outside ``validRange`` gets a
``NoDataInInterval`` exception stream.
"""

from __future__ import annotations

import configparser
import html
import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from dasflex_core import keys
from dasflex_core.dastime.hapi import to_hapi_time
from dasflex_core.errors import NoDataError, NotFoundError, QueryError
from dasflex_core.http import (
    CORS_HEADERS,
    MIME_DAS2,
    Request,
    Response,
    error_response,
    error_style,
    redirect_response,
    text_response,
)
from dasflex_core.protocols import (
    Server,
    check_access,
    nodes,
    plan_for,
    printable,
    request_span,
    stream_plan,
)

if TYPE_CHECKING:
    from dasflex_core.model import SourceDef

#: Legacy keys answered by this module.
SERVER_KEYWORDS = ("list", "discovery", "dsdf", "dataset", "compactdataset",
                   "logo", "id", "peers")

#: Query keys of a dataset request consumed here rather than by the planner.
ROUTING_KEYS = ("server", "dataset")


def handle(server: Server, request: Request) -> Response:
    """Answer a ``?server=...`` request."""
    style = error_style(request, "das2")
    try:
        keyword = request.query.get("server") or ""
        handler = _HANDLERS.get(keyword)
        if handler is None:
            raise QueryError(f"Bad server keyword '{printable(keyword)}' "
                             f"(known: {', '.join(SERVER_KEYWORDS)})")
        return handler(server, request)
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, style)


def _list(server: Server, request: Request) -> Response:
    return text_response(nodes.das2_list(server, request))


def _discovery(server: Server, request: Request) -> Response:
    return text_response(nodes.das2_list(server, request, discovery=True))


def _dataset_id(request: Request) -> str:
    dataset = request.query.get("dataset")
    if not dataset:
        raise QueryError("the 'dataset' parameter is required")
    return dataset


def _dsdf(server: Server, request: Request) -> Response:
    source = server.source(_dataset_id(request))
    moved = redirect_for(server, request, source)
    if moved is not None:
        return moved
    body = nodes.source_file(server, request, source, "das2.d2t")
    mime = "text/plain; charset=utf-8" if request.wants_html() else MIME_DAS2
    return Response(200, [("Content-Type", mime), *CORS_HEADERS], body)


def _dataset(server: Server, request: Request) -> Response:
    source = server.source(_dataset_id(request))
    moved = redirect_for(server, request, source)
    if moved is not None:
        return moved
    query = request.query.without(*ROUTING_KEYS).to_dict()
    begin, end = request_span(server, request, source, query, keys.DAS2)
    check_access(server, source, request, end, begin)
    _check_valid_range(source.valid_range, begin, end)
    style = "das2"
    plan = plan_for(source, query, keys.DAS2, server, request)
    return stream_plan(plan, request, style, server)


def _check_valid_range(valid_range: tuple[str, str] | None, begin: str | None,
                       end: str | None) -> None:
    """Raise :class:`NoDataError` when ``begin``..``end`` lies wholly outside ``valid_range``.

    Times that cannot be read here are left for the planner to reject.
    """
    if not valid_range or not begin or not end:
        return
    times = [to_hapi_time(text) for text in (*valid_range, begin, end)]
    if any(moment is None for moment in times):
        return
    first, last, start, stop = times
    if stop <= first or start >= last:  # type: ignore[operator]
        raise NoDataError(f"No data in the interval {printable(begin)} to {printable(end)}; "
                          f"this source has data from {valid_range[0]} to {valid_range[1]}")


def redirect_for(server: Server, request: Request, source: SourceDef) -> Response | None:
    """A redirect when the source was renamed or lives on another server."""
    rename = source.rename
    if rename:
        if rename.startswith(("http://", "https://")):
            return redirect_response(rename, permanent=True)
        pairs = [(key, rename if key == "dataset" else value)
                 for key, value in request.query.pairs]
        return redirect_response(f"{server.base_url(request)}/?{urlencode(pairs)}",
                                 permanent=True)
    other = source.server
    if other and not server.settings.ignore_redirect and not _same_server(
            other, server.base_url(request)):
        return redirect_response(f"{other.rstrip('?')}?{urlencode(request.query.pairs)}")
    return None


def _same_server(url: str, base: str) -> bool:
    def strip(text: str) -> str:
        return text.split("://", 1)[-1].rstrip("/").lower()

    return strip(url) == strip(base)


def _logo(server: Server, request: Request) -> Response:
    path = server.settings.logo_file
    if path is None:
        raise NotFoundError("Logo not set")

    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = [("Content-Type", mime), ("Cache-Control", "max-age=86400"), *CORS_HEADERS]
    return Response(200, headers, path.read_bytes())


def _id(server: Server, request: Request) -> Response:
    return text_response(server.settings.site_title + "\n")


def _peers(server: Server, request: Request) -> Response:
    return text_response(peers_xml(server), mime="text/xml; charset=utf-8")


def peers_xml(server: Server) -> str:
    """The ``<das2server><peers>...`` document from the peers INI file."""
    parser = configparser.ConfigParser(interpolation=None)
    if server.settings.peers_file is not None:
        parser.read(server.settings.peers_file, encoding="utf-8")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<das2server>", "  <peers>"]
    for name in parser.sections():
        section = parser[name]
        lines += [
            "    <server>",
            f"      <name>{html.escape(name)}</name>",
            f"      <url>{html.escape(section.get('url', ''))}</url>",
            f"      <description>{html.escape(section.get('description', ''))}</description>",
            "    </server>",
        ]
    lines += ["  </peers>", "</das2server>", ""]
    return "\n".join(lines)


_HANDLERS: dict[str, Callable[[Server, Request], Response]] = {
    "list": _list,
    "discovery": _discovery,
    "dsdf": _dsdf,
    "dataset": _dataset,
    "compactdataset": _dataset,
    "logo": _logo,
    "id": _id,
    "peers": _peers,
}
