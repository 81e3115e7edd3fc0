"""Throughput of the time hot paths: text ``timeN`` fields <-> us2000.

Measures :func:`parse_time_fields` and :func:`format_time_fields` on 1e6
values (a realistic 2013 series at 0.1 s cadence with microsecond jitter),
the epoch conversion us2000 -> TT2000, and the scalar :func:`parse_time`
for scale.  Each figure is the best of three runs; ``cpu_values_per_s`` uses
process CPU time, which a busy machine disturbs less than wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from dasflex_core.dastime import (
    convert_times,
    format_time_fields,
    parse_time,
    parse_time_fields,
)

COUNT = 1_000_000
REPEATS = 3


def _series(count: int) -> np.ndarray:
    """us2000 values from 2013-03-01 at 0.1 s cadence with microsecond jitter."""
    rng = np.random.default_rng(2013)
    start = 415_411_200e6
    return start + np.arange(count) * 1e5 + rng.integers(0, 1000, count)


def _best(work: Callable[[], Any]) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of :data:`REPEATS` runs."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def _row(name: str, seconds: tuple[float, float], count: int, item_bytes: int) -> dict:
    wall, cpu = seconds
    return {
        "name": name,
        "values": count,
        "seconds": round(wall, 4),
        "values_per_s": round(count / wall),
        "mb_per_s": round(count * item_bytes / wall / 1e6, 1),
        "cpu_values_per_s": round(count / max(cpu, 1e-9)),
    }


def run(workdir: Path) -> list[dict]:
    """Measure the time codecs (``workdir`` is unused: nothing is written)."""
    us2000 = _series(COUNT)
    rows = []
    for width in (24, 27):
        fields = format_time_fields(us2000, width)
        rows.append(_row(f"parse_time_fields time{width} 1e6",
                         _best(partial(parse_time_fields, fields)), COUNT, width - 1))
        rows.append(_row(f"format_time_fields time{width} 1e6",
                         _best(partial(format_time_fields, us2000, width)), COUNT, width - 1))
    doy = np.array([b"2013-%03dT%02d:%02d:%02d.%03d" % (1 + i % 365, i % 24, i % 60, i % 60, i % 1000)
                    for i in range(COUNT // 10)], dtype="S21")
    rows.append(_row("parse_time_fields YYYY-DDD 1e5", _best(lambda: parse_time_fields(doy)),
                     len(doy), 21))
    rows.append(_row("convert_times us2000->TT2000 1e6",
                     _best(lambda: convert_times(us2000, "us2000", "TT2000")), COUNT, 8))
    texts = [f.decode() for f in format_time_fields(us2000[:20_000], 24)]
    rows.append(_row("parse_time scalar 2e4",
                     _best(lambda: [parse_time(text) for text in texts]), len(texts), 23))
    return rows


if __name__ == "__main__":
    import json

    for measured in run(Path(".")):
        print(json.dumps(measured))
