"""HTTP front end under a real gunicorn, each goal a ratio measured side by side.

A throw-away site holds a pass-through source (a reader that copies a
generated 1024-float ``<yscan>`` das2 stream to stdout; 200 MB, scaled by
DASFLEX_BENCH_MB_SCALE), a ten-record source and a source that streams
1 GB (scaled too) by repeating the data packets of a small stream.
``dasflex serve`` runs on a free loopback port; clients speak HTTP/1.0 (as
das2C does) and read until close.  Rows:

* relay: MB/s served vs the same reader piped to ``cat > /dev/null`` (goal >= 0.9),
  medians of interleaved repeats; also against the reader on a 1 MiB pipe
  read in place, and against a bare splice(2) relay over loopback TCP (no
  HTTP), which shows what the socket itself costs;
* time to first byte of a tiny request vs the reader's own start-up (goal <= +20 ms);
* metadata requests per second from concurrent keep-alive clients (threads);
* peak memory of the server (gunicorn master + workers) while one client
  streams 1 GB (goal <= 100 MB), on a fresh server: summed VmHWM, and the
  peak of summed RSS and PSS sampled during the stream (PSS counts a page
  shared by the forked workers once);
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
RELAY_REPEATS = 9
LATENCY_REQUESTS = 40
LOAD_SECONDS = 4.0
LOAD_THREADS = 8
BIG_STREAM_BYTES = 1_000_000_000
SERVER_WORKERS = 2
MEMORY_SAMPLE_SECONDS = 0.05

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


def _cat_once(argv: list[str]) -> float:
    """Seconds to run ``argv | cat > /dev/null`` (the goal's baseline)."""
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as reader:
        assert reader.stdout is not None
        subprocess.run(["cat"], stdin=reader.stdout, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _wide_pipe_once(argv: list[str]) -> float:
    """Seconds to run ``argv`` into a 1 MiB pipe read in place (the fastest consumer)."""
    import fcntl

    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        descriptor = process.stdout.fileno()
        fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, 1 << 20)
        buffer = bytearray(1 << 20)
        while os.readv(descriptor, [buffer]):
            pass
    return time.perf_counter() - start


def _bare_splice_once(argv: list[str]) -> float:
    """Seconds to relay ``argv``'s output with splice(2) over loopback TCP, no HTTP."""
    import fcntl

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def relay() -> None:
            connection, _ = listener.accept()
            with connection, subprocess.Popen(argv, stdout=subprocess.PIPE) as process:
                assert process.stdout is not None
                descriptor = process.stdout.fileno()
                fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, 1 << 20)
                while os.splice(descriptor, connection.fileno(), 1 << 20):
                    pass

        thread = threading.Thread(target=relay)
        thread.start()
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as client:
            buffer = bytearray(1 << 20)
            while client.recv_into(buffer):
                pass
        seconds = time.perf_counter() - start
        thread.join()
    return seconds


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


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    """CPU seconds of this process (the HTTP client runs here)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its reaped children (a worker and its readers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _relay_row(port: int, site: Path, stream: Path, server_pid: int) -> dict:
    """Served vs piped throughput of the pass-through reader: medians of interleaved repeats.

    CPU seconds are also given: reader + ``cat``, and reader + gunicorn
    workers + the HTTP client; on a loaded machine they vary less than wall time.
    """
    path = "/?server=dataset&dataset=Bench/Big&start_time=2013-02-24&end_time=2013-02-25"
    argv = [sys.executable, str(site / "_readers" / "copy.py"), str(stream)]
    size = stream.stat().st_size
    assert _get(port, path) >= size
    times: dict[str, list[float]] = {"served": [], "cat": [], "wide": [], "splice": []}
    cpu: dict[str, list[float]] = {"served": [], "cat": []}
    workers = _server_pids(server_pid)[1:]
    for _ in range(RELAY_REPEATS):
        before = _children_cpu()
        times["cat"].append(_cat_once(argv))
        cpu["cat"].append(_children_cpu() - before)
        before = _own_cpu() + sum(_process_cpu(pid) for pid in workers)
        start = time.perf_counter()
        _get(port, path)
        times["served"].append(time.perf_counter() - start)
        cpu["served"].append(_own_cpu() + sum(_process_cpu(pid) for pid in workers) - before)
        times["wide"].append(_wide_pipe_once(argv))
        times["splice"].append(_bare_splice_once(argv))
    median = {name: statistics.median(samples) for name, samples in times.items()}
    cpu_median = {name: statistics.median(samples) for name, samples in cpu.items()}

    def rate(name: str) -> float:
        return round(size / median[name] / 1e6, 1)

    return {"name": "http relay pass-through das2 (gunicorn vs reader | cat > /dev/null)",
            "bytes": size, "repeats": RELAY_REPEATS, "mb_per_s": rate("served"),
            "reader_cat_mb_per_s": rate("cat"), "ratio": round(median["cat"] / median["served"], 3),
            "reader_wide_pipe_mb_per_s": rate("wide"),
            "ratio_to_wide_pipe": round(median["wide"] / median["served"], 3),
            "bare_tcp_splice_mb_per_s": rate("splice"),
            "ratio_to_bare_tcp_splice": round(median["splice"] / median["served"], 3),
            "cpu_s_served": round(cpu_median["served"], 3), "cpu_s_cat": round(cpu_median["cat"], 3),
            "served_mb_per_s_all": [round(size / t / 1e6) for t in times["served"]],
            "cat_mb_per_s_all": [round(size / t / 1e6) for t in times["cat"]],
            "goal": ">= 0.9 (medians)", "ratio_to_cat": None}


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


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _memory_sampler(master: int, stop: threading.Event, peaks: dict[str, int]) -> None:
    """Record the highest summed RSS and PSS of the server's processes until ``stop``."""
    while not stop.wait(MEMORY_SAMPLE_SECONDS):
        try:
            pids = _server_pids(master)
            peaks["rss"] = max(peaks["rss"], sum(_rss_kb(pid) for pid in pids))
            peaks["pss"] = max(peaks["pss"], sum(_pss_kb(pid) for pid in pids))
        except OSError:  # a process ended between listing and reading
            continue


