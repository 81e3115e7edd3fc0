"""Throughput and peak memory of the table formatters, beside ``das3_csv`` in the same run.

Streams (bench/streams.py, shared with bench_text): 400 MB of 1024-float
``<yscan>`` packets and 100 MB of 4-float ``<y>`` packets; each tool runs as
``cat FILE | TOOL > /dev/null`` (best wall and CPU time of REPEATS runs) and
is reported in MB/s of das2 input, with its ratio to ``das3_csv`` measured
in the same run.  Then each tool reads a 1 GB yscan stream once and reports
its peak resident size (``VmHWM``, read from /proc just before it exits).
Scale with DASFLEX_BENCH_MB_SCALE (e.g. 0.05 for a quick check);
``python -m bench formats``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.bench_text import _ensure, _pipeline_seconds, _tool
from bench.streams import write_y_stream, write_yscan_stream

#: (row name, program, arguments): das3_csv first, the reference.
TOOLS = (
    ("das3_csv", "das3_csv", ()),
    ("das2_parquet", "das2_parquet", ()),
    ("das2_netcdf", "das2_netcdf", ()),
    ("das2_votable", "das2_votable", ()),
    ("das2_votable -b", "das2_votable", ("-b",)),
    ("das2_json", "das2_json", ()),
    ("das2_plaincsv", "das2_plaincsv", ()),
)
#: Peak memory is measured on this much input (MB).
MEMORY_MB = 1000
#: Runs the tool's main and reports its VmHWM on stderr as it exits.
_MEASURE = """\
import sys
from dasflex_core.tools.{module} import main
code = main(sys.argv[1:])
sys.stdout.flush()
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
sys.stderr.write("PEAK %s\\n" % peak)
sys.exit(code)
"""


def peak_kb(program: str, arguments: tuple[str, ...], path: Path) -> int:
    """The tool's peak resident size (kB) on the stream in ``path``."""
    command = [sys.executable, "-c", _MEASURE.format(module=program), *arguments]
    with path.open("rb") as source:
        done = subprocess.run(command, stdin=source, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=True)
    return int(done.stderr.decode().split("PEAK ")[-1].split()[0])


def throughput_rows(workdir: Path, scale: float) -> list[dict]:
    """MB/s of every tool on both streams, and the ratio to das3_csv."""
    streams = {
        "yscan": (workdir / "bench_yscan.d2s", 400 * scale, write_yscan_stream),
        "y4": (workdir / "bench_y4.d2s", 100 * scale, write_y_stream),
    }
    rows: list[dict] = []
    for stream_name, (path, megabytes, make) in streams.items():
        _ensure(path, megabytes, make)
        size_mb = path.stat().st_size / 1e6
        reference = None
        for name, program, arguments in TOOLS:
            command = " ".join([_tool(program), *arguments])
            seconds, cpu = _pipeline_seconds(f"cat {path} | {command} > /dev/null")
            rate = size_mb / seconds
            reference = reference or rate
            rows.append({"name": f"{name} {stream_name}", "input_mb": round(size_mb, 1),
                         "seconds": round(seconds, 2), "mb_per_s": round(rate, 1),
                         "cpu_seconds": round(cpu, 2), "cpu_mb_per_s": round(size_mb / cpu, 1),
                         "ratio_to_das3_csv": round(rate / reference, 2)})
    return rows


def memory_rows(workdir: Path, scale: float) -> list[dict]:
    """Peak memory of every tool on a 1 GB yscan stream."""
    path = workdir / "bench_yscan_1gb.d2s"
    _ensure(path, MEMORY_MB * scale, write_yscan_stream)
    size_mb = path.stat().st_size / 1e6
    return [{"name": f"peak {name}", "input_mb": round(size_mb, 1),
             "vmhwm_mb": round(peak_kb(program, arguments, path) / 1024, 1)}
            for name, program, arguments in TOOLS]


def run(workdir: Path) -> list[dict]:
    """Throughput on the 400 MB and 100 MB streams, then peak memory on 1 GB."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    return throughput_rows(workdir, scale) + memory_rows(workdir, scale)
