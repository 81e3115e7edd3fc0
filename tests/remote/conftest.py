"""Fixtures for remote sources: the failing HAPI test server, a fetch policy, running the fetch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.remote.hapi_test_server import HapiTestServer, running

BIN_DIR = Path(sys.executable).parent
#: The agent the test policy sends.
AGENT = "dasflex/test (+http://127.0.0.1; remote tests)"


@pytest.fixture
def hapi_server() -> Iterator[HapiTestServer]:
    """A HAPI test server on a free loopback port (mode ``ok``)."""
    yield from running()


def policy_json(lock_dir: Path, **overrides: Any) -> str:
    """A fetch policy with short timeouts, quick retries and its own lock directory."""
    policy = {"agent": AGENT, "lock_dir": str(lock_dir), "concurrency": 4, "rate": 200.0,
              "connect_timeout": 2.0, "first_byte_timeout": 2.0, "idle_timeout": 1.0,
              "retries": 2, "hosts": {}}
    policy.update(overrides)
    return json.dumps(policy)


@pytest.fixture
def policy_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fetch run under the test policy."""
    from dasflex_core.remote.policy import POLICY_VARIABLE

    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("DASFLEX_")}
    environment[POLICY_VARIABLE] = policy_json(tmp_path / "locks")
    return environment


def run_fetch(*arguments: str, env: dict[str, str],
              timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``dasflex_fetch ARGUMENTS``; stdout is bytes."""
    return subprocess.run([str(BIN_DIR / "dasflex_fetch"), *arguments], capture_output=True,
                          env=env, timeout=timeout, check=False)


def das2_packets(stream: bytes) -> dict[int, tuple[Any, np.ndarray]]:
    """Each packet id of a das2 stream: its header and all its records."""
    from dasflex_core.codecs.das2 import read_all
    from dasflex_core.codecs.events import DataRun, HeaderDefined

    events = read_all(stream)
    headers = {event.packet_id: event.header for event in events
               if isinstance(event, HeaderDefined)}
    found = {}
    for packet_id, header in headers.items():
        runs = [event.records for event in events
                if isinstance(event, DataRun) and event.packet_id == packet_id]
        found[packet_id] = (header, np.concatenate(runs) if runs else np.empty(0))
    return found


def das2_records(stream: bytes, packet_id: int = 1) -> tuple[Any, np.ndarray]:
    """The header and all records of one packet id of a das2 stream."""
    return das2_packets(stream)[packet_id]


def stage_error(done: subprocess.CompletedProcess[bytes]) -> Any:
    """The error a failed fetch reported (as the runner reads it)."""
    from dasflex_core.errors import reported_error

    assert done.returncode == 1, done.stderr
    error = reported_error(done.stderr)
    assert error is not None, done.stderr
    assert b"Traceback" not in done.stderr
    return error
