"""Administrator pages (request log viewer, usage) and the coverage plot of a source.

``/admin/jobs`` (and ``/admin/jobs.json``) shows the cache job queue: its
mode, counts and recent jobs with their state, duration and failure message.
``/admin/log`` lists recent requests of the configured request log, filtered
by source, status, client and text; ``/admin/log/<n>`` shows record ``n``
(its line number in the log and its rotated files, oldest first) with its pipeline and each stage's
stderr; ``/admin/usage`` gives requests, bytes and distinct clients per
source per day.  Only members of the ``admin_group`` setting may read them:
others get 401 (with a Basic challenge) or 403.  The pages only read the
configured log: no request value ever names a file, and everything shown is
HTML-escaped.

``/source/<id>/coverage.png?from=T&to=T`` draws where a source has data
(:mod:`dasflex_core.coverage`) over a bounded range.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterable, Iterator, Mapping
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from dasflex_core import auth
from dasflex_core.coverage import compute_coverage, coverage_png, default_range
from dasflex_core.dastime import parse_us2000
from dasflex_core.errors import (
    DasFlexError,
    ForbiddenError,
    NotFoundError,
    QueryError,
    TooLargeError,
    UnauthorizedError,
)
from dasflex_core.http import MIME_HTML, Request, Response, error_response, text_response
from dasflex_core.metrics import usage_by_day
from dasflex_core.protocols import Server, accounts, check_access, job_queue
from dasflex_core.requestlog import RequestLog, read_records

if TYPE_CHECKING:
    from dasflex_core.model import SourceDef

__all__ = ["COVERAGE_MAX_DAYS", "coverage_plot", "handle", "is_admin_path", "require_admin"]

#: Realm of the administrator pages' Basic challenge.
ADMIN_REALM = "dasflex administration"
#: Rows listed by default, and at most, on the log page.
DEFAULT_ROWS = 100
MAX_ROWS = 1000
#: Longest range a coverage plot may span, in days.
COVERAGE_MAX_DAYS = 366.0
#: Size of the coverage plot in pixels.
COVERAGE_SIZE = (640, 90)
#: Filter keys of the log page.
FILTER_KEYS = ("source", "status", "client", "text")

_STYLE = ("body{font-family:sans-serif;margin:2em}td,th{padding:0.15em 0.6em;text-align:left;"
          "vertical-align:top}pre{background:#f4f4f4;padding:0.5em;white-space:pre-wrap}")


def is_admin_path(path: str) -> bool:
    """True for ``/admin`` and the paths below it."""
    return path == "/admin" or path.startswith("/admin/")


def handle(server: Server, request: Request) -> Response:
    """Answer an ``/admin/...`` request (administrators only)."""
    try:
        require_admin(server, request)
        path = request.path.rstrip("/")
        if path in ("/admin", "/admin/log"):
            return _log_page(server, request)
        if path == "/admin/usage":
            return _usage_page(server, request)
        if path in ("/admin/jobs", "/admin/jobs.json"):
            return _jobs_page(server, request, as_json=path.endswith(".json"))
        if path.startswith("/admin/log/"):
            return _record_page(server, request, path[len("/admin/log/"):])
        raise NotFoundError("no such administration page")
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, "html")


def require_admin(server: Server, request: Request) -> str:
    """The verified administrator's name; 401 without valid credentials, 403 for others."""
    credentials = auth.parse_basic(request.header("authorization"))
    known = accounts(server)
    if credentials is None or not known.verify(*credentials):
        raise UnauthorizedError("the administration pages need a user name and password",
                                ADMIN_REALM)
    user = credentials[0]
    group = str(getattr(server.settings, "admin_group", "admin") or "admin")
    if not known.in_group(user, group):
        raise ForbiddenError(f"user '{user}' is not an administrator")
    return user


# --------------------------------------------------------------------------- log records


def _log_files(server: Server) -> list[Path]:
    """The configured request log and its rotated files, oldest first."""
    settings = server.settings
    path = getattr(settings, "request_log", None)
    if not path:
        return []
    return RequestLog(path, backups=int(getattr(settings, "request_log_backups", 5))).files()


def _records(server: Server) -> Iterator[dict[str, object]]:
    """Every record of the log, oldest first (for the usage page)."""
    return read_records(_log_files(server))


