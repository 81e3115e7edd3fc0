"""Vectorised time binning shared by the das2 binning tools.

One :class:`BinAccumulator` serves one packet ID.  It is fed runs of records
(bin numbers plus one 2-D float64 array per data plane) and returns the bins
that are complete as a :class:`BinBatch`; only the bin still open is kept
between calls, so memory stays bounded by one bin.

Semantics follow das2C's binners (see ``research/das2c.md`` §4.1, §4.3):

* a bin is emitted whenever the bin number of a packet differs from the open
  bin's number (so out-of-order data emit the same bin several times);
* fill values (§1.5) are excluded; NaN is data and propagates into the mean;
* sums are accumulated sequentially in record order, exactly as the C loop
  does, so results are bit-identical;
* ``min``/``max`` keep the first value of the bin unless a later value compares
  strictly smaller/larger (so a NaN first value stays, later NaNs are ignored);
* the das2C peak starts at 0.0 (quirk §8 #9) unless ``peak_from_zero`` is off;
* the standard deviation reproduces das2_bin_avgsec's definition: per item
  over the packets that had at least one non-fill value (fill included), or
  over every non-fill sample for a collapsed waveform plane.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

#: das2's default fill value.
DEFAULT_FILL = -1e31


def fill_mask_or_none(values: np.ndarray, fill: float | np.ndarray) -> np.ndarray | None:
    """:func:`is_fill`, or None when no value can be fill (checked with min/max first)."""
    if values.size == 0:
        return None
    fills = np.asarray(fill, dtype=np.float64)
    if fills.ndim and bool(np.all(fills == fills.flat[0])):
        fill = float(fills.flat[0])
        fills = np.asarray(fill)
    reach = np.abs(fills) * 1.001e-5
    axis = None if fills.ndim == 0 else 0
    with np.errstate(invalid="ignore"):
        smallest = np.min(values, axis=axis)
        if not np.isnan(smallest).any() and bool(np.all(smallest > fills + reach) | False):
            return None
        largest = np.max(values, axis=axis)
        if not np.isnan(largest).any() and bool(np.all((largest < fills - reach) | (smallest > fills + reach))):
            return None
    mask = is_fill(values, fill)
    return mask if mask.any() else None


def is_fill(values: np.ndarray, fill: float | np.ndarray) -> np.ndarray:
    """Mask of the values that are fill: ``|(fill - v) / fill| < 1e-5`` (or both 0).

    ``fill`` may be one value or one per column.  Values are screened with a
    slightly wider interval in their own dtype first; only the candidates go
    through das2C's exact formula.
    """
    fills = np.asarray(fill, dtype=np.float64)
    if fills.ndim == 0:
        return _fill_mask_scalar(values, float(fills))
    mask = np.empty(values.shape, dtype=bool)
    for column, column_fill in enumerate(fills):
        mask[:, column] = _fill_mask_scalar(values[:, column], float(column_fill))
    return mask


def _fill_mask_scalar(values: np.ndarray, fill: float) -> np.ndarray:
    if fill == 0.0:
        return values == 0.0
    if np.ndim(values) == 0:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(abs((fill - float(values)) / fill) < 1e-5)
    reach = abs(fill) * 1.001e-5
    low, high = np.float64(fill - reach), np.float64(fill + reach)
    with np.errstate(invalid="ignore", over="ignore"):
        mask = (values > low) & (values < high)
        if mask.any():
            candidates = values[mask].astype(np.float64)
            mask[mask] = np.abs((fill - candidates) / fill) < 1e-5
    return mask


def bin_numbers(times: np.ndarray, origin: float, width: float) -> np.ndarray:
    """Bin number of each time, truncated toward zero as C's ``long`` cast does."""
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = times - origin
        np.divide(scaled, width, out=scaled)
        # Casting to int64 truncates toward zero, as np.trunc would.
        return scaled.astype(np.int64)


