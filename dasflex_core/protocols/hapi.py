"""HAPI 3.3 under ``/hapi``: about, capabilities, catalog, info and data.

Metadata comes from the source definitions (no reader runs for ``/info``)
and is built once per server.  Requests are checked in the order
server-python uses: unknown keys (1401), missing or doubled names (1400),
format and include (1409, 1410), dataset (1406), parameters (1407, 1411),
times (1402 to 1405), size (1408).  Errors are HAPI JSON with the code in the
reason phrase; no data is HTTP 200 with ``HAPI 1201``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from dasflex_core.dastime.hapi import HapiTime, to_hapi_time
from dasflex_core.errors import ForbiddenError, QueryError, TooLargeError, UnauthorizedError
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
from dasflex_core.protocols import Server, authorize, catalog_filter
from dasflex_core.protocols.hapi_info import probe_parameters

#: Output formats served (see :mod:`.hapi_encode`).
OUTPUT_FORMATS = ("csv", "binary", "json")

#: Width of the time column: ``YYYY-MM-DDTHH:MM:SS.sssZ``.
TIME_LENGTH = 24

#: Longest sample range advertised (clients and the verifier fetch it).
MAX_SAMPLE_SECONDS = 3600

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

_MESSAGES = {
    1400: "Bad request - user input error",
    1401: "Bad request - unknown API parameter name",
    1402: "Bad request - error in start time",
    1403: "Bad request - error in stop time",
    1404: "Bad request - start time equal to or after stop time",
    1405: "Bad request - time outside valid range",
    1406: "Bad request - unknown dataset id",
    1407: "Bad request - unknown dataset parameter",
    1408: "Bad request - too much time or data requested",
    1409: "Bad request - unsupported output format",
    1410: "Bad request - unsupported include value",
    1411: "Bad request - out of order or duplicate parameters",
    1412: "Bad request - unsupported resolve_references value",
    1413: "Bad request - unsupported depth value",
}


class HapiError(QueryError):
    """A HAPI request error carrying its specific 14xx code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.hapi_code = code
        self.hapi_message = _MESSAGES.get(code, _MESSAGES[1400])
        self.status = 404 if code in (1406, 1407) else 400


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


def param(request: Request, new: str, old: str) -> str | None:
    value = request.query.get(new)
    return value if value is not None else request.query.get(old)


def _ok(document: Mapping[str, Any], server: Server) -> Response:
    body = {**hapi_status_document(1200, "OK"), **document}
    return json_response(body, reason=hapi_reason(200, 1200, "OK"),
                         extra=[("Last-Modified", server.last_modified)])


def _about(server: Server, request: Request) -> Response:
    settings = server.settings
    document: dict[str, Any] = {
        "id": settings.server_id,
        "title": settings.site_title,
        "contact": settings.contact_email or settings.contact_url or "unknown",
        "description": "das2 and das3 data sources served through HAPI by dasflex",
    }
    sample = _data_test(server, request)
    if sample:
        document["dataTest"] = sample
    return _ok(document, server)


def _data_test(server: Server, request: Request) -> dict[str, Any] | None:
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
        entry: dict[str, Any] = {"id": source.id, "title": source.title or source.id}
        if depth == "all":
            entry["info"] = source_info(server, request, source)
        entries.append(entry)
    return _ok({"catalog": entries}, server)


class SubDataset:
    """A HAPI dataset ``ID,KEY`` made from a source's ``subSource_NN``.

    It reads as its source (access rules, ranges, variables) except for its
    id, title and description, and it adds :attr:`query` (the sub-source's
    resolution or interval and reader options) to every pipeline it plans.
    """

    def __init__(self, source: Any, sub: Any, query: Mapping[str, str]) -> None:
        self.definition = source
        self.id = f"{source.id},{sub.key}"
        description = sub.description.strip()
        self.title = f"{source.title} ({description})" if description else self.id
        self.summary = description or source.summary
        self.query = dict(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.definition, name)


def definition_of(dataset: Any) -> Any:
    """The source definition behind a HAPI dataset (itself, or a sub-dataset's source)."""
    return getattr(dataset, "definition", dataset)


def dataset_query(dataset: Any, query: Mapping[str, str]) -> dict[str, str]:
    """``query`` plus what a sub-dataset adds (resolution, interval, reader options)."""
    return {**query, **getattr(dataset, "query", {})}


