"""Throughput of the text tools ``das2_ascii`` and ``das3_csv`` against ``cat``.

Streams (bench/streams.py): 400 MB of 1024-float ``<yscan>`` packets (A) and
100 MB of 4-float ``<y>`` packets (B); scale both with DASFLEX_BENCH_MB_SCALE
(e.g. 0.05 for a quick check).  Each tool runs as das2C was measured:
``cat FILE | TOOL > /dev/null`` (wall time of the whole pipeline), so the
figures compare directly with research/das2c.md section 6 (das2C -O2:
das2_ascii 20 / 19 MB/s, das3_csv 15 / 11 MB/s on A / B).

Start-up rows: "start-up is part of the figure for small requests", so
every stream tool also runs on a tiny stream (ten 4-float ``<y>`` records):
``seconds`` is the median wall time of STARTUP_REPEATS runs of ``TOOL ARGS
< tiny.d2s > /dev/null`` (``cpu_seconds`` the median CPU time, steadier on a
busy machine) and ``over_cat_ms`` its excess over ``cat`` doing the same.
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
STARTUP_REPEATS = 7
#: (program, arguments) of every stream tool, for the start-up rows.
STARTUP_TOOLS: tuple[tuple[str, list[str]], ...] = (
    ("das2_ascii", []), ("das3_csv", []), ("das3_text", ["-3"]), ("das2_hapi", []),
    ("das2_bin_avgsec", ["60"]), ("das2_bin_peakavgsec", ["60"]), ("das2_bin_avg", ["60"]),
    ("das2_bin_ratesec", ["60"]), ("das2_psd", ["16", "1"]), ("das2_histo", []),
    ("das2_to_das3", []), ("das2_cdf", []), ("das2_png", []),
    ("das2_parquet", []), ("das2_netcdf", []), ("das2_votable", []), ("das2_json", []),
    ("das2_plaincsv", []),
)
#: Input MB/s of das2C (-O2 build) on this machine, from research/das2c.md section 6.
DAS2C_MB_PER_S = {
    ("das2_ascii", "yscan"): 20.0,
    ("das2_ascii", "y4"): 19.0,
    ("das3_csv", "yscan"): 15.0,
    ("das3_csv", "y4"): 11.0,
}


def _ensure(path: Path, megabytes: float, make: Callable[[Path, float], int]) -> None:
    wanted = int(megabytes * 1_000_000)
    if not path.exists() or not wanted <= path.stat().st_size < wanted + (8 << 20):
        make(path, megabytes)


def _pipeline_seconds(command: str) -> tuple[float, float]:
    """Best wall and CPU (user + sys of all processes) seconds of ``command``.

    CPU time is reported as well because wall time suffers when other jobs
    share the two cores.
    """
    best_wall = best_cpu = float("inf")
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(["bash", "-c", command], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def _tool(name: str) -> str:
    """The console script of ``name`` next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return str(script)
    return f"{sys.executable} -m dasflex_core.tools.{name}"


def _median_seconds(command: list[str], stdin_path: Path) -> tuple[float, float]:
    """Median wall and CPU (user + sys) seconds of ``command < stdin_path > /dev/null``."""
    walls, cpus = [], []
    for _ in range(STARTUP_REPEATS):
        with stdin_path.open("rb") as source:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, stdin=source, stdout=subprocess.DEVNULL, check=True)
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    middle = STARTUP_REPEATS // 2
    return sorted(walls)[middle], sorted(cpus)[middle]


def startup_rows(workdir: Path) -> list[dict]:
    """Wall and CPU time of every stream tool on a tiny stream, against ``cat``."""
    tiny = workdir / "startup_tiny.d2s"
    if not tiny.exists():
        write_y_stream(tiny, 0.0003)
    cat, cat_cpu = _median_seconds(["cat"], tiny)
    rows = [{"name": "start-up cat", "seconds": round(cat, 4), "cpu_seconds": round(cat_cpu, 4)}]
    for name, code in (("python", "pass"), ("python+numpy", "import numpy")):
        seconds, cpu = _median_seconds([sys.executable, "-c", code], tiny)
        rows.append({"name": f"start-up {name}", "seconds": round(seconds, 4),
                     "cpu_seconds": round(cpu, 4), "over_cat_ms": round((seconds - cat) * 1000, 1)})
    for program, arguments in STARTUP_TOOLS:
        seconds, cpu = _median_seconds([*_tool(program).split(), *arguments], tiny)
        rows.append({"name": f"start-up {program}", "seconds": round(seconds, 4),
                     "cpu_seconds": round(cpu, 4), "over_cat_ms": round((seconds - cat) * 1000, 1)})
    return rows


def run(workdir: Path) -> list[dict]:
    """Measure das2_ascii and das3_csv on both benchmark streams, and start-up times."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    streams = {
        "yscan": (workdir / "bench_yscan.d2s", 400 * scale, write_yscan_stream),
        "y4": (workdir / "bench_y4.d2s", 100 * scale, write_y_stream),
    }
    rows: list[dict] = []
    for stream_name, (path, megabytes, make) in streams.items():
        _ensure(path, megabytes, make)
        size_mb = path.stat().st_size / 1e6
        cat, _ = _pipeline_seconds(f"cat {path} | cat > /dev/null")
        for tool in ("das2_ascii", "das3_csv"):
            seconds, cpu = _pipeline_seconds(f"cat {path} | {_tool(tool)} > /dev/null")
            rate = size_mb / seconds
            rows.append(
                {
                    "name": f"{tool} {stream_name}",
                    "input_mb": round(size_mb, 1),
                    "seconds": round(seconds, 3),
                    "mb_per_s": round(rate, 1),
                    "cpu_seconds": round(cpu, 3),
                    "cpu_mb_per_s": round(size_mb / cpu, 1),
                    "ratio_to_cat": round(seconds / cat, 2),
                    "das2c_mb_per_s": DAS2C_MB_PER_S[(tool, stream_name)],
                    "speedup_vs_das2c": round(rate / DAS2C_MB_PER_S[(tool, stream_name)], 2),
                }
            )
    return rows + startup_rows(workdir)
