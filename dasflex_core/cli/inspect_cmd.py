"""``dasflex inspect``: a JSON summary of a das2 or das3 stream.

Prints the stream version, each packet definition, record counts per packet
id, the first (earliest) and last (latest) time, ISO 8601, over packets whose
x coordinate is a time, and the comments and exceptions.  An invalid stream prints one line
(what failed, at which byte) to stderr and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)

#: Comments listed in full; further ones are only counted.
MAX_LISTED_COMMENTS = 100
_CHUNK = 1 << 20

#: Time-point units (lower case) and their spelling for dastime.convert_times.
_TIME_UNITS = {"us2000": "us2000", "t2000": "t2000", "t1970": "t1970", "mj1958": "mj1958",
               "ns1970": "ns1970", "tt2000": "TT2000"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    parser = subparsers.add_parser(
        "inspect",
        help="summarise a das2 or das3 stream as JSON",
        description="Read a das2 or das3 stream and print a JSON summary: version, packet "
        "definitions, record counts, time range, comments and exceptions.  Exit status 1 "
        "(with one line on stderr) if the stream is invalid.",
    )
    parser.add_argument("file", metavar="FILE", help="stream file, or - for standard input")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Inspect ``args.file``; print the summary or the error."""
    from dasflex_core.errors import DasFlexError

    try:
        if args.file == "-":
            summary = inspect_stream(sys.stdin.buffer)
        else:
            with open(args.file, "rb") as stream:
                summary = inspect_stream(stream)
    except OSError as exc:
        print(f"dasflex inspect: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except DasFlexError as exc:
        print(f"dasflex inspect: {args.file}: invalid stream: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _make_reader(first: bytes) -> tuple[str, Any]:
    """The stream format and a reader for it, sniffed from the first bytes."""
    if not first:
        from dasflex_core.codecs.das2 import Das2Reader

        return "das2", Das2Reader()  # reports the empty input on close()
    from dasflex_core.codecs import make_reader, stream_version

    return stream_version(first), make_reader(first)


def inspect_stream(stream: BinaryIO) -> dict[str, Any]:
    """Read a whole stream and return its summary (raises StreamError if invalid)."""
    chunks = _chunks(stream)
    first = next(chunks, b"")
    stream_format, reader = _make_reader(first)
    summary = _Summary(stream_format)
    if first:
        summary.add_all(reader.feed(first))
    for chunk in chunks:
        summary.add_all(reader.feed(chunk))
    summary.add_all(reader.close())
    return summary.result()


class _Summary(EventStream[None]):
    """Accumulates the inspect report from events."""

    def __init__(self, stream_format: str) -> None:
        self.report: dict[str, Any] = {"format": stream_format}
        self.packets: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, str]] = []
        self.comment_count = 0
        self.exceptions: list[dict[str, str]] = []
        self.earliest: float | None = None
        self.latest: float | None = None

    def add_all(self, events: list[Event]) -> None:
        """Take a batch of events."""
        self.handle(events)

    def on_comment(self, event: Comment) -> None:
        self.comment_count += 1
        if len(self.comments) < MAX_LISTED_COMMENTS:
            self.comments.append({"type": event.type, "source": event.source, "value": event.value})

    def on_exception(self, event: StreamException) -> None:
        self.exceptions.append({"type": event.type, "message": event.message})

    def on_stream_start(self, event: StreamStart) -> None:
        self.report["version"] = event.version
        header = event.header
        self.report["compression"] = getattr(header, "compression", "none")
        self.report["properties"] = _properties_of(header)

    def on_packet_header(self, event: HeaderDefined) -> None:
        key = f"{event.packet_id:02d}"
        entry = self.packets.setdefault(key, {"definitions": 0, "records": 0})
        entry["definitions"] += 1
        entry["definition"] = _describe_header(event.header)

    def on_data(self, run: DataRun) -> None:
        entry = self.packets[f"{run.packet_id:02d}"]
        entry["records"] += run.count
        bounds = _time_bounds(run.header, run.records)
        if bounds is not None:
            low, high = bounds
            self.earliest = low if self.earliest is None else min(self.earliest, low)
            self.latest = high if self.latest is None else max(self.latest, high)

    def result(self) -> dict[str, Any]:
        self.report["packets"] = self.packets
        self.report["records"] = sum(entry["records"] for entry in self.packets.values())
        self.report["first_time"] = None if self.earliest is None else _iso(self.earliest)
        self.report["last_time"] = None if self.latest is None else _iso(self.latest)
        self.report["comment_count"] = self.comment_count
        self.report["comments"] = self.comments
        self.report["exceptions"] = self.exceptions
        return self.report


