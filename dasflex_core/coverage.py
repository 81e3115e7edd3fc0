"""Where a source has data: its reader's output counted per time bin.

:func:`compute_coverage` plans the source's reader over a range (das2 binary
output), appends ``das2_bin_ratesec`` as one more argv stage (no shell) and
merges the bins holding packets into intervals.  :func:`coverage_png` draws a
result as a small strip plot for the request form.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dasflex_core import keys, runner
from dasflex_core.codecs import new_reader
from dasflex_core.codecs.events import DataRun, EventStream
from dasflex_core.dastime import format_iso, from_us2000, parse_us2000
from dasflex_core.errors import QueryError, StreamError, TooLargeError
from dasflex_core.planner import plan

if TYPE_CHECKING:
    import numpy as np

    from dasflex_core.model import SourceDef

__all__ = ["MAX_BINS", "Coverage", "compute_coverage", "coverage_png", "default_bin_seconds",
           "default_range"]

#: Most time bins one coverage request may use.
MAX_BINS = 20_000
#: Bins used when no bin width is given.
DEFAULT_BINS = 200
#: Seconds a coverage pipeline may run.
DEFAULT_TIMEOUT = 120.0

_RATE_TOOL = "dasflex_core.tools.das2_bin_ratesec"
_DAS2_QUERY = {keys.FORMAT_TYPE: "das", keys.FORMAT_VERSION: "2", keys.FORMAT_SERIAL: "binary"}


@dataclass(frozen=True)
class Coverage:
    """Where ``source_id`` has data between ``begin`` and ``end`` (ISO times).

    ``intervals`` are (begin, end) ISO pairs, merged from adjacent bins that
    hold packets; ``bins`` are (bin begin, packets) pairs of non-empty bins.
    """

    source_id: str
    begin: str
    end: str
    bin_seconds: float
    intervals: tuple[tuple[str, str], ...]
    bins: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping of the result."""
        return {
            "source": self.source_id,
            "begin": self.begin,
            "end": self.end,
            "bin_seconds": self.bin_seconds,
            "intervals": [list(pair) for pair in self.intervals],
            "bins": [list(pair) for pair in self.bins],
        }


def _us2000(text: str, what: str) -> float:
    try:
        return float(parse_us2000(text))
    except (ValueError, OverflowError) as error:
        raise QueryError(f"bad {what} time '{text[:60]}': {error}") from None


def _iso(us2000: float) -> str:
    return str(format_iso(from_us2000(float(us2000))))


def _iso_array(us2000: np.ndarray) -> list[str]:
    """ISO times (milliseconds) of many us2000 values at once (us2000 has no leap seconds)."""
    import numpy as np

    epoch = np.datetime64("2000-01-01T00:00:00", "us")
    moments = epoch + np.round(np.asarray(us2000, dtype=np.float64)).astype("timedelta64[us]")
    return [str(text) for text in np.datetime_as_string(moments, unit="ms")]


def default_bin_seconds(span_seconds: float) -> float:
    """A round bin width giving about :data:`DEFAULT_BINS` bins (at least 1 s)."""
    for width in (1, 10, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400):
        if span_seconds / width <= DEFAULT_BINS:
            return float(width)
    return float(86400 * max(1, round(span_seconds / 86400 / DEFAULT_BINS)))


def default_range(source: SourceDef) -> tuple[str, str] | None:
    """The range a coverage plot shows by default: the valid range, else the first example."""
    if source.valid_range:
        return source.valid_range
    for example in source.examples:
        begin = example.settings.get(keys.READ_TIME_MIN)
        end = example.settings.get(keys.READ_TIME_MAX)
        if begin and end:
            return str(begin), str(end)
    return None


def _clip_to_valid_range(source: SourceDef, begin: float, end: float) -> tuple[float, float]:
    if not source.valid_range:
        return begin, end
    first = _us2000(source.valid_range[0], "validRange begin")
    last = _us2000(source.valid_range[1], "validRange end")
    return max(begin, first), min(end, last)


