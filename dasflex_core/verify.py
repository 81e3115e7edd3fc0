"""Source verification: every example range through every advertised output.

For each source and example range, :func:`verify_site` plans each das output
(das2 binary/text, das3 binary/text, CSV) with the planner, runs it with the
runner (no HTTP) and validates the stream: das2 and das3 parse with the
codecs, hold at least one record, and (das2) every record time lies inside
the range, widened by the source's bin width; the table formats (plain
CSV, Parquet, NetCDF-4, VOTable, JSON) are read back and their rows counted
(:mod:`dasflex_core.tools.readback`).  Sources that publish HAPI are
also encoded as HAPI csv, binary and json from their das2 stream, the way
the server does, and checked against their HAPI info: CSV column counts,
binary record sizes, JSON rows.  Outputs the planner cannot produce for a
source (no pipeline) are reported as not offered, not as failures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dasflex_core import runner
from dasflex_core.codecs.das2 import Das2Reader
from dasflex_core.codecs.summary import StreamSummary, summarize
from dasflex_core.dastime import from_us2000, parse_us2000
from dasflex_core.errors import DasFlexError, NoPipelineError, NotFoundError, StreamError
from dasflex_core.http import Request
from dasflex_core.keys import (
    BIN_TIME_MAX,
    FLEX,
    FORMAT_SERIAL,
    FORMAT_STYLE,
    FORMAT_TYPE,
    FORMAT_VERSION,
    READ_TIME_INTERVAL,
    READ_TIME_MAX,
    READ_TIME_MIN,
)
from dasflex_core.planner import Planner
from dasflex_core.protocols import Server
from dasflex_core.protocols.hapi_datasets import source_info
from dasflex_core.protocols.hapi_encode import HapiEncoder
from dasflex_core.settings import load_settings
from dasflex_core.tools.readback import READERS as TABLE_READERS

__all__ = ["DAS_OUTPUTS", "HAPI_OUTPUTS", "Check", "format_table", "verify_site"]

#: The outputs every source advertises (das streams, CSV, table formats) and their query keys.
DAS_OUTPUTS: Mapping[str, Mapping[str, str]] = {
    "das2-binary": {FORMAT_VERSION: "2"},
    "das2-text": {FORMAT_VERSION: "2", FORMAT_SERIAL: "text"},
    "das3-binary": {FORMAT_VERSION: "3"},
    "das3-text": {FORMAT_VERSION: "3", FORMAT_SERIAL: "text"},
    "csv": {FORMAT_TYPE: "csv"},
    "csv-plain": {FORMAT_TYPE: "csv", FORMAT_STYLE: "plain"},
    "parquet": {FORMAT_TYPE: "parquet"},
    "netcdf": {FORMAT_TYPE: "netcdf"},
    "votable": {FORMAT_TYPE: "votable"},
    "votable-binary": {FORMAT_TYPE: "votable", FORMAT_SERIAL: "binary"},
    "json": {FORMAT_TYPE: "json"},
}
#: HAPI formats checked for sources that publish HAPI.
HAPI_OUTPUTS = ("hapi-csv", "hapi-binary", "hapi-json")
#: Seconds a verification pipeline may run.
TIMEOUT = 120.0
#: Slack (microseconds) allowed around the range for record times.
TIME_SLACK_US = 1.0


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one source, example and output."""

    source: str
    example: int
    output: str
    status: str  # "ok", "FAIL" or "n/a"
    records: int = 0
    bytes: int = 0
    seconds: float = 0.0
    message: str = ""

    @property
    def failed(self) -> bool:
        """True when this output did not verify."""
        return self.status == "FAIL"


def verify_site(site: Any, source_ids: Iterable[str] = (), *, first_only: bool = False,
                hapi: bool = True, timeout: float = TIMEOUT,
                jobs: int = 2) -> list[Check]:
    """Verify the named sources of ``site`` (all when none is named).

    ``jobs`` example ranges are verified at once (each runs its pipelines).
    Raises :class:`~dasflex_core.errors.NotFoundError` for an unknown id.
    """
    wanted = list(source_ids)
    sources = []
    for source_id in wanted:
        found = site.get(source_id)
        if found is None:
            raise NotFoundError(f"no data source '{source_id}' in {site.root}")
        sources.append(found)
    if not wanted:
        sources = [source for source in site if source.redirect is None]
    planner = Planner()
    for source in sources:
        planner.prepare(source)
    hapi_server = _hapi_server(site) if hapi else None
    tasks = [(source, index, dict(example.settings)) for source in sources
             for index, example in list(enumerate(source.examples))[: 1 if first_only else None]]
    checks = [Check(source.id, -1, "-", "FAIL", message="no example range")
              for source in sources if not source.examples]

    def verify_example(task: tuple[Any, int, dict[str, str]]) -> list[Check]:
        source, index, settings = task
        found = [_check_das(planner, source, index, output, settings, keys, timeout)
                 for output, keys in DAS_OUTPUTS.items()]
        if hapi_server is not None and source.hapi:
            found.extend(_check_hapi(hapi_server, planner, source, index, settings, timeout))
        return found

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for found in pool.map(verify_example, tasks):
            checks.extend(found)
    return checks


