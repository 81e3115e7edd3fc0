"""``dasflex_cgi`` without a web server: in-memory CGI streams, and the real program.

In-process requests go through :func:`dasflex_cgi.serve` (wsgiref's
BaseCGIHandler) with BytesIO streams; the program tests run ``python -m
dasflex_cgi`` with a CGI environment, as a web server would.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dasflex_cgi import build_application, serve
from tests.support.das2_streams import das2_records
from tests.support.http import basic_header
from tests.support.processes import processes_matching


def cgi_environ(path: str, query: str = "", **extra: str) -> dict[str, str]:
    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/das/server", "PATH_INFO": path,
            "QUERY_STRING": query, "SERVER_NAME": "data.example.org", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1", **extra}


@pytest.fixture(scope="module")
def app(settings_file: Path):
    return build_application({"DASFLEX_CONFIG": str(settings_file)})


def call(app, path: str, query: str = "", **extra: str) -> tuple[str, dict[str, str], bytes, str]:
    """Run one request; return its status line, headers, body and error log."""
    stdout, stderr = io.BytesIO(), io.StringIO()
    serve(app, io.BytesIO(), stdout, stderr, cgi_environ(path, query, **extra))
    head, _, body = stdout.getvalue().partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], {k.lower(): v for k, v in headers.items()}, body, stderr.getvalue()


def test_data_request_gets_cgi_status_headers_and_stream(app) -> None:
    status, headers, body, log = call(app, "/source/test/random/flex",
                                      "read.time.min=2017-01-01&read.time.max=2017-01-01T00:10")
    assert status == "Status: 200 OK"
    assert headers["content-type"] == "application/vnd.das2.das2stream"
    assert len(das2_records(body, 12)) == 600
    assert log == ""


def test_head_request_has_no_body(app) -> None:
    status, _headers, body, _log = call(app, "/source/test/random/flex",
                                        "read.time.min=2017-01-01&read.time.max=2017-01-02",
                                        REQUEST_METHOD="HEAD")
    assert status == "Status: 200 OK" and body == b""


def test_failing_reader_is_a_500_without_details(app) -> None:
    status, headers, body, _log = call(app, "/source/test/fails/flex",
                                       "read.time.min=2017-01-01&read.time.max=2017-01-02")
    assert status.startswith("Status: 500")
    assert headers["content-type"] == "text/vnd.das2.das2stream"
    assert b"The data reader failed" in body and b"secret" not in body


def test_credentials_come_from_http_authorization(app) -> None:
    query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"
    status, headers, _body, _log = call(app, "/source/test/locked/flex", query)
    assert status.startswith("Status: 401") and "Deploy Realm" in headers["www-authenticate"]
    status, _headers, body, _log = call(app, "/source/test/locked/flex", query,
                                        HTTP_AUTHORIZATION=basic_header("ann", "ann-secret"))
    assert status == "Status: 200 OK" and len(das2_records(body, 12)) == 60


def test_https_requests_get_https_urls(app) -> None:
    status, _headers, body, _log = call(app, "/source/test/random/flex.json", HTTPS="on",
                                        SERVER_PORT="443")
    assert status == "Status: 200 OK"
    assert b"https://data.example.org/das/server/source/test/random/flex" in body


def test_bad_configuration_is_one_log_line_and_a_500(tmp_path: Path, caplog) -> None:
    broken = build_application({"DASFLEX_SITE_DIR": str(tmp_path / "missing")})
    status, _headers, body, _log = call(broken, "/")
    assert status.startswith("Status: 500")
    assert body.count(b"\n") == 1 and b"missing" not in body
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1 and "site_dir" in errors[0].getMessage()
    assert errors[0].exc_info is None


def program_environment(settings_file: Path, path: str, query: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DASFLEX_CONFIG": str(settings_file), **cgi_environ(path, query)}


def test_program_answers_one_request(settings_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dasflex_cgi"], capture_output=True, timeout=60,
        env=program_environment(settings_file, "/source/test/random/flex",
                                "read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"))
    assert done.returncode == 0 and done.stderr == b""
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200 OK\r\n")
    assert len(das2_records(body, 12)) == 60


def test_program_reads_utf8_paths_from_the_environment(settings_file: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dasflex_cgi"], capture_output=True, timeout=60,
                          env=program_environment(settings_file, "/source/test/caf\u00e9/flex", ""))
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 404")
    assert "no data source 'test/caf\u00e9'".encode() in body.replace(b"&apos;", b"'")


def test_program_does_not_import_flask(settings_file: Path) -> None:
    probe = ("import sys, os, dasflex_cgi\n"
             "dasflex_cgi.build_application(os.environ)\n"
             "print(sorted(m for m in ('flask', 'werkzeug', 'websockets') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, env={"DASFLEX_CONFIG": str(settings_file)})
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP])
def test_stopped_program_kills_its_reader(settings_file: Path, stop_signal: int) -> None:
    """Apache sends SIGTERM when a client leaves (SIGHUP on hangup): no reader survives.

    The quiet reader writes nothing for 30 s, so only the CGI program's own
    cleanup can end it in time.
    """
    end = f"2017-01-02T00:00:{os.getpid() % 60:02d}"
    needles = ("quiet.py", end)
    process = subprocess.Popen(
        [sys.executable, "-m", "dasflex_cgi"], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=program_environment(settings_file, "/source/test/quiet/flex",
                                f"read.time.min=2017-01-01&read.time.max={end}"))
    try:
        deadline = time.monotonic() + 30
        while not processes_matching(*needles) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_matching(*needles), "the reader never started"
        process.send_signal(stop_signal)
        process.wait(timeout=10)
        assert not processes_matching(*needles), "the reader outlived the CGI program"
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
