"""``dasflex_fetch`` relays in bounded memory: its peak resident size does not grow with
the remote's answer (HAPI binary converted to das2, and a das2 stream passed through).

A stdlib server streams a generated answer (one block repeated) of 12 MB, then of
eight times more; the fetch's ``VmHWM`` is read just before it exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tests.support.big_streams import GROWTH, SLACK_BYTES, das2_blocks
from tests.support.servers import serving

pytestmark = pytest.mark.system  # a stdlib server streams to dasflex_fetch processes

SMALL_MB = 12.0
_ITEMS = 64
_HEADER = {"HAPI": "3.3", "status": {"code": 1200, "message": "OK"}, "format": "binary",
           "parameters": [{"name": "Time", "type": "isotime", "units": "UTC", "fill": None,
                           "length": 24},
                          {"name": "spec", "type": "double", "units": "V", "fill": None,
                           "size": [_ITEMS]}]}

_MEASURE = """\
import sys
from dasflex_core.tools.dasflex_fetch import main
code = main(sys.argv[1:])
sys.stdout.flush()
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
sys.stderr.write("PEAK %s\\n" % peak)
sys.exit(code)
"""


def hapi_blocks(megabytes: float) -> Iterator[bytes]:
    """``#`` header lines, then HAPI binary records (a 1 MB block repeated)."""
    yield "".join(f"#{line}\n" for line in json.dumps(_HEADER, indent=1).splitlines()).encode()
    records = np.zeros(2048, dtype=[("t", "S24"), ("y", "<f8", (_ITEMS,))])
    records["t"] = b"2020-01-01T00:00:00.000Z"
    records["y"] = np.random.default_rng(1).standard_normal((2048, _ITEMS))
    block = records.tobytes()
    for _ in range(max(1, round(megabytes * 1e6 / len(block)))):
        yield block


class Generator(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.megabytes = SMALL_MB


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Generator

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        hapi = self.path.startswith("/hapi/")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        blocks = hapi_blocks(self.server.megabytes) if hapi else das2_blocks(self.server.megabytes)
        try:
            for block in blocks:
                self.wfile.write(b"%x\r\n" % len(block) + block + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def generator() -> Iterator[Generator]:
    with serving(Generator, "a generating HTTP server") as server:
        yield server


def peak_bytes(arguments: list[str], env: dict[str, str]) -> int:
    done = subprocess.run([sys.executable, "-c", _MEASURE, *arguments], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    peak = [line for line in done.stderr.decode().splitlines() if line.startswith("PEAK ")]
    return int(peak[0].split()[1]) * 1024


@pytest.mark.parametrize("kind", ["hapi", "das2"])
def test_the_fetch_runs_in_bounded_memory(generator, policy_env, kind) -> None:
    port = generator.server_address[1]
    if kind == "hapi":
        arguments = ["hapi", f"http://127.0.0.1:{port}/hapi", "x", "2020-01-01", "2020-01-02"]
    else:
        arguments = ["das2", f"http://127.0.0.1:{port}/das2", "x", "2020-01-01", "2020-01-02"]
    generator.megabytes = SMALL_MB
    small = peak_bytes(arguments, policy_env)
    generator.megabytes = SMALL_MB * GROWTH
    big = peak_bytes(arguments, policy_env)
    assert big - small < SLACK_BYTES, f"peak grew from {small >> 20} MB to {big >> 20} MB"
