"""The vectorised binning core against a record-by-record model of das2C's loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dasflex_core.tools.binning.core import (
    BinAccumulator,
    BinOptions,
    PlaneSpec,
    bin_numbers,
    is_fill,
    sequential_sums,
)


def _fresh_state(specs):
    return [
        {"sum": [0.0] * s.out_items, "n": [0] * s.out_items, "lo": [0.0] * s.out_items,
         "hi": [0.0] * s.out_items, "pk": [0.0] * s.out_items, "rows": []}
        for s in specs
    ]


def _model_stddev(spec, rows, v, mean):
    """das2_bin_avgsec's standard deviation, value by value."""
    total = 0.0
    if len(rows) * spec.items <= 1:
        return total
    if spec.collapse and spec.items > 1:
        good = [x for r in rows for x in r if not is_fill(np.array(x), spec.fill)]
        for x in good:
            total += (x - mean) * (x - mean)
        if len(good) > 1:
            total /= len(good) - 1
    else:
        for r in rows:
            total += (r[v] - mean) * (r[v] - mean)
        with np.errstate(all="ignore"):
            total = float(np.float64(total) / np.float64(len(rows) - 1))
    return total if math.isnan(total) else math.sqrt(total)


def _model_emit(bin_no, specs, state):
    row = [bin_no]
    for spec, plane in zip(specs, state, strict=True):
        means: list[float] = []
        lows: list[float] = []
        highs: list[float] = []
        peaks: list[float] = []
        sds: list[float] = []
        for v in range(spec.out_items):
            if plane["n"][v] == 0:
                for column in (means, lows, highs, peaks, sds):
                    column.append(spec.fill)
                continue
            mean = plane["sum"][v] / plane["n"][v]
            means.append(mean)
            lows.append(plane["lo"][v])
            highs.append(plane["hi"][v])
            peaks.append(plane["pk"][v])
            sds.append(_model_stddev(spec, plane["rows"], v, mean))
        row.append((means, lows, highs, peaks, sds))
    return row


def _model_add(spec, plane, values):
    for v, x in enumerate(values):
        if is_fill(np.array(x), spec.fill):
            continue
        o = 0 if spec.collapse else v
        plane["sum"][o] += x
        plane["n"][o] += 1
        if plane["n"][o] == 1:
            plane["lo"][o] = plane["hi"][o] = x
        plane["lo"][o] = x if x < plane["lo"][o] else plane["lo"][o]
        plane["hi"][o] = x if x > plane["hi"][o] else plane["hi"][o]
        plane["pk"][o] = x if x > plane["pk"][o] else plane["pk"][o]
    if any(not is_fill(np.array(x), spec.fill) for x in values):
        plane["rows"].append(values)


def _model(bins, planes, specs):
    """Record-by-record model of das2_bin_avgsec/peakavgsec (one packet ID)."""
    out = []
    state: list[dict] = []
    current = None
    for i, b in enumerate(bins):
        if current is not None and b != current:
            out.append(_model_emit(current, specs, state))
            current = None
        if current is None:
            state = _fresh_state(specs)
        current = b
        for spec, plane, data in zip(specs, state, planes, strict=True):
            _model_add(spec, plane, list(data[i]))
    if current is not None:
        out.append(_model_emit(current, specs, state))
    return out


def _run(bins, planes, specs, options, chunks):
    acc = BinAccumulator(specs, options)
    batches = []
    edges = [0, *chunks, len(bins)]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        batch = acc.add(bins[a:b], [p[a:b] for p in planes])
        if batch is not None:
            batches.append(batch)
    last = acc.flush()
    if last is not None:
        batches.append(last)
    return batches


def _same(a, b):
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


