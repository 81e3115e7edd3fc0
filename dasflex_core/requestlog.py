"""Request logs: one JSON line per request, written by every front-end.

:class:`RequestLog` appends records to a file, rotating it by size
(``access.log`` -> ``access.log.1`` ...).  Each record is one ``write`` on a
file opened with ``O_APPEND``, so several processes (gunicorn workers, CGI
requests) may share one log; rotation is checked before each write.

:class:`OperationsMiddleware` wraps any WSGI application: it times the
request (duration, time to first byte), counts the body bytes, answers
``/metrics`` from a :class:`~dasflex_core.metrics.Metrics` object, and on
completion writes the record and updates the metrics.  Protocol handlers call
:func:`note_pipeline` when they start a pipeline so that the record holds the
solved pipeline and each stage's exit status and stderr.  Readers' stderr
goes to the log only, never to a client.
"""

from __future__ import annotations

import base64
import contextvars
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dasflex_core.metrics import CONTENT_TYPE, Metrics

__all__ = [
    "OperationsMiddleware",
    "RequestLog",
    "RequestLogger",
    "RequestRecord",
    "note_pipeline",
    "protocol_of",
    "read_records",
    "request_logger",
    "websocket_record",
    "wrap_application",
]

#: Default size at which the log is rotated, and rotated files kept.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_BACKUPS = 5
#: Path answered with the Prometheus metrics.
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "dasflex_request_record", default=None)


@dataclass
class RequestRecord:
    """What is known about one request; :meth:`to_json` gives the log line."""

    client: str = ""
    user: str = ""
    method: str = "GET"
    path: str = "/"
    query: str = ""
    protocol: str = "other"
    source: str = ""
    status: int = 0
    bytes: int = 0
    started: float = field(default_factory=time.time)
    duration: float = 0.0
    first_byte: float | None = None
    error: str = ""
    plan: Any = None
    pipeline: Any = None
    _clock: float = field(default_factory=time.monotonic, repr=False)

    def elapsed(self) -> float:
        """Seconds since the request started."""
        return time.monotonic() - self._clock

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready mapping (stage stderr included)."""
        stamp = datetime.fromtimestamp(self.started, UTC).isoformat(timespec="milliseconds")
        record: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "client": self.client,
            "user": self.user,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "protocol": self.protocol,
            "source": self.source or getattr(self.plan, "source_id", "") or "",
            "status": self.status,
            "bytes": self.bytes,
            "duration": round(self.duration, 6),
            "first_byte": None if self.first_byte is None else round(self.first_byte, 6),
            "pipeline": _solved_pipeline(self.plan),
            "stages": _stage_records(self.pipeline),
        }
        if self.error:
            record["error"] = self.error
        return record


def _solved_pipeline(plan: Any) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "commands": list(getattr(plan, "commands", ())),
        "output": str(getattr(plan, "output", "")),
        "stages": [list(argv) for argv in getattr(plan, "stages", ())],
        "cache_level": getattr(plan, "cache_level", None),
        "cache_gaps": len(getattr(plan, "cache_gaps", ())),
    }


def _stage_records(pipeline: Any) -> list[dict[str, Any]]:
    log_record = getattr(pipeline, "log_record", None)
    if log_record is None:
        return []
    try:
        return list(log_record())
    except Exception:  # noqa: BLE001 - the log must never fail a request
        return []


def note_pipeline(plan: Any, pipeline: Any) -> None:
    """Tell the current request's record which plan and pipeline it ran.

    A no-op outside :class:`OperationsMiddleware` (tests, the command line).
    """
    record = _CURRENT.get()
    if record is not None:
        record.plan = plan
        record.pipeline = pipeline


def current_record() -> RequestRecord | None:
    """The record of the request being answered in this context, if any."""
    return _CURRENT.get()


def protocol_of(path: str, query: str) -> str:
    """The protocol a request path speaks: das2, das3, hapi, metrics or html."""
    if path == "/hapi" or path.startswith("/hapi/"):
        return "hapi"
    if path in ("/", "/server") and "server=" in query:
        return "das2"
    if path.startswith("/source/") and path.rstrip("/").rsplit("/", 1)[-1] in ("flex", "das2"):
        return "das3" if path.endswith("/flex") else "das2"
    if path.startswith("/source/") or path.lstrip("/") in ("catalog.json", "root.json", "nodes.csv"):
        return "catalog"
    if path == METRICS_PATH:
        return "metrics"
    return "html"


class RequestLog:
    """A size-rotated JSON-lines log (``path`` None: records are dropped)."""

    def __init__(self, path: Path | str | None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 backups: int = DEFAULT_BACKUPS) -> None:
        self.path = Path(path) if path is not None else None
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line, rotating first if the file is full."""
        if self.path is None:
            return
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        with self._lock:
            self._rotate_if_full(len(line))
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)

    def _rotate_if_full(self, incoming: int) -> None:
        assert self.path is not None
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if self.max_bytes <= 0 or size + incoming <= self.max_bytes or size == 0:
            return
        if self.backups <= 0:
            self.path.unlink(missing_ok=True)
            return
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
        try:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        except FileNotFoundError:  # another process rotated it just now
            pass

    def files(self) -> list[Path]:
        """The log and its rotated files, oldest first."""
        if self.path is None:
            return []
        rotated = [self.path.with_name(f"{self.path.name}.{n}") for n in range(self.backups, 0, -1)]
        return [path for path in (*rotated, self.path) if path.exists()]


def read_records(paths: Iterable[Path | str]) -> Iterator[dict[str, Any]]:
    """Records from JSON-lines files, in order; unreadable lines are skipped."""
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record


