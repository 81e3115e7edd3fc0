"""Thin Flask views: build a core request, dispatch it, copy the response back."""

from __future__ import annotations

from flask import Flask, current_app
from flask import Response as FlaskResponse
from flask import request as flask_request
from werkzeug.exceptions import HTTPException

from dasflex_core.errors import DasFlexError, NotFoundError, QueryError
from dasflex_core.http import CORS_HEADERS, Request, Response, error_response, iterate_body
from dasflex_core.protocols.routes import ALL_METHODS, dispatch, read_request_body
from dasflex_flask import splice
from dasflex_flask.extension import server_of


def register(app: Flask) -> None:
    """Send every path to the core route table; map stray errors once."""
    app.add_url_rule("/", "root", view, methods=list(ALL_METHODS), defaults={"path": ""})
    app.add_url_rule("/<path:path>", "path", view, methods=list(ALL_METHODS))
    app.register_error_handler(Exception, _handle_error)
    app.after_request(_add_cors)


def view(path: str = "") -> FlaskResponse:
    """Answer one request through :func:`dasflex_core.protocols.routes.dispatch`."""
    server = server_of(current_app)
    try:
        core = Request.from_environ(flask_request.environ, server_url=server.settings.server_url)
        core = read_request_body(core, flask_request.environ)
    except DasFlexError as error:
        return to_flask(error_response(error, "text"))
    response = dispatch(server, core)
    splice.enable(response, flask_request.environ)
    return to_flask(response)


def to_flask(response: Response) -> FlaskResponse:
    """Copy a core response to Flask, keeping header case and a streamed body."""
    body = response.body
    payload = body if isinstance(body, bytes) else iterate_body(body)
    out = FlaskResponse(payload, status=response.status_line, headers=response.headers)
    if response.close is not None:
        out.call_on_close(response.close)
    return out


def _handle_error(error: Exception) -> FlaskResponse:
    """Map an error that escaped a view (or Flask's own 404/405) to a clean reply."""
    if isinstance(error, HTTPException):
        code = error.code or 500
        mapped: Exception = NotFoundError("no such page") if code == 404 else QueryError(
            str(error.name))
        response = error_response(mapped, _style())
        response.status = code
        return to_flask(response)
    return to_flask(error_response(error, _style()))


def _style() -> str:
    if flask_request.path.startswith("/hapi"):
        return "hapi"
    return "html" if "text/html" in flask_request.headers.get("Accept", "") else "text"


def _add_cors(response: FlaskResponse) -> FlaskResponse:
    for name, value in CORS_HEADERS:
        if name not in response.headers:
            response.headers[name] = value
    return response