def segment_starts(bins: np.ndarray) -> np.ndarray:
    """Indexes where a new run of equal bin numbers begins (always includes 0)."""
    if len(bins) == 0:
        return np.zeros(0, dtype=np.intp)
    changes = np.flatnonzero(bins[1:] != bins[:-1]) + 1
    return np.concatenate(([0], changes)).astype(np.intp)


def sequential_sums(
    values: np.ndarray, starts: np.ndarray, initial: np.ndarray | None = None
) -> np.ndarray:
    """Sum each segment of ``values`` (rows ``starts[i]:starts[i+1]``) in row order.

    The additions happen one row after another in float64, starting from 0.0
    (or from ``initial`` for the first segment), as a C accumulation loop
    does, so the results are bit-identical to it (numpy's ``reduceat`` and
    1-D ``sum`` use other orders).  Wide rows are summed segment by segment;
    narrow rows are gathered into equal-length stacks and summed at once.
    """
    count, width = values.shape
    nseg = len(starts)
    lengths = np.diff(np.append(starts, count))
    out = np.zeros((nseg, width))
    todo = np.arange(nseg)
    if initial is not None:
        block = np.vstack((np.asarray(initial, dtype=np.float64)[None, :], values[starts[0] : starts[0] + lengths[0]]))
        out[0] = _row_order_sum(block)
        todo = todo[1:]
    if width < 64 and len(todo) > 8:
        todo = _stacked_sums(values, starts, lengths, todo, out)
    for index in todo:
        out[index] = _row_order_sum(values[starts[index] : starts[index] + lengths[index]])
    return out + 0.0


