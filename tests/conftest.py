"""Shared test fixtures."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
#: The das2C conformance vectors, kept in the repository (see its README for provenance).
CONFORMANCE_DIR = PROJECT_DIR / "tests" / "conformance" / "das2c"
#: The script that installs the Debian packages the tests use (the one list of them).
SYSTEM_PACKAGES_SCRIPT = "tests/system-packages.sh"


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The das2C conformance vectors (``tests/conformance/das2c``)."""
    assert CONFORMANCE_DIR.is_dir(), f"{CONFORMANCE_DIR} is missing from this checkout"
    return CONFORMANCE_DIR


def require_program(program: str, package: str) -> str:
    """The path of ``program``; fail the test in one line naming its Debian package if absent."""
    found = shutil.which(program) or next(
        (str(path) for path in (Path("/usr/sbin") / program, Path("/usr/bin") / program)
         if path.is_file()), None)
    if found is None:
        pytest.fail(f"{program} is not installed: install the Debian package {package} "
                    f"(sh {SYSTEM_PACKAGES_SCRIPT} installs every package the tests use)",
                    pytrace=False)
    return found


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
    """SIGTERM a server's process group, SIGKILL it after 15 s; close its pipes.

    A group that is already gone (the server never started, or died) is no error.
    """
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads the das2C vectors ``conformance`` (``-m conformance``)."""
    for item in items:
        if "conformance_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.conformance)