# -- das outputs ---------------------------------------------------------------


def _check_das(planner: Any, source: Any, index: int, output: str, settings: dict[str, str],
               keys: Mapping[str, str], timeout: float) -> Check:
    started = time.monotonic()
    try:
        plan = planner.plan(source, {**settings, **keys}, FLEX)
    except NoPipelineError as error:
        return Check(source.id, index, output, "n/a", message=str(error))
    except DasFlexError as error:
        return Check(source.id, index, output, "FAIL", message=f"planning: {error}")
    try:
        data = _run(plan, timeout)
        records = _validate(output, data, settings, source)
    except DasFlexError as error:
        return Check(source.id, index, output, "FAIL", seconds=time.monotonic() - started,
                     message=str(error))
    return Check(source.id, index, output, "ok", records, len(data), time.monotonic() - started)


def _run(plan: Any, timeout: float) -> bytes:
    with runner.run(plan, first_byte_timeout=timeout, total_timeout=timeout) as pipeline:
        data = b"".join(pipeline)
        failure = next((stage for stage in pipeline.results if stage.failed), None)
    if failure is not None:
        detail = failure.stderr.decode("utf-8", "replace").strip().splitlines()
        last = detail[-1] if detail else "no message"
        raise StreamError(f"{failure.argv[0]} exited with {failure.exit_status}: {last[:200]}")
    if not data:
        raise StreamError("the output is empty")
    return data


def _validate(output: str, data: bytes, settings: Mapping[str, str], source: Any) -> int:
    """Records in ``data`` after checking it; raise StreamError when it is wrong."""
    if output.startswith("das2"):
        return _validate_das2(data, _time_window(settings, source))
    if output.startswith("das3"):
        return _validate_das3(data)
    if output in TABLE_READERS:
        return TABLE_READERS[output](data)
    return _validate_csv(data)


def _time_window(settings: Mapping[str, str], source: Any) -> tuple[float, float] | None:
    """The example range in us2000, widened by the bin width; None when unknown."""
    begin, end = settings.get(READ_TIME_MIN), settings.get(READ_TIME_MAX)
    if not begin or not end:
        return None
    try:
        low, high = parse_us2000(begin), parse_us2000(end)
    except DasFlexError:
        return None
    try:
        slack = float(settings.get(BIN_TIME_MAX) or 0.0) * 1e6
    except ValueError:
        slack = 0.0
    return low - slack - TIME_SLACK_US, high + slack + TIME_SLACK_US


def _validate_das2(data: bytes, window: tuple[float, float] | None) -> int:
    summary = _summary(data, "das2")
    if window is not None and summary.earliest is not None and summary.latest is not None:
        _check_times(summary.earliest, summary.latest, window)
    return summary.records


def _validate_das3(data: bytes) -> int:
    return _summary(data, "das3").records


def _summary(data: bytes, stream_format: str) -> StreamSummary:
    """The summary of a ``stream_format`` stream; StreamError when it is invalid, reports
    an exception or holds no data record."""
    summary = summarize([data], stream_format)
    if summary.exceptions:
        first = summary.exceptions[0]
        raise StreamError(f"the stream reports {first['type']}: {first['message'][:200]}")
    if not summary.records:
        raise StreamError("the stream holds no data record")
    return summary


def _check_times(low: float, high: float, window: tuple[float, float]) -> None:
    """StreamError when the record times ``low`` to ``high`` (us2000) leave ``window``."""
    if low < window[0] or high > window[1]:
        raise StreamError(f"record times {from_us2000(low)} to {from_us2000(high)} leave the range")


def _validate_csv(data: bytes) -> int:
    rows = [line for line in data.decode("utf-8", "replace").splitlines()
            if line.strip() and not line.startswith("#")]
    return _check_columns(rows[1:] if rows and not _numeric_start(rows[0]) else rows, None)


def _numeric_start(line: str) -> bool:
    return line[:1].isdigit() or line[:1] in "+-."


