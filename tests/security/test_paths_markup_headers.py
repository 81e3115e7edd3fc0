"""Path traversal, XSS, header injection and oversized requests on every route."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest

from dasflex_core.errors import DasFlexError
from tests.support.payloads import CONTROL, MARKUP, TRAVERSAL
from tests.support.recorder import Recorder
from tests.support.wsgi import cgi_get

SECRETS = (b"root:x:0:0", b"pbkdf2_sha256$", b"[boot loader]", b"PATH=")
TRAVERSALS = TRAVERSAL + ("..", "../..", "%2e%2e", "..%00", "examples/../../..",
                          "examples/%2e%2e/%2e%2e/etc/passwd", "/etc", "../examples/site")
ROUTES = ("/source/{p}", "/source/{p}/", "/source/{p}.html", "/source/{p}/flex",
          "/source/{p}/das2", "/source/{p}/flex.json", "/source/{p}/das2.d2t",
          "/source/examples/{p}", "/hapi/{p}", "/{p}", "/{p}/catalog.json",
          "/server?server=dsdf&dataset={p}", "/server?server=dataset&dataset={p}",
          "/hapi/info?dataset={p}", "/hapi/data?dataset={p}&start=2000Z&stop=2001Z")
HTML_ROUTES = ("/source/{p}.html", "/source/{p}/", "/source/examples/{p}.html",
               "/source/examples/spectra.html?read.time.min={p}", "/?{p}={p}",
               "/source/examples/spectra/flex?read.opts={p}", "/nowhere/{p}",
               "/server?server={p}", "/server?server=dataset&dataset={p}")
HEADER_ROUTES = ("/source/examples/spectra/flex?read.time.min=1979-03-01T12%3A26&"
                 "read.time.max=1979-03-01T12%3A27&{k}={p}",
                 "/server?server=dataset&dataset=Examples/Spectra&start_time=1979-03-01T12%3A26&"
                 "end_time=1979-03-01T12%3A27&{k}={p}",
                 "/hapi/data?dataset=Examples/Spectra&start=1979-03-01T12:26Z&"
                 "stop=1979-03-01T12:27Z&{k}={p}",
                 "/source/{p}/flex", "/server?server={p}")
HEADER_KEYS = ("read.opts", "format.type", "format.version", "params", "parameters",
               "read.time.min", "filename", "callback")


def fetch(app: Any, url: str, headers: dict[str, str] | None = None) -> tuple[int, list, bytes]:
    with app.test_client() as client:
        reply = client.get(url, headers=headers or {})
        return reply.status_code, list(reply.headers.items()), reply.data


def urls(templates: tuple[str, ...], payload: str) -> list[str]:
    return [template.format(p=quote(payload, safe="/"), k="x") for template in templates]


def test_path_traversal_on_every_route(flask_app: Any, wsgi_app: Any, recorder: Recorder) -> None:
    found = []
    for payload in TRAVERSALS:
        for url in urls(ROUTES, payload):
            status, _, body = fetch(flask_app, url)
            route, _, query = url.partition("?")
            cgi_status, _, cgi_body = cgi_get(wsgi_app, route, query)
            for front, code, text in (("flask", status, body), ("cgi", int(cgi_status[:3]), cgi_body)):
                if code >= 500 or any(secret in text for secret in SECRETS) or b"Traceback" in text:
                    found.append(f"{front} {url}: {code}")
    assert not found, "\n".join(found[:20])
    assert not recorder.plans


def test_path_traversal_on_websocket_paths(server: Any) -> None:
    from dasflex_ws.routing import build_request, prepare_stream

    for payload in TRAVERSALS:
        request = build_request(f"/dasws/{quote(payload, safe='/')}/flexRT", {"Host": "h"})
        with pytest.raises(DasFlexError) as caught:
            prepare_stream(server, request)
        assert 400 <= caught.value.status < 500


@pytest.mark.parametrize("accept", ("text/html", "*/*"))
def test_html_never_echoes_markup(accept: str, flask_app: Any, recorder: Recorder) -> None:
    found = []
    for payload in (text for text in MARKUP if "<" in text or ">" in text):
        for url in urls(HTML_ROUTES, payload):
            status, headers, body = fetch(flask_app, url, {"Accept": accept})
            if status >= 500 or payload.encode() in body:
                found.append(f"{url}: {status}")
    assert not found, "\n".join(found[:20])


def test_html_pages_that_echo_input_escape_it(flask_app: Any) -> None:
    marker = "<script>alert('dasflex')</script>"
    for url in (f"/server?server=dataset&dataset={quote(marker)}", f"/server?server={quote(marker)}"):
        status, headers, body = fetch(flask_app, url, {"Accept": "text/html"})
        assert ("Content-Type", "text/html; charset=utf-8") in headers
        assert 400 <= status < 500 and b"&lt;script&gt;" in body and marker.encode() not in body


@pytest.mark.parametrize("route", HEADER_ROUTES)
def test_crlf_never_reaches_a_header(route: str, flask_app: Any, wsgi_app: Any,
                                     recorder: Recorder) -> None:
    injected = [payload for payload in CONTROL if "\r" in payload or "\n" in payload or "%0" in payload]
    found = []
    for payload in [*injected, "a\r\nSet-Cookie: x=1", "a\nLocation: http://evil"]:
        for key in HEADER_KEYS:
            url = route.format(k=key, p=quote(payload, safe=""))
            status, headers, _ = fetch(flask_app, url)
            path, _, query = url.partition("?")
            _, cgi_headers, _ = cgi_get(wsgi_app, path, query)
            for name, value in [*headers, *cgi_headers]:
                if "\r" in name + value or "\n" in name + value or name.lower() in (
                        "set-cookie", "x-injected", "location"):
                    found.append(f"{url}: {name}: {value!r}")
    assert not found, "\n".join(found[:20])


def test_oversized_query_strings_are_refused(flask_app: Any, wsgi_app: Any,
                                             recorder: Recorder) -> None:
    base = "/source/examples/spectra/flex?read.time.min=1979-03-01T12%3A26&read.time.max=1979-03-01T12%3A27&"
    huge_value = base + "read.opts=" + "a" * 1_000_000
    many_keys = base + "&".join(f"k{index}=v" for index in range(5000))
    for url in (huge_value, many_keys):
        status, _, body = fetch(flask_app, url)
        assert 400 <= status < 500 and (b"too long" in body or b"too many" in body)
        path, _, query = url.partition("?")
        cgi_status, _, cgi_body = cgi_get(wsgi_app, path, query)
        assert cgi_status.startswith("4") and len(cgi_body) < 2000
    assert not recorder.plans


def test_hapi_time_range_limit(security_settings: Any, server: Any, recorder: Recorder) -> None:
    import dataclasses

    from dasflex_core.http import Request, parse_query
    from dasflex_core.protocols import Server, routes

    limited = Server(dataclasses.replace(security_settings, hapi_max_request_days=1.0), server.site)
    limited.cache.update({k: v for k, v in server.cache.items() if k.startswith("hapi")})
    query = urlencode({"dataset": "Examples/Spectra", "start": "1979-03-01T00:00Z",
                       "stop": "1979-03-04T00:00Z"})
    reply = routes.dispatch(limited, Request(path="/hapi/data", query=parse_query(query)))
    body = reply.body if isinstance(reply.body, bytes) else b"".join(reply.body)
    assert reply.status in (400, 413) and b"1408" in body
    assert not recorder.plans
