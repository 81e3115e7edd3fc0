"""Throughput of the converter tools (das2_to_das3, das3_to_das2, das2_cdf, das2_png) vs ``cat``.

Each tool runs as ``cat FILE | TOOL > /dev/null`` through a shell-less
pipeline; ``seconds`` is the best wall time of REPEATS runs, ``cpu_mb_per_s``
uses the CPU time of the pipeline instead (steadier on a busy machine).
``ratio_to_cat`` is the time of ``cat FILE | cat > /dev/null`` divided by the
tool's time (1.0 = as fast as a pipe).  ``peak_rss_mb`` is the tool's VmHWM
(bounded memory: it should not grow with the stream).  Streams come from
bench/streams.py: 400 MB of 1024-float ``<yscan>`` packets and 100 MB of
4-float ``<y>`` packets (scale with DASFLEX_BENCH_MB_SCALE); the das3
streams are their das2_to_das3 conversions.  das2C has no binary das2 ->
das3 converter (das3_cdf needs the NASA CDF library), so there is no C figure
to compare with here.
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

#: (row name, stream key, program, arguments)
CASES: tuple[tuple[str, str, str, list[str]], ...] = (
    ("das2_to_das3 yscan1024", "yscan", "das2_to_das3", []),
    ("das2_to_das3 y4", "y", "das2_to_das3", []),
    ("das3_to_das2 yscan1024", "yscan3", "das3_to_das2", []),
    ("das3_to_das2 y4", "y3", "das3_to_das2", []),
    ("das2_cdf yscan1024", "yscan", "das2_cdf", []),
    ("das2_cdf y4", "y", "das2_cdf", []),
    ("das2_png yscan1024", "yscan", "das2_png", []),
    ("das2_png y4", "y", "das2_png", []),
)

_PEAK_SCRIPT = (
    "import sys, importlib\n"
    "tool = importlib.import_module('dasflex_core.tools.' + sys.argv[1])\n"
    "code = tool.main(sys.argv[2:])\n"
    "peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')]\n"
    "sys.stderr.write('PEAK_KB %s\\n' % peak[0])\n"
    "sys.exit(code)\n"
)


def _ensure(path: Path, megabytes: float, make: Callable[[Path, float], int]) -> None:
    wanted = int(megabytes * 1_000_000)
    if not path.exists() or not wanted <= path.stat().st_size < wanted + (8 << 20):
        make(path, megabytes)


def _ensure_das3(source: Path, target: Path) -> None:
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    with source.open("rb") as stdin, target.open("wb") as stdout:
        subprocess.run(_tool_command("das2_to_das3", []), stdin=stdin, stdout=stdout, check=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pipeline_times(path: Path, command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stderr) of ``cat path | command > /dev/null``."""
    cpu = _children_cpu()
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        cat = subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE)
        assert cat.stdout is not None
        tool = subprocess.run(command, stdin=cat.stdout, stdout=sink, stderr=subprocess.PIPE,
                              check=False)
        cat.stdout.close()
        cat.wait()
    elapsed = time.perf_counter() - start
    if tool.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {tool.stderr.decode(errors='replace')}")
    return elapsed, _children_cpu() - cpu, tool.stderr.decode(errors="replace")


def _tool_command(program: str, arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", f"dasflex_core.tools.{program}", *arguments]


def _peak_command(program: str, arguments: list[str]) -> list[str]:
    return [sys.executable, "-c", _PEAK_SCRIPT, program, *arguments]


def run(workdir: Path) -> list[dict]:
    """Generate the streams under ``workdir`` (if needed) and time every case."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    streams = {"yscan": workdir / f"codec_yscan_{scale:g}.d2s",
               "y": workdir / f"codec_y_{scale:g}.d2s"}
    _ensure(streams["yscan"], 400 * scale, write_yscan_stream)
    _ensure(streams["y"], 100 * scale, write_y_stream)
    for key in ("yscan", "y"):
        streams[f"{key}3"] = workdir / f"convert_{key}_{scale:g}.d3b"
        _ensure_das3(streams[key], streams[f"{key}3"])
    cat_seconds = {key: min(_pipeline_times(path, ["cat"])[0] for _ in range(REPEATS))
                   for key, path in streams.items()}
    rows = []
    for name, key, program, arguments in CASES:
        path = streams[key]
        timings = [_pipeline_times(path, _tool_command(program, arguments))
                   for _ in range(REPEATS)]
        seconds = min(wall for wall, _, _ in timings)
        cpu = min(used for _, used, _ in timings)
        stderr = _pipeline_times(path, _peak_command(program, arguments))[2]
        peak_kb = int(stderr.split("PEAK_KB")[-1].split()[0])
        size = path.stat().st_size
        rows.append({
            "name": name,
            "bytes": size,
            "seconds": round(seconds, 3),
            "mb_per_s": round(size / seconds / 1e6, 1),
            "ratio_to_cat": round(cat_seconds[key] / seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "cpu_mb_per_s": round(size / cpu / 1e6, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
        })
    return rows
