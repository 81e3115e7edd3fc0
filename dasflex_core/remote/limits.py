"""Per-remote limits that hold across processes: fetch slots and a request rate.

Every fetch is its own process, and a server runs many worker processes, so
the limits live in files of a shared lock directory, guarded by ``flock``:

* :func:`fetch_slot` takes one of ``concurrency`` slot files of a remote
  (``<key>.slot<N>``) for the whole fetch; the kernel frees it when the
  process ends, however it ends;
* :func:`wait_for_turn` spaces requests to a remote at least ``1/rate``
  seconds apart: under a lock, each request books the next free moment in
  ``<key>.rate`` and then sleeps until it.

``key`` names the remote (``host_port``, see :func:`remote_key`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from dasflex_core.errors import RemoteBusyError, RemoteError

#: Seconds between two looks for a free slot.
SLOT_POLL = 0.05

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def remote_key(host: str, port: int) -> str:
    """A file-name-safe name of a remote server.

    >>> remote_key("Data.Example.org", 8080)
    'data.example.org_8080'
    """
    return f"{_UNSAFE.sub('-', host.lower())}_{port}"


def _lock_dir(path: str) -> Path:
    directory = Path(path)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        raise RemoteError("The remote-fetch lock directory cannot be created "
                          "(see the remote_lock_dir setting)") from None
    return directory


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        raise RemoteError("A remote-fetch lock file cannot be opened "
                          "(see the remote_lock_dir setting)") from None


@contextlib.contextmanager
def fetch_slot(lock_dir: str, key: str, concurrency: int, wait: float,
               remote: str) -> Iterator[int]:
    """Hold one of ``concurrency`` fetch slots of ``key`` (yields its number).

    Raises :class:`RemoteBusyError` (naming ``remote``) when no slot frees up
    within ``wait`` seconds.
    """
    directory = _lock_dir(lock_dir)
    deadline = time.monotonic() + wait
    while True:
        for number in range(max(1, concurrency)):
            descriptor = _open(directory / f"{key}.slot{number}")
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            try:
                yield number
            finally:
                os.close(descriptor)  # closing releases the lock
            return
        if time.monotonic() >= deadline:
            raise RemoteBusyError(f"The remote server {remote} is busy: all {concurrency} "
                                  f"fetch slots stayed taken for {wait:g} s; try again later")
        time.sleep(SLOT_POLL)


def book_turn(lock_dir: str, key: str, rate: float) -> float:
    """Book the next moment (Unix time) a request to ``key`` may start, ``1/rate`` after the last."""
    descriptor = _open(_lock_dir(lock_dir) / f"{key}.rate")
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        text = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip()
        try:
            booked = float(text)
        except ValueError:
            booked = 0.0
        now = time.time()
        turn = max(now, booked)
        record = f"{turn + 1.0 / rate:.6f}".encode()
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, record, 0)
        return turn
    finally:
        os.close(descriptor)


def wait_for_turn(lock_dir: str, key: str, rate: float) -> None:
    """Sleep until this process's request to ``key`` keeps the rate limit."""
    if not rate > 0:
        return
    delay = book_turn(lock_dir, key, rate) - time.time()
    if delay > 0:
        time.sleep(delay)
