"""Pixel-column binning for quick-look plots, in memory bounded by the image width.

A :class:`ColumnGrid` splits x into at most ``columns`` bins of equal width.
It starts with a power-of-two width fitted to the first values and, when new
values fall outside, doubles the width (merging neighbour columns) until all
values seen fit, so its memory never grows with the stream.  Columns are
numbered globally (``floor(x / width)``) so that merging is exact integer
arithmetic.  :class:`LineBins` keeps the minimum and maximum per column (for
line plots drawn as envelopes), :class:`MeanBins` the sum and count per
column and item (spectrograms).
"""

from __future__ import annotations

import math

import numpy as np

#: Smallest bin width relative to |x| (keeps floor(x / width) exact in float64).
_RELATIVE_RESOLUTION = 2.0 ** -40
_TINY_WIDTH = 2.0 ** -60
#: Largest |x| / width kept (column numbers stay exact in float64 and int64).
_MAX_COLUMN_NUMBER = 2.0 ** 52


class ColumnGrid:
    """Up to ``columns`` x bins of one width; coarsens to cover new values."""

    def __init__(self, columns: int) -> None:
        if columns < 2:
            raise ValueError("a column grid needs at least two columns")
        self.columns = columns
        self.width = 0.0
        self.start = 0
        self.low: int | None = None
        self.high: int | None = None

    @property
    def empty(self) -> bool:
        """True until values have been placed."""
        return self.low is None

    def place(self, x: np.ndarray) -> tuple[np.ndarray, int, int]:
        """Column indexes of finite ``x`` (after any coarsening).

        Returns ``(indexes, factor, old_start)``: if ``factor`` > 1 or the
        start moved, old column ``i`` now is :meth:`remap` ``[i]``; callers
        merge their arrays accordingly.
        """
        old_start = self.start
        if self.width == 0.0:
            self.width = _initial_width(x, self.columns)
        factor = self._fit_magnitude(float(np.abs(x).max()))
        glob = np.floor(x / self.width).astype(np.int64)
        low, high = int(glob.min()), int(glob.max())
        if self.low is None or self.high is None:
            self.start, self.low, self.high = low, low, high
            more = self._coarsen_to(low, high)
        elif low < self.start or high >= self.start + self.columns:
            more = self._coarsen_to(min(low, self.low), max(high, self.high))
        else:
            self.low, self.high = min(low, self.low), max(high, self.high)
            more = 1
        if more > 1:
            glob //= more
        return glob - self.start, factor * more, old_start

    def _fit_magnitude(self, magnitude: float) -> int:
        """Widen bins so that ``magnitude / width`` stays an exact integer-sized float."""
        ratio = magnitude / self.width
        if ratio < _MAX_COLUMN_NUMBER:
            return 1
        factor = 2 ** math.ceil(math.log2(ratio / _MAX_COLUMN_NUMBER))
        self.width *= factor
        if self.low is not None and self.high is not None:
            self.low, self.high = self.low // factor, self.high // factor
            self.start = self.low
        return factor

    def _coarsen_to(self, low: int, high: int) -> int:
        """Widen bins (by a power of two) until ``low..high`` fits; return the factor."""
        factor = 1
        while high // factor - low // factor >= self.columns:
            factor *= 2
        self.width *= factor
        self.low, self.high = low // factor, high // factor
        self.start = self.low
        return factor

    def remap(self, factor: int, old_start: int) -> np.ndarray:
        """New column of each old column after a coarsening by ``factor``."""
        if factor < _MAX_COLUMN_NUMBER:
            old = old_start + np.arange(self.columns, dtype=np.int64)
            target = old // factor - self.start
        else:  # a huge jump in width: exact Python integers
            target = np.array([(old_start + column) // factor - self.start
                               for column in range(self.columns)], dtype=np.int64)
        return np.clip(target, 0, self.columns - 1)

    def centres(self) -> np.ndarray:
        """The x value at the centre of every column."""
        return (self.start + np.arange(self.columns) + 0.5) * self.width

    def edges(self) -> np.ndarray:
        """The ``columns + 1`` column edges in x."""
        return (self.start + np.arange(self.columns + 1)) * self.width