def _rss_row(site: Path, big_bytes: int) -> dict:
    """Peak memory of a fresh server (master + workers) while one client streams ``big_bytes``."""
    process, port = _serve(site)
    try:
        pids = _wait_for_workers(process.pid, SERVER_WORKERS)
        idle_hwm = sum(_hwm_kb(pid) for pid in pids)
        idle_pss = sum(_pss_kb(pid) for pid in pids)
        peaks = {"rss": 0, "pss": 0}
        stop = threading.Event()
        sampler = threading.Thread(target=_memory_sampler, args=(process.pid, stop, peaks))
        sampler.start()
        start = time.perf_counter()
        try:
            received = _get(port, "/?server=dataset&dataset=Bench/Huge"
                                  "&start_time=2013-02-24&end_time=2013-02-25")
        finally:
            stop.set()
            sampler.join()
        seconds = time.perf_counter() - start
        pids = _server_pids(process.pid)
        hwm = sum(_hwm_kb(pid) for pid in pids)
    finally:
        _stop(process)
    return {"name": f"http peak server memory streaming {received / 1e9:.2f} GB "
                    f"({len(pids)} processes: gunicorn master + workers)",
            "peak_vmhwm_sum_mb": round(hwm / 1024, 1), "idle_vmhwm_sum_mb": round(idle_hwm / 1024, 1),
            "peak_rss_sum_mb": round(peaks["rss"] / 1024, 1),
            "peak_pss_sum_mb": round(peaks["pss"] / 1024, 1),
            "idle_pss_sum_mb": round(idle_pss / 1024, 1),
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
        rows = [_relay_row(port, site, stream, process.pid), _first_byte_row(port, site), _load_row(port)]
        rows += [_hapi_row(port, output) for output in ("binary", "csv")]
    finally:
        _stop(process)
    rows.append(_rss_row(site, big_bytes))
    rows.append({"name": "/hapi/info in-process (Flask test client)",
                 "median_us": _in_process_info_us(site), "mb_per_s": None,
                 "ratio_to_cat": None})
    return rows