def _stacked_sums(
    values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, todo: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Sum runs of consecutive equal-length segments at once; return the segments left over.

    A run of ``m`` segments of ``L`` rows is one ``(m, L, width)`` view;
    ``np.add.accumulate`` along its middle axis adds row after row.
    """
    if len(todo) == 0:
        return todo
    run_lengths = lengths[todo]
    breaks = np.flatnonzero((np.diff(run_lengths) != 0) | (np.diff(todo) != 1)) + 1
    left: list[np.ndarray] = []
    for chosen in np.split(todo, breaks):
        length = int(lengths[chosen[0]])
        if len(chosen) < 3 or length == 0:
            left.append(chosen)
            continue
        first = int(starts[chosen[0]])
        block = values[first : first + len(chosen) * length].reshape(len(chosen), length, -1)
        if block.dtype == np.float64 and block.flags.c_contiguous:
            out[chosen] = _middle_axis_sums(block)
        else:
            out[chosen] = np.add.accumulate(block, axis=1, dtype=np.float64)[:, -1]
    return np.concatenate(left) if left else np.zeros(0, dtype=np.intp)


def _middle_axis_sums(block: np.ndarray) -> np.ndarray:
    """Sums over the middle axis of an ``(m, L, width)`` float64 block, row after row.

    The block is copied to ``(L, m * width)`` so that numpy adds whole rows
    of ``m * width`` values one after another (an outer-axis reduction is
    sequential); reducing the middle axis in place runs numpy's inner loop
    over only ``width`` values at a time, about twice as slow for narrow rows.
    """
    segments, length, width = block.shape
    rows = np.ascontiguousarray(block.transpose(1, 0, 2)).reshape(length, segments * width)
    return np.add.reduce(rows, axis=0).reshape(segments, width)


def _row_order_sum(block: np.ndarray) -> np.ndarray:
    """Column sums of ``block`` added row by row in float64."""
    if block.shape[1] == 1:
        # numpy would sum a single column pairwise; accumulate is sequential.
        if len(block) == 0:
            return np.zeros(1)
        return np.add.accumulate(block[:, 0], dtype=np.float64)[-1:]
    return np.add.reduce(block, axis=0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PlaneSpec:
    """How one data plane is binned: ``items`` per record, its fill, collapse flag."""

    items: int
    fill: float = DEFAULT_FILL
    collapse: bool = False

    @property
    def out_items(self) -> int:
        """Items per output record (1 for a collapsed waveform plane)."""
        return 1 if self.collapse else self.items


@dataclass(frozen=True, slots=True)
class BinOptions:
    """Which statistics to produce besides the mean."""

    minmax: bool = False
    stddev: bool = False
    peak: bool = False
    peak_from_zero: bool = True


@dataclass(slots=True)
class PlaneStats:
    """Statistics of one plane for a batch of bins (rows = bins)."""

    mean: np.ndarray
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    stddev: np.ndarray | None = None
    peak: np.ndarray | None = None

    def parts(self) -> tuple[np.ndarray | None, ...]:
        """(mean, minimum, maximum, stddev, peak)."""
        return (self.mean, self.minimum, self.maximum, self.stddev, self.peak)

    @classmethod
    def from_parts(cls, parts: Iterable[np.ndarray | None]) -> PlaneStats:
        """The inverse of :meth:`parts`."""
        mean, minimum, maximum, stddev, peak = parts
        assert mean is not None
        return cls(mean, minimum, maximum, stddev, peak)


@dataclass(slots=True)
class BinBatch:
    """Completed bins: their numbers and, per plane, their statistics."""

    bins: np.ndarray
    planes: list[PlaneStats]

    def __len__(self) -> int:
        return len(self.bins)


@dataclass(slots=True)
class _Segments:
    """Per-segment partial statistics of one plane within one run."""

    total: np.ndarray
    count: np.ndarray
    first: np.ndarray
    low: np.ndarray
    high: np.ndarray
    peak: np.ndarray


@dataclass(slots=True)
class _PlaneState(_Segments):
    """Running sums of one plane for the open bin (and its rows, for -s)."""

    rows: list[np.ndarray] = field(default_factory=list)


class BinAccumulator:
    """Bins the records of one packet ID; keeps only the open bin between runs."""

    def __init__(self, planes: list[PlaneSpec], options: BinOptions | None = None) -> None:
        self.planes = planes
        self.options = options or BinOptions()
        self.open_bin: int | None = None
        self._states: list[_PlaneState] = [self._empty_state(p) for p in planes]

    # -- public -----------------------------------------------------------
    def add(self, bins: np.ndarray, values: list[np.ndarray]) -> BinBatch | None:
        """Add a run of records; return the bins completed by it (or None).

        ``values[i]`` is a ``(records, items)`` float64 array for plane ``i``.
        """
        if len(bins) == 0:
            return None
        starts = segment_starts(bins)
        seg_bins = bins[starts]
        merge = self.open_bin is not None and seg_bins[0] == self.open_bin
        flushed = None if merge or self.open_bin is None else self.flush()
        per_plane = [
            self._segment_stats(spec, state, data, starts, merge)
            for spec, state, data in zip(self.planes, self._states, values, strict=True)
        ]
        done = len(starts) - 1
        batch = self._finish(seg_bins[:done], per_plane, values, starts, merge, done)
        self._keep_open(int(seg_bins[-1]), per_plane, values, starts, merge)
        return _concat(flushed, batch)

    def flush(self) -> BinBatch | None:
        """Emit the open bin (if any) and reset."""
        if self.open_bin is None:
            return None
        stats = []
        for spec, state in zip(self.planes, self._states, strict=True):
            seg = _Segments(
                state.total[None], state.count[None], state.first[None],
                state.low[None], state.high[None], state.peak[None],
            )
            rows = np.vstack(state.rows) if state.rows else np.zeros((0, spec.items))
            std = self._stddev(spec, seg, [rows]) if self.options.stddev else None
            stats.append(self._plane_stats(spec, seg, std))
        batch = BinBatch(np.array([self.open_bin], dtype=np.int64), stats)
        self.open_bin = None
        self._states = [self._empty_state(p) for p in self.planes]
        return batch

    # -- internals --------------------------------------------------------
    def _empty_state(self, spec: PlaneSpec) -> _PlaneState:
        width = spec.out_items
        return _PlaneState(
            np.zeros(width), np.zeros(width, dtype=np.int64), np.full(width, np.nan),
            np.full(width, np.inf), np.full(width, -np.inf), np.full(width, -np.inf),
        )

    def _segment_stats(
        self, spec: PlaneSpec, state: _PlaneState, data: np.ndarray,
        starts: np.ndarray, merge: bool,
    ) -> _Segments:
        """Partial statistics per segment, the first merged with the open bin."""
        if spec.collapse:
            data = data.reshape(-1, 1)
            starts = starts * spec.items
        if data.shape[1] < 64:
            # Narrow strided columns: one contiguous float64 copy makes every
            # later pass cheap.
            data = np.ascontiguousarray(data, dtype=np.float64)
        fill = fill_mask_or_none(data, spec.fill)
        valid = None if fill is None else ~fill
        total = sequential_sums(
            data if fill is None else np.where(fill, 0.0, data),
            starts,
            state.total if merge else None,
        )
        if valid is not None:
            count = np.add.reduceat(valid, starts, axis=0, dtype=np.int64)
        else:
            lengths = np.diff(np.append(starts, len(data)))
            count = np.repeat(lengths[:, None], data.shape[1], axis=1).astype(np.int64)
        first = low = high = peak = None
        options = self.options
        if options.minmax or options.peak:
            if options.minmax:
                first = _first_valid(data, valid, starts)
            highs = _masked_reduceat(np.fmax, data, valid, -np.inf, starts)
            if options.minmax:
                low = _masked_reduceat(np.fmin, data, valid, np.inf, starts)
                high = highs
            if options.peak:
                peak = highs
        if merge:
            count[0] += state.count
            if first is not None:
                first[0] = np.where(state.count > 0, state.first, first[0])
            if low is not None and high is not None:
                low[0] = np.fmin(low[0], state.low)
                high[0] = np.fmax(high[0], state.high)
            if peak is not None:
                peak[0] = np.fmax(peak[0], state.peak)
        return _Segments(total, count, first, low, high, peak)  # type: ignore[arg-type]

    def _finish(
        self, seg_bins: np.ndarray, per_plane: list[_Segments], values: list[np.ndarray],
        starts: np.ndarray, merge: bool, done: int,
    ) -> BinBatch | None:
        """Statistics of the ``done`` completed segments."""
        if done == 0:
            return None
        stats = []
        for spec, state, seg, data in zip(self.planes, self._states, per_plane, values, strict=True):
            part = _Segments(*(None if a is None else a[:done] for a in (
                seg.total, seg.count, seg.first, seg.low, seg.high, seg.peak)))
            std = None
            if self.options.stddev:
                groups = np.split(data, starts[1:])[:done]
                if merge and state.rows:
                    groups[0] = np.vstack(state.rows + [groups[0]])
                std = self._stddev(spec, part, groups)
            stats.append(self._plane_stats(spec, part, std))
        return BinBatch(seg_bins.astype(np.int64), stats)

    def _keep_open(
        self, last_bin: int, per_plane: list[_Segments], values: list[np.ndarray],
        starts: np.ndarray, merge: bool,
    ) -> None:
        """Make the last segment the open bin."""
        only_one = len(starts) == 1
        new_states = []
        for spec, state, seg, data in zip(self.planes, self._states, per_plane, values, strict=True):
            rows: list[np.ndarray] = []
            if self.options.stddev:
                rows = (state.rows if merge and only_one else []) + [data[starts[-1]:]]
            new_states.append(_PlaneState(
                seg.total[-1], seg.count[-1],
                seg.first[-1] if seg.first is not None else state.first,
                seg.low[-1] if seg.low is not None else state.low,
                seg.high[-1] if seg.high is not None else state.high,
                seg.peak[-1] if seg.peak is not None else state.peak,
                rows,
            ))
            del spec
        self._states = new_states
        self.open_bin = last_bin

    def _plane_stats(self, spec: PlaneSpec, seg: _Segments, std: np.ndarray | None) -> PlaneStats:
        """Turn partial sums into output values (fill where nothing was counted)."""
        empty = seg.count == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(empty, spec.fill, seg.total / np.where(empty, 1, seg.count))
        stats = PlaneStats(mean)
        if self.options.minmax:
            first_nan = np.isnan(seg.first)
            stats.minimum = np.where(empty, spec.fill, np.where(first_nan, np.nan, seg.low))
            stats.maximum = np.where(empty, spec.fill, np.where(first_nan, np.nan, seg.high))
        if self.options.peak:
            peak = seg.peak
            if self.options.peak_from_zero:
                peak = np.fmax(peak, 0.0)
            stats.peak = np.where(empty, spec.fill, peak)
        if std is not None:
            stats.stddev = np.where(empty, spec.fill, std)
        return stats

    def _stddev(self, spec: PlaneSpec, seg: _Segments, groups: list[np.ndarray]) -> np.ndarray:
        """das2_bin_avgsec's standard deviation for each bin of a batch."""
        empty = seg.count == 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = seg.total / np.where(empty, 1, seg.count)
        out = np.zeros((len(groups), spec.out_items))
        for index, rows in enumerate(groups):
            out[index] = _bin_stddev(spec, rows, mean[index])
        return out


def _bin_stddev(spec: PlaneSpec, rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Standard deviation of one bin from its raw rows (see module docstring)."""
    fill = is_fill(rows, spec.fill)
    kept = rows[~fill.all(axis=1)] if len(rows) else rows
    packets = len(kept)
    if packets * spec.items <= 1:
        return np.zeros(spec.out_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.collapse and spec.items > 1:
            flat = kept.reshape(-1)
            good = flat[~is_fill(flat, spec.fill)]
            deviation = good - mean[0]
            total = np.add.accumulate(np.concatenate(([0.0], deviation * deviation)))[-1]
            if len(good) > 1:
                total /= len(good) - 1
            return np.array([np.sqrt(total)])
        deviation = kept - mean
        total = np.add.reduce(np.vstack((np.zeros((1, kept.shape[1] + 1)),
                                         np.hstack((deviation * deviation,
                                                    np.zeros((packets, 1)))))), axis=0)[:-1]
        return np.sqrt(total / float(packets - 1))


def _first_valid(data: np.ndarray, valid: np.ndarray | None, starts: np.ndarray) -> np.ndarray:
    """First non-fill value of each segment and column (NaN where there is none)."""
    if valid is None:
        return data[starts].astype(np.float64)
    count = len(data)
    index = np.where(valid, np.arange(count)[:, None], count)
    first_index = np.minimum.reduceat(index, starts, axis=0)
    padded = np.vstack((data, np.full((1, data.shape[1]), np.nan, dtype=data.dtype)))
    return np.take_along_axis(padded, first_index, axis=0).astype(np.float64)


def _masked_reduceat(
    function: np.ufunc, data: np.ndarray, valid: np.ndarray | None, neutral: float,
    starts: np.ndarray,
) -> np.ndarray:
    """``function.reduceat`` over the valid values (``neutral`` where none)."""
    with np.errstate(invalid="ignore"):
        source = data if valid is None else np.where(valid, data, neutral)
        return function.reduceat(source, starts, axis=0).astype(np.float64)


def _concat(first: BinBatch | None, second: BinBatch | None) -> BinBatch | None:
    """Join two batches (either may be None)."""
    if first is None:
        return second
    if second is None:
        return first
    planes = [
        PlaneStats.from_parts(
            None if x is None or y is None else np.concatenate((x, y))
            for x, y in zip(a.parts(), b.parts(), strict=True)
        )
        for a, b in zip(first.planes, second.planes, strict=True)
    ]
    return BinBatch(np.concatenate((first.bins, second.bins)), planes)