def _initial_width(x: np.ndarray, columns: int) -> float:
    span = float(x.max() - x.min())
    scale = float(np.abs(x).max())
    smallest = max(scale * _RELATIVE_RESOLUTION, _TINY_WIDTH)
    wanted = max(span / columns, smallest)
    return 2.0 ** math.ceil(math.log2(wanted))


def _segments(indexes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Start positions and column of each run of equal indexes (None if unsorted)."""
    steps = np.diff(indexes)
    if steps.size and steps.min() < 0:
        return None
    starts = np.concatenate(([0], np.flatnonzero(steps) + 1))
    return starts, indexes[starts]


def merge_columns(values: np.ndarray, target: np.ndarray, combine: np.ufunc,
                  empty: float) -> np.ndarray:
    """Combine the rows of ``values`` that move to the same column (``target`` is sorted)."""
    merged = np.full_like(values, empty)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(target)) + 1))
    merged[target[starts]] = combine.reduceat(values, starts, axis=0)
    return merged


class _GridBins:
    """Per-column statistics over a :class:`ColumnGrid` that may coarsen."""

    grid: ColumnGrid

    def _place(self, x: np.ndarray) -> np.ndarray:
        """Column indexes of ``x``, merging the columns first if the grid coarsens."""
        indexes, factor, old_start = self.grid.place(x)
        if factor > 1 or self.grid.start != old_start:
            self._merge(self.grid.remap(factor, old_start))
        return indexes

    def _merge(self, target: np.ndarray) -> None:
        raise NotImplementedError


class LineBins(_GridBins):
    """Minimum and maximum of the values falling in each column."""

    def __init__(self, columns: int) -> None:
        self.grid = ColumnGrid(columns)
        self.low = np.full(columns, np.inf)
        self.high = np.full(columns, -np.inf)

    def add(self, x: np.ndarray, values: np.ndarray, valid: np.ndarray) -> None:
        """Add values at ``x``; only ``valid`` ones count (x must be finite there)."""
        keep = valid & np.isfinite(x)
        if not keep.all():
            if not keep.any():
                return
            x, values = x[keep], values[keep]
        indexes = self._place(x)
        found = _segments(indexes)
        if found is None:
            np.minimum.at(self.low, indexes, values)
            np.maximum.at(self.high, indexes, values)
            return
        starts, columns = found
        self.low[columns] = np.minimum(self.low[columns], np.minimum.reduceat(values, starts))
        self.high[columns] = np.maximum(self.high[columns], np.maximum.reduceat(values, starts))

    def _merge(self, target: np.ndarray) -> None:
        self.low = merge_columns(self.low, target, np.minimum, np.inf)
        self.high = merge_columns(self.high, target, np.maximum, -np.inf)

    def filled(self) -> np.ndarray:
        """Mask of columns that hold data."""
        return self.low <= self.high


class MeanBins(_GridBins):
    """Sum and count per column and item, for column means of spectra."""

    def __init__(self, columns: int, items: int) -> None:
        self.grid = ColumnGrid(columns)
        self.total = np.zeros((columns, items))
        self.count = np.zeros((columns, items), dtype=np.int64)

    def add(self, x: np.ndarray, values: np.ndarray, valid: np.ndarray) -> None:
        """Add rows of ``values`` (records x items) at ``x``; ``valid`` masks items."""
        rows = np.isfinite(x) & valid.any(axis=1)
        if not rows.all():
            if not rows.any():
                return
            x, values, valid = x[rows], values[rows], valid[rows]
        indexes = self._place(x)
        clean = np.where(valid, values, 0.0)
        found = _segments(indexes)
        if found is None:
            np.add.at(self.total, indexes, clean)
            np.add.at(self.count, indexes, valid)
            return
        starts, columns = found
        self.total[columns] += np.add.reduceat(clean, starts, axis=0)
        self.count[columns] += np.add.reduceat(valid.astype(np.int64), starts, axis=0)

    def _merge(self, target: np.ndarray) -> None:
        self.total = merge_columns(self.total, target, np.add, 0.0)
        self.count = merge_columns(self.count, target, np.add, 0)

    def means(self) -> np.ndarray:
        """Column x item means (NaN where nothing was added)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.total / np.maximum(self.count, 1), np.nan)
