"""HTTP front end under a real gunicorn, each goal a ratio measured side by side.

A throw-away site holds a pass-through source (a reader that copies a
generated 1024-float ``<yscan>`` das2 stream to stdout; 200 MB, scaled by
DASFLEX_BENCH_MB_SCALE), a ten-record source and a source that streams
1 GB (scaled too) by repeating the data packets of a small stream.
``dasflex serve`` runs on a free loopback port; clients speak HTTP/1.0 (as
das2C does) and read until close.  Rows:

* relay: MB/s served vs the same reader piped to a discarding reader (goal >= 0.9);
* time to first byte of a tiny request vs the reader's own start-up (goal <= +20 ms);
* metadata requests per second from concurrent keep-alive clients (threads);
* peak RSS (VmHWM of gunicorn master + workers) while one client streams 1 GB
  (goal <= 100 MB), on a fresh server;
* HAPI binary and CSV from the yscan stream, and ``/hapi/info`` in-process.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench.streams import write_yscan_stream

REPEATS = 3
RELAY_REPEATS = 5
LATENCY_REQUESTS = 40
LOAD_SECONDS = 4.0
LOAD_THREADS = 8
BIG_STREAM_BYTES = 1_000_000_000
SERVER_WORKERS = 2

COPY_READER = '''import os, sys
source = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(source).st_size
offset = 0
while offset < size:
    offset += os.sendfile(1, source, offset, size - offset)
'''

REPEAT_READER = '''"""FILE TOTAL: the headers of das2 stream FILE, then its data packets until TOTAL bytes."""
import os, sys
data = open(sys.argv[1], "rb").read()
total = int(sys.argv[2])
start = 0
for _ in range(2):  # [00] stream header and [01] packet header
    start += 10 + int(data[start + 4:start + 10])
out = os.fdopen(1, "wb", buffering=0)
out.write(data[:start])
body = memoryview(data)[start:]
written = start
while written < total:
    piece = body[:total - written]
    out.write(piece)
    written += len(piece)
'''

SMALL_READER = '''import sys
header = b'<stream version="2.2"></stream>\\n'
packet = b'<packet><x type="time24" units="us2000"></x><y type="ascii10" name="v" units="V"></y></packet>\\n'
out = sys.stdout.buffer
out.write(b"[00]%06d" % len(header) + header + b"[01]%06d" % len(packet) + packet)
for i in range(10):
    out.write(b":01:2020-01-01T00:00:%02d.000Z%10.3f" % (i, i))
'''

METADATA_PATHS = ("/hapi/info?dataset=Bench/Small", "/hapi/catalog", "/hapi/capabilities",
                  "/?server=list", "/source/bench/small/flex.json", "/id.json")


def _site(workdir: Path, stream: Path, small_stream: Path, big_bytes: int) -> Path:
    site = workdir / "http_site"
    readers = site / "_readers"
    readers.mkdir(parents=True, exist_ok=True)
    (readers / "copy.py").write_text(COPY_READER)
    (readers / "repeat.py").write_text(REPEAT_READER)
    (readers / "small.py").write_text(SMALL_READER)
    bench = site / "Bench"
    bench.mkdir(exist_ok=True)
    common = "das2Stream = 1\nnot_reducible = 1\ndropParams = 1\nhapi = 1\n"
    (bench / "Big.dsdf").write_text(
        "description = 'Generated yscan stream'\n"
        f"reader = '$(PYTHON) ../_readers/copy.py {stream}'\n{common}"
        "validRange = '2013-02-01 to 2013-04-01'\n"
        "exampleRange_00 = '2013-02-24T06:00 to 2013-02-24T07:00'\n")
    (bench / "Huge.dsdf").write_text(
        "description = 'Repeated yscan packets'\n"
        f"reader = '$(PYTHON) ../_readers/repeat.py {small_stream} {big_bytes}'\n{common}"
        "validRange = '2013-02-01 to 2013-04-01'\n")
    (bench / "Small.dsdf").write_text(
        f"description = 'Ten records'\nreader = '$(PYTHON) ../_readers/small.py'\n{common}"
        "validRange = '2020-01-01 to 2021-01-01'\nitem_00 = 'v | value | V'\n")
    return site


def _serve(site: Path, workers: int = SERVER_WORKERS) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dasflex_core", "serve", "--site", str(site), "--port", "0",
         "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("dasflex serving on "):
        _stop(process)
        raise RuntimeError("dasflex serve did not start")
    return process, int(line.rstrip().rstrip("/").rsplit(":", 1)[1])


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _get(port: int, path: str, first_byte: list[float] | None = None) -> int:
    """HTTP/1.0 GET read until close; the bytes received (``first_byte`` gets the TTFB)."""
    request = f"GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    received = 0
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(request)
        buffer = bytearray(1 << 20)
        while count := connection.recv_into(buffer):
            if not received and first_byte is not None:
                first_byte.append(time.perf_counter() - start)
            received += count
    return received


def _pipe_once(argv: list[str]) -> float:
    """Seconds to run ``argv`` with its stdout read (1 MB reads) and discarded."""
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        while process.stdout.read1(1 << 20):
            pass
    return time.perf_counter() - start


def _reader_alone(argv: list[str]) -> tuple[float, float]:
    """Seconds from spawning ``argv`` to its first stdout byte, and to its exit."""
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.read1(1)
        first = time.perf_counter() - start
        process.stdout.read()
    return first, time.perf_counter() - start


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _relay_row(port: int, site: Path, stream: Path) -> dict:
    """Served vs piped throughput of the pass-through reader, interleaved repeats."""
    path = "/?server=dataset&dataset=Bench/Big&start_time=2013-02-24&end_time=2013-02-25"
    argv = [sys.executable, str(site / "_readers" / "copy.py"), str(stream)]
    size = stream.stat().st_size
    assert _get(port, path) >= size
    served, piped = [], []
    for _ in range(RELAY_REPEATS):
        piped.append(_pipe_once(argv))
        start = time.perf_counter()
        _get(port, path)
        served.append(time.perf_counter() - start)
    return {"name": "http relay pass-through das2 (gunicorn vs reader | reader-to-null)",
            "bytes": size, "mb_per_s": round(size / min(served) / 1e6, 1),
            "reader_piped_mb_per_s": round(size / min(piped) / 1e6, 1),
            "ratio": round(min(piped) / min(served), 3), "goal": ">= 0.9",
            "ratio_to_cat": None}


def _first_byte_row(port: int, site: Path) -> dict:
    """TTFB of a ten-record request vs the same reader alone, interleaved.

    A stream this small is held until the reader exits (its status decides
    between data and an error), so the reader's whole run is the baseline;
    its first-byte time is reported too.
    """
    path = "/source/bench/small/flex?read.time.min=2020-01-01&read.time.max=2020-01-02"
    argv = [sys.executable, str(site / "_readers" / "small.py")]
    served: list[float] = []
    first, whole = [], []
    _get(port, path)
    for _ in range(LATENCY_REQUESTS // 2):
        alone = _reader_alone(argv)
        first.append(alone[0])
        whole.append(alone[1])
        _get(port, path, served)
    overhead = _median_ms(served) - _median_ms(whole)
    return {"name": "http time to first byte, tiny request vs the reader alone",
            "ttfb_ms": _median_ms(served), "reader_run_ms": _median_ms(whole),
            "reader_first_byte_ms": _median_ms(first), "overhead_ms": round(overhead, 2),
            "goal": "overhead <= 20 ms", "mb_per_s": None, "ratio_to_cat": None}


def _load_row(port: int) -> dict:
    """Metadata requests per second from LOAD_THREADS keep-alive clients."""
    stop_at = time.monotonic() + LOAD_SECONDS
    counts = [0] * LOAD_THREADS
    errors = [0] * LOAD_THREADS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        turn = index
        while time.monotonic() < stop_at:
            try:
                connection.request("GET", METADATA_PATHS[turn % len(METADATA_PATHS)])
                reply = connection.getresponse()
                reply.read()
                if reply.status == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            turn += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(LOAD_THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return {"name": f"http metadata requests/s ({LOAD_THREADS} keep-alive client threads)",
            "requests_per_s": round(sum(counts) / seconds, 1), "errors": sum(errors),
            "seconds": round(seconds, 2), "mb_per_s": None, "ratio_to_cat": None}


def _server_pids(master: int) -> list[int]:
    """The gunicorn master and its workers (the pipelines' readers are not counted)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(pid) for pid in children
                      if "gunicorn" in _cmdline(int(pid)) or "dasflex" in _cmdline(int(pid)))]


