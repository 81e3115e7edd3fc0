"""The tools' input path alone: ``cat FILE | python READ-LOOP`` (no parsing).

Rows compare a plain 64 KiB pipe with one widened to 1 MiB
(``tools.streamio.widen_pipe``), reading with ``read_chunks`` (``bytes``) and
``read_views`` (write-once buffers), and also the reader on top
(``Das2Reader.feed``).  ``cpu_mb_per_s`` counts the CPU time of both
processes, start-up included (every case imports numpy, as the tools do).  Stream: 100 MB of 1024-float ``<yscan>`` packets, scaled by
DASFLEX_BENCH_MB_SCALE.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.streams import write_yscan_stream

REPEATS = 3

LOOP = '''
import sys
from dasflex_core.codecs.das2_reader import Das2Reader  # numpy, as every tool has
from dasflex_core.tools import streamio
mode, parse = sys.argv[1], sys.argv[2] == "parse"
if mode == "narrow":
    streamio.widen_pipe = lambda descriptor, size=0: False
read = streamio.read_views if mode == "views" else streamio.read_chunks
reader = None
if parse:
    reader = Das2Reader()
count = 0
for chunk in read(sys.stdin.buffer):
    count += 1
    if reader is not None:
        reader.feed(chunk)
if reader is not None:
    reader.close()
print(count)
'''

#: (row name, read mode, parse with Das2Reader)
CASES = (
    ("read_chunks, 64 KiB pipe", "narrow", False),
    ("read_chunks, 1 MiB pipe", "wide", False),
    ("read_views, 1 MiB pipe", "views", False),
    ("read_chunks + Das2Reader, 64 KiB pipe", "narrow", True),
    ("read_chunks + Das2Reader, 1 MiB pipe", "wide", True),
    ("read_views + Das2Reader, 1 MiB pipe", "views", True),
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pipeline(path: Path, mode: str, parse: bool) -> tuple[float, float, int]:
    """(wall s, CPU s, chunks read) of ``cat path | python LOOP``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
    assert cat.stdout is not None
    done = subprocess.run([sys.executable, "-c", LOOP, mode, "parse" if parse else "raw"],
                          stdin=cat.stdout, capture_output=True, text=True, check=True)
    cat.stdout.close()
    cat.wait()
    return time.perf_counter() - start, _children_cpu() - cpu, int(done.stdout)


def run(workdir: Path) -> list[dict]:
    """Time every case on the yscan stream (generated under ``workdir`` if needed)."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    path = workdir / f"codec_yscan_{scale:g}.d2s"
    wanted = int(100 * scale * 1_000_000)
    if not path.exists() or path.stat().st_size < wanted:
        write_yscan_stream(path, 100 * scale)
    size = path.stat().st_size
    rows = []
    for name, mode, parse in CASES:
        timings = [_pipeline(path, mode, parse) for _ in range(REPEATS)]
        wall = min(t[0] for t in timings)
        cpu = min(t[1] for t in timings)
        rows.append({
            "name": name,
            "bytes": size,
            "chunks": timings[0][2],
            "mb_per_s": round(size / wall / 1e6, 1),
            "cpu_seconds": round(cpu, 3),
            "cpu_mb_per_s": round(size / cpu / 1e6, 1),
            "ratio_to_cat": None,
        })
    return rows
