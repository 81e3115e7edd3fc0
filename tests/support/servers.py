"""Servers the system tests start on 127.0.0.1: ``dasflex serve``, ``dasflex ws``, redis-server,
and the tests' own HTTP servers (:func:`serving`).

Each starter calls :func:`tests.support.system.expect_system`, so only tests
marked ``system`` may start one; each stops what it started (a program's
whole process group, a server's thread and socket).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from socketserver import BaseServer
from typing import TypeVar

from tests.support.system import expect_system, require_program

#: Seconds ``dasflex serve`` may take to print its URL.
SERVE_STARTUP_SECONDS = 60
#: Seconds ``dasflex ws`` may take to print its URL.
WS_STARTUP_SECONDS = 30

Server = TypeVar("Server", bound=BaseServer)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dasflex_serve(*arguments: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``dasflex serve ARGUMENTS`` (gunicorn) on a free loopback port; yield its URL.

    The URL has no trailing slash.  The server's whole process group is
    stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    expect_system("gunicorn (dasflex serve)")
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


def start_ws_daemon(settings_file: Path, *extra: str,
                    env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``dasflex ws`` on a free port; return the process and its ws:// URL.

    Its log goes to ``ws.log`` next to the settings file (see :func:`ws_daemon_log`).
    """
    expect_system("the websocket daemon (dasflex ws)")
    command = [sys.executable, "-m", "dasflex_core", "ws", "--config", str(settings_file),
               "--port", "0", "--log-level", "info", *extra]
    with ws_daemon_log(settings_file).open("a") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                   env=dict(env) if env is not None else None,
                                   start_new_session=True)
    assert process.stdout is not None
    deadline = time.monotonic() + WS_STARTUP_SECONDS
    line = ""
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        if line.startswith("dasflex ws listening on "):
            return process, line.split()[-1].rstrip("/")
    kill_ws_daemon(process)
    raise AssertionError(f"dasflex ws did not start: {line!r}")


def ws_daemon_log(settings_file: Path) -> Path:
    """The log file of a daemon started by :func:`start_ws_daemon`."""
    return settings_file.parent / "ws.log"


def kill_ws_daemon(process: subprocess.Popen) -> None:
    """SIGKILL a daemon's process group (if still running), reap it, close its stdout."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


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


@contextmanager
def serving(make_server: Callable[[], Server], what: str) -> Iterator[Server]:
    """Serve ``make_server()`` (a server bound to 127.0.0.1) from a thread for the block.

    ``what`` names it in the message of an unmarked test that asks for it.
    The server is shut down and its socket closed when the block ends.
    """
    expect_system(what)
    server = make_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
