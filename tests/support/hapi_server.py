"""A minimal HAPI 3.3 server for the tests (standard library), that fails on demand.

One dataset, ``ramp``: a record a minute from 2020-01-01 to 2020-01-10 with a
double ``value`` (minutes since the start, fill -1e31 every 10th minute), an
integer ``count``, a ``spectrum`` of 4 doubles binned at 10..40 Hz and a
3-character string ``flag`` (which das2 cannot carry).  ``maxRequestDuration``
is one day.  Answers CSV and binary, ``include=header``, gzip when asked.

:attr:`HapiTestServer.mode` makes ``/data`` misbehave: ``slow`` (waits before
answering), ``stall`` (stops mid-body), ``nodata`` (1201), ``range`` (1405),
``unknown`` (1406), ``broken`` (closes the connection mid-stream), ``html``
(a web page instead of data), ``columns`` (CSV lines with a column missing),
``flaky`` (503 for the first :attr:`failures` requests), ``csv-only``
(binary refused with 1409).  Unknown parameter names are refused with 1407,
repeated ones with 1411.  Every request is counted (:attr:`requests`),
with its User-Agent, and :attr:`busiest` is the most ``/data`` requests
answered at once.
"""

from __future__ import annotations

import gzip
import json
import struct
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

START = datetime(2020, 1, 1, tzinfo=UTC)
STOP = datetime(2020, 1, 10, tzinfo=UTC)
FILL = -1e31
BINS = [10.0, 20.0, 30.0, 40.0]

INFO = {
    "HAPI": "3.3",
    "status": {"code": 1200, "message": "OK"},
    "startDate": "2020-01-01T00:00:00Z",
    "stopDate": "2020-01-10T00:00:00Z",
    "sampleStartDate": "2020-01-01T00:00:00Z",
    "sampleStopDate": "2020-01-01T02:00:00Z",
    "cadence": "PT1M",
    "maxRequestDuration": "P1D",
    "description": "A ramp with a spectrum, one record a minute",
    "contact": "Test Person <test@example.org>",
    "parameters": [
        {"name": "Time", "type": "isotime", "units": "UTC", "fill": None, "length": 24},
        {"name": "value", "type": "double", "units": "V", "fill": "-1e31", "label": "Ramp",
         "description": "minutes since the start"},
        {"name": "count", "type": "integer", "units": None, "fill": None},
        {"name": "spectrum", "type": "double", "units": "W/m^2/Hz", "fill": None, "size": [4],
         "bins": [{"name": "frequency", "units": "Hz", "centers": BINS}]},
        {"name": "flag", "type": "string", "units": None, "fill": None, "length": 3},
    ],
}


def record(minute: int) -> tuple[str, float, int, list[float], str]:
    """The ``ramp`` record ``minute`` minutes after the start."""
    moment = START + timedelta(minutes=minute)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    value = FILL if minute % 10 == 9 else float(minute)
    return stamp, value, minute % 7, [minute * 1.5 + k for k in range(4)], "ab" + str(minute % 10)


def parse_time(text: str) -> datetime:
    """The HAPI times the fetch sends (full or shortened YMD, optional Z and fraction)."""
    text = text.rstrip("Z")
    for layout in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