def sub_datasets(source: Any) -> list[SubDataset]:
    """The sub-datasets of ``source`` that can be planned.

    A source that needs a time interval gets one only from a numeric
    resolution; the reader options go in when the source takes options.
    """
    from dasflex_core import keys

    accepted = {parameter.key for parameter in source.params}
    found = []
    for sub in source.sub_sources:
        query: dict[str, str] = {}
        seconds = _seconds(sub.resolution)
        if source.requires_interval:
            if seconds is None or keys.READ_TIME_INTERVAL not in accepted:
                continue
            query[keys.READ_TIME_INTERVAL] = f"{seconds:g}"
        elif seconds is not None and keys.BIN_TIME_MAX in accepted:
            query[keys.BIN_TIME_MAX] = f"{seconds:g}"
        if sub.params.strip() and keys.READ_OPTS in accepted:
            query[keys.READ_OPTS] = sub.params.strip()
        found.append(SubDataset(source, sub, query))
    return found


def _seconds(text: str) -> float | None:
    """A sub-source's resolution in seconds, or None when it is not a positive duration."""
    from dasflex_core.sources.common import parse_duration

    try:
        seconds = parse_duration(text) if text.strip() else 0.0
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def hapi_sources(server: Server) -> list[Any]:
    """Datasets served through HAPI: sources flagged ``hapi``, local, das2, with a time range.

    Each ``subSource_NN`` adds a dataset ``ID,KEY`` (:class:`SubDataset`); a
    source that needs a time interval is served only through its
    sub-datasets.  Protected sources are included; :func:`listed_sources`
    hides them from requests that may not read them and
    :func:`dataset_source` checks access.
    """
    def build() -> list[Any]:
        datasets: list[Any] = []
        for source in server.site:
            if not (source.hapi and not source.redirect and not source.hidden
                    and source.output is not None and source.output.mime == "das2"
                    and _date_range(source) is not None):
                continue
            if not source.requires_interval:
                datasets.append(source)
            datasets.extend(sub_datasets(source))
        return datasets

    return list(server.memo("hapi-sources", build))


def public_sources(server: Server) -> list[Any]:
    """The HAPI sources anyone may read (no access rules)."""
    return [source for source in hapi_sources(server) if not source.protected]


def listed_sources(server: Server, request: Request) -> list[Any]:
    """The HAPI sources a catalog shows to ``request``.

    Protected sources appear only for clients an ``IP`` rule or ``allow_from``
    admits, and for authenticated users a ``USER`` or ``GROUP`` rule names.
    """
    visible = catalog_filter(server, request)
    return [source for source in hapi_sources(server) if visible(source)]


def dataset_source(server: Server, request: Request, stop: str | None = None) -> Any:
    """The source named by ``dataset`` (1406 if none), after its access check.

    ``stop`` (the request's stop time) decides ``AGE`` rules; without it
    (``/info``) the dataset's start date does, so that metadata of data old
    enough to be public is public too.  Refusals are 401 or 403.
    """
    dataset = param(request, "dataset", "id")
    if not dataset:
        raise HapiError(1400, "the 'dataset' parameter is required")
    for source in hapi_sources(server):
        if source.id == dataset:
            end_time = stop or (_date_range(source) or ("", ""))[0]
            authorize(server, source, request, end_time)
            return source
    raise HapiError(1406, "unknown dataset id; see /hapi/catalog for the ids")


def _info(server: Server, request: Request) -> Response:
    source = dataset_source(server, request)
    info = source_info(server, request, source)
    selected = select_parameters(info, request.query.get("parameters"))
    return _ok({**info, "parameters": selected}, server)


# -- info documents ----------------------------------------------------------


def source_info(server: Server, request: Request, source: Any) -> dict[str, Any]:
    """The ``/info`` body (without HAPI and status) for a source, built once."""
    return dict(server.memo(f"hapi-info:{source.id}",
                            lambda: _build_info(server, request, source)))


def warm(server: Server, request: Request) -> None:
    """Build every HAPI info now (each may run its reader once)."""
    for source in hapi_sources(server):
        source_info(server, request, source)


def built_infos(server: Server, request: Request) -> dict[str, dict[str, Any]]:
    """Every HAPI info by dataset id, built now (for :func:`seed_infos` elsewhere)."""
    return {source.id: source_info(server, request, source) for source in hapi_sources(server)}


def seed_infos(server: Server, infos: Mapping[str, Mapping[str, Any]]) -> None:
    """Use infos built by :func:`built_infos` (in another process) instead of building them."""
    for dataset_id, info in infos.items():
        server.cache[f"hapi-info:{dataset_id}"] = dict(info)


