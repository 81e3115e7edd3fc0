"""A source's data under ``/source/<id>/<convention>``, in either convention.

Source paths are the lower-cased source id (``/source/examples/random/flex``);
other cases of the same id are accepted.  The last path element picks the
convention: ``flex`` (das3 query keys) or ``das2`` (legacy keys); the planner
makes das2 or das3 streams, or any other format, for both.  The catalog files
beside them are :mod:`.catalog_files`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dasflex_core.errors import QueryError
from dasflex_core.http import Query, Request, Response, error_response, error_style
from dasflex_core.protocols import Server, check_access, plan_for, request_span, stream_plan

if TYPE_CHECKING:
    from dasflex_core.model import SourceDef

#: Path elements that name a data convention.
DATA_CONVENTIONS = ("flex", "das2")


def stream_style(query: dict[str, str], convention: str) -> str:
    """das3 when the query asks for a das3 stream, else das2."""
    version = query.get("format.version", "")
    if convention == "flex" and (version.startswith("3") or query.get("format.type") == "das3"):
        return "das3"
    return "das2"


def handle(server: Server, request: Request, source_path: str, convention: str) -> Response:
    """Stream ``/source/<source_path>/<convention>?...``."""
    style = error_style(request, "das2")
    try:
        source = server.source(source_path)
        query = flex_query(source, request.query)
        style = error_style(request, stream_style(query, convention))
        begin, end = request_span(server, request, source, query, convention)
        check_access(server, source, request, end, begin)
        plan = plan_for(source, query, convention, server, request)
        return stream_plan(plan, request, error_style(request, plan.error_format or "text"),
                           server)
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, style)


def flex_query(source: SourceDef, query: Query) -> dict[str, str]:
    """The query as a dict without empty values; a FlagSet's repeated keys are joined.

    Browsers send a form's empty fields and one key per ticked checkbox.
    """
    values: dict[str, list[str]] = {}
    for key, value in query.pairs:
        if value != "":
            values.setdefault(key, []).append(value)
    joined = {}
    for key, items in values.items():
        param = source.param(key)
        if len(items) > 1 and (param is None or str(param.type) != "FlagSet"):
            raise QueryError(f"query parameter '{key}' was given more than once")
        joined[key] = (param.flag_sep if param is not None else " ").join(items)
    return joined


def split_data_path(path: str) -> tuple[str, str] | None:
    """``("examples/random", "flex")`` for ``examples/random/flex``, else None."""
    head, _, last = path.strip("/").rpartition("/")
    if head and last in DATA_CONVENTIONS:
        return head, last
    return None