class HapiTestServer(ThreadingHTTPServer):
    """The server; run it with :func:`tests.support.servers.serving`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.datasets: dict[str, dict] = {"ramp": json.loads(json.dumps(INFO))}
        self.titles: dict[str, str] = {"ramp": "Test ramp"}
        self.delay = 3.0
        self.failures = 2
        self.gzip = False
        self.requests: list[tuple[str, dict[str, str], str]] = []
        self.connections: list[int] = []  # the client port of each request
        self.encodings: list[str] = []  # the Accept-Encoding of each request
        self.lock = threading.Lock()
        self.active = 0
        self.busiest = 0

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up (the timeout tests do so on purpose) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        """The HAPI root, ``http://127.0.0.1:PORT/hapi``."""
        return f"http://127.0.0.1:{self.server_address[1]}/hapi"

    def data_requests(self) -> list[dict[str, str]]:
        """The queries of every ``/data`` request so far."""
        return [query for path, query, _ in self.requests if path.endswith("/data")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HapiTestServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        with self.server.lock:
            self.server.requests.append((parts.path, query, self.headers.get("User-Agent", "")))
            self.server.connections.append(self.client_address[1])
            self.server.encodings.append(self.headers.get("Accept-Encoding", ""))
        endpoint = parts.path.rsplit("/", 1)[-1]
        if endpoint == "data":
            with self.server.lock:
                self.server.active += 1
                self.server.busiest = max(self.server.busiest, self.server.active)
            try:
                self._data(query)
            finally:
                with self.server.lock:
                    self.server.active -= 1
            return
        documents = {
            "capabilities": {"HAPI": "3.3", "status": INFO["status"],
                             "outputFormats": ["csv"] if self.server.mode == "csv-only"
                             else ["csv", "binary"]},
            "catalog": {"HAPI": "3.3", "status": INFO["status"],
                        "catalog": [{"id": key, "title": self.server.titles.get(key, key)}
                                    for key in self.server.datasets]},
            "info": self.server.datasets.get(query.get("id") or query.get("dataset") or ""),
            "about": {"HAPI": "3.3", "status": INFO["status"], "id": "test", "title": "Test",
                      "contact": "test@example.org"},
        }
        if endpoint not in documents:
            self._status(404, 1400, "unknown endpoint")
        elif endpoint == "info" and documents["info"] is None:
            self._status(404, 1406, "unknown dataset id")
        else:
            self._send(200, "application/json", json.dumps(documents[endpoint]).encode())

    # -- answers ---------------------------------------------------------------------

    def _send(self, status: int, mime: str, body: bytes, reason: str | None = None) -> None:
        if self.server.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            encoded = True
        else:
            encoded = False
        self.send_response(status, reason)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        if encoded:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)

    def _status(self, status: int, code: int, message: str) -> None:
        body = json.dumps({"HAPI": "3.3", "status": {"code": code, "message": message}}).encode()
        self._send(status, "application/json", body, f"HAPI {code} {message}")

    def _data(self, query: dict[str, str]) -> None:
        mode = self.server.mode
        if mode == "flaky" and len(self.server.data_requests()) <= self.server.failures:
            self._status(503, 1500, "try again")
            return
        refusal = {"nodata": (200, 1201, "OK - no data for time range"),
                   "range": (400, 1405, "time outside valid range"),
                   "unknown": (404, 1406, "unknown dataset id")}.get(mode)
        if refusal:
            self._status(*refusal)
            return
        if mode == "slow":
            time.sleep(self.server.delay)
        if mode == "html":
            self._send(200, "text/html", b"<html><body>Maintenance</body></html>")
            return
        output = query.get("format", "csv")
        if output == "binary" and mode == "csv-only":
            self._status(400, 1409, "unsupported output format")
            return
        begin = parse_time(query.get("start") or query["time.min"])
        end = parse_time(query.get("stop") or query["time.max"])
        if begin < START or end > STOP:
            self._status(400, 1405, "time outside valid range")
            return
        if end - begin > timedelta(days=1):
            self._status(400, 1408, "too much time or data requested")
            return
        wanted = [name for name in query.get("parameters", "").split(",") if name]
        names = [parameter["name"] for parameter in INFO["parameters"]]
        if any(name not in names for name in wanted):
            self._status(400, 1407, "unknown dataset parameter")
            return
        if len(set(wanted)) < len(wanted):
            self._status(400, 1411, "out of order or duplicate parameters")
            return
        header = self._header(wanted, output) if query.get("include") == "header" else b""
        body = header + b"".join(self._records(begin, end, wanted, output, mode))
        self._stream(body, mode)

    def _header(self, wanted: list[str], output: str) -> bytes:
        parameters = [p for i, p in enumerate(INFO["parameters"]) if not i or not wanted
                      or p["name"] in wanted]
        document = {**self.server.datasets["ramp"], "parameters": parameters, "format": output}
        text = json.dumps(document, indent=1)
        return "".join(f"#{line}\n" for line in text.splitlines()).encode()

    def _records(self, begin: datetime, end: datetime, wanted: list[str], output: str,
                 mode: str) -> Iterator[bytes]:
        first = max(0, int((begin - START).total_seconds() + 59) // 60)
        minute = first
        while START + timedelta(minutes=minute) < end:
            stamp, value, count, spectrum, flag = record(minute)
            columns = {"value": value, "count": count, "spectrum": spectrum, "flag": flag}
            chosen = [name for name in columns if not wanted or name in wanted]
            if output == "binary":
                yield stamp.encode() + b"".join(_binary(name, columns[name]) for name in chosen)
            else:
                cells = [stamp] + [_text(columns[name]) for name in chosen]
                if mode == "columns":
                    cells = cells[:-1]
                yield (",".join(cells) + "\n").encode()
            minute += 1

    def _stream(self, body: bytes, mode: str) -> None:
        if self.server.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            self._send(200, "application/octet-stream", body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode in ("broken", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(self.server.delay)
            self.close_connection = True
            return
        self.wfile.write(body)


def _binary(name: str, value: object) -> bytes:
    if name == "count":
        return struct.pack("<i", value)
    if name == "spectrum":
        return struct.pack("<4d", *value)  # type: ignore[misc]
    if name == "flag":
        return str(value).encode()
    return struct.pack("<d", value)


def _text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(repr(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)

