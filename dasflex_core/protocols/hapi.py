"""HAPI 3.3 under ``/hapi``: about, capabilities, catalog, info and data.

Metadata comes from the source definitions (no reader runs for ``/info``)
and is built once per server (:mod:`.hapi_datasets`); ``/data`` is
:mod:`.hapi_data`.  Requests are checked in the order
server-python uses: unknown keys (1401), missing or doubled names (1400),
format and include (1409, 1410), dataset (1406), parameters (1407, 1411),
times (1402 to 1405), size (1408).  Errors are HAPI JSON with the code in the
reason phrase; no data is HTTP 200 with ``HAPI 1201``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from dasflex_core.errors import ForbiddenError, TooLargeError, UnauthorizedError
from dasflex_core.http import (
    HAPI_VERSION,
    MIME_HTML,
    Request,
    Response,
    error_response,
    hapi_reason,
    hapi_status_document,
    json_response,
    redirect_response,
    text_response,
)
from dasflex_core.protocols import Server
from dasflex_core.protocols.hapi_data import answer_data
from dasflex_core.protocols.hapi_datasets import (
    OUTPUT_FORMATS,
    Document,
    HapiError,
    dataset_source,
    hapi_sources,
    listed_sources,
    public_sources,
    select_parameters,
    source_info,
)

#: Query keys each endpoint accepts (old HAPI 2 names included).
ALLOWED_KEYS = {
    "about": (),
    "capabilities": (),
    "catalog": ("depth", "resolve_references"),
    "info": ("dataset", "id", "parameters", "resolve_references"),
    "data": ("dataset", "id", "start", "time.min", "stop", "time.max", "parameters",
             "include", "format", "resolve_references"),
}

#: HAPI 3 names and the HAPI 2 names they replace.
RENAMED = (("dataset", "id"), ("start", "time.min"), ("stop", "time.max"))


def handle(server: Server, request: Request, endpoint: str) -> Response:
    """Answer ``/hapi/<endpoint>``; ``endpoint`` is the path after ``/hapi``."""
    if endpoint.endswith("/") and endpoint != "/":
        target = server.base_url(request) + "/hapi" + endpoint.rstrip("/")
        return redirect_response(target + (f"?{request.raw_query}" if request.raw_query else ""),
                                 permanent=True)
    if endpoint == "/":
        return redirect_response(server.base_url(request) + "/hapi", permanent=True)
    name = endpoint.strip("/")
    try:
        if name == "":
            return landing_page(server, request)
        handler = _ENDPOINTS.get(name)
        if handler is None:
            raise HapiError(1400, "unknown HAPI endpoint; the endpoints are about, "
                                  "capabilities, catalog, info and data")
        _check_keys(request, name)
        return handler(server, request)
    except Exception as error:  # noqa: BLE001 - mapped to a HAPI response once, here
        return error_response(_keeping_http_status(error), "hapi")


#: Errors answered with their own HTTP status (401, 403, 413), not HAPI's 400.
_OWN_STATUS = (UnauthorizedError, ForbiddenError, TooLargeError)


def _keeping_http_status(error: Exception) -> Exception:
    """``error``, marked to keep its HTTP status when it is an access or size refusal."""
    if isinstance(error, _OWN_STATUS) and getattr(error, "hapi_status", None) is None:
        setattr(error, "hapi_status", error.status)  # noqa: B010 - not a declared field
    return error


def _check_keys(request: Request, endpoint: str) -> None:
    allowed = ALLOWED_KEYS[endpoint]
    unknown = [key for key in request.query.keys() if key not in allowed]
    if unknown:
        names = ", ".join(allowed) if allowed else "none"
        raise HapiError(1401, f"unknown request parameter for /{endpoint} "
                              f"(allowed: {names})")
    doubled = request.query.duplicated()
    if doubled:
        raise HapiError(1400, f"request parameter '{doubled[0]}' given more than once")
    for new, old in RENAMED:
        if new in request.query and old in request.query:
            raise HapiError(1400, f"give either '{new}' or '{old}', not both")
    value = request.query.get("resolve_references")
    if value is not None and value not in ("true", "false"):
        raise HapiError(1412, "resolve_references must be true or false")


def _ok(document: Mapping[str, object], server: Server) -> Response:
    body = {**hapi_status_document(1200, "OK"), **document}
    return json_response(body, reason=hapi_reason(200, 1200, "OK"),
                         extra=[("Last-Modified", server.last_modified)])


def _about(server: Server, request: Request) -> Response:
    settings = server.settings
    document: Document = {
        "id": settings.server_id,
        "title": settings.site_title,
        "contact": settings.contact_email or settings.contact_url or "unknown",
        "description": "das2 and das3 data sources served through HAPI by dasflex",
    }
    sample = _data_test(server, request)
    if sample:
        document["dataTest"] = sample
    return _ok(document, server)


def _data_test(server: Server, request: Request) -> Document | None:
    for source in public_sources(server):
        info = source_info(server, request, source)
        if "sampleStartDate" in info:
            return {"name": "sample", "query": {
                "dataset": source.id, "start": info["sampleStartDate"],
                "stop": info["sampleStopDate"]}}
    return None


def _capabilities(server: Server, request: Request) -> Response:
    return _ok({"outputFormats": list(OUTPUT_FORMATS),
                "catalogDepthOptions": ["dataset", "all"]}, server)


def _catalog(server: Server, request: Request) -> Response:
    depth = request.query.get("depth") or "dataset"
    if depth not in ("dataset", "all"):
        raise HapiError(1400, "depth must be 'dataset' or 'all'")
    entries = []
    for source in listed_sources(server, request):
        entry: Document = {"id": source.id, "title": source.title or source.id}
        if depth == "all":
            entry["info"] = source_info(server, request, source)
        entries.append(entry)
    return _ok({"catalog": entries}, server)


def _info(server: Server, request: Request) -> Response:
    source = dataset_source(server, request)
    info = source_info(server, request, source)
    selected = select_parameters(info, request.query.get("parameters"))
    return _ok({**info, "parameters": selected}, server)


# -- infos built ahead (``dasflex serve``) -------------------------------------


def warm(server: Server, request: Request) -> None:
    """Build every HAPI info now (each may run its reader once)."""
    for source in hapi_sources(server):
        source_info(server, request, source)


def built_infos(server: Server, request: Request) -> dict[str, Document]:
    """Every HAPI info by dataset id, built now (for :func:`seed_infos` elsewhere)."""
    return {source.id: source_info(server, request, source) for source in hapi_sources(server)}


def seed_infos(server: Server, infos: Mapping[str, Mapping[str, object]]) -> None:
    """Use infos built by :func:`built_infos` (in another process) instead of building them."""
    for dataset_id, info in infos.items():
        server.cache[f"hapi-info:{dataset_id}"] = dict(info)


# -- landing page ------------------------------------------------------------


def landing_page(server: Server, request: Request) -> Response:
    """``/hapi``: what this HAPI server is, with links to its endpoints."""
    base = html.escape(server.base_url(request) + "/hapi")
    items = "".join(
        f'<li><a href="{base}/{name}">{name}</a></li>'
        for name in ("about", "capabilities", "catalog"))
    sources = "".join(
        f'<li><a href="{base}/info?dataset={html.escape(s.id)}">{html.escape(s.id)}</a> '
        f"{html.escape(s.title)}</li>" for s in listed_sources(server, request))
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(server.settings.site_title)} HAPI server</title></head><body>\n"
        f"<h1>HAPI {HAPI_VERSION} server</h1>\n<ul>{items}</ul>\n"
        f"<h2>Datasets</h2>\n<ul>{sources}</ul>\n</body></html>\n"
    )
    return text_response(page, mime=MIME_HTML)


_ENDPOINTS: dict[str, Callable[[Server, Request], Response]] = {
    "about": _about,
    "capabilities": _capabilities,
    "catalog": _catalog,
    "info": _info,
    "data": answer_data,
}
