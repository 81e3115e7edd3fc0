"""The Flask-free WSGI callable, run as CGI with wsgiref and in-memory streams."""

from __future__ import annotations

import io
import sys
from wsgiref.handlers import BaseCGIHandler

import pytest

from tests.support.das2_streams import records


@pytest.fixture(scope="module")
def wsgi_app(settings):
    from dasflex_core.protocols.wsgi import make_wsgi_app

    return make_wsgi_app(settings)


def run_cgi(app, path: str, query: str = "", method: str = "GET") -> tuple[bytes, bytes]:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "data.example.org", "SERVER_PORT": "80", "SCRIPT_NAME": "/das/server",
        "SERVER_PROTOCOL": "HTTP/1.0", "HTTP_HOST": "data.example.org",
    }
    output = io.BytesIO()
    handler = BaseCGIHandler(io.BytesIO(), output, sys.stderr, environ, multithread=False)
    handler.run(app)
    head, _, body = output.getvalue().partition(b"\r\n\r\n")
    return head, body


def test_cgi_list_and_stream(wsgi_app) -> None:
    head, body = run_cgi(wsgi_app, "", "server=list")
    assert head.startswith(b"Status: 200")
    assert b"Test/Ramp|" in body
    head, body = run_cgi(wsgi_app, "", "server=dataset&dataset=Test/Ramp&start_time=2020-01-01"
                                       "&end_time=2020-01-01T00:04")
    assert head.startswith(b"Status: 200")
    assert records(body) == 4


def test_cgi_urls_use_the_script_name(wsgi_app) -> None:
    _, body = run_cgi(wsgi_app, "/source/test/ramp/flex.json")
    assert b"http://data.example.org/das/server/source/test/ramp/flex" in body


def test_cgi_errors_head_and_methods(wsgi_app) -> None:
    head, body = run_cgi(wsgi_app, "/hapi/info", "dataset=nope")
    assert head.startswith(b"Status: 404") and b"1406" in body
    head, body = run_cgi(wsgi_app, "/source/test/ramp/flex",
                         "read.time.min=2020-01-01&read.time.max=2020-01-02", method="HEAD")
    assert head.startswith(b"Status: 200") and body == b""
    head, _ = run_cgi(wsgi_app, "/", "server=list", method="POST")
    assert head.startswith(b"Status: 405")
    head, _ = run_cgi(wsgi_app, "/", "a=%ff")
    assert head.startswith(b"Status: 400")
