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

from dasflex_core.codecs.das2 import read_all
from dasflex_core.codecs.events import DataRun, EventStream, HeaderDefined
from dasflex_core.remote.policy import POLICY_VARIABLE
from dasflex_core.stages import reported_error
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

    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("DASFLEX_")}
    environment[POLICY_VARIABLE] = policy_json(tmp_path / "locks")
    return environment


def run_fetch(*arguments: str, env: dict[str, str],
              timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Run ``dasflex_fetch ARGUMENTS``; stdout is bytes."""
    return subprocess.run([str(BIN_DIR / "dasflex_fetch"), *arguments], capture_output=True,
                          env=env, timeout=timeout, check=False)


class _Packets(EventStream[None]):
    """Each packet id's (last) header and record runs, in stream order."""

    def __init__(self) -> None:
        self.headers: dict[int, Any] = {}
        self.runs: dict[int, list[np.ndarray]] = {}

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.headers[event.packet_id] = event.header
        self.runs.setdefault(event.packet_id, [])

    def on_data(self, run: DataRun) -> None:
        self.runs[run.packet_id].append(run.records)


def das2_packets(stream: bytes) -> dict[int, tuple[Any, np.ndarray]]:
    """Each packet id of a das2 stream: its header and all its records."""
    packets = _Packets()
    packets.handle(read_all(stream))
    return {packet_id: (header, np.concatenate(packets.runs[packet_id])
                        if packets.runs[packet_id] else np.empty(0))
            for packet_id, header in packets.headers.items()}


def das2_records(stream: bytes, packet_id: int = 1) -> tuple[Any, np.ndarray]:
    """The header and all records of one packet id of a das2 stream."""
    return das2_packets(stream)[packet_id]


def stage_error(done: subprocess.CompletedProcess[bytes]) -> Any:
    """The error a failed fetch reported (as the runner reads it)."""

    assert done.returncode == 1, done.stderr
    error = reported_error(done.stderr)
    assert error is not None, done.stderr
    assert b"Traceback" not in done.stderr
    return error
