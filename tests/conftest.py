"""Shared test fixtures."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFORMANCE_DIR = PROJECT_DIR.parent / "shared" / "conformance" / "das2c"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The das2C conformance vectors in ../shared; skip (saying why) when absent."""
    if not CONFORMANCE_DIR.is_dir():
        pytest.skip(f"conformance vectors not found at {CONFORMANCE_DIR} (../shared is absent)")
    return CONFORMANCE_DIR


#: Seconds ``dasflex serve`` may take to print its URL.
SERVE_STARTUP_SECONDS = 60


@contextmanager
def dasflex_serve(*arguments: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``dasflex serve ARGUMENTS`` (gunicorn) on a free loopback port; yield its URL.

    The URL has no trailing slash.  The server's whole process group is
    stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    command = [sys.executable, "-m", "dasflex_core", "serve", "--host", "127.0.0.1",
               "--port", "0", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=dict(env) if env is not None else None,
                               start_new_session=True)
    try:
        yield _served_url(process)
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM a server's process group, SIGKILL it after 15 s; close its pipes."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _served_url(process: subprocess.Popen) -> str:
    """The URL ``dasflex serve`` prints once it listens (fails if it never does)."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + SERVE_STARTUP_SECONDS
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if line.startswith("dasflex serving on http://127.0.0.1:"):
                return line.split()[-1].rstrip("/")
            if not line and process.poll() is not None:
                break
    raise AssertionError("dasflex serve did not print 'dasflex serving on http://127.0.0.1:PORT/'")


@pytest.fixture(scope="session")
def dasflex_server() -> Callable[..., AbstractContextManager[str]]:
    """:func:`dasflex_serve`: ``with dasflex_server("--site", DIR) as url: ...``."""
    return dasflex_serve