def _check_columns(rows: list[str], expected: int | None) -> int:
    """The number of rows; raise when empty or when column counts differ."""
    if not rows:
        raise StreamError("the CSV holds no data row")
    counts = {len(row.split(",")) for row in rows}
    if len(counts) > 1:
        raise StreamError(f"CSV rows have different column counts: {sorted(counts)}")
    if expected is not None and counts != {expected}:
        raise StreamError(f"CSV rows have {counts.pop()} columns, the HAPI info {expected}")
    return len(rows)


# -- HAPI outputs -------------------------------------------------------------


def _hapi_server(site: Any) -> Any:
    return Server(load_settings(site_dir=site.root, environ={}), site)


def _check_hapi(server: Any, planner: Any, source: Any, index: int,
                settings: dict[str, str], timeout: float) -> list[Check]:
    started = time.monotonic()
    try:
        info = source_info(server, Request(), source)
        plan = planner.plan(source, {key: value for key, value in settings.items()
                                     if key in (READ_TIME_MIN, READ_TIME_MAX, READ_TIME_INTERVAL)},
                            FLEX)
        data = _run(plan, timeout)
    except DasFlexError as error:
        return [Check(source.id, index, output, "FAIL", seconds=time.monotonic() - started,
                      message=str(error)) for output in HAPI_OUTPUTS]
    return [_encode_hapi(source, index, output, data, info, settings) for output in HAPI_OUTPUTS]


def _encode_hapi(source: Any, index: int, output: str, data: bytes, info: Mapping[str, Any],
                 settings: Mapping[str, str]) -> Check:
    started = time.monotonic()
    kind = output.removeprefix("hapi-")
    parameters = list(info.get("parameters", ()))
    try:
        start, stop = parse_us2000(settings[READ_TIME_MIN]), parse_us2000(settings[READ_TIME_MAX])
        encoder = HapiEncoder([p["name"] for p in parameters[1:]], kind, start, stop)
        reader = Das2Reader()
        body = encoder.feed(reader.feed(data)) + encoder.feed(reader.close())
        records = _HAPI_VALIDATORS[kind](body, parameters)
    except (DasFlexError, KeyError, ValueError) as error:
        return Check(source.id, index, output, "FAIL", seconds=time.monotonic() - started,
                     message=f"HAPI {kind}: {error}")
    return Check(source.id, index, output, "ok", records, len(body), time.monotonic() - started)


def _columns(parameter: Mapping[str, Any]) -> int:
    size = 1
    for length in parameter.get("size", ()) or ():
        size *= int(length)
    return size


def _record_bytes(parameter: Mapping[str, Any]) -> int:
    if parameter.get("type") in ("isotime", "string"):
        return int(parameter.get("length", 0)) * _columns(parameter)
    width = 4 if parameter.get("type") == "integer" else 8
    return width * _columns(parameter)


def _hapi_csv(body: bytes, parameters: list[Mapping[str, Any]]) -> int:
    rows = [line for line in body.decode("utf-8", "replace").splitlines() if line]
    return _check_columns(rows, sum(_columns(p) for p in parameters))


def _hapi_binary(body: bytes, parameters: list[Mapping[str, Any]]) -> int:
    size = sum(_record_bytes(p) for p in parameters)
    if size <= 0:
        raise StreamError("the HAPI info gives no record size")
    if not body or len(body) % size:
        raise StreamError(f"{len(body)} bytes are not a whole number of {size}-byte records")
    return len(body) // size


def _hapi_json(body: bytes, parameters: list[Mapping[str, Any]]) -> int:
    text = body.decode("utf-8").strip().rstrip(",")
    rows = json.loads(f"[{text}]")
    if not rows:
        raise StreamError("the HAPI json holds no data row")
    if any(len(row) != len(parameters) for row in rows):
        raise StreamError(f"HAPI json rows do not have {len(parameters)} values")
    return len(rows)


_HAPI_VALIDATORS: Mapping[str, Callable[[bytes, list[Mapping[str, Any]]], int]] = {
    "csv": _hapi_csv, "binary": _hapi_binary, "json": _hapi_json,
}


# -- report ---------------------------------------------------------------------


def format_table(checks: Iterable[Check]) -> str:
    """A fixed-width table of ``checks``, one row each."""
    header = ("source", "ex", "output", "status", "records", "bytes", "seconds", "message")
    rows = [header] + [
        (c.source, str(c.example), c.output, c.status, str(c.records), str(c.bytes),
         f"{c.seconds:.2f}", c.message[:100]) for c in checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
             + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)
