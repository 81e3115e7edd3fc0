"""The websocket daemon writes one request log record per stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

PROJECT_DIR = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


def start_daemon(tmp_path: Path, log_file: Path) -> tuple[subprocess.Popen, str]:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'site_dir = "{PROJECT_DIR / "examples" / "site"}"\n')
    environment = {**os.environ, "DASFLEX_REQUEST_LOG": str(log_file)}
    process = subprocess.Popen(
        [sys.executable, "-m", "dasflex_core", "ws", "--config", str(settings), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
        start_new_session=True)
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        if line.startswith("dasflex ws listening on "):
            return process, line.split()[-1].rstrip("/")
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("dasflex ws did not start")


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
