"""Slow and aborted clients leave no reader process behind (Flask, CGI/WSGI, WebSocket)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

READER = r'''
import os, sys, time
pid_dir = sys.argv[1]
open(os.path.join(pid_dir, str(os.getpid())), "w").close()
out = sys.stdout.buffer
header = b'<stream version="2.2"><properties title="endless"/></stream>\n'
out.write(b"[00]%06d" % len(header) + header)
packet = (b'<packet><x type="time24" units="us2000"></x>'
          b'<y type="ascii10" name="v" units="V"></y></packet>\n')
out.write(b"[01]%06d" % len(packet) + packet)
while True:
    out.write(b":01:2020-01-01T00:00:00.000Z     1.000\n" * 200)
    out.flush()
    time.sleep(0.01)
'''
PATH = "/source/test/endless/flex?read.time.min=2020-01-01&read.time.max=2020-01-02"


@pytest.fixture(scope="module")
def endless_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("endless")
    pids = root / "pids"
    pids.mkdir()
    (root / "endless.py").write_text(READER)
    (root / "Test").mkdir()
    (root / "Test" / "Endless.dsdf").write_text(
        "description = 'Never ends'\n"
        f"reader = '{sys.executable} {root / 'endless.py'} {pids}'\n"
        "das2Stream = 1\nnot_reducible = 1\n")
    return root, pids


@pytest.fixture(scope="module")
def endless_settings(endless_site: tuple[Path, Path]) -> Any:
    from dasflex_core.settings import load_settings

    return load_settings(environ={}, site_dir=endless_site[0], first_byte_timeout=20.0,
                         total_timeout=60.0)


def alive(pids: Path) -> list[int]:
    """Reader processes that started and still exist (zombies count as alive)."""
    return [int(path.name) for path in pids.iterdir() if Path(f"/proc/{path.name}").exists()]


def wait_until_gone(pids: Path, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


def started(pids: Path) -> set[str]:
    return {path.name for path in pids.iterdir()}


@pytest.mark.parametrize("pause", (0.0, 1.0))
def test_flask_client_that_stops_reading(pause: float, endless_settings: Any,
                                         endless_site: tuple[Path, Path]) -> None:
    from dasflex_flask import create_app

    pids = endless_site[1]
    before = started(pids)
    with create_app(endless_settings).test_client() as client:
        reply = client.get(PATH, buffered=False)
        chunks: Iterator[Any] = iter(reply.response)
        assert reply.status_code == 200 and next(chunks)
        time.sleep(pause)  # a slow client
        assert next(chunks)
        reply.close()  # the client goes away mid-stream
    assert started(pids) - before, "the reader never started"
    assert wait_until_gone(pids) == []


def test_cgi_client_that_aborts(endless_settings: Any, endless_site: tuple[Path, Path]) -> None:
    from dasflex_core.protocols.wsgi import make_wsgi_app

    pids = endless_site[1]
    app = make_wsgi_app(endless_settings)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": PATH.partition("?")[0],
               "QUERY_STRING": PATH.partition("?")[2], "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http"}
    statuses: list[str] = []
    body: Any = app(environ, lambda status, headers, *_: statuses.append(status))
    iterator = iter(body)
    assert next(iterator) and statuses[0].startswith("200")
    assert alive(pids)
    body.close()
    assert wait_until_gone(pids) == []


def test_websocket_pipeline_closed_early(endless_settings: Any,
                                         endless_site: tuple[Path, Path]) -> None:
    import asyncio

    from dasflex_core.protocols import Server
    from dasflex_core.sources.loader import load_site
    from dasflex_ws.pipeline import AsyncPipeline
    from dasflex_ws.routing import build_request, prepare_stream

    pids = endless_site[1]
    server = Server(endless_settings, load_site(endless_settings.site_dir))
    path = "/dasws/test/endless/flexRT?read.time.min=2020-01-01&read.time.max=2020-01-02"
    plan = prepare_stream(server, build_request(path, {"Host": "h"})).plan

    async def slow_client_goes_away() -> None:
        pipeline = AsyncPipeline(plan.stages, cwd=plan.cwd)
        await pipeline.start()
        try:
            assert await pipeline.read()
            await asyncio.sleep(0.5)  # not reading: the pipe fills, the reader blocks
            assert await pipeline.read()
        finally:
            await pipeline.close()

    before = started(pids)
    asyncio.run(slow_client_goes_away())
    assert started(pids) - before, "the reader never started"
    assert wait_until_gone(pids, seconds=2.0) == []
