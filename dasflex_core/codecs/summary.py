"""A summary of a das2 or das3 stream, built from its reader's events.

:class:`StreamSummary` counts packet definitions and records per packet id,
keeps the earliest and latest time of packets whose x coordinate is a time,
and lists the comments and exceptions.  ``dasflex inspect`` prints it, the
``/verify`` page shows it and ``dasflex verify`` checks streams with it.

:class:`StreamSummary` is an :class:`~dasflex_core.codecs.events.EventStream`.
Importing this module imports neither numpy nor a stream reader (the readers
load numpy); they are loaded when a stream is first summarised.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from dasflex_core.codecs import new_reader, stream_version
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventReader,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)

__all__ = ["MAX_LISTED_COMMENTS", "EventReader", "StreamSummary", "start_summary", "summarize"]

#: Comments listed in full; further ones are only counted.
MAX_LISTED_COMMENTS = 100

#: Largest |value| taken for a time; larger ones are fill values.
_FILL_LIMIT = 1e30
#: Largest |us2000| shown as an ISO time (about 9,900 years).
_MAX_SHOWN_US2000 = 2.5e17


class StreamSummary(EventStream[None]):
    """Accumulates a stream's summary from its reader's events."""

    def __init__(self, stream_format: str) -> None:
        self.report: dict[str, Any] = {"format": stream_format}
        self.packets: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, str]] = []
        self.comment_count = 0
        self.exceptions: list[dict[str, str]] = []
        #: Earliest and latest record time (us2000) of packets whose x is a time.
        self.earliest: float | None = None
        self.latest: float | None = None

    @property
    def records(self) -> int:
        """Data records seen so far, over every packet id."""
        return sum(entry["records"] for entry in self.packets.values())

    def add_all(self, events: Iterable[Event]) -> None:
        """Take a batch of reader events into the summary."""
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
        """The summary as a JSON-ready dict (the ``dasflex inspect`` report)."""
        self.report["packets"] = self.packets
        self.report["records"] = self.records
        self.report["first_time"] = None if self.earliest is None else _iso(self.earliest)
        self.report["last_time"] = None if self.latest is None else _iso(self.latest)
        self.report["comment_count"] = self.comment_count
        self.report["comments"] = self.comments
        self.report["exceptions"] = self.exceptions
        return self.report


def start_summary(first: bytes, stream_format: str | None = None) -> tuple[EventReader, StreamSummary]:
    """A new reader for the stream that begins with ``first``, and its empty summary.

    The format is ``stream_format`` (``"das2"`` or ``"das3"``, read as such
    whatever the bytes), else sniffed from ``first`` (StreamError when it is
    neither); empty input gets a das2 reader, which reports it on ``close()``.
    """
    if stream_format is None:
        stream_format = stream_version(first) if first else "das2"
    reader: EventReader = new_reader(stream_format)
    return reader, StreamSummary(stream_format)


def summarize(chunks: Iterable[bytes], stream_format: str | None = None) -> StreamSummary:
    """The summary of a whole stream given in chunks (raises StreamError if invalid).

    ``stream_format`` as for :func:`start_summary`.
    """
    pending = iter(chunks)
    first = next(pending, b"")
    reader, summary = start_summary(first, stream_format)
    if first:
        summary.add_all(reader.feed(first))
    for chunk in pending:
        summary.add_all(reader.feed(chunk))
    summary.add_all(reader.close())
    return summary


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
    values = values[np.isfinite(values) & (np.abs(values) < _FILL_LIMIT)]
    if not values.size:
        return None
    bounds = np.array([values.min(), values.max()])
    if units in ("ns1970", "tt2000"):
        bounds = bounds.astype(np.int64)
    low, high = _to_us2000(bounds, units)
    return float(low), float(high)


@cache
def _time_units() -> dict[str, str]:
    """Time-point units, lower case, with their spelling in the time package."""
    from dasflex_core.dastime.vec import TIME_UNITS

    return {name.lower(): name for name in TIME_UNITS}


def _time_field(header: Any) -> tuple[str, str] | None:
    """(record field, lower-case time unit) of the x time coordinate, if there is one."""
    from dasflex_core.codecs.das2 import PacketHeader

    known = _time_units()
    if isinstance(header, PacketHeader):
        plane = header.x_plane
        if plane is None or not plane.is_time:
            return None
        units = plane.value_units.lower()
        return (header.field(plane), units) if units in known else None
    for key, dimension, variable in header.packet_variables():
        units = (variable.units or "").lower()
        if dimension.kind == "coord" and units in known and variable.use == "center":
            return key, units
    return None


def _to_us2000(values: Any, units: str) -> Any:
    from dasflex_core.dastime.vec import convert_times

    return convert_times(values, _time_units().get(units, "us2000"), "us2000")


def _iso(us2000: float) -> str:
    """ISO 8601 UTC text (microseconds) of a us2000 time."""
    import numpy as np

    if not np.isfinite(us2000) or abs(us2000) > _MAX_SHOWN_US2000:
        return "invalid"
    stamp = np.datetime64("2000-01-01T00:00:00", "us") + np.timedelta64(int(round(us2000)), "us")
    return f"{np.datetime_as_string(stamp, unit='us')}Z"
