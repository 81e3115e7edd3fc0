"""Decode throughput of the das2 reader against ``cat FILE > /dev/null``.

Streams (bench/streams.py): 400 MB of 1024-float ``<yscan>`` packets and
100 MB of 4-float ``<y>`` packets; scale both with DASFLEX_BENCH_MB_SCALE
(e.g. 0.1 for a quick check).  Each file is read in 1 MiB chunks through
:class:`Das2Reader`, touching every DataRun's records; the re-encode rows
also write every run back through :class:`Das2Writer` (to a byte counter).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.streams import write_y_stream, write_yscan_stream
from dasflex_core.codecs.das2 import Das2Reader, Das2Writer
from dasflex_core.codecs.events import DataRun

CHUNK = 1 << 20
REPEATS = 3


def _ensure(path: Path, megabytes: float, make: Callable[[Path, float], int]) -> None:
    wanted = int(megabytes * 1_000_000)
    if not path.exists() or not wanted <= path.stat().st_size < wanted + (8 << 20):
        make(path, megabytes)


def _decode(path: Path) -> tuple[float, int]:
    """Seconds to decode ``path`` and the number of records seen."""
    start = time.perf_counter()
    reader = Das2Reader()
    records = 0
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(CHUNK):
            for event in reader.feed(chunk):
                if isinstance(event, DataRun):
                    records += len(event.records)
                    event.records[-1:].tobytes()  # touch the decoded array
    reader.close()
    return time.perf_counter() - start, records


def _reencode(path: Path) -> float:
    """Seconds to decode ``path`` and re-encode every DataRun from its records."""
    written = 0

    def sink(data: bytes) -> None:
        nonlocal written
        written += len(data)

    start = time.perf_counter()
    reader, writer = Das2Reader(), Das2Writer(sink)
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(CHUNK):
            for event in reader.feed(chunk):
                if isinstance(event, DataRun):
                    writer.write_run(event)
                else:
                    writer.write_event(event)
    reader.close()
    return time.perf_counter() - start


def _cat_seconds(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _measure(name: str, path: Path, reencode: bool = False) -> dict:
    size = path.stat().st_size
    _cat_seconds(path)  # warm the page cache
    work = _reencode if reencode else (lambda target: _decode(target)[0])
    decode = min(work(path) for _ in range(REPEATS))
    cat = min(_cat_seconds(path) for _ in range(REPEATS))
    return {
        "name": name,
        "bytes": size,
        "seconds": round(decode, 4),
        "mb_per_s": round(size / decode / 1e6, 1),
        "cat_mb_per_s": round(size / cat / 1e6, 1),
        "ratio_to_cat": round(cat / decode, 3),
    }


def run(workdir: Path) -> list[dict]:
    """Generate the streams under ``workdir`` (if needed) and measure decoding."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    yscan = workdir / f"codec_yscan_{scale:g}.d2s"
    small = workdir / f"codec_y_{scale:g}.d2s"
    _ensure(yscan, 400 * scale, write_yscan_stream)
    _ensure(small, 100 * scale, write_y_stream)
    return [
        _measure("das2 decode yscan1024 (goal >= 1000 MB/s)", yscan),
        _measure("das2 decode y4 (goal >= 300 MB/s)", small),
        _measure("das2 decode + re-encode yscan1024", yscan, reencode=True),
        _measure("das2 decode + re-encode y4", small, reencode=True),
    ]
