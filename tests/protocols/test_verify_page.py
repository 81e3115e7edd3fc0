"""``/verify``: uploads and this server's URLs give an escaped validation report."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest

from tests.support.http import read_page

RAMP_HOUR = ("/source/test/ramp/flex?read.time.min=2020-01-01T00:00"
             "&read.time.max=2020-01-01T01:00")


def report_rows(body: str) -> dict[str, str]:
    """``{row name: cell text}`` of the report's first table."""
    table = body.split("<table>", 1)[1].split("</table>", 1)[0]
    return {unescape(name): unescape(value)
            for name, value in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", table)}


def upload(client, data: bytes, name: str = "stream.d2s"):
    return client.post("/verify", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def expected_summary(path: Path) -> dict:
    from dasflex_core.cli.inspect_cmd import inspect_stream

    with path.open("rb") as stream:
        return inspect_stream(stream)


def test_form_offers_an_upload_and_a_url_field(client) -> None:
    reply = client.get("/verify")
    assert reply.status_code == 200
    page = read_page(reply.get_data())
    assert {control["name"] for control in page.controls} == {"file", "url"}
    assert 'enctype="multipart/form-data"' in reply.get_data(as_text=True)


@pytest.mark.parametrize("name", ["das2/cassini_rpws_wfrm_sample.d2s", "das2/syn_epochs.d2s",
                                  "das2/syn_deflate.d2s", "das3/ex24_isee_rapid_rank1.d3b",
                                  "das3/ex12_sounder_xyz.d3t"])
def test_uploaded_conformance_streams_are_reported_valid(client, conformance_dir: Path,
                                                         name: str) -> None:
    path = conformance_dir / name
    expected = expected_summary(path)
    reply = upload(client, path.read_bytes(), path.name)
    assert reply.status_code == 200
    rows = report_rows(reply.get_data(as_text=True))
    assert rows["result"] == "valid"
    assert rows["format"] == expected["format"] and rows["version"] == expected["version"]
    assert rows["records"] == str(expected["records"]) and int(rows["records"]) > 0
    assert rows["first time"] == (expected["first_time"] or "")
    assert rows["last time"] == (expected["last_time"] or "")
    assert rows["bytes checked"] == str(path.stat().st_size)


@pytest.mark.parametrize("name", ["das3/reject_sandwich_partial.d3t", "das2/syn_waveform.d2s"])
def test_a_broken_stream_reports_the_first_error_and_its_offset(client, conformance_dir: Path,
                                                                name: str) -> None:
    from dasflex_core.codecs import make_reader
    from dasflex_core.errors import StreamError

    data = (conformance_dir / name).read_bytes()
    if name.endswith(".d2s"):
        data = data[: len(data) - 7]  # cut inside the last packet
    reader = make_reader(data)
    with pytest.raises(StreamError) as caught:
        reader.feed(data)
        reader.close()
    rows = report_rows(upload(client, data).get_data(as_text=True))
    assert rows["result"] == "invalid"
    assert rows["first error"] == caught.value.reason
    assert rows["error offset"] == f"byte {caught.value.offset}"


def test_not_a_stream_is_invalid_at_byte_zero(client) -> None:
    body = upload(client, b"<html>hello</html>", "<b>x</b>.txt").get_data(as_text=True)
    rows = report_rows(body)
    assert rows["result"] == "invalid" and rows["error offset"] == "byte 0"
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


def test_a_raw_body_is_checked_too(client, conformance_dir: Path) -> None:
    data = (conformance_dir / "das2" / "syn_epochs.d2s").read_bytes()
    reply = client.post("/verify", data=data, content_type="application/octet-stream")
    assert report_rows(reply.get_data(as_text=True))["result"] == "valid"


def test_stream_content_is_escaped(client) -> None:
    from dasflex_core.codecs.das2 import encode_exception

    header = b'<stream version="2.2"></stream>\n'
    data = b"[00]%06d" % len(header) + header + encode_exception("Odd<i>", "<script>x</script>")
    body = upload(client, data).get_data(as_text=True)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert report_rows(body)["result"] == "valid"


def test_a_url_of_this_server_is_answered_in_process(client) -> None:
    reply = client.get("/verify", query_string={"url": "http://localhost" + RAMP_HOUR})
    rows = report_rows(reply.get_data(as_text=True))
    assert rows["result"] == "valid" and rows["HTTP status"] == "200"
    assert rows["records"] == "60" and rows["format"] == "das2"
    assert rows["first time"].startswith("2020-01-01T00:00:00")
    assert rows["last time"].startswith("2020-01-01T00:59:00")
    posted = client.post("/verify", data={"url": RAMP_HOUR}, content_type="multipart/form-data")
    assert report_rows(posted.get_data(as_text=True))["records"] == "60"


def test_a_failing_source_url_reports_the_error(client) -> None:
    url = "/?server=dataset&dataset=Test/Late&start_time=2020-01-01&end_time=2020-01-01T01:00"
    rows = report_rows(client.get("/verify", query_string={"url": url}).get_data(as_text=True))
    assert rows["records"] == "5"
    assert "/secret" not in str(rows)


@pytest.mark.parametrize("url", ["http://elsewhere.example.org/source/test/ramp/flex",
                                 "file:///etc/passwd", "http://localhost:8081/x",
                                 "//169.254.169.254/latest", "http://localhost/verify?url=x"])
def test_other_hosts_are_refused_with_a_clear_message(client, url: str) -> None:
    reply = client.get("/verify", query_string={"url": url}, headers={"Accept": "text/html"})
    assert reply.status_code == 400
    text = reply.get_data(as_text=True)
    assert "this server" in text and "Traceback" not in text


def test_uploads_are_bounded() -> None:
    from dasflex_core.errors import TooLargeError
    from dasflex_core.http import read_body
    from dasflex_core.protocols.verify_page import MAX_UPLOAD_BYTES

    environ = {"CONTENT_LENGTH": str(MAX_UPLOAD_BYTES + 1), "wsgi.input": io.BytesIO(b"")}
    with pytest.raises(TooLargeError):
        read_body(environ, MAX_UPLOAD_BYTES)
    assert read_body({"CONTENT_LENGTH": "3", "wsgi.input": io.BytesIO(b"abcdef")}, 10) == b"abc"


def test_post_is_refused_elsewhere(client) -> None:
    reply = client.post("/source/test/ramp/flex", data=b"x")
    assert reply.status_code == 405


def test_request_form_shows_a_png_quick_look(client) -> None:
    body = client.get("/source/test/ramp.html").get_data(as_text=True)
    match = re.search(r'<img src="([^"]+)"', body)
    assert match is not None
    url = unescape(match.group(1))
    assert "format.type=png" in url and url.startswith("http://localhost/source/test/ramp/flex?")
    image = client.get(url[len("http://localhost"):])
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.get_data().startswith(b"\x89PNG\r\n\x1a\n")