def _build_info(server: Server, request: Request, source: Any) -> dict[str, Any]:
    start, stop = _date_range(source) or ("", "")
    info: dict[str, Any] = {"startDate": start, "stopDate": stop}
    sample = _sample_range(source)
    if sample:
        info["sampleStartDate"], info["sampleStopDate"] = sample
    info["timeStampLocation"] = "center"
    if source.summary or source.title:
        info["description"] = (source.summary or source.title).strip()
    probe = probe_parameters(server, request, source, *sample) if sample else None
    if probe is not None and probe.cadence:
        info["cadence"] = probe.cadence
    data = (_described(probe.parameters, source) if probe and probe.parameters
            else [_data_parameter(v) for v in source.data])
    info["parameters"] = [_time_parameter(), *data]
    contact = next((c for c in source.contacts if c.email or c.name), None)
    if contact is not None:
        info["contact"] = f"{contact.name} <{contact.email}>" if contact.email else contact.name
    return info


def _described(parameters: list[dict[str, Any]], source: Any) -> list[dict[str, Any]]:
    """Probed parameters with the definition's titles as descriptions."""
    titles = {variable.name: variable.title for variable in source.data if variable.title}
    return [{**p, "description": titles[p["name"]]} if p["name"] in titles else p
            for p in parameters]


def _time_parameter() -> dict[str, Any]:
    return {"name": "Time", "type": "isotime", "units": "UTC", "fill": None,
            "length": TIME_LENGTH, "description": "time of each record"}


def _data_parameter(variable: Any) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": variable.name,
        "type": getattr(variable, "type", None) or "double",
        "units": variable.units or None,
        "fill": getattr(variable, "fill", None),
    }
    size = getattr(variable, "size", None)
    if size:
        parameter["size"] = list(size)
    if variable.title:
        parameter["description"] = variable.title
    return parameter


def select_parameters(info: Mapping[str, Any], requested: str | None) -> list[dict[str, Any]]:
    """The info parameters named in ``requested`` (Time always first).

    Unknown names raise 1407; repeated or out-of-order names raise 1411.
    """
    parameters = list(info["parameters"])
    if not requested:
        return parameters
    positions = {parameter["name"]: index for index, parameter in enumerate(parameters)}
    names = requested.split(",")
    unknown = [name for name in names if name not in positions]
    if unknown:
        raise HapiError(1407, "unknown parameter name; the parameters are "
                              + ", ".join(positions))
    indexes = [positions[name] for name in names]
    if len(set(indexes)) != len(indexes):
        raise HapiError(1411, "a parameter is named more than once")
    if indexes != sorted(indexes):
        raise HapiError(1411, "parameters must be in the order /info lists them")
    wanted = set(indexes) | {0}
    return [parameter for index, parameter in enumerate(parameters) if index in wanted]


# -- times -------------------------------------------------------------------

def _date_range(source: Any) -> tuple[str, str] | None:
    """``startDate`` and ``stopDate`` from validRange, else from the examples."""
    bounds = _range_times(source.valid_range) if source.valid_range else None
    if bounds is None:
        spans = [span for span in map(_example_span, source.examples) if span]
        if not spans:
            return None
        bounds = (min(s[0] for s in spans), max(s[1] for s in spans))
    start, stop = bounds
    if source.valid_range and source.valid_range[1].strip().lower() == "now":
        stop = HapiTime(stop.ns2000 + 86400 * 1_000_000_000)
    return start.iso(0), stop.iso(0)


def _range_times(pair: tuple[str, str]) -> tuple[HapiTime, HapiTime] | None:
    start, stop = to_hapi_time(pair[0]), to_hapi_time(pair[1])
    if start is None or stop is None or start >= stop:
        return None
    return start, stop


def _example_span(example: Any) -> tuple[HapiTime, HapiTime] | None:
    settings = example.settings
    begin = next((v for k, v in settings.items() if k.endswith(("time.min", "start_time"))), None)
    end = next((v for k, v in settings.items() if k.endswith(("time.max", "end_time"))), None)
    return _range_times((begin, end)) if begin and end else None


def _sample_range(source: Any) -> tuple[str, str] | None:
    """The first example's range, at most :data:`MAX_SAMPLE_SECONDS` long."""
    for example in source.examples:
        span = _example_span(example)
        if span:
            start, stop = span
            limit = HapiTime(start.ns2000 + MAX_SAMPLE_SECONDS * 1_000_000_000)
            return start.iso(0), min(stop, limit).iso(0)
    return None


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


def _data(server: Server, request: Request) -> Response:
    from dasflex_core.protocols.hapi_data import answer_data

    return answer_data(server, request)


_ENDPOINTS: dict[str, Callable[[Server, Request], Response]] = {
    "about": _about,
    "capabilities": _capabilities,
    "catalog": _catalog,
    "info": _info,
    "data": _data,
}
