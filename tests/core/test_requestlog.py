"""Request log records, rotation, usage statistics and /metrics through the WSGI app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dasflex_core.metrics import Metrics, usage_by_day
from dasflex_core.requestlog import RequestLog, read_records
from tests.support.paths import PROJECT_DIR
from tests.support.prometheus import parse_prometheus
from tests.support.wsgi import call

SITE_DIR = PROJECT_DIR / "examples" / "site"
DATA_QUERY = ("server=dataset&dataset=Examples/Random"
              "&start_time=2017-01-01T00:00&end_time=2017-01-01T01:00")


@pytest.fixture
def app(tmp_path, monkeypatch):
    from dasflex_core.protocols.wsgi import make_wsgi_app
    from dasflex_core.settings import load_settings

    monkeypatch.setenv("DASFLEX_REQUEST_LOG", str(tmp_path / "log" / "access.log"))
    monkeypatch.setenv("DASFLEX_METRICS_DIR", str(tmp_path / "metrics"))
    return make_wsgi_app(load_settings(site_dir=SITE_DIR, environ={}))


def log_lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / "log" / "access.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_data_request_leaves_one_complete_record(app, tmp_path):
    status, body = call(app, "/", DATA_QUERY, HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    assert status == 200 and body.startswith(b"[00]")
    (record,) = log_lines(tmp_path)
    assert record["client"] == "192.0.2.7"
    assert record["user"] == "alice"
    assert record["source"] == "Examples/Random"
    assert record["protocol"] == "das2"
    assert record["query"] == DATA_QUERY
    assert record["status"] == 200
    assert record["bytes"] == len(body)
    assert 0 < record["first_byte"] <= record["duration"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    assert record["pipeline"]["commands"] == ["reader"]
    (stage,) = record["stages"]
    assert stage["exit_status"] == 0 and "random_reader.py" in " ".join(stage["argv"])


def test_error_request_is_logged_with_its_status(app, tmp_path):
    status, body = call(app, "/", "server=dataset&dataset=No/Such&start_time=2017-01-01"
                                  "&end_time=2017-01-02")
    assert status == 404
    (record,) = log_lines(tmp_path)
    assert record["status"] == 404 and record["bytes"] == len(body)
    assert record["pipeline"] is None and record["stages"] == []


def test_reader_stderr_goes_to_the_log_not_the_client(tmp_path):
    from dasflex_core.requestlog import RequestRecord

    class FakePipeline:
        def log_record(self):
            return [{"argv": ["reader"], "exit_status": 3, "stderr": "secret path",
                     "stderr_bytes": 11}]

    record = RequestRecord(status=500, pipeline=FakePipeline())
    assert record.to_json()["stages"][0]["stderr"] == "secret path"


def test_metrics_page_parses_and_counts_requests(app):
    call(app, "/", DATA_QUERY)
    call(app, "/", DATA_QUERY)
    call(app, "/no/such/page")
    status, body = call(app, "/metrics")
    assert status == 200
    families = parse_prometheus(body.decode())
    requests = families["dasflex_requests_total"]
    assert requests["type"] == "counter"
    by_labels = {tuple(sorted(labels.items())): value for labels, value in requests["samples"]}
    key = (("protocol", "das2"), ("source", "Examples/Random"), ("status", "200"))
    assert by_labels[key] == 2
    assert sum(by_labels.values()) == 3
    histogram = families["dasflex_request_duration_seconds"]
    counts = [v for labels, v in histogram["samples"] if labels.get("le") == "+Inf"]
    assert sum(counts) == 3
    assert families["dasflex_running_readers"]["samples"] == [({}, 0)]
    assert families["dasflex_cache_hits_total"]["samples"] == [({}, 0)]


def test_metrics_are_summed_over_worker_files(tmp_path):
    import os

    state = tmp_path / "state"
    other = Metrics(state)
    other.request_finished(object(), {"source": "A", "protocol": "hapi", "status": 200,
                                      "duration": 0.2, "bytes": 10})
    snapshot = json.loads(next(state.glob("metrics-*.json")).read_text())
    snapshot["pid"] = os.getppid()  # pretend another live worker wrote it
    (state / "metrics-other.json").write_text(json.dumps(snapshot))
    mine = Metrics(state)
    mine.request_finished(object(), {"source": "A", "protocol": "hapi", "status": 200,
                                     "duration": 0.3, "bytes": 5})
    families = parse_prometheus(mine.render())
    (sample,) = families["dasflex_requests_total"]["samples"]
    assert sample[1] == 2
    (total,) = families["dasflex_response_bytes_total"]["samples"]
    assert total[1] == 15


def test_log_rotates_by_size(tmp_path):
    log = RequestLog(tmp_path / "access.log", max_bytes=200, backups=2)
    for number in range(30):
        log.write({"n": number, "padding": "x" * 40})
    files = log.files()
    assert [p.name for p in files] == ["access.log.2", "access.log.1", "access.log"]
    assert all(p.stat().st_size <= 200 for p in files)
    numbers = [record["n"] for record in read_records(files)]
    assert numbers == sorted(numbers) and numbers[-1] == 29


def test_usage_by_day_counts_requests_bytes_and_clients():
    records = [
        {"time": "2026-01-01T10:00:00.000Z", "source": "A", "bytes": 10, "client": "x"},
        {"time": "2026-01-01T11:00:00.000Z", "source": "A", "bytes": 5, "client": "x"},
        {"time": "2026-01-01T12:00:00.000Z", "source": "A", "bytes": 1, "client": "y"},
        {"time": "2026-01-02T00:00:00.000Z", "source": "B", "bytes": 7, "client": "x"},
    ]
    usage = [(u.day, u.source, u.requests, u.bytes, u.clients) for u in usage_by_day(records)]
    assert usage == [("2026-01-01", "A", 3, 16, 2), ("2026-01-02", "B", 1, 7, 1)]


def test_worker_snapshot_is_throttled_but_always_written(tmp_path, monkeypatch):
    import time

    from dasflex_core import metrics

    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.2)
    worker = Metrics(tmp_path)
    document = {"source": "A", "protocol": "das2", "status": 200, "duration": 0.1, "bytes": 1}
    for _ in range(3):
        worker.request_finished(object(), document)

    def written() -> int:
        snapshot = json.loads(next(tmp_path.glob("metrics-*.json")).read_text())
        return sum(count for *_, count in snapshot["requests"])

    assert written() == 1
    deadline = time.monotonic() + 5
    while written() != 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written() == 3


def test_flask_app_logs_and_serves_metrics(tmp_path, monkeypatch):
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    monkeypatch.setenv("DASFLEX_REQUEST_LOG", str(tmp_path / "log" / "access.log"))
    client = create_app(load_settings(site_dir=SITE_DIR, environ={})).test_client()
    reply = client.get(f"/?{DATA_QUERY}")
    assert reply.status_code == 200
    reply.close()  # as a WSGI server does once the body is sent
    (record,) = log_lines(tmp_path)
    assert record["bytes"] == len(reply.data) and record["source"] == "Examples/Random"
    metrics_reply = client.get("/metrics")
    assert metrics_reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = parse_prometheus(metrics_reply.get_data(as_text=True))
    assert sum(v for _, v in families["dasflex_requests_total"]["samples"]) == 1