def _wait_for_workers(master: int, workers: int) -> list[int]:
    """The server's pids once its workers are up (they start after the URL is printed)."""
    deadline = time.monotonic() + 20
    pids = _server_pids(master)
    while len(pids) < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = _server_pids(master)
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pss_kb(pid: int) -> int:
    """Proportional set size (shared pages divided among their users)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_row(site: Path, big_bytes: int) -> dict:
    """Peak RSS of a fresh server (master + workers) while one client streams ``big_bytes``."""
    process, port = _serve(site)
    try:
        pids = _wait_for_workers(process.pid, SERVER_WORKERS)
        before = sum(_hwm_kb(pid) for pid in pids)
        start = time.perf_counter()
        received = _get(port, "/?server=dataset&dataset=Bench/Huge"
                              "&start_time=2013-02-24&end_time=2013-02-25")
        seconds = time.perf_counter() - start
        pids = _server_pids(process.pid)
        peak = sum(_hwm_kb(pid) for pid in pids)
        pss = sum(_pss_kb(pid) for pid in pids)
    finally:
        _stop(process)
    return {"name": f"http peak server RSS streaming {received / 1e9:.2f} GB "
                    f"({len(pids)} processes, VmHWM sum)",
            "peak_rss_mb": round(peak / 1024, 1), "idle_rss_mb": round(before / 1024, 1),
            "pss_after_mb": round(pss / 1024, 1),
            "goal": "<= 100 MB", "mb_per_s": round(received / seconds / 1e6, 1),
            "ratio_to_cat": None}


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


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _in_process_info_us(site: Path) -> float:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    client = create_app(load_settings(environ={}, site_dir=site)).test_client()
    client.get("/hapi/info?dataset=Bench/Small")
    samples = []
    for _ in range(LATENCY_REQUESTS):
        start = time.perf_counter()
        client.get("/hapi/info?dataset=Bench/Small")
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1e6, 1)


def run(workdir: Path) -> list[dict]:
    """Measure the rows listed in the module docstring."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    stream = workdir / f"http_yscan_{scale:g}.d2s"
    if not stream.exists():
        write_yscan_stream(stream, 200 * scale)
    small_stream = workdir / "http_yscan_8mb.d2s"
    if not small_stream.exists():
        write_yscan_stream(small_stream, 8)
    big_bytes = int(BIG_STREAM_BYTES * scale)
    site = _site(workdir, stream, small_stream, big_bytes)
    process, port = _serve(site)
    try:
        rows = [_relay_row(port, site, stream), _first_byte_row(port, site), _load_row(port)]
        rows += [_hapi_row(port, output) for output in ("binary", "csv")]
    finally:
        _stop(process)
    rows.append(_rss_row(site, big_bytes))
    rows.append({"name": "/hapi/info in-process (Flask test client)",
                 "median_us": _in_process_info_us(site), "mb_per_s": None,
                 "ratio_to_cat": None})
    return rows
