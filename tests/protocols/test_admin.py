"""The administrator pages: access control, escaping, filters, records and usage."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dasflex_core.auth import hash_password
from tests.support.http import basic_header
from tests.support.paths import PROJECT_DIR
from tests.support.servers import free_port
from tests.support.wsgi import CLIENT_ADDRESS, wsgi_get

SITE_DIR = PROJECT_DIR / "examples" / "site"
HOSTILE = "<script>alert(1)</script>"


def log_record(index: int, **fields: object) -> dict:
    record = {"time": f"2026-01-0{1 + index % 2}T00:00:00.000Z", "client": f"192.0.2.{index}",
              "user": "", "method": "GET", "path": "/source/examples/random/flex",
              "query": "read.time.min=2017-01-01", "protocol": "das3",
              "source": "Examples/Random", "status": 200, "bytes": 100 * index,
              "duration": 0.5, "first_byte": 0.1, "pipeline": None, "stages": []}
    record.update(fields)
    return record


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "log" / "access.log"
    path.parent.mkdir()
    stages = [{"argv": ["python", "reader.py", "<b>"], "exit_status": 3,
               "stderr": f"cannot open {HOSTILE}\n", "stderr_bytes": 40}]
    pipeline = {"commands": ["reader"], "output": "das2/2.2/binary",
                "stages": [["python", "reader.py", "2017-01-01"]]}
    records = [
        log_record(1),
        log_record(2, source="Examples/Spectra", status=404, client="198.51.100.9"),
        log_record(3, query=f"x={HOSTILE}", status=500, pipeline=pipeline, stages=stages,
                   error=HOSTILE),
    ]
    path.write_text("".join(json.dumps(record) + "\n" for record in records) + "not json\n")
    return path


@pytest.fixture
def app(tmp_path: Path, log_file: Path):
    from dasflex_core.protocols.wsgi import make_wsgi_app
    from dasflex_core.settings import load_settings

    users = tmp_path / "users"
    users.write_text(f"root:{hash_password('root-pw', scheme='pbkdf2_sha256', rounds=1000)}\n"
                     f"ann:{hash_password('ann-pw', scheme='pbkdf2_sha256', rounds=1000)}\n")
    groups = tmp_path / "groups"
    groups.write_text("operators: root\nteam: ann\n")
    settings = load_settings(environ={}, site_dir=SITE_DIR, users_file=users, groups_file=groups,
                             admin_group="operators", request_log=log_file)
    return make_wsgi_app(settings)


def call(app, path: str, query: str = "", authorization: str = "") -> tuple[int, dict, str]:
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    reply = wsgi_get(app, path, query, remote_addr=CLIENT_ADDRESS, **extra)
    return reply.status, reply.header_map, reply.body.decode("utf-8")


ADMIN = basic_header("root", "root-pw")


@pytest.mark.parametrize("path", ["/admin/log", "/admin/log/0", "/admin/usage", "/admin",
                                  "/admin/jobs", "/admin/jobs.json"])
def test_anonymous_gets_401_with_a_basic_challenge(app, path: str) -> None:
    status, headers, body = call(app, path)
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic realm=")
    assert "192.0.2" not in body


def test_wrong_password_gets_401(app) -> None:
    status, _, _ = call(app, "/admin/log", authorization=basic_header("root", "nope"))
    assert status == 401


@pytest.mark.parametrize("path", ["/admin/log", "/admin/log/2", "/admin/usage", "/admin/jobs",
                                  "/admin/jobs.json"])
def test_known_user_outside_the_admin_group_gets_403(app, path: str) -> None:
    status, _, body = call(app, path, authorization=basic_header("ann", "ann-pw"))
    assert status == 403
    assert "script" not in body


def test_default_admin_group_is_admin() -> None:
    from dasflex_core.settings import Settings

    assert Settings().admin_group == "admin"


def test_log_page_escapes_hostile_queries(app) -> None:
    status, headers, body = call(app, "/admin/log", authorization=ADMIN)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert HOSTILE not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "4 lines in the log" in body


def test_record_page_shows_pipeline_and_escaped_stderr(app) -> None:
    status, _, body = call(app, "/admin/log/2", authorization=ADMIN)
    assert status == 200
    assert HOSTILE not in body and "<b>" not in body
    assert "cannot open &lt;script&gt;" in body
    assert "reader.py 2017-01-01" in body
    assert "exit status 3" in body


@pytest.mark.parametrize("number", ["3", "99", "-1", "..%2F..%2Fetc%2Fpasswd", "1x"])
def test_records_are_addressed_by_index_only(app, number: str) -> None:
    status, _, body = call(app, f"/admin/log/{number}", authorization=ADMIN)
    assert status == 404
    assert "root:" not in body


def test_filters_select_records(app) -> None:
    def shown(query: str) -> set[str]:
        _, _, body = call(app, "/admin/log", query, authorization=ADMIN)
        return {number for number in "012" if f'href="log/{number}"' in body}

    assert shown("") == {"0", "1", "2"}
    assert shown("source=spectra") == {"1"}
    assert shown("status=5xx") == {"2"}
    assert shown("status=200") == {"0"}
    assert shown("client=198.51") == {"1"}
    assert shown("text=%3Cscript") == {"2"}
    assert shown("source=examples&rows=1") == {"2"}


def test_hostile_filter_values_are_escaped(app) -> None:
    status, _, body = call(app, "/admin/log", "text=%22%3E%3Cscript%3E", authorization=ADMIN)
    assert status == 200
    assert '"><script>' not in body
    assert "&quot;&gt;&lt;script&gt;" in body


def test_bad_row_count_is_a_clear_400(app) -> None:
    status, _, body = call(app, "/admin/log", "rows=lots", authorization=ADMIN)
    assert status == 400
    assert "rows must be a whole number" in body


def test_usage_page_counts_requests_bytes_and_clients(app) -> None:
    status, _, body = call(app, "/admin/usage", authorization=ADMIN)
    assert status == 200
    assert ("<tr><td>2026-01-02</td><td>Examples/Random</td><td>2</td><td>400</td>"
            "<td>2</td></tr>") in body
    assert "<td>Examples/Spectra</td><td>1</td><td>200</td><td>1</td>" in body


def test_admin_pages_only_answer_get_and_head(app) -> None:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/admin/log", "QUERY_STRING": "",
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
               "HTTP_AUTHORIZATION": ADMIN}
    replies: list[str] = []
    body = app(environ, lambda line, headers, *rest: replies.append(line))
    b"".join(body)
    getattr(body, "close", lambda: None)()
    assert replies[0].startswith("405")


def test_without_a_request_log_the_page_is_empty(tmp_path: Path) -> None:
    from dasflex_core.protocols.wsgi import make_wsgi_app
    from dasflex_core.settings import load_settings

    users = tmp_path / "users"
    users.write_text(f"root:{hash_password('root-pw', scheme='pbkdf2_sha256', rounds=1000)}\n")
    groups = tmp_path / "groups"
    groups.write_text("admin: root\n")
    app = make_wsgi_app(load_settings(environ={}, site_dir=SITE_DIR, users_file=users,
                                      groups_file=groups))
    status, _, body = call(app, "/admin/log", authorization=ADMIN)
    assert status == 200
    assert "0 lines in the log" in body


# -- cache jobs ------------------------------------------------------------------------


def admin_app(tmp_path: Path, **settings: object):
    from dasflex_core.protocols.wsgi import make_wsgi_app
    from dasflex_core.settings import load_settings

    users = tmp_path / "users"
    users.write_text(f"root:{hash_password('root-pw', scheme='pbkdf2_sha256', rounds=1000)}\n")
    groups = tmp_path / "groups"
    groups.write_text("admin: root\n")
    return make_wsgi_app(load_settings(environ={}, site_dir=SITE_DIR, users_file=users,
                                       groups_file=groups, **settings))


def test_jobs_page_without_a_cache(app) -> None:
    status, headers, body = call(app, "/admin/jobs", authorization=ADMIN)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "no cache directory is configured" in body
    status, headers, body = call(app, "/admin/jobs.json", authorization=ADMIN)
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["mode"] == "none"


def test_jobs_page_shows_embedded_jobs_a_request_queued(tmp_path: Path) -> None:
    import time

    cache_dir = tmp_path / "cache"
    app = admin_app(tmp_path, cache_dir=cache_dir)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "localhost",
               "QUERY_STRING": "server=dataset&dataset=Examples/Spectra&resolution=60"
                               "&start_time=1979-03-01T00:00&end_time=1979-03-01T01:00",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO()}
    replies: list[str] = []
    data = b"".join(app(environ, lambda line, headers, *rest: replies.append(line)))
    assert replies[0].startswith("200") and data.startswith(b"[00]")
    deadline = time.monotonic() + 60
    while True:
        report = json.loads(call(app, "/admin/jobs.json", authorization=ADMIN)[2])
        if report["finished"] + report["failed"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert report["mode"] == "embedded" and report["finished"] == 1, report
    job = report["recent"][0]
    assert job["source"] == "Examples/Spectra" and job["state"] == "finished"
    assert job["duration"] > 0 and job["result"] == "built"
    _, _, body = call(app, "/admin/jobs", authorization=ADMIN)
    assert "<td>Examples/Spectra</td>" in body and "<td>finished</td>" in body
    assert str(cache_dir) not in body and str(tmp_path) not in body


def test_jobs_page_in_redis_mode_hides_the_url_and_password(tmp_path: Path) -> None:
    port = free_port()
    app = admin_app(tmp_path, cache_dir=tmp_path / "cache",
                    redis_url=f"redis://:hunter2@127.0.0.1:{port}/0")
    status, _, body = call(app, "/admin/jobs", authorization=ADMIN)
    assert status == 200 and "unavailable" in body
    assert "hunter2" not in body and "redis://" not in body
    report = json.loads(call(app, "/admin/jobs.json", authorization=ADMIN)[2])
    assert report["mode"] == "redis" and report["available"] is False


def test_jobs_page_escapes_job_fields() -> None:
    from dasflex_core.protocols.admin import _jobs_body

    report = {"mode": "embedded", "queue": HOSTILE, "available": True, "failed": 1,
              "recent": [{"source": HOSTILE, "level": "00", "block": "2020", "state": "failed",
                          "started": 0.0, "duration": 1.5, "result": "", "error": HOSTILE}]}
    body = _jobs_body(report)
    assert HOSTILE not in body and "&lt;script&gt;" in body and "Failures" in body
