"""A real gunicorn (``dasflex serve``, the ``server_url`` fixture) spoken to over sockets."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.support.das2_streams import records
from tests.support.http import raw_http10

pytestmark = pytest.mark.system  # server_url: a real gunicorn


def test_http10_das2_client_reads_a_stream_until_close(server_url: str) -> None:
    head, body = raw_http10(server_url, "/?server=dataset&dataset=Test/Ramp"
                                        "&start_time=2020-01-01&end_time=2020-01-01T01:00")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.") and " 200 " in status_line
    names = [line.split(":", 1)[0] for line in header_lines]
    assert "Transfer-Encoding" not in names and "transfer-encoding" not in [n.lower() for n in names]
    assert "Content-Type" in names
    assert body.startswith(b"[00]")
    assert records(body) == 60
    assert len(head) < 2048


def test_http10_redirect_and_challenge_use_exact_header_case(server_url: str) -> None:
    head, _ = raw_http10(server_url, "/?server=dataset&dataset=Test/Moved"
                                     "&start_time=2020-01-01&end_time=2020-01-02")
    assert b" 302 " in head.split(b"\r\n")[0]
    assert b"\r\nLocation: http://elsewhere.example.org/das/server?" in head
    head, _ = raw_http10(server_url, "/?server=dataset&dataset=Test/Locked"
                                     "&start_time=2020-01-01&end_time=2020-01-02")
    assert b" 401 " in head.split(b"\r\n")[0]
    assert b'\r\nWWW-Authenticate: Basic realm="Test Realm"' in head


def test_http11_streaming_and_metadata(server_url: str) -> None:
    with urllib.request.urlopen(f"{server_url}/source/test/ramp/flex?read.time.min=2020-01-01"
                                "&read.time.max=2020-01-02", timeout=20) as reply:
        assert reply.status == 200
        assert reply.headers["Transfer-Encoding"] == "chunked"
        body = reply.read()
    assert records(body) == 1440
    with urllib.request.urlopen(f"{server_url}/hapi/capabilities", timeout=20) as reply:
        assert json.loads(reply.read())["HAPI"] == "3.3"
        assert "HAPI 1200" in reply.reason


def test_error_in_band_after_first_byte_over_http(server_url: str) -> None:
    head, body = raw_http10(server_url, "/?server=dataset&dataset=Test/Late"
                                        "&start_time=2020-01-01&end_time=2020-01-01T01:00")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert records(body) == 5
    assert b'<exception type="ServerError"' in body


def test_hapi_failure_mid_stream_aborts_the_connection(server_url: str) -> None:
    import http.client

    url = f"{server_url}/hapi/data?dataset=Test/Late&start=2020-01-01&stop=2020-02-01"
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.status == 200
        with pytest.raises(http.client.IncompleteRead):
            reply.read()


def test_hapi_csv_over_http_with_gzip(server_url: str) -> None:
    import gzip

    request = urllib.request.Request(
        f"{server_url}/hapi/data?dataset=Test/Ramp&start=2020-01-01T00:00:30Z"
        "&stop=2020-01-01T00:03:30Z", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.headers["Content-Encoding"] == "gzip"
        text = gzip.decompress(reply.read()).decode()
    assert text.count("\n") == 3 and text.startswith("2020-01-01T00:01:00.000Z,")
