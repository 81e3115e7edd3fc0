"""Relay overhead of remote sources: the same data read locally and through a relay.

Site A (``dasflex serve``) has a source whose reader generates a spectrum of
64 doubles a second (a binary das2 stream) and publishes it over das2 and
HAPI.  Site B relays it twice: as a HAPI dataset (``dasflex import-hapi``:
binary HAPI, converted back to das2 by ``dasflex_fetch``) and as a das2
source (passed through whole packets).  Rows, medians of interleaved repeats,
each the wall time for a client to read the whole das2 answer:

* ``federation-<range>-<path>``: one day at full resolution (about 45 MB),
  one day averaged to 60 s, and ten seconds (latency), read from A
  (``local``), through B's HAPI relay (``hapi-relay``, gzip accepted as by
  default; ``hapi-relay-identity``, a second B server with ``remote_gzip``
  off) and through B's das2 relay (``das2-relay``); ``ratio_to_local`` is
  relay time over local time.

DASFLEX_BENCH_MB_SCALE scales the long range (default 1: one day).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_http import _get, _stop

REPEATS = 3
ITEMS = 64

READER = '''"""BEGIN END: a 64-double spectrum a second as a binary das2 stream (us2000 times)."""
import sys
from datetime import datetime
import numpy as np

EPOCH = datetime(2000, 1, 1)
ITEMS = 64


def us2000(text):
    return (datetime.fromisoformat(text.rstrip("Z")) - EPOCH).total_seconds() * 1e6


def packet(tag, xml):
    data = xml.encode()
    return b"[%s]%06d" % (tag, len(data)) + data


begin, end = us2000(sys.argv[1]), us2000(sys.argv[2])
out = sys.stdout.buffer
out.write(packet(b"00", '<stream version="2.2"><properties title="bench spectrum" '
                        'Datum:xTagWidth="1 s"/></stream>\\n'))
tags = ",".join(str(10.0 * (k + 1)) for k in range(ITEMS))
out.write(packet(b"01", '<packet><x type="little_endian_real8" units="us2000"></x>'
                        f'<yscan name="spec" type="little_endian_real8" zUnits="V**2/Hz" '
                        f'yUnits="Hz" nitems="{ITEMS}" yTags="{tags}"></yscan></packet>\\n'))
first = np.ceil(begin / 1e6) * 1e6
dtype = np.dtype([("tag", "S4"), ("x", "<f8"), ("y", "<f8", (ITEMS,))])
step = 4096
start = first
while start < end:
    times = np.arange(start, min(end, start + step * 1e6), 1e6)
    records = np.empty(len(times), dtype=dtype)
    records["tag"] = b":01:"
    records["x"] = times
    records["y"] = np.sin(times[:, None] / 1e9 + np.arange(ITEMS)) + 2.0
    out.write(records.tobytes())
    start += step * 1e6
'''

DEFINITION = """description = 'Bench spectrum, 64 doubles a second'
reader = '$(PYTHON) ../_readers/spectrum.py'
das2Stream = 1
validRange = '2020-01-01 to 2020-12-31'
coord_00 = 'time | Time | UTC'
data_00 = 'spec | Spectrum | V**2/Hz'
exampleRange_00 = '2020-01-01T00:00 to 2020-01-01T00:10 | Ten minutes'
hapi = 1
"""


def _site_a(workdir: Path) -> Path:
    site = workdir / "federation_a"
    (site / "_readers").mkdir(parents=True, exist_ok=True)
    (site / "Bench").mkdir(exist_ok=True)
    (site / "_readers" / "spectrum.py").write_text(READER)
    (site / "Bench" / "Spectrum.dsdf").write_text(DEFINITION)
    return site


def _serve(site: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dasflex_core", "serve", "--site", str(site), "--port", "0",
         "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("dasflex serving on "):
        _stop(process)
        raise RuntimeError("dasflex serve did not start")
    return process, int(line.rstrip().rstrip("/").rsplit(":", 1)[1])


def _site_b(workdir: Path, port_a: int) -> Path:
    site = workdir / "federation_b"
    if site.exists():
        shutil.rmtree(site)
    site.mkdir()
    url = f"http://127.0.0.1:{port_a}"
    for command in (["import-hapi", f"{url}/hapi", "--prefix", "hapi"],
                    ["import-das2", f"{url}/", "--prefix", "das2"]):
        done = subprocess.run([sys.executable, "-m", "dasflex_core", *command, "--site", str(site)],
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dasflex {command[0]} failed: {done.stderr}")
    return site


def _timed(port: int, dataset: str, begin: str, end: str, resolution: str) -> tuple[float, int]:
    extra = f"&resolution={resolution}" if resolution else ""
    start = time.perf_counter()
    size = _get(port, f"/?server=dataset&dataset={dataset}&start_time={begin}"
                      f"&end_time={end}{extra}")
    return time.perf_counter() - start, size


def run(workdir: Path) -> list[dict]:
    """Serve A, relay it from B, and time the same requests through each path."""
    scale = float(os.environ.get("DASFLEX_BENCH_MB_SCALE", "1"))
    seconds = max(60, int(86400 * scale))
    long_end = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1577836800 + seconds))
    cases = [(f"{seconds // 3600}h-full", "2020-01-01T00:00:00", long_end, ""),
             (f"{seconds // 3600}h-60s", "2020-01-01T00:00:00", long_end, "60"),
             ("10s", "2020-01-01T06:00:00", "2020-01-01T06:00:10", "")]
    paths = {"local": "Bench/Spectrum", "hapi-relay": "hapi/Bench/Spectrum",
             "hapi-relay-identity": "hapi/Bench/Spectrum", "das2-relay": "das2/Bench/Spectrum"}
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("DASFLEX_")}
    environment.update(DASFLEX_REMOTE_RATE="1000", DASFLEX_REMOTE_CONCURRENCY="8",
                       DASFLEX_REMOTE_LOCK_DIR=str(workdir / "federation_locks"))
    server_a, port_a = _serve(_site_a(workdir), environment)
    relays: list[subprocess.Popen] = []
    try:
        site_b = _site_b(workdir, port_a)
        server_b, port_b = _serve(site_b, environment)
        relays.append(server_b)
        server_identity, port_identity = _serve(site_b, {**environment,
                                                         "DASFLEX_REMOTE_GZIP": "false"})
        relays.append(server_identity)
        ports = {"local": port_a, "hapi-relay": port_b, "hapi-relay-identity": port_identity,
                 "das2-relay": port_b}
        rows = []
        for label, begin, end, resolution in cases:
            times: dict[str, list[float]] = {name: [] for name in paths}
            sizes: dict[str, int] = {}
            _timed(ports["hapi-relay"], paths["hapi-relay"], begin, end, resolution)  # warm up
            for _ in range(REPEATS):
                for name, dataset in paths.items():
                    elapsed, size = _timed(ports[name], dataset, begin, end, resolution)
                    times[name].append(elapsed)
                    sizes[name] = size
            local = statistics.median(times["local"])
            for name in paths:
                median = statistics.median(times[name])
                rows.append({"name": f"federation-{label}-{name}", "seconds": round(median, 4),
                             "bytes": sizes[name],
                             "mb_per_s": round(sizes[name] / median / 1e6, 1),
                             "ratio_to_local": round(median / local, 3)})
        return rows
    finally:
        for relay in relays:
            _stop(relay)
        _stop(server_a)