@pytest.mark.parametrize("seed", range(12))
def test_accumulator_matches_record_model(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    bins = np.sort(rng.integers(0, 12, n))
    if seed % 3 == 0:
        bins = rng.integers(0, 5, n)   # out of order data
    specs = [PlaneSpec(1, -1e31), PlaneSpec(4, 0.0), PlaneSpec(3, -999.0, collapse=True)]
    planes = [rng.standard_normal((n, s.items)) * 10.0 ** rng.integers(-5, 5, (n, s.items))
              for s in specs]
    planes[0][rng.random(n) < 0.2] = -1e31
    planes[1][rng.random((n, 4)) < 0.3] = 0.0
    planes[2][rng.random((n, 3)) < 0.3] = -999.0
    planes[1][rng.random((n, 4)) < 0.05] = np.nan
    options = BinOptions(minmax=True, stddev=True, peak=True)
    cuts = sorted(set(int(c) for c in rng.integers(0, n, 3)))
    batches = _run(bins, planes, specs, options, cuts)
    got_bins = np.concatenate([b.bins for b in batches])
    expected = _model(list(bins), planes, specs)
    assert list(got_bins) == [row[0] for row in expected]
    for p in range(len(specs)):
        mean = np.concatenate([b.planes[p].mean for b in batches])
        low = np.concatenate([b.planes[p].minimum for b in batches])
        high = np.concatenate([b.planes[p].maximum for b in batches])
        peak = np.concatenate([b.planes[p].peak for b in batches])
        sd = np.concatenate([b.planes[p].stddev for b in batches])
        assert _same(mean, [row[p + 1][0] for row in expected])
        assert _same(low, [row[p + 1][1] for row in expected])
        assert _same(high, [row[p + 1][2] for row in expected])
        assert _same(peak, [row[p + 1][3] for row in expected])
        assert _same(sd, [row[p + 1][4] for row in expected])


def test_sequential_sums_are_bit_exact():
    rng = np.random.default_rng(7)
    values = rng.standard_normal((500, 1)) * 10.0 ** rng.integers(-9, 9, (500, 1))
    starts = np.array([0, 3, 250, 251])
    ends = [3, 250, 251, 500]
    for start_value in (None, 123.456e3):
        for block in (values, np.hstack((values, values[::-1])), values.astype(np.float32)):
            initial = None if start_value is None else np.full(block.shape[1], start_value)
            sums = sequential_sums(block, starts, initial)
            for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
                for column in range(block.shape[1]):
                    total = start_value if start_value is not None and i == 0 else 0.0
                    for v in block[s:e, column]:
                        total += float(v)
                    assert sums[i, column] == total


def test_sequential_sums_of_many_short_segments_are_bit_exact():
    rng = np.random.default_rng(8)
    values = rng.standard_normal((3000, 2)) * 10.0 ** rng.integers(-9, 9, (3000, 2))
    starts = np.unique(np.concatenate(([0], rng.integers(1, 3000, 1500))))
    sums = sequential_sums(values, starts, np.array([1e5, -2.0]))
    ends = np.append(starts[1:], 3000)
    for i in (0, 1, len(starts) // 2, len(starts) - 1):
        for column in range(2):
            total = (1e5, -2.0)[column] if i == 0 else 0.0
            for v in values[starts[i]:ends[i], column]:
                total += v
            assert sums[i, column] == total


def test_fill_rule_and_bin_truncation():
    assert list(is_fill(np.array([-1e31, -1.000001e31, 0.0, 5.0]), -1e31)) == [True, True, False, False]
    assert list(is_fill(np.array([0.0, -0.0, 1e-300]), 0.0)) == [True, True, False]
    assert not is_fill(np.array([np.nan]), -1e31)[0]
    assert list(bin_numbers(np.array([-5.0, 0.0, 9.9, 10.0, -10.0]), 0.0, 10.0)) == [0, 0, 0, 1, -1]


def test_peak_of_negative_bin_starts_at_zero_unless_disabled():
    specs = [PlaneSpec(1)]
    bins = np.zeros(3, dtype=np.int64)
    data = [np.array([[-3.0], [-2.0], [-5.0]])]
    das2c = BinAccumulator(specs, BinOptions(peak=True))
    das2c.add(bins, data)
    flushed = das2c.flush()
    assert flushed is not None and flushed.planes[0].peak is not None
    assert flushed.planes[0].peak[0, 0] == 0.0
    fixed = BinAccumulator(specs, BinOptions(peak=True, peak_from_zero=False))
    fixed.add(bins, data)
    flushed = fixed.flush()
    assert flushed is not None and flushed.planes[0].peak is not None
    assert flushed.planes[0].peak[0, 0] == -2.0


def test_sequential_sums_of_regular_segments_are_bit_exact():
    rng = np.random.default_rng(9)
    values = rng.standard_normal((1000, 3)) * 10.0 ** rng.integers(-9, 9, (1000, 3))
    starts = np.concatenate(([0, 7], np.arange(20, 900, 40), [905, 950]))
    for block in (values, np.ascontiguousarray(values[:, :2]), values[:, :1]):
        sums = sequential_sums(block, starts)
        ends = np.append(starts[1:], len(block))
        for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
            for column in range(block.shape[1]):
                total = 0.0
                for v in block[s:e, column]:
                    total += v
                assert sums[i, column] == total
