"""Websocket requests to planned streams, without any I/O.

A client opens ``<prefix>/<source id>/flexRT?key=value&...`` (``prefix`` is
``/dasws`` by default; the trailing ``/flexRT`` is optional, as it was for the
predecessor's daemon, and the catalog's ``/source/<id>/flexRT`` form works
too).  :func:`prepare_stream` resolves the source, checks the subprotocol and
the credentials, and plans the pipeline with the ``flexRT`` convention, all
before the upgrade is accepted; any failure is a :class:`DasFlexError` that
:func:`rejection` turns into the refused upgrade's status, headers and a das3
body (stream header plus exception), as the predecessor sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from dasflex_core import keys
from dasflex_core.errors import DasFlexError, NotFoundError, QueryError
from dasflex_core.http import Request, error_response, parse_query
from dasflex_core.protocols import Server, check_access, plan_for, request_span
from dasflex_core.protocols.source_data import flex_query
from dasflex_ws import DEFAULT_PREFIX

if TYPE_CHECKING:
    from dasflex_core.planner import Plan

#: The subprotocol the catalog advertises (``flexRT.json``).
SUBPROTOCOL = "forward-stream-v1.das2.org"
#: Subprotocols accepted, preferred first (``request``: the predecessor's choice).
SUBPROTOCOLS = (SUBPROTOCOL, "request")
#: The request convention of websocket streams.
CONVENTION = keys.FLEX_RT
#: Longest accepted request path (before the query), in characters.
MAX_PATH = 1024


@dataclass(frozen=True, slots=True)
class StreamSetup:
    """A checked and planned websocket stream, ready to run."""

    source_id: str
    plan: Plan
    subprotocol: str | None


def source_path(path: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The source id part of a websocket request path (query removed, decoded).

    Examples
    --------
    >>> source_path("/dasws/examples/realtime/flexRT?read.time.min=2020-01-01")
    'examples/realtime'
    >>> source_path("/das/source/Examples/Realtime/flexRT", "/das")
    'Examples/Realtime'
    """
    raw = path.partition("?")[0]
    if len(raw) > MAX_PATH:
        raise QueryError(f"the request path is longer than {MAX_PATH} characters")
    text = _decoded(raw)
    prefix = prefix.rstrip("/")
    if prefix and (text == prefix or text.startswith(prefix + "/")):
        text = text[len(prefix):]
    text = text.strip("/")
    if text.startswith("source/"):
        text = text[len("source/"):]
    if text.endswith("/" + CONVENTION) or text == CONVENTION:
        text = text[: -len(CONVENTION)]
    return text.strip("/")


def _decoded(raw: str) -> str:
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError("the request path is not valid UTF-8") from None
    if any(not char.isprintable() for char in text):
        raise QueryError("the request path contains control characters")
    return text


def offered_subprotocols(values: Iterable[str]) -> list[str]:
    """The subprotocols named in ``Sec-WebSocket-Protocol`` header values."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def choose_subprotocol(offered: Iterable[str]) -> str | None:
    """The accepted subprotocol to select, or None when the client offered none.

    Raises :class:`QueryError` when the client offered only unknown ones.
    """
    names = list(offered)
    if not names:
        return None
    for accepted in SUBPROTOCOLS:
        if accepted in names:
            return accepted
    listed = ", ".join(repr(name[:40]) for name in names[:4])
    raise QueryError(f"unsupported websocket subprotocol {listed}; this server speaks {SUBPROTOCOL}")


def build_request(path: str, headers: Mapping[str, str], remote_addr: str = "",
                  scheme: str = "http") -> Request:
    """A core :class:`Request` for a websocket upgrade (query parsed once)."""
    raw_query = path.partition("?")[2]
    lowered = {name.lower(): value for name, value in headers.items()}
    host = lowered.get("host", "localhost")
    return Request(
        method="GET",
        path=path.partition("?")[0] or "/",
        query=parse_query(raw_query),
        headers=lowered,
        base_url=f"{scheme}://{host}",
        remote_addr=remote_addr,
        raw_query=raw_query,
    )


def prepare_stream(server: Server, request: Request, subprotocols: Iterable[str] = (),
                   prefix: str = DEFAULT_PREFIX) -> StreamSetup:
    """Resolve, authorize and plan the stream ``request`` asks for.

    Raises :class:`NotFoundError`, :class:`QueryError`, :class:`UnauthorizedError`,
    :class:`ForbiddenError` or a planning error, each with a clear message.
    """
    subprotocol = choose_subprotocol(subprotocols)
    wanted = source_path(request.path, prefix)
    if not wanted:
        raise NotFoundError("no data source named in the path (expected <prefix>/<source id>/flexRT)")
    source = server.source(wanted)
    query = flex_query(source, request.query)
    begin, end = request_span(server, request, source, query, CONVENTION)
    check_access(server, source, request, end, begin)
    plan = plan_for(source, query, CONVENTION, server, request)
    return StreamSetup(source.id, plan, subprotocol)


def rejection(error: BaseException) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and das3 body refusing an upgrade because of ``error``."""
    if isinstance(error, DasFlexError) and error.status < 400:
        error = QueryError(error.message)
    response = error_response(error, "das3")
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    headers = [*response.headers, ("Content-Length", str(len(body)))]
    return response.status, headers, body