def _file_lines(path: Path) -> list[bytes]:
    try:
        return path.read_bytes().splitlines()
    except OSError:  # rotated away between listing and reading
        return []


def _parse(line: bytes) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _newest_first(server: Server) -> tuple[int, Iterator[tuple[int, bytes]]]:
    """The number of lines in the log, and (line number, line) from the newest."""
    files = [_file_lines(path) for path in _log_files(server)]
    total = sum(len(lines) for lines in files)

    def lines() -> Iterator[tuple[int, bytes]]:
        end = total
        for file_lines in reversed(files):
            end -= len(file_lines)
            for offset in range(len(file_lines) - 1, -1, -1):
                yield end + offset, file_lines[offset]

    return total, lines()


def _raw_needles(filters: Mapping[str, str]) -> list[bytes]:
    """Lower-case bytes a matching line must hold (values JSON writes unescaped only)."""
    needles = []
    for key in ("source", "client", "text"):
        value = filters[key]
        if value and value.isascii() and value.isprintable() and not set(value) & {'"', "\\"}:
            needles.append(value.lower().encode("ascii"))
    return needles


def _filters(request: Request) -> dict[str, str]:
    return {key: (request.query.get(key) or "").strip() for key in FILTER_KEYS}


def _matches(record: Mapping[str, object], filters: Mapping[str, str]) -> bool:
    source = filters["source"].lower()
    if source and source not in str(record.get("source") or "").lower():
        return False
    if filters["status"] and not _status_matches(record.get("status"), filters["status"]):
        return False
    if filters["client"] and not str(record.get("client") or "").startswith(filters["client"]):
        return False
    text = filters["text"].lower()
    if text:
        haystack = " ".join(str(record.get(key) or "") for key in
                            ("path", "query", "user", "error", "source")).lower()
        return text in haystack
    return True


def _status_matches(status: object, wanted: str) -> bool:
    """``wanted`` is a status (``404``) or a class (``4xx``)."""
    text = str(status or 0)
    wanted = wanted.lower()
    if len(wanted) == 3 and wanted.endswith("xx"):
        return text[:1] == wanted[0]
    return text == wanted


def _row_count(request: Request) -> int:
    text = request.query.get("rows") or str(DEFAULT_ROWS)
    try:
        rows = int(text)
    except ValueError:
        raise QueryError(f"rows must be a whole number, not '{text[:40]}'") from None
    return max(1, min(rows, MAX_ROWS))


def _log_page(server: Server, request: Request) -> Response:
    filters = _filters(request)
    rows = _row_count(request)
    needles = _raw_needles(filters)
    total, lines = _newest_first(server)
    shown: list[tuple[int, dict[str, object]]] = []
    for index, line in lines:
        if needles and not all(needle in line.lower() for needle in needles):
            continue
        record = _parse(line)
        if record is not None and _matches(record, filters):
            shown.append((index, record))
            if len(shown) >= rows:
                break
    body = [_filter_form(filters, rows), f"<p>{total} lines in the log; "
            f"showing the {len(shown)} most recent records that match, newest first. "
            '<a href="usage">Usage per day</a> · <a href="jobs">Cache jobs</a></p>']
    header = "".join(f"<th>{name}</th>" for name in
                     ("#", "time", "client", "user", "source", "status", "bytes", "seconds",
                      "request"))
    table = "".join(_log_row(index, record) for index, record in shown)
    body.append(f"<table><tr>{header}</tr>{table}</table>")
    return _page("Request log", "\n".join(body))


def _filter_form(filters: Mapping[str, str], rows: int) -> str:
    fields = "".join(
        f'<label>{key} <input name="{key}" value="{escape(value)}" size="12"></label> '
        for key, value in filters.items())
    return (f'<form method="get" action="log">{fields}'
            f'<label>rows <input name="rows" value="{rows}" size="5"></label> '
            '<button type="submit">Filter</button></form>')


