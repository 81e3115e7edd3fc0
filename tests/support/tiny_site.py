"""The job queue tests' site: one source ``Tests/Tiny`` cached in hourly blocks of 60 s bins.

Its reader (:mod:`tests.support.readers`' ``tiny_reader.py``) writes one record
per 10 s, logs each run to ``builds.log`` beside the site (see :func:`builds`),
sleeps the seconds in the site's ``delay`` file and fails for the hour in its
``fail`` file.  Plus the core calls the queue tests make on it.
"""

from __future__ import annotations

import io
from pathlib import Path

from dasflex_core.cache import BlockJob
from tests.support import readers

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
#: Three hours at 60 s, as a das2 client asks.
QUERY = ("server=dataset&dataset=Tests/Tiny&start_time=2020-01-01T00:00"
         "&end_time=2020-01-01T03:00&resolution=60")


def make_site(root: Path) -> Path:
    """A site with the one source ``Tests/Tiny`` (hourly blocks of 60 s bins)."""
    readers.install(root / "readers", "tiny_reader.py")
    (root / "Tests").mkdir()
    (root / "Tests" / "Tiny.dsdf").write_text(DSDF)
    return root


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


def make_server(site_dir: Path, cache_dir: Path | None, **settings: object):
    """The core server context for the site (settings as keyword arguments)."""
    from dasflex_core.protocols import Server
    from dasflex_core.settings import load_settings
    from dasflex_core.sources.loader import load_site

    loaded = load_settings(environ={}, site_dir=site_dir, cache_dir=cache_dir, **settings)
    return Server(loaded, load_site(site_dir))


def get(server, query: str = QUERY) -> tuple[int, bytes]:
    """(status, body) of a GET ``/?query`` dispatched by the core."""
    from dasflex_core.http import Request
    from dasflex_core.protocols.routes import dispatch

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": query,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO()}
    response = dispatch(server, Request.from_environ(environ))
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    if response.close is not None:
        response.close()
    return response.status, body


def current_plan(server):
    """The plan of three hours at 60 s (the cached level)."""
    from dasflex_core.http import Request
    from dasflex_core.protocols import plan_for

    query = {"read.time.min": "2020-01-01T00:00", "read.time.max": "2020-01-01T03:00",
             "bin.time.max": "60"}
    return plan_for(server.source(SOURCE_ID), query, "flex", server, Request())


def hour_jobs(*hours: int) -> list[BlockJob]:
    """The block jobs of the given hours of 2020-01-01."""
    return [BlockJob(SOURCE_ID, "00", "_noparam", f"2020-01-01T{hour:02d}:00:00")
            for hour in hours]