def compute_coverage(source: SourceDef, begin: str, end: str, bin_seconds: float | None = None,
                     *, planner: Any = None, timeout: float = DEFAULT_TIMEOUT,
                     max_bins: int = MAX_BINS) -> Coverage:
    """Run ``source``'s reader from ``begin`` to ``end`` and find where it wrote data.

    The range is clipped to the source's valid range; an empty range (or none
    left after clipping) runs nothing.  Raises :class:`QueryError` for bad
    times or bins, :class:`TooLargeError` above ``max_bins`` bins, and the
    runner's errors when the reader fails.
    """
    start, stop = _us2000(begin, "begin"), _us2000(end, "end")
    if stop < start:
        raise QueryError(f"end time '{end}' is before begin time '{begin}'")
    span = (stop - start) / 1e6
    width = float(bin_seconds) if bin_seconds is not None else default_bin_seconds(span)
    if not width > 0:
        raise QueryError("the bin width must be a positive number of seconds")
    if span / width > max_bins:
        raise TooLargeError(f"{span / width:.0f} bins of {width:g} s requested; "
                            f"at most {max_bins} (use a wider --bin)")
    empty = Coverage(source.id, _iso(start), _iso(stop), width, ())
    low, high = _clip_to_valid_range(source, start, stop)
    if high <= low or source.reader is None:
        return empty
    stream = _run_rate_pipeline(source, _iso(low), _iso(high), width, _iso(start), planner, timeout)
    centers, counts = _rate_bins(stream)
    return _result(empty, centers, counts, low, high)


def _run_rate_pipeline(source: SourceDef, begin: str, end: str, width: float, origin: str,
                       planner: Any, timeout: float) -> bytes:
    query = {keys.READ_TIME_MIN: begin, keys.READ_TIME_MAX: end, **_DAS2_QUERY}
    reader_plan = plan(source, query, planner=planner)
    rate_stage = (sys.executable, "-m", _RATE_TOOL, "-b", origin, f"{width:.9g}")
    stages = (*reader_plan.stages, rate_stage)
    pipeline = runner.start_pipeline(stages, cwd=reader_plan.cwd, error_format=None,
                                     first_byte_timeout=timeout, total_timeout=timeout)
    try:
        return b"".join(bytes(chunk) for chunk in pipeline)
    finally:
        pipeline.close()


def _rate_bins(stream: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres (us2000) and packet counts from das2_bin_ratesec's output."""
    import numpy as np

    rates = _RateRuns()
    reader = new_reader("das2")
    rates.handle([*reader.feed(stream), *reader.close()])
    if not rates.centers:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(rates.centers), np.concatenate(rates.counts)


class _RateRuns(EventStream[None]):
    """Collects the bin centres and counts of das2_bin_ratesec's data runs."""

    def __init__(self) -> None:
        self.centers: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []

    def on_data(self, run: DataRun) -> None:
        import numpy as np

        if not len(run.records):
            return
        names = run.records.dtype.names
        if not names or len(names) < 2:
            raise StreamError("unexpected das2_bin_ratesec output", run.offset)
        self.centers.append(np.asarray(run.records[names[0]], dtype=np.float64))
        self.counts.append(np.asarray(run.records[names[1]], dtype=np.float64))


def _result(empty: Coverage, centers: np.ndarray, counts: np.ndarray,
            low: float, high: float) -> Coverage:
    import numpy as np

    width_us = empty.bin_seconds * 1e6
    full = counts > 0
    starts = centers[full] - width_us / 2
    stops = starts + width_us
    if not len(starts):
        return empty
    breaks = np.flatnonzero(starts[1:] > stops[:-1] + 0.5) + 1
    first = np.concatenate(([0], breaks))
    last = np.concatenate((breaks - 1, [len(starts) - 1]))
    begins = _iso_array(np.maximum(starts[first], low))
    ends = _iso_array(np.minimum(stops[last], high))
    intervals = tuple(zip(begins, ends, strict=True))
    bins = tuple(zip(_iso_array(starts), counts[full].astype(int).tolist(), strict=True))
    return Coverage(empty.source_id, empty.begin, empty.end, empty.bin_seconds, intervals, bins)


def coverage_png(result: Coverage, width: int = 640, height: int = 90) -> bytes:
    """A small PNG strip: the bins with data filled over the whole range."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    start = float(parse_us2000(result.begin))
    stop = float(parse_us2000(result.end))
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    axes = figure.add_axes((0.02, 0.5, 0.96, 0.4))
    hours = [((float(parse_us2000(a)) - start) / 3.6e9, (float(parse_us2000(b)) - float(
        parse_us2000(a))) / 3.6e9) for a, b in result.intervals]
    axes.broken_barh(hours, (0, 1), color="#2a6fb0")
    axes.set_xlim(0, max((stop - start) / 3.6e9, 1e-6))
    axes.set_ylim(0, 1)
    axes.set_yticks([])
    axes.set_xlabel(f"hours from {result.begin[:19]} (data: {len(result.intervals)} intervals)",
                    fontsize=7)
    axes.tick_params(labelsize=7)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