def _properties_of(header: Any) -> dict[str, str]:
    """Stream properties as ``{attribute: text}`` (das2 and das3 headers)."""
    properties = getattr(header, "properties", None) or ()
    result: dict[str, str] = {}
    for item in properties:
        name = str(getattr(item, "attribute_name", None) or getattr(item, "name", ""))
        text = getattr(item, "text", None)
        result[name] = str(text if text is not None else getattr(item, "value", ""))
    return result


def _describe_header(header: Any) -> dict[str, Any]:
    from dasflex_core.codecs.das2 import PacketHeader

    if isinstance(header, PacketHeader):
        return {
            "kind": "das2 packet",
            "group": header.group,
            "record_bytes": header.record_size + 4,
            "planes": [
                {
                    "field": name,
                    "kind": plane.kind,
                    "name": plane.name,
                    "type": plane.encoding.name,
                    "units": plane.value_units,
                    "items": plane.nitems,
                }
                for name, plane in zip(header.fields, header.planes, strict=True)
            ],
        }
    return {
        "kind": "das3 dataset",
        "name": getattr(header, "name", None),
        "rank": getattr(header, "rank", None),
        "variables": [
            {"key": key, "units": variable.units, "semantic": variable.semantic}
            for key, _, variable in header.packet_variables()
        ],
    }


def _time_bounds(header: Any, records: Any) -> tuple[float, float] | None:
    """(earliest, latest) x time of a run as us2000, or None when x is not a time."""
    located = _time_field(header)
    if located is None or len(records) == 0:
        return None
    import numpy as np

    name, units = located
    try:
        if isinstance(records, list):
            values = np.array([records[0].get(name), records[-1].get(name)], dtype=np.float64)
        else:
            values = np.asarray(records[name], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    values = values[np.isfinite(values) & (np.abs(values) < 1e30)]
    if not values.size:
        return None
    bounds = np.array([values.min(), values.max()])
    if units in ("ns1970", "tt2000"):
        bounds = bounds.astype(np.int64)
    low, high = _to_us2000(bounds, units)
    return float(low), float(high)


def _time_field(header: Any) -> tuple[str, str] | None:
    from dasflex_core.codecs.das2 import PacketHeader

    if isinstance(header, PacketHeader):
        plane = header.x_plane
        if plane is None or not plane.is_time:
            return None
        units = plane.value_units.lower()
        return (header.field(plane), units) if units in _TIME_UNITS else None
    for key, dimension, variable in header.packet_variables():
        units = (variable.units or "").lower()
        if dimension.kind == "coord" and units in _TIME_UNITS and variable.use == "center":
            return key, units
    return None


def _to_us2000(values: Any, units: str) -> Any:
    from dasflex_core.dastime import convert_times

    return convert_times(values, _TIME_UNITS.get(units, "us2000"), "us2000")


def _iso(us2000: float) -> str:
    """ISO 8601 UTC text (microseconds) of a us2000 time."""
    import numpy as np

    if not np.isfinite(us2000) or abs(us2000) > 2.5e17:
        return "invalid"
    stamp = np.datetime64("2000-01-01T00:00:00", "us") + np.timedelta64(int(round(us2000)), "us")
    return f"{np.datetime_as_string(stamp, unit='us')}Z"
