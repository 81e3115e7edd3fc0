"""HTTP front end: streaming throughput and request latency under a real gunicorn.

A throw-away site holds one source whose reader copies a generated 1024-float
``<yscan>`` das2 stream (bench/streams.py; 200 MB, scaled by
DASFLEX_BENCH_MB_SCALE) to stdout.  ``dasflex serve`` runs it on a free
loopback port; an HTTP/1.0 client (as das2C sends) reads each reply until
close.  Rows: streaming MB/s (and against ``cat FILE`` and the bare reader
through a pipe), small data request latency (process spawn included), and
HAPI ``/info`` latency over HTTP and in-process.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.streams import write_yscan_stream

REPEATS = 3
LATENCY_REQUESTS = 40

COPY_READER = '''import os, sys
source = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(source).st_size
offset = 0
while offset < size:
    offset += os.sendfile(1, source, offset, size - offset)
'''

SMALL_READER = '''import sys
header = b'<stream version="2.2"></stream>\\n'
packet = b'<packet><x type="time24" units="us2000"></x><y type="ascii10" name="v" units="V"></y></packet>\\n'
out = sys.stdout.buffer
out.write(b"[00]%06d" % len(header) + header + b"[01]%06d" % len(packet) + packet)
for i in range(10):
    out.write(b":01:2020-01-01T00:00:%02d.000Z%10.3f" % (i, i))
'''


def _site(workdir: Path, stream: Path) -> Path:
    site = workdir / "http_site"
    readers = site / "_readers"
    readers.mkdir(parents=True, exist_ok=True)
    (readers / "copy.py").write_text(COPY_READER)
    (readers / "small.py").write_text(SMALL_READER)
    bench = site / "Bench"
    bench.mkdir(exist_ok=True)
    (bench / "Big.dsdf").write_text(
        "description = 'Generated yscan stream'\n"
        f"reader = '$(PYTHON) ../_readers/copy.py {stream}'\n"
        "das2Stream = 1\nnot_reducible = 1\ndropParams = 1\nhapi = 1\n"
        "validRange = '2013-02-01 to 2013-04-01'\n"
        "exampleRange_00 = '2013-02-24T06:00 to 2013-02-24T07:00'\n")
    (bench / "Small.dsdf").write_text(
        "description = 'Ten records'\nreader = '$(PYTHON) ../_readers/small.py'\n"
        "das2Stream = 1\nnot_reducible = 1\ndropParams = 1\nhapi = 1\n"
        "validRange = '2020-01-01 to 2021-01-01'\nitem_00 = 'v | value | V'\n")
    return site


def _serve(site: Path) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dasflex_core", "serve", "--site", str(site), "--port", "0",
         "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("dasflex serving on "):
        _stop(process)
        raise RuntimeError("dasflex serve did not start")
    return process, int(line.rstrip().rstrip("/").rsplit(":", 1)[1])


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def _get(port: int, path: str) -> int:
    """HTTP/1.0 GET read until close; the number of bytes received."""
    request = f"GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    received = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(request)
        buffer = bytearray(1 << 20)
        while count := connection.recv_into(buffer):
            received += count
    return received


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _pipe_seconds(argv: list[str]) -> float:
    def consume() -> None:
        with subprocess.Popen(argv, stdout=subprocess.PIPE) as process:
            assert process.stdout is not None
            while process.stdout.read(1 << 20):
                pass

    return _best(consume)


def _median_ms(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(LATENCY_REQUESTS):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1000, 3)


def _hapi_row(port: int, output: str) -> dict:
    """HAPI data of two hours of the yscan stream (7200 records of 1024 floats)."""
    path = (f"/hapi/data?dataset=Bench/Big&start=2013-02-24T06:00:00Z"
            f"&stop=2013-02-24T08:00:00Z&format={output}")
    received = _get(port, path)
    seconds = _best(lambda: _get(port, path))
    return {"name": f"http HAPI {output} from das2 yscan1024 (2 h, 7200 records)",
            "seconds": round(seconds, 4), "bytes_out": received,
            "records_per_s": round(7200 / seconds), "values_per_s": round(7200 * 1024 / seconds),
            "mb_per_s": round(received / seconds / 1e6, 1), "ratio_to_cat": None}


def _in_process_info_us(site: Path) -> float:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    client = create_app(load_settings(environ={}, site_dir=site)).test_client()
    client.get("/hapi/info?dataset=Bench/Small")
    return round(_median_ms(lambda: client.get("/hapi/info?dataset=Bench/Small")) * 1000, 1)


def run(workdir: Path) -> list[dict]:
    """Measure streaming throughput and latency; see the module docstring."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    stream = workdir / f"http_yscan_{scale:g}.d2s"
    if not stream.exists():
        write_yscan_stream(stream, 200 * scale)
    size = stream.stat().st_size
    site = _site(workdir, stream)
    cat = _pipe_seconds(["cat", str(stream)])
    bare = _pipe_seconds([sys.executable, str(site / "_readers" / "copy.py"), str(stream)])
    process, port = _serve(site)
    try:
        path = "/?server=dataset&dataset=Bench/Big&start_time=2013-02-24&end_time=2013-02-25"
        assert _get(port, path) > size
        served = _best(lambda: _get(port, path))
        small = "/source/bench/small/flex?read.time.min=2020-01-01&read.time.max=2020-01-02"
        data_ms = _median_ms(lambda: _get(port, small))
        info_ms = _median_ms(lambda: _get(port, "/hapi/info?dataset=Bench/Small"))
        hapi_rows = [_hapi_row(port, output) for output in ("binary", "csv")]
    finally:
        _stop(process)
    return [
        {"name": "http stream das2 yscan1024 via gunicorn (HTTP/1.0)", "bytes": size,
         "seconds": round(served, 4), "mb_per_s": round(size / served / 1e6, 1),
         "cat_mb_per_s": round(size / cat / 1e6, 1), "ratio_to_cat": round(cat / served, 3),
         "reader_alone_mb_per_s": round(size / bare / 1e6, 1)},
        {"name": "http small data request (10 records, spawn included)",
         "median_ms": data_ms, "mb_per_s": None, "ratio_to_cat": None},
        {"name": "http /hapi/info over HTTP", "median_ms": info_ms,
         "mb_per_s": None, "ratio_to_cat": None},
        *hapi_rows,
        {"name": "/hapi/info in-process (Flask test client)",
         "median_us": _in_process_info_us(site), "mb_per_s": None, "ratio_to_cat": None},
    ]
