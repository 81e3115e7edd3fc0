"""A one-year request at one-hour resolution: from the cache versus from the reader.

A Python + numpy reader written into the work directory produces a realistic
spectrogram: one 64-channel ``<yscan>`` (float32) every 4 s, about 2.1 GB
of das2 for the year.  The cache level ``1 h | monthly`` is built first with
:func:`dasflex_core.cache.builder.build_block` (timed, but not part of the
ratio).  Then the same request (2019, ``bin.time.max=3600``) is planned twice
with :func:`dasflex_core.planner.planner_for_site` -- with the cache
(``das2_cache_rdr``) and without (reader -> ``das2_bin_avgsec -b BEGIN
3600``) -- and both plans run through :func:`dasflex_core.runner.run`, their
output read to the end.  ``ratio`` = reader seconds / cache seconds (best of
a few runs each); goal >= 10.  ``DASFLEX_BENCH_CACHE_DAYS`` shortens the
year (e.g. 30) for a quick look.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

SOURCE_ID = "Bench/Spectrogram"
BEGIN = datetime(2019, 1, 1)
CADENCE_SECONDS = 4
CHANNELS = 64
RESOLUTION = "3600"
CACHE_REPEATS = 5
READER_REPEATS = 2

READER = textwrap.dedent(f"""\
    \"\"\"Benchmark reader: a {CHANNELS}-channel spectrogram, one spectrum every {CADENCE_SECONDS} s.\"\"\"
    import sys
    from datetime import datetime

    import numpy as np

    STEP = {CADENCE_SECONDS * 1_000_000}
    CHANNELS = {CHANNELS}
    CHUNK = 21600
    EPOCH = datetime(2000, 1, 1)
    FREQUENCIES = np.logspace(1, 4, CHANNELS)
    HEADER = ('<packet><x type="little_endian_real8" units="us2000" />'
              '<yscan type="little_endian_real4" name="spec_dens" nitems="{CHANNELS}" '
              'yUnits="Hz" zUnits="V**2 m**-2 Hz**-1" yTags="'
              + ",".join(f"{{f:.4e}}" for f in FREQUENCIES) + '" /></packet>')

    def us2000(text):
        return int((datetime.fromisoformat(text) - EPOCH).total_seconds()) * 1_000_000

    def packet(tag, xml):
        body = xml.encode()
        return tag + b"%06d" % len(body) + body

    def main(begin_text, end_text):
        begin, end = us2000(begin_text), us2000(end_text)
        out = sys.stdout.buffer
        out.write(packet(b"[00]", '<stream version="2.2"><properties title="bench" /></stream>'))
        out.write(packet(b"[01]", HEADER))
        record = np.dtype([("tag", "S4"), ("x", "<f8"), ("y", "<f4", (CHANNELS,))])
        background = (1e-12 * (FREQUENCIES / 10.0) ** -1.5).astype("<f4")
        first = -(-begin // STEP) * STEP
        for start in range(first, end, STEP * CHUNK):
            times = np.arange(start, min(start + STEP * CHUNK, end), STEP, dtype=np.int64)
            rows = np.empty(times.size, record)
            rows["tag"] = b":01:"
            rows["x"] = times
            wave = np.sin(times * 2e-9 * np.pi).astype("<f4")
            rows["y"] = background * (1.5 + wave[:, None] * np.linspace(0, 1, CHANNELS, dtype="<f4"))
            out.write(rows.tobytes())

    main(sys.argv[1], sys.argv[2])
""")

DSDF = """\
description = 'Benchmark spectrogram'
reader = '{python} {reader}'
das2Stream = 1
cacheLevel_00 = '1 h | monthly'
"""


def _make_site(workdir: Path) -> Path:
    """The one-source site of the benchmark (rewritten every run)."""
    root = workdir / "cache_bench"
    if root.exists():
        shutil.rmtree(root)
    (root / "site" / "Bench").mkdir(parents=True)
    reader = root / "bench_reader.py"
    reader.write_text(READER)
    (root / "site" / "Bench" / "Spectrogram.dsdf").write_text(
        DSDF.format(python=sys.executable, reader=reader))
    return root


def _drain(plan: object) -> int:
    """Run ``plan`` through the runner and read all of its output; return the bytes."""
    from dasflex_core.runner import run

    total = 0
    with run(plan, total_timeout=1800.0) as pipeline:  # type: ignore[arg-type]
        for chunk in pipeline:
            total += len(chunk)
    return total


def _best(repeats: int, action: Callable[[], int]) -> tuple[float, int]:
    """The best wall time of ``repeats`` calls, and the bytes the last one returned."""
    best, size = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        size = action()
        best = min(best, time.perf_counter() - start)
    return best, size


def _build(site: object, cache_dir: Path, begin: str, end: str) -> tuple[float, int]:
    """Build every block of the level for [begin, end); return (seconds, blocks)."""
    from dasflex_core.cache.builder import build_block
    from dasflex_core.cache.store import CacheIndex
    from dasflex_core.planner import planner_for_site

    index = CacheIndex(cache_dir, site)  # type: ignore[arg-type]
    jobs = index.blocks_for(site.get(SOURCE_ID), begin, end)  # type: ignore[attr-defined]
    plan = planner_for_site(site).plan_block  # type: ignore[arg-type]
    start = time.perf_counter()
    for job in jobs:
        build_block(site, cache_dir, job, plan=plan)  # type: ignore[arg-type]
    return time.perf_counter() - start, len(jobs)


def run(workdir: Path) -> list[dict]:
    """Build the cache, then time the year at 1 h from the cache and from the reader."""
    from dasflex_core.planner import planner_for_site
    from dasflex_core.sources.loader import load_site

    days = float(os.environ.get("DASFLEX_BENCH_CACHE_DAYS", "365"))
    begin, end = BEGIN.isoformat(), (BEGIN + timedelta(days=days)).isoformat()
    root = _make_site(workdir)
    site = load_site(root / "site")
    source = site.get(SOURCE_ID)
    cache_dir = root / "cache"
    build_seconds, blocks = _build(site, cache_dir, begin, end)
    query = {"read.time.min": begin, "read.time.max": end, "bin.time.max": RESOLUTION}
    cached = planner_for_site(site, cache_dir=cache_dir).plan(source, query)
    direct = planner_for_site(site).plan(source, query)
    if cached.cache_level is None or direct.cache_level is not None:
        raise RuntimeError("the benchmark's plans do not read from where they should")
    cache_seconds, cache_bytes = _best(CACHE_REPEATS, lambda: _drain(cached))
    reader_seconds, reader_bytes = _best(READER_REPEATS, lambda: _drain(direct))
    raw_mb = days * 86400 / CADENCE_SECONDS * (12 + 4 * CHANNELS) / 1e6
    return [{
        "name": f"{days:g} days at 1 h: cache vs reader",
        "cache_seconds": round(cache_seconds, 3),
        "reader_seconds": round(reader_seconds, 3),
        "ratio": round(reader_seconds / cache_seconds, 1),
        "goal_ratio": 10,
        "raw_mb": round(raw_mb, 1),
        "output_bytes": {"cache": cache_bytes, "reader": reader_bytes},
        "build_seconds": round(build_seconds, 2),
        "blocks": blocks,
        "cache_stages": [list(stage[:3]) for stage in cached.stages],
        "reader_stages": [list(stage[-4:]) for stage in direct.stages],
    }]


if __name__ == "__main__":
    import json

    here = Path(__file__).resolve().parent / "out"
    here.mkdir(exist_ok=True)
    for row in run(here):
        print(json.dumps(row))
