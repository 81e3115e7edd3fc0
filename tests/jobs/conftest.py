"""Fixtures of the job queue tests: a real redis-server, a tiny cached source, a WSGI caller."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program

PROJECT_DIR = Path(__file__).resolve().parents[2]

#: A reader writing one das2 record per 10 s over [begin, end).  It appends
#: "start|end BEGIN UNIX-TIME PID" lines to builds.log beside the site, sleeps
#: the seconds written in the site's "delay" file, and fails (exit 3) for the
#: hour named in its "fail" file.
READER = r'''
import os, struct, sys, time
from datetime import datetime

SITE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCH = datetime(2000, 1, 1)


def us2000(text):
    moment = datetime.fromisoformat(text.strip().rstrip("Z").replace(" ", "T"))
    return (moment - EPOCH).total_seconds() * 1e6


def setting(name, default=""):
    try:
        with open(os.path.join(SITE, name)) as handle:
            return handle.read().strip()
    except OSError:
        return default


def note(word, begin):
    line = f"{word} {begin} {time.time():.6f} {os.getpid()}\n".encode()
    descriptor = os.open(os.path.join(SITE, "builds.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(descriptor, line)
    os.close(descriptor)


def packet(tag, xml):
    data = xml.encode()
    return tag + b"%06d" % len(data) + data


begin, end = sys.argv[1], sys.argv[2]
note("start", begin)
if setting("fail") and begin.startswith(setting("fail")):
    sys.stderr.write("tiny reader: cannot read /secret/path/data.dat\n")
    sys.exit(3)
time.sleep(float(setting("delay", "0") or 0))
out = sys.stdout.buffer
out.write(packet(b"[00]", '<stream version="2.2"><properties Datum:xTagWidth="10 s"/></stream>'))
out.write(packet(b"[01]", '<packet><x type="little_endian_real8" units="us2000"/>'
                          '<y type="little_endian_real8" name="v" units=""/></packet>'))
first, last = us2000(begin), us2000(end)
step = 10e6
count = max(0, int((last - first + step - 1) // step))
records = b"".join(b":01:" + struct.pack("<dd", first + i * step,
                                         ((first + i * step) / step) % 97.0)
                   for i in range(count))
out.write(records)
out.flush()
note("end", begin)
'''

DSDF = """description = 'Tiny test source for the job queues'
reader = '$(PYTHON) ../readers/tiny_reader.py'
das2Stream = 1
reducer = 'das2_bin_avgsec'
validRange = '2020-01-01 to 2020-01-03'
coord_00 = 'time | Time | UTC'
data_00 = 'v | Value | '
exampleRange_00 = '2020-01-01T00:00 to 2020-01-01T01:00 | One hour'
cacheLevel_00 = '60 s | hourly'
"""

SOURCE_ID = "Tests/Tiny"


def make_site(root: Path) -> Path:
    """A site with the one source ``Tests/Tiny`` (hourly blocks of 60 s bins)."""
    (root / "readers").mkdir(parents=True)
    (root / "readers" / "tiny_reader.py").write_text(READER)
    (root / "Tests").mkdir()
    (root / "Tests" / "Tiny.dsdf").write_text(DSDF)
    return root


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


def builds(site_dir: Path) -> list[tuple[str, str, float, int]]:
    """(start|end, block begin, time, pid) lines the reader logged."""
    path = site_dir / "builds.log"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        word, begin, stamp, pid = line.split()
        rows.append((word, begin, float(stamp), int(pid)))
    return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = require_program("redis-server", "redis-server")
        self.process = subprocess.Popen(
            [executable, "--save", "", "--appendonly", "no", "--port", str(self.port),
             "--bind", "127.0.0.1", "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def dasflex_env(**variables: str) -> dict[str, str]:
    """The environment for a ``dasflex`` subprocess: no inherited DASFLEX_* settings."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("DASFLEX_")}
    environment.update(variables)
    return environment


def dasflex(*argv: str, timeout: float = 60, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``dasflex ARGV`` to completion."""
    return subprocess.run([sys.executable, "-m", "dasflex_core", *argv], capture_output=True,
                          text=True, timeout=timeout, env=dasflex_env(**variables),
                          cwd=PROJECT_DIR)


def start_dasflex(*argv: str, **variables: str) -> subprocess.Popen[str]:
    """Start ``dasflex ARGV`` in the background (stderr captured)."""
    return subprocess.Popen([sys.executable, "-m", "dasflex_core", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dasflex_env(**variables), cwd=PROJECT_DIR)


def call(app, path: str, query: str = "") -> tuple[int, bytes]:
    """GET ``path?query`` from a WSGI app: (status, body)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}
    replies: list[str] = []
    body = app(environ, lambda line, headers, *rest: replies.append(line))
    try:
        data = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return int(replies[0].split()[0]), data
