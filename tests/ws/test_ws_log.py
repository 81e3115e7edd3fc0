"""The websocket daemon writes one request log record per stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.paths import EXAMPLE_SITE
from tests.support.servers import start_ws_daemon

pytestmark = pytest.mark.system  # runs the websocket daemon


def start_daemon(tmp_path: Path, log_file: Path) -> tuple[subprocess.Popen, str]:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'site_dir = "{EXAMPLE_SITE}"\n')
    return start_ws_daemon(settings, env={**os.environ, "DASFLEX_REQUEST_LOG": str(log_file)})


async def whole_stream(url: str) -> bytes:
    data = b""
    async with connect(url) as client:
        try:
            while True:
                data += await client.recv()
        except ConnectionClosed:
            return data


def test_websocket_stream_leaves_one_record(tmp_path):
    log_file = tmp_path / "access.log"
    process, url = start_daemon(tmp_path, log_file)
    try:
        query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:10"
        data = asyncio.run(whole_stream(f"{url}/Examples/Random/flexRT?{query}"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not log_file.exists():
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        process.stdout.close()
    (record,) = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert record["protocol"] == "websocket" and record["status"] == 200
    assert record["source"] == "Examples/Random" and record["query"] == query
    assert record["bytes"] == len(data) > 0
    assert record["stages"][0]["exit_status"] == 0
