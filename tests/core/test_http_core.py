"""The sans-I/O request model: query parsing once, error mapping per client style."""

from __future__ import annotations

import json

import pytest

from dasflex_core.errors import (
    NoDataError,
    NotFoundError,
    QueryError,
    ReaderError,
    UnauthorizedError,
)
from dasflex_core.http import (
    Request,
    error_response,
    error_style,
    inband_error,
    parse_query,
    redirect_response,
)


def test_query_is_decoded_exactly_once() -> None:
    query = parse_query("read.opts=x%253Becho&a=b+c&flag&=dropped")
    assert query.get("read.opts") == "x%3Becho"
    assert query.get("a") == "b c"
    assert query.get("flag") == ""
    assert query.keys() == ["read.opts", "a", "flag"]


def test_query_keeps_utf8_and_order() -> None:
    query = parse_query("b=%C3%A9t%C3%A9&a=1&b=2")
    assert query.get_all("b") == ["été", "2"]
    assert query.duplicated() == ["b"]
    with pytest.raises(QueryError, match="more than once"):
        query.to_dict()


@pytest.mark.parametrize("raw", ["a=%ff%fe", "a=%00", "a=" + "&a=1" * 300])
def test_bad_query_strings_are_query_errors(raw: str) -> None:
    with pytest.raises(QueryError):
        parse_query(raw)


def test_raw_latin1_wsgi_query_is_read_as_utf8_bytes() -> None:
    wsgi_text = "name=été".encode().decode("latin-1")
    assert parse_query(wsgi_text).get("name") == "été"


def test_request_from_environ_uses_host_without_port_and_script_name() -> None:
    environ = {
        "REQUEST_METHOD": "get", "PATH_INFO": "/source/x/flex", "QUERY_STRING": "a=1",
        "HTTP_HOST": "data.example.org", "SCRIPT_NAME": "/das", "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.0", "HTTP_ACCEPT": "text/html",
    }
    request = Request.from_environ(environ)
    assert request.method == "GET"
    assert request.base_url == "http://data.example.org/das"
    assert request.query.get("a") == "1"
    assert request.wants_html()
    assert request.http_version == "HTTP/1.0"
    assert Request.from_environ(environ, server_url="https://x.org/d").base_url == "https://x.org/d"


def test_error_style_prefers_html_for_browsers_except_hapi() -> None:
    browser = Request(headers={"accept": "text/html,*/*"})
    assert error_style(browser, "das2") == "html"
    assert error_style(browser, "hapi") == "hapi"
    assert error_style(Request(), "das3") == "das3"


def test_das2_error_is_a_stream_header_and_exception_packet() -> None:
    response = error_response(QueryError('bad "time" <here>'), "das2")
    assert response.status == 400
    assert response.header("Content-Type") == "text/vnd.das2.das2stream"
    body = bytes(response.body)
    assert body.startswith(b"[00]")
    packet = body[body.index(b"[xx]"):]
    length = int(packet[4:10])
    assert len(packet) == 10 + length
    assert b'type="IllegalArgument"' in packet
    assert b"<here>" not in packet


def test_das3_error_packet_lengths_are_exact() -> None:
    response = error_response(NotFoundError("no such source"), "das3")
    body = bytes(response.body)
    assert response.status == 404
    assert body.startswith(b"|Sx||")
    exception = body[body.index(b"|Ex|"):]
    length = int(exception.split(b"|")[3])
    header = exception[: exception.index(b"|", 5) + 1]
    assert len(exception) - len(header) == length
    assert b"no such source" in exception


def test_no_data_is_http_200_with_an_exception_packet() -> None:
    response = error_response(NoDataError("nothing"), "das2")
    assert response.status == 200
    assert b"NoDataInInterval" in bytes(response.body)


def test_hapi_error_carries_the_code_in_body_and_reason() -> None:
    response = error_response(NotFoundError("unknown"), "hapi")
    document = json.loads(bytes(response.body))
    assert response.status == 404
    assert document["HAPI"] == "3.3"
    assert document["status"]["code"] == 1406
    assert "HAPI 1406" in response.status_line
    assert response.header("Content-Type") == "application/json"


def test_unauthorized_sends_the_challenge_with_exact_header_case() -> None:
    response = error_response(UnauthorizedError("who are you", 'My "Realm"'), "das2")
    assert response.status == 401
    assert ("WWW-Authenticate", "Basic realm=\"My 'Realm'\"") in response.headers


def test_unexpected_exceptions_leak_nothing() -> None:
    response = error_response(RuntimeError("/secret/path in traceback"), "html")
    assert response.status == 500
    assert b"/secret" not in bytes(response.body)


def test_html_error_escapes_the_message() -> None:
    response = error_response(QueryError("<script>alert(1)</script>"), "html")
    assert b"<script>" not in bytes(response.body)
    assert b"&lt;script&gt;" in bytes(response.body)


def test_inband_errors_per_style() -> None:
    assert inband_error(ReaderError("boom"), "das2").startswith(b"[xx]")
    assert inband_error(ReaderError("boom"), "das3").startswith(b"|Ex|")
    assert inband_error(ReaderError("boom"), "hapi") == b""


def test_redirect_has_exact_location_header() -> None:
    response = redirect_response("http://elsewhere.org/das/server?x=1", permanent=True)
    assert response.status == 301
    assert ("Location", "http://elsewhere.org/das/server?x=1") in response.headers


def test_gzip_streams_and_round_trips() -> None:
    import gzip

    from dasflex_core.http import Response, accepts_gzip, gzip_response

    assert accepts_gzip(Request(headers={"accept-encoding": "deflate, gzip;q=0.8"}))
    assert not accepts_gzip(Request(headers={"accept-encoding": "gzip;q=0"}))
    assert not accepts_gzip(Request())
    chunks = [b"1,2,3\n" * 1000, b"4,5,6\n"]
    response = gzip_response(Response(200, [("Content-Length", "6006")], iter(chunks)))
    assert response.header("Content-Encoding") == "gzip"
    assert response.header("Content-Length") is None
    assert gzip.decompress(b"".join(response.body)) == b"".join(chunks)