def request_user(environ: dict[str, Any]) -> str:
    """The authenticated user: ``REMOTE_USER``, else the Basic credentials' name."""
    user = environ.get("REMOTE_USER") or ""
    if user:
        return str(user)
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except ValueError:
        return ""
    return decoded.partition(":")[0]


def new_record(environ: dict[str, Any]) -> RequestRecord:
    """A record for the WSGI request in ``environ``."""
    path = str(environ.get("PATH_INFO", "") or "/")
    query = str(environ.get("QUERY_STRING", ""))
    return RequestRecord(
        client=str(environ.get("REMOTE_ADDR", "")),
        user=request_user(environ),
        method=str(environ.get("REQUEST_METHOD", "GET")),
        path=path,
        query=query,
        protocol=protocol_of(path, query),
    )


class RequestLogger:
    """Finishes request records: writes each to the log and counts it in the metrics."""

    def __init__(self, request_log: RequestLog, metrics: Metrics) -> None:
        self.request_log = request_log
        self.metrics = metrics

    def started(self, record: RequestRecord) -> None:
        """Note a request in progress (for the running-readers gauge)."""
        self.metrics.request_started(record)

    def finish(self, record: RequestRecord) -> None:
        """Log and count a finished request (``duration`` measured unless set)."""
        record.duration = record.duration or record.elapsed()
        document = record.to_json()
        self.metrics.request_finished(record, document)
        try:
            self.request_log.write(document)
        except OSError:  # a full disk must not fail requests
            pass


class OperationsMiddleware:
    """WSGI middleware: request log records, metrics, and the ``/metrics`` page."""

    def __init__(self, app: WsgiApp, logger: RequestLogger) -> None:
        self.app = app
        self.logger = logger
        self.metrics = logger.metrics

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == METRICS_PATH:
            return self._metrics_page(start_response)
        record = new_record(environ)

        def recording_start_response(status: str, headers: Any, *args: Any) -> Any:
            record.status = _status_code(status)
            return start_response(status, headers, *args)

        token = _CURRENT.set(record)
        self.logger.started(record)
        try:
            body = self.app(environ, recording_start_response)
        except BaseException as error:
            record.status = record.status or 500
            record.error = type(error).__name__
            self.logger.finish(record)
            raise
        finally:
            _CURRENT.reset(token)
        return _RecordedBody(body, record, self.logger.finish)

    def _metrics_page(self, start_response: StartResponse) -> list[bytes]:
        body = self.metrics.render().encode("utf-8")
        start_response("200 OK", [("Content-Type", CONTENT_TYPE),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]


def _status_code(status: str) -> int:
    try:
        return int(status.split(None, 1)[0])
    except (ValueError, IndexError):
        return 0


class _RecordedBody:
    """The response body: counts bytes, notes the first byte, finishes once on close."""

    def __init__(self, body: Iterable[bytes], record: RequestRecord,
                 finish: Callable[[RequestRecord], None]) -> None:
        self._body = body
        self._record = record
        self._finish = finish
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        record = self._record
        try:
            for chunk in self._body:
                if chunk:
                    if record.first_byte is None:
                        record.first_byte = record.elapsed()
                    record.bytes += len(chunk)
                yield chunk
        except BaseException as error:
            record.error = record.error or f"aborted: {type(error).__name__}"
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if not self._done:
                self._done = True
                self._finish(self._record)


def wrap_application(app: WsgiApp, settings: Any = None, **options: Any) -> OperationsMiddleware:
    """``app`` with request logging and ``/metrics``; ``options`` as for :func:`request_logger`."""
    return OperationsMiddleware(app, request_logger(settings, **options))


def request_logger(settings: Any = None, *, log_file: Path | str | None = None,
                   metrics_dir: Path | str | None = None, max_bytes: int | None = None,
                   backups: int | None = None) -> RequestLogger:
    """The request log and metrics of one application.

    Each option comes from the argument, else the setting of the same name
    (``request_log``, ``metrics_dir``, ``request_log_max_bytes``,
    ``request_log_backups``), else ``DASFLEX_REQUEST_LOG`` /
    ``DASFLEX_METRICS_DIR`` in the environment; with no log file, records
    only feed the metrics.
    """
    log_file = log_file or _option(settings, "request_log")
    metrics_dir = metrics_dir or _option(settings, "metrics_dir")
    limit = max_bytes if max_bytes is not None else getattr(
        settings, "request_log_max_bytes", DEFAULT_MAX_BYTES)
    kept = backups if backups is not None else getattr(
        settings, "request_log_backups", DEFAULT_BACKUPS)
    request_log = RequestLog(log_file, max_bytes=int(limit), backups=int(kept))
    return RequestLogger(request_log, Metrics(metrics_dir))


def websocket_record(client: str, request: Any, setup: Any, pipeline: Any, bytes_sent: int,
                     close_code: int | None, duration: float) -> RequestRecord:
    """The record of one finished websocket stream (status 200 on a normal close)."""
    target = str(getattr(request, "path", "") or "/")
    path, _, query = target.partition("?")
    normal = close_code in (1000, 1001)
    headers = getattr(request, "headers", None)
    authorization = str(headers.get("Authorization", "")) if headers is not None else ""
    return RequestRecord(
        client=client, user=request_user({"HTTP_AUTHORIZATION": authorization}),
        path=path, query=query, protocol="websocket",
        source=str(getattr(setup, "source_id", "") or ""),
        status=200 if normal else 500, bytes=bytes_sent,
        started=time.time() - duration, duration=duration,
        error="" if normal else f"websocket closed with code {close_code}",
        plan=getattr(setup, "plan", None), pipeline=pipeline,
    )


def _option(settings: Any, name: str) -> Any:
    value = getattr(settings, name, None)
    if value:
        return value
    return os.environ.get(f"DASFLEX_{name.upper()}") or None
