"""Throughput of the binning and spectral tools against ``cat``.

Each tool runs as das2C's reference was measured (research/das2c.md §6):
``cat FILE | TOOL ARGS > /dev/null`` through a shell-less pipeline, wall
time of the whole pipeline, best of REPEATS (``cpu_mb_per_s`` uses the CPU
time of the pipeline instead, which is steadier on a busy machine).  ``ratio_to_cat`` is the time
of ``cat FILE | cat > /dev/null`` divided by the tool's time (1.0 = as fast
as a pipe).  Streams come from bench/streams.py: 400 MB of 1024-float
``<yscan>`` packets (A) and 100 MB of 4-float ``<y>`` packets (B); scale them
with DASFLEX_BENCH_MB_SCALE.  Goals: twice das2C -O2, i.e. avgsec A >= 374,
avgsec B >= 220, psd A >= 200 MB/s.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.streams import write_y_stream, write_yscan_stream

REPEATS = 3

#: (row name, stream key, program, arguments, das2C -O2 MB/s from research §6)
CASES = (
    ("das2_bin_avgsec 60 yscan1024", "yscan", "das2_bin_avgsec", ["60"], 187.0),
    ("das2_bin_avgsec 60 y4", "y", "das2_bin_avgsec", ["60"], 111.0),
    ("das2_bin_peakavgsec 60 yscan1024", "yscan", "das2_bin_peakavgsec", ["60"], 183.0),
    ("das2_bin_ratesec 60 yscan1024", "yscan", "das2_bin_ratesec", ["60"], 240.0),
    ("das2_psd 1024 1 yscan1024", "yscan", "das2_psd", ["1024", "1"], 100.0),
)


def _ensure(path: Path, megabytes: float, make: Callable[[Path, float], int]) -> None:
    wanted = int(megabytes * 1_000_000)
    if not path.exists() or not wanted <= path.stat().st_size < wanted + (8 << 20):
        make(path, megabytes)


def _pipeline_seconds(path: Path, command: list[str]) -> float:
    """Wall seconds of ``cat path | command > /dev/null``."""
    return _pipeline_times(path, command)[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pipeline_times(path: Path, command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of both processes) of ``cat path | command > /dev/null``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
        assert cat.stdout is not None
        tool = subprocess.run(command, stdin=cat.stdout, stdout=sink, stderr=subprocess.PIPE, check=False)
        cat.stdout.close()
        cat.wait()
    elapsed = time.perf_counter() - start
    if tool.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {tool.stderr.decode(errors='replace')}")
    return elapsed, _children_cpu() - cpu


def _tool_command(program: str, arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", f"dasflex_core.tools.{program}", *arguments]


def run(workdir: Path) -> list[dict]:
    """Generate the streams under ``workdir`` (if needed) and time every case."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    streams = {"yscan": workdir / f"codec_yscan_{scale:g}.d2s", "y": workdir / f"codec_y_{scale:g}.d2s"}
    _ensure(streams["yscan"], 400 * scale, write_yscan_stream)
    _ensure(streams["y"], 100 * scale, write_y_stream)
    cat_seconds = {
        key: min(_pipeline_seconds(path, ["cat"]) for _ in range(REPEATS))
        for key, path in streams.items()
    }
    rows = []
    for name, key, program, arguments, das2c in CASES:
        path = streams[key]
        timings = [_pipeline_times(path, _tool_command(program, arguments)) for _ in range(REPEATS)]
        seconds = min(wall for wall, _ in timings)
        cpu = min(used for _, used in timings)
        size = path.stat().st_size
        mb_per_s = size / seconds / 1e6
        rows.append({
            "name": name,
            "bytes": size,
            "seconds": round(seconds, 3),
            "mb_per_s": round(mb_per_s, 1),
            "das2c_o2_mb_per_s": das2c,
            "speedup_vs_das2c": round(mb_per_s / das2c, 2),
            "ratio_to_cat": round(cat_seconds[key] / seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "cpu_mb_per_s": round(size / cpu / 1e6, 1),
        })
    return rows
