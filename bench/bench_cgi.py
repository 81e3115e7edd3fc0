"""CGI cold start: what one ``dasflex-cgi`` request pays before its first byte.

Every CGI request is a new interpreter, so the figures are split by phase,
each the median of :data:`REPEATS` fresh processes on the bundled example
site (``Examples/Random``, ten minutes of data):

* ``interpreter``: ``python -c pass``;
* ``imports``: importing :mod:`dasflex_cgi`, :mod:`wsgiref.handlers` and the
  plain WSGI callable (no Flask);
* ``settings + site load``: :func:`load_settings` and the CGI's site load
  (:func:`dasflex_cgi.validated.load_site`: JSON definitions already checked
  against the schema are not checked again, so jsonschema is not imported);
* ``plan``: planning the request (networkx is imported here);
* ``first header byte`` / ``first body byte`` / ``complete``: the real
  ``python -m dasflex_cgi`` program, from spawn to its first stdout byte
  (the ``Status:`` line), to the first byte of the stream, and to exit.

Usage: ``python -m bench cgi`` or ``python bench/bench_cgi.py``.
"""

from __future__ import annotations

import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 7
QUERY = "read.time.min=2017-01-01T00:00&read.time.max=2017-01-01T00:10"
SOURCE_PATH = "/source/examples/random/flex"

PHASES = '''
import time
started = time.perf_counter()
import wsgiref.handlers, dasflex_cgi, dasflex_core.protocols.wsgi
imported = time.perf_counter()
from dasflex_core.settings import load_settings
from dasflex_cgi.validated import load_site
settings = load_settings()
site = load_site(settings.site_dir)
loaded = time.perf_counter()
from dasflex_core.planner import plan
plan(site, {"read.time.min": "2017-01-01T00:00", "read.time.max": "2017-01-01T00:10"},
     "flex", "Examples/Random")
planned = time.perf_counter()
print(imported - started, loaded - imported, planned - loaded)
'''


def cgi_environment(temporary_dir: str | None = None) -> dict[str, str]:
    """The CGI variables Apache would set for the benchmark request.

    ``temporary_dir`` (TMPDIR) places the store of validated definitions;
    a fresh empty one makes the request check every definition again.
    """
    keep = {key: value for key, value in os.environ.items()
            if key in ("PATH", "DASFLEX_CONFIG", "TMPDIR") or key.startswith("DASFLEX_")}
    if temporary_dir is not None:
        keep["TMPDIR"] = temporary_dir
    return {
        **keep,
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "/das/server",
        "PATH_INFO": SOURCE_PATH,
        "QUERY_STRING": QUERY,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }


def interpreter_seconds() -> float:
    """Wall time of a bare interpreter start and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def phase_seconds(temporary_dir: str | None = None) -> tuple[float, float, float]:
    """Imports, settings + site load, and plan, measured inside a fresh process."""
    done = subprocess.run([sys.executable, "-c", PHASES], capture_output=True, text=True,
                          env=cgi_environment(temporary_dir), check=True)
    imports, site, plan = (float(word) for word in done.stdout.split())
    return imports, site, plan


def cgi_request_seconds(temporary_dir: str | None = None) -> tuple[float, float, float]:
    """Spawn to first header byte, to first body byte, and to exit, of one CGI run."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "dasflex_cgi"], stdout=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=cgi_environment(temporary_dir))
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    received = bytearray()
    first_header = first_body = None
    while True:
        selector.select()
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        if first_header is None:
            first_header = time.perf_counter()
        received += chunk
        if first_body is None and b"\r\n\r\n" in received:
            head_end = received.index(b"\r\n\r\n") + 4
            if len(received) > head_end:
                first_body = time.perf_counter()
    process.wait()
    process.stdout.close()
    finished = time.perf_counter()
    if not received.startswith(b"Status: 200") or first_header is None or first_body is None:
        raise RuntimeError(f"the CGI request failed: {bytes(received[:200])!r}")
    return first_header - started, first_body - started, finished - started


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def run(workdir: Path) -> list[dict]:
    """Measure each phase of a CGI cold start; see the module docstring."""
    del workdir
    interpreter = [interpreter_seconds() for _ in range(REPEATS)]
    phases, unchecked_phases = [], []
    for _ in range(REPEATS):
        phases.append(phase_seconds())
        with tempfile.TemporaryDirectory() as empty:
            unchecked_phases.append(phase_seconds(empty))
    requests, unchecked = [], []
    for _ in range(REPEATS):  # interleaved: with the store of validated definitions, and without
        requests.append(cgi_request_seconds())
        with tempfile.TemporaryDirectory() as empty:
            unchecked.append(cgi_request_seconds(empty))
    rows = [("cgi cold start: interpreter (python -c pass)", interpreter)]
    for index, label in enumerate(("imports", "settings + site load", "plan")):
        rows.append((f"cgi cold start: {label}", [p[index] for p in phases]))
    for index, label in enumerate(("first header byte", "first body byte", "complete")):
        rows.append((f"cgi cold start: {label} (spawn to it)", [r[index] for r in requests]))
    rows.append(("cgi cold start: settings + site load, every definition validated (no store)",
                 [p[1] for p in unchecked_phases]))
    rows.append(("cgi cold start: first header byte, every definition validated (no store)",
                 [r[0] for r in unchecked]))
    return [{"name": name, "median_ms": _median_ms(values), "min_ms": _min_ms(values),
             "mb_per_s": None, "ratio_to_cat": None} for name, values in rows]


def _min_ms(values: list[float]) -> float:
    return round(min(values) * 1000, 1)


if __name__ == "__main__":
    for result in run(Path(".")):
        print(json.dumps(result))
