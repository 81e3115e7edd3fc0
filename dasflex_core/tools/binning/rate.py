"""Packet / byte rate counting for das2_bin_ratesec.

Counts are kept in a dict keyed by bin number (one entry per non-empty bin),
filled with ``np.unique`` per data run, so memory grows with the number of
bins, not records; with ``monotonic`` only the open bin is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs import das2_style
from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader, parse_encoding
from dasflex_core.codecs.das2_writer import encode_records
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.dastime import us2000_from_das2
from dasflex_core.errors import StreamError
from dasflex_core.tools.binning.core import bin_numbers
from dasflex_core.tools.binning.props import SlotProperties
from dasflex_core.tools.streamio import ToolStream, run_stream

PROGRAM = "das2_bin_ratesec"

#: Stream properties about y and z that make no sense for a rate.
REMOVED_PROPERTIES = (
    "yFill", "yLabel", "yRange", "yScaleType", "ySummary", "yValidMin", "yValidMax",
    "zFill", "zLabel", "zRange", "zScaleType", "zSummary", "zValidMin", "zValidMax",
)

#: (limit in us, unit name, plural, us per unit) for interval labels.
_INTERVALS = (
    (1.0, "ns", None, 1e-3),
    (1e3, "\u03bcs", None, 1.0),
    (1e6, "ms", None, 1e3),
    (60e6, "s", None, 1e6),
    (3600e6, "minute", "minutes", 60e6),
    (86400e6, "hour", "hours", 3600e6),
    (float("inf"), "day", "days", 86400e6),
)


@dataclass(frozen=True, slots=True)
class RateConfig:
    """What to count and how to label it."""

    width_us: float
    origin: float | None = None
    monotonic: bool = False
    events: bool = False
    volume_name: str | None = None
    volume_bytes: int = 1
    title: str | None = None
    ylabel: str | None = None


def interval_text(width_us: float) -> tuple[str, bool]:
    """das2C's name for a bin width: ('minute', True) or ('30 s', False).

    The flag tells whether the text is a bare unit (usable in a units string).
    """
    _, unit, plural, scale = next(entry for entry in _INTERVALS if width_us < entry[0])
    amount = width_us / scale
    if abs(1.0 - amount) < 1.0e-3:
        return unit, True
    number = f"{amount:.3f}".rstrip("0").rstrip(".")
    return f"{number} {plural or unit}", False


@dataclass(slots=True)
class RateCounter:
    """Counts per bin; emits (bin, value) pairs."""

    config: RateConfig
    origin: float | None = None
    counts: dict[int, float] = field(default_factory=dict)
    last_bin: int | None = None

    def add(self, times_us: np.ndarray, amount: float) -> list[tuple[int, float]]:
        """Count records at ``times_us``; return bins closed by them (monotonic mode)."""
        if self.origin is None:
            self.origin = float(times_us[0])
        bins = bin_numbers(times_us, self.origin, self.config.width_us)
        if self.config.monotonic:
            return self._add_monotonic(bins, amount)
        numbers, how_many = np.unique(bins, return_counts=True)
        for number, count in zip(numbers.tolist(), how_many.tolist(), strict=True):
            self.counts[number] = self.counts.get(number, 0.0) + count * amount
        return []

    def _add_monotonic(self, bins: np.ndarray, amount: float) -> list[tuple[int, float]]:
        if self.last_bin is not None and bins[0] < self.last_bin or np.any(np.diff(bins) < 0):
            raise StreamError("time reversal in data declared monotonic (-m)")
        closed = []
        starts = np.flatnonzero(np.diff(bins)) + 1
        edges = np.concatenate(([0], starts, [len(bins)]))
        for begin, end in zip(edges[:-1], edges[1:], strict=True):
            number = int(bins[begin])
            if self.last_bin is not None and number != self.last_bin:
                closed.append((self.last_bin, self.counts.pop(self.last_bin)))
            self.counts[number] = self.counts.get(number, 0.0) + (end - begin) * amount
            self.last_bin = number
        return closed

    def finish(self) -> list[tuple[int, float]]:
        """The remaining bins: every bin from the lowest to the highest (0 when empty)."""
        if not self.counts:
            return []
        if self.config.monotonic:
            return sorted(self.counts.items())
        low, high = min(self.counts), max(self.counts)
        return [(number, self.counts.get(number, 0.0)) for number in range(low, high + 1)]


class RateStream(ToolStream):
    """das2 events in, the rate stream out through ``emit``."""

    def __init__(self, config: RateConfig, emit: Callable[[bytes], object]) -> None:
        self.config = config
        self.emit = emit
        self.counter = RateCounter(config, config.origin)
        self.headers: dict[int, PacketHeader] = {}
        self.out_header = _rate_packet_header(config)
        self.started = False

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.headers[event.packet_id] = event.header

    def on_comment(self, event: Comment) -> None:
        """Ignored, as das2C does."""

    def on_exception(self, event: StreamException) -> None:
        """Ignored, as das2C does."""

    def finish(self) -> None:
        """Write the bins still held."""
        self._write(self.counter.finish())

    def on_stream_start(self, event: StreamStart) -> None:
        if self.started:
            return
        header: StreamHeader = event.header
        self.started = True
        props = SlotProperties(header.properties)
        for name in REMOVED_PROPERTIES:
            props.remove(name)
        title = self.config.title
        if title is None:
            old = header.properties.raw("title")
            title = f"{old.text} (coverage)" if old is not None else "Data Coverage"
        props.set("title", title)
        props.set("yLabel", _ylabel(self.config))
        seconds = self.config.width_us / 1.0e6
        props.set_datum("xTagWidth", seconds, "s")
        props.set_datum("xCacheResolution", seconds, "s")
        props.set("renderer", "stairSteps")
        out = StreamHeader(properties=props.to_properties())
        self.emit(das2_style.stream_header_packet(out, PROGRAM))
        self.emit(das2_style.packet_header_packet(self.out_header))

    def on_data(self, run: DataRun) -> None:
        header = self.headers[run.packet_id]
        x_plane = header.x_plane
        if x_plane is None:
            raise StreamError(f"packet {run.packet_id:02d} has no <x> plane", run.offset)
        times = np.asarray(run.records[header.field(x_plane)], dtype=np.float64)
        if x_plane.encoding.kind != "time":
            try:
                times = us2000_from_das2(times, x_plane.units)
            except ValueError:
                raise StreamError(
                    f"packet {run.packet_id:02d}: <x> units {x_plane.units!r} are not time units",
                    run.offset,
                ) from None
        amount = 1.0
        if self.config.volume_name is not None:
            amount = header.record_size / self.config.volume_bytes
        self._write(self.counter.add(times, amount))

    def _write(self, bins: list[tuple[int, float]]) -> None:
        if not bins:
            return
        numbers = np.array([number for number, _ in bins], dtype=np.float64)
        values = np.array([value for _, value in bins], dtype=np.float64)
        if self.config.events:
            values = (values > 0).astype(np.float64)
        origin = self.counter.origin if self.counter.origin is not None else 0.0
        records = np.zeros(len(bins), dtype=self.out_header.record_dtype)
        records["x0"] = origin + self.config.width_us * (numbers + 0.5)
        records["y1"] = values
        self.emit(encode_records(self.out_header, records))


def _ylabel(config: RateConfig) -> str:
    if config.ylabel is not None:
        return config.ylabel
    if config.events:
        return "Coverage"
    interval, _ = interval_text(config.width_us)
    return f"Stream Volume ({config.volume_name or 'packets'}/{interval})"


def _y_units(config: RateConfig) -> str:
    if config.events:
        return ""
    interval, bare = interval_text(config.width_us)
    what = config.volume_name or "packets"
    return f"{what} {interval}**-1" if bare else what


def _rate_packet_header(config: RateConfig) -> PacketHeader:
    x = Plane("x", parse_encoding("little_endian_real8"), units="us2000")
    name = "coverage" if config.events else "rate"
    y = Plane("y", parse_encoding("little_endian_real4"), name=name, units=_y_units(config))
    return PacketHeader(1, (x, y))


def rate_stdin(config: RateConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Count the das2 stream on ``source`` (stdin) into ``sink`` (stdout); return 0."""
    return run_stream(lambda write: RateStream(config, write), source, sink)
