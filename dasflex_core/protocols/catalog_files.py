"""The catalog files: ``/catalog.json``, ``/root.json``, ``/nodes.csv`` and ``/source/...``.

Node files (``/source/<id>/flex.json``, ``das2.d2t``, ``/source/<dir>.json``)
and the top-level files come from the catalog builder through
:mod:`.nodes`; definition files and command lines are never served.
"""

from __future__ import annotations

from dasflex_core.errors import NotFoundError
from dasflex_core.http import CORS_HEADERS, Request, Response, error_response, error_style
from dasflex_core.protocols import Server, nodes

#: MIME types of the catalog files, by extension.
FILE_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".d2t": "text/vnd.das2.das2stream; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


def handle(server: Server, request: Request, path: str) -> Response:
    """A catalog file under ``/source/`` or at the top (``/catalog.json``...)."""
    style = error_style(request, "json")
    try:
        name = path.strip("/")
        body = nodes.site_file(server, request, name)
        if body is None:
            raise NotFoundError("no such catalog file")
        extension = name[name.rfind("."):] if "." in name else ""
        mime = FILE_TYPES.get(extension, "application/octet-stream")
        if extension == ".d2t" and request.wants_html():
            mime = "text/plain; charset=utf-8"
        headers = [("Content-Type", mime), *CORS_HEADERS]
        if extension == ".csv":
            headers.append(("Content-Disposition",
                            f'attachment; filename="{name.rsplit("/", 1)[-1]}"'))
        return Response(200, headers, body)
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, style)