def _log_row(index: int, record: Mapping[str, object]) -> str:
    request_text = str(record.get("path") or "")
    if record.get("query"):
        request_text += "?" + str(record.get("query"))
    cells = (
        f'<a href="log/{index}">{index}</a>',
        escape(str(record.get("time") or "")),
        escape(str(record.get("client") or "")),
        escape(str(record.get("user") or "")),
        escape(str(record.get("source") or "")),
        escape(str(record.get("status") or "")),
        escape(str(record.get("bytes") or 0)),
        escape(str(record.get("duration") or "")),
        escape(_shorten(request_text, 120)),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _record_page(server: Server, request: Request, number: str) -> Response:
    if not number.isdigit() or len(number) > 12:
        raise NotFoundError("records are addressed by their number in the log")
    wanted = int(number)
    first = 0
    for path in _log_files(server):
        lines = _file_lines(path)
        if wanted < first + len(lines):
            record = _parse(lines[wanted - first])
            if record is None:
                break
            return _page(f"Request {wanted}", _record_body(record))
        first += len(lines)
    raise NotFoundError(f"no record {wanted} in the request log")


def _record_body(record: Mapping[str, object]) -> str:
    keys = ("time", "client", "user", "method", "path", "query", "protocol", "source",
            "status", "bytes", "duration", "first_byte", "error")
    rows = "".join(f"<tr><th>{key}</th><td>{escape(str(record.get(key, '')))}</td></tr>"
                   for key in keys if key in record)
    parts = ['<p><a href="../log">Back to the log</a></p>', f"<table>{rows}</table>"]
    pipeline = record.get("pipeline")
    if isinstance(pipeline, Mapping):
        commands = ", ".join(str(name) for name in pipeline.get("commands") or ())
        parts.append(f"<h2>Pipeline</h2><p>commands: {escape(commands)}; output: "
                     f"{escape(str(pipeline.get('output') or ''))}</p>")
        argvs = "".join(f"<li><code>{escape(_argv_text(argv))}</code></li>"
                        for argv in pipeline.get("stages") or ())
        parts.append(f"<ol>{argvs}</ol>")
    for number, stage in enumerate(_items(record.get("stages")), start=1):
        parts.append(_stage_section(number, stage))
    return "\n".join(parts)


def _items(value: object) -> Iterable[object]:
    """The items of a list in a record (nothing for any other value)."""
    return value if isinstance(value, list | tuple) else ()


def _argv_text(argv: object) -> str:
    if isinstance(argv, list | tuple):
        return shlex.join(str(token) for token in argv)
    return str(argv)


def _stage_section(number: int, stage: object) -> str:
    if not isinstance(stage, Mapping):
        return ""
    status = escape(str(stage.get("exit_status")))
    size = escape(str(stage.get("stderr_bytes", "")))
    return (f"<h3>Stage {number}: exit status {status}</h3>"
            f"<p><code>{escape(_argv_text(stage.get('argv') or ''))}</code></p>"
            f"<p>stderr ({size} bytes):</p><pre>{escape(str(stage.get('stderr') or ''))}</pre>")


def _usage_page(server: Server, request: Request) -> Response:
    usage = usage_by_day(_records(server))
    header = "".join(f"<th>{name}</th>" for name in
                     ("day", "source", "requests", "bytes", "distinct clients"))
    lines = "".join(
        f"<tr><td>{escape(item.day)}</td><td>{escape(item.source or '(none)')}</td>"
        f"<td>{item.requests}</td><td>{item.bytes}</td><td>{item.clients}</td></tr>"
        for item in reversed(usage))
    body = (f'<p><a href="log">Request log</a></p><table><tr>{header}</tr>{lines}</table>')
    return _page("Usage per day", body)


# --------------------------------------------------------------------------- cache jobs


def _jobs_page(server: Server, request: Request, *, as_json: bool) -> Response:
    """The job queue's mode, counts and recent jobs; no paths, commands or Redis URL."""
    rows = _row_count(request)
    queue = job_queue(server)
    report: dict[str, object] = {"mode": "none", "message": "no cache directory is configured"}
    if queue is not None:
        report = queue.status(recent=rows).to_json()
    if as_json:
        return text_response(json.dumps(report, indent=1) + "\n", mime="application/json",
                             extra=[("Cache-Control", "no-store")])
    return _page("Cache jobs", _jobs_body(report))


def _jobs_body(report: Mapping[str, object]) -> str:
    parts = ['<p><a href="log">Request log</a> · <a href="usage">Usage per day</a> · '
             '<a href="jobs.json">JSON</a></p>']
    mode = str(report.get("mode"))
    if mode == "none":
        return "\n".join([*parts, f"<p>{escape(str(report.get('message')))}</p>"])
    where = ("Redis, shared by every front end and worker" if mode == "redis"
             else "embedded: this server process only")
    parts.append(f"<p>Queue <b>{escape(str(report.get('queue')))}</b> ({escape(where)})"
                 f"{'' if report.get('available') else ': <b>unavailable</b>'}. "
                 f"{escape(str(report.get('message') or ''))}</p>")
    counts = "".join(f"<tr><th>{name}</th><td>{int(_number(report.get(name) or 0))}</td></tr>"
                     for name in ("queued", "running", "finished", "failed", "workers"))
    parts.append(f"<table>{counts}</table>")
    recent = [job for job in _items(report.get("recent")) if isinstance(job, Mapping)]
    header = "".join(f"<th>{name}</th>" for name in
                     ("source", "level", "block", "state", "started", "seconds", "result",
                      "error"))
    table = "".join(_job_row(job) for job in recent)
    parts.append(f"<h2>Recent jobs</h2><table><tr>{header}</tr>{table}</table>")
    failures = "".join(f"<li>{escape(str(job.get('source')))} {escape(str(job.get('block')))}: "
                       f"{escape(str(job.get('error') or 'failed'))}</li>"
                       for job in recent if job.get("state") == "failed")
    if failures:
        parts.append(f"<h2>Failures</h2><ul>{failures}</ul>")
    return "\n".join(parts)


def _job_row(job: Mapping[str, object]) -> str:
    started = job.get("started")
    duration = job.get("duration")
    cells = (job.get("source"), job.get("level"), job.get("block"), job.get("state"),
             _utc(_number(started)) if started else "",
             f"{_number(duration):.2f}" if duration is not None else "",
             job.get("result"), job.get("error"))
    return "<tr>" + "".join(f"<td>{escape(str(cell or ''))}</td>" for cell in cells) + "</tr>"


def _number(value: object) -> float:
    """A number of a record or report (int, float or its text)."""
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError(f"not a number: {type(value).__name__}")


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _page(title: str, body: str) -> Response:
    text = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")
    return text_response(text, mime=MIME_HTML, extra=[("Cache-Control", "no-store")])


# --------------------------------------------------------------------------- coverage


def coverage_link(source: SourceDef, base: str) -> str | None:
    """The coverage plot URL of ``source`` over its default range, if it has one."""
    if source.reader is None or source.redirect:
        return None
    span = default_range(source)
    if span is None or not _within_limit(*span):
        return None
    query = urlencode({"from": span[0], "to": span[1]})
    return f"{base}/source/{source.id.lower()}/coverage.png?{query}"


def _within_limit(begin: str, end: str) -> bool:
    try:
        return 0 <= _span_days(begin, end) <= COVERAGE_MAX_DAYS
    except (DasFlexError, ValueError, OverflowError):
        return False


def _span_days(begin: str, end: str) -> float:
    """Days from ``begin`` to ``end``; :class:`~dasflex_core.errors.TimeError` for bad times."""
    return float(parse_us2000(end) - parse_us2000(begin)) / 86400e6


def coverage_plot(server: Server, request: Request, source_path: str) -> Response:
    """``/source/<id>/coverage.png?from=T&to=T``: where the source has data, as a PNG."""
    try:
        source = server.source(source_path)
        span = default_range(source)
        begin = request.query.get("from") or (span[0] if span else None)
        end = request.query.get("to") or (span[1] if span else None)
        if not begin or not end:
            raise QueryError("give the range as from=TIME&to=TIME")
        check_access(server, source, request, end_time=end, begin_time=begin)
        days = _span_days(begin, end)
        if days < 0:
            raise QueryError(f"to={end} is before from={begin}")
        if days > COVERAGE_MAX_DAYS:
            raise TooLargeError(f"a coverage plot spans 0 to {COVERAGE_MAX_DAYS:g} days")
        if request.is_head:
            return Response(200, [("Content-Type", "image/png")], b"")
        result = compute_coverage(source, begin, end, timeout=server.settings.total_timeout)
        image = coverage_png(result, *COVERAGE_SIZE)
        return Response(200, [("Content-Type", "image/png"), ("Content-Length", str(len(image))),
                              ("Cache-Control", "max-age=3600")], image)
    except Exception as error:  # noqa: BLE001 - mapped to a response once, here
        return error_response(error, "text")
