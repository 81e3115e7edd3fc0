"""The websocket daemon (``dasflex ws``) with a real websockets client.

One daemon (a subprocess on a free port) serves the deployment test site
for most tests; the shutdown tests start their own.  Every test here runs
``dasflex ws`` (or openssl) as a process: the module is ``system``.  The
sans-I/O routing is tested in test_routing.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dasflex_ws.routing import SUBPROTOCOL
from tests.support.das2_streams import das2_records
from tests.support.deploy_site import write_deploy_site
from tests.support.http import basic_header
from tests.support.paths import PROJECT_DIR
from tests.support.processes import processes_matching
from tests.support.servers import kill_ws_daemon, start_ws_daemon, ws_daemon_log
from tests.support.system import require_program

#: Bytes per record of the realtime reader: an 8-byte time and a 4-byte value.
REALTIME_RECORD = 12
REALTIME_DTYPE = np.dtype([("time", "<f8"), ("value", "<f4")])
UNIX_2000 = 946_684_800

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def daemon(settings_file: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    process, url = start_ws_daemon(settings_file)
    try:
        yield process, url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            status = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            kill_ws_daemon(process)
        assert status == 0, ws_daemon_log(settings_file).read_text()[-3000:]


@pytest.fixture(scope="module")
def ws_url(daemon: tuple[subprocess.Popen, str]) -> str:
    return daemon[1]


def live_query(end: str = "2099-12-31T00:00:00", history_seconds: float = 2.0) -> tuple[str, str]:
    begin = (datetime.now(UTC) - timedelta(seconds=history_seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return begin, f"read.time.min={begin}&read.time.max={end}"


def unique_end() -> str:
    """An end time in the future that no other test uses (to find its reader)."""
    stamp = time.time_ns() // 1000
    return f"2099-{stamp % 12 + 1:02d}-{stamp % 28 + 1:02d}T{stamp % 24:02d}:{stamp // 24 % 60:02d}:00"


def run(coroutine):
    return asyncio.run(coroutine)


async def receive_for(url: str, seconds: float, **options) -> tuple[list[tuple[float, bytes]], object]:
    """Messages (arrival time, bytes) received within ``seconds``, and the close frame."""
    messages = []
    async with connect(url, subprotocols=[SUBPROTOCOL], **options) as client:
        deadline = time.time() + seconds
        try:
            while (left := deadline - time.time()) > 0:
                data = await asyncio.wait_for(client.recv(), left)
                messages.append((time.time(), data))
        except TimeoutError:
            pass
        except ConnectionClosed as closed:
            return messages, closed.rcvd
    return messages, None


async def refusal(url: str, **options) -> tuple[int, dict[str, str], bytes]:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, **options):
            pass
    response = refused.value.response
    return response.status_code, dict(response.headers.raw_items()), bytes(response.body)


def das3_message(body: bytes) -> str:
    found = re.search(rb"<exception type=\"([^\"]+)\">([^<]*)</exception>", body)
    assert found, body
    return found.group(2).decode()


# -- the daemon ------------------------------------------------------------------

def test_history_then_live_data(ws_url: str) -> None:
    begin, query = live_query(history_seconds=3.0)
    connected = time.time()
    messages, closed = run(receive_for(f"{ws_url}/test/realtime/flexRT?{query}", 2.5))
    assert closed is None and messages
    stream = b"".join(data for _, data in messages)
    assert stream.startswith(b"[00]")
    times = np.frombuffer(b"".join(das2_records(stream, REALTIME_RECORD)), REALTIME_DTYPE)["time"]
    seconds = times / 1e6 + UNIX_2000
    assert np.allclose(np.diff(times), 1e5)
    history = seconds[seconds < connected]
    live = seconds[seconds > connected + 0.5]
    assert len(history) >= 25 and abs(history[0] - datetime.fromisoformat(begin + "+00:00")
                                      .timestamp()) < 0.11
    assert len(live) >= 5, "no live records arrived"
    arrivals = [arrived for arrived, data in messages if data.startswith(b":01:")]
    assert arrivals[-1] - arrivals[0] > 1.0, "records were not sent as they were written"


def test_finite_stream_is_the_reader_output_then_a_normal_close(ws_url: str) -> None:
    query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:10"
    messages, closed = run(receive_for(f"{ws_url}/test/random/flexRT?{query}", 30))
    expected = subprocess.run([sys.executable, "random_reader.py", "2017-01-01T00:00:00",
                               "2017-01-01T00:10:00"], capture_output=True, check=True,
                              cwd=PROJECT_DIR / "examples" / "readers").stdout
    assert b"".join(data for _, data in messages) == expected
    assert closed is not None and closed.code == 1000


async def whole_stream(url: str) -> tuple[bytes, object]:
    data = b""
    async with connect(url, subprotocols=[SUBPROTOCOL]) as client:
        try:
            while True:
                data += await client.recv()
        except ConnectionClosed as closed:
            return data, closed.rcvd


def test_formats_and_reduction_use_the_same_solver(ws_url: str) -> None:
    query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:00:05"
    csv, closed = run(whole_stream(f"{ws_url}/test/random/flexRT?{query}&format.type=csv"))
    assert closed.code == 1000
    assert csv.count(b'"values";2017-01-01T00:00:0') == 5
    das3, _closed = run(whole_stream(
        f"{ws_url}/test/random/flexRT?{query}&format.type=das&format.version=3"))
    assert das3.startswith(b"|Sx||") and b"|Pd|" in das3
    spectra = "read.time.min=1979-03-01T12:00&read.time.max=1979-03-01T12:10"
    full, _closed = run(whole_stream(f"{ws_url}/test/spectra/flexRT?{spectra}"))
    reduced, _closed = run(whole_stream(f"{ws_url}/test/spectra/flexRT?{spectra}&bin.time.max=60"))
    spectrum = 8 + 100 * 4
    assert len(das2_records(full, spectrum)) == 600
    assert len(das2_records(reduced, spectrum)) == 10


def test_predecessor_urls_without_subprotocol_or_flexrt_suffix(ws_url: str) -> None:
    async def check() -> None:
        query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"
        async with connect(f"{ws_url}/test/random?{query}") as client:
            assert client.subprotocol is None
            assert (await client.recv()).startswith(b"[00]")
        async with connect(f"{ws_url}/test/random/flexRT?{query}",
                           subprotocols=["request"]) as client:
            assert client.subprotocol == "request"

    run(check())


@pytest.mark.parametrize("abrupt", [False, True])
def test_disconnect_kills_the_reader_within_a_second(ws_url: str, abrupt: bool) -> None:
    end = unique_end()
    _begin, query = live_query(end)

    async def connect_and_leave() -> float:
        client = await connect(f"{ws_url}/test/realtime/flexRT?{query}", subprotocols=[SUBPROTOCOL])
        await client.recv()
        assert len(processes_matching("realtime_reader.py", end)) == 1
        left = time.monotonic()
        if abrupt:
            client.transport.abort()
        else:
            await client.close()
        return left

    left = run(connect_and_leave())
    while processes_matching("realtime_reader.py", end) and time.monotonic() - left < 3:
        time.sleep(0.02)
    gone_after = time.monotonic() - left  # the behaviour under test: gone within a second
    assert not processes_matching("realtime_reader.py", end)
    assert gone_after < 1.0, f"the reader lived {gone_after:.2f} s after the client left"


def test_twenty_concurrent_clients(ws_url: str) -> None:
    end = unique_end()
    _begin, query = live_query(end, history_seconds=1.0)

    async def all_clients() -> list[list[tuple[float, bytes]]]:
        results = await asyncio.gather(*(
            receive_for(f"{ws_url}/test/realtime/flexRT?{query}", 5.0) for _ in range(20)))
        return [messages for messages, _closed in results]

    everyone = run(all_clients())
    for messages in everyone:
        stream = b"".join(data for _, data in messages)
        times = np.frombuffer(b"".join(das2_records(stream, REALTIME_RECORD)), REALTIME_DTYPE)["time"]
        assert len(times) >= 10 and np.allclose(np.diff(times), 1e5)
    deadline = time.monotonic() + 5
    while processes_matching("realtime_reader.py", end) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_matching("realtime_reader.py", end)


def test_credentials_are_checked_on_the_upgrade(ws_url: str) -> None:
    url = f"{ws_url}/test/locked/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"
    status, headers, body = run(refusal(url))
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="Deploy Realm"'
    assert headers["Content-Type"] == "text/vnd.das.stream"
    assert "needs a user name and password" in das3_message(body)
    status, _headers, _body = run(refusal(url, additional_headers={
        "Authorization": basic_header("ann", "wrong")}))
    assert status == 401
    status, _headers, body = run(refusal(url, additional_headers={
        "Authorization": basic_header("bob", "bob-secret")}))
    assert status == 403 and "may not read" in das3_message(body)
    messages, closed = run(receive_for(url, 30, additional_headers={
        "Authorization": basic_header("ann", "ann-secret")}))
    stream = b"".join(data for _, data in messages)
    assert len(das2_records(stream, 12)) == 60 and closed.code == 1000


@pytest.mark.parametrize("path, status, message", [
    ("/test/nothing/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-02", 404,
     "no data source 'test/nothing'"),
    ("/flexRT", 404, "no data source named"),
    ("/test/random/flexRT?read.time.min=2017-01-01", 400, "read.time.max"),
    ("/test/random/flexRT?read.time.min=yesterday-ish&read.time.max=2017-01-02", 400, "read.time.min"),
    ("/test/random/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-02&x=%ff", 400, "UTF-8"),
    ("/test/random/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-02&rm=-rf", 400,
     "Unknown query parameter 'rm'"),
    ("/te%ffst/random/flexRT", 400, "not valid UTF-8"),
])
def test_malformed_and_unknown_requests_are_refused_clearly(ws_url: str, path: str, status: int,
                                                            message: str) -> None:
    got, headers, body = run(refusal(ws_url + path, subprotocols=[SUBPROTOCOL]))
    assert got == status
    assert headers["Content-Type"] == "text/vnd.das.stream"
    assert body.startswith(b"|Sx||") and message in das3_message(body)


def test_unknown_subprotocol_is_refused(ws_url: str) -> None:
    url = f"{ws_url}/test/random/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-02"
    status, _headers, body = run(refusal(url, subprotocols=["chat"]))
    assert status == 400 and "unsupported websocket subprotocol" in das3_message(body)


def test_failing_reader_sends_an_exception_and_closes_1011(ws_url: str) -> None:
    url = f"{ws_url}/test/fails/flexRT?read.time.min=2017-01-01&read.time.max=2017-01-02"
    messages, closed = run(receive_for(url, 30))
    stream = b"".join(data for _, data in messages)
    assert stream.startswith(b"[00]") and b'<exception type="ServerError"' in stream
    assert b"secret" not in stream
    assert closed.code == 1011 and closed.reason.startswith("The data reader failed")


def test_reader_dying_mid_stream_ends_it_with_an_exception_packet(ws_url: str) -> None:
    end = unique_end()
    _begin, query = live_query(end)

    async def stream_then_kill() -> tuple[bytes, object]:
        received = b""
        async with connect(f"{ws_url}/test/realtime/flexRT?{query}") as client:
            received += await client.recv()
            for pid in processes_matching("realtime_reader.py", end):
                os.kill(pid, signal.SIGKILL)
            try:
                while True:
                    received += await client.recv()
            except ConnectionClosed as closed:
                return received, closed.rcvd

    stream, closed = run(stream_then_kill())
    assert stream.startswith(b"[00]")
    tail = stream[stream.rindex(b"[xx]"):]
    assert b'type="ServerError"' in tail and b"stopped by signal 9" in tail
    assert closed.code == 1011 and "stopped by signal 9" in closed.reason


def test_slow_client_does_not_grow_server_memory(daemon: tuple[subprocess.Popen, str]) -> None:
    process, url = daemon
    end = unique_end()

    async def stall() -> tuple[int, int, int]:
        async with connect(f"{url}/test/flood/flexRT?read.time.min=2017-01-01&read.time.max={end}",
                           max_queue=1, close_timeout=1, subprotocols=[SUBPROTOCOL]) as client:
            await client.recv()
            before = resident_kib(process.pid)
            await asyncio.sleep(1.0)
            middle = resident_kib(process.pid)
            await asyncio.sleep(2.0)
            after = resident_kib(process.pid)
            received = 0
            while received < 5_000_000:  # the stream still flows once read again
                received += len(await client.recv())
            return before, middle, after

    before, middle, after = run(stall())
    assert after - before < 30_000, f"daemon grew from {before} to {after} KiB"
    assert after - middle < 5_000
    deadline = time.monotonic() + 3
    while processes_matching("flood.py", end) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_matching("flood.py", end)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_silent_reader_times_out(tmp_path: Path) -> None:
    settings = write_deploy_site(tmp_path, first_byte_timeout=1.0)
    process, url = start_ws_daemon(settings)
    try:
        end = unique_end()
        messages, closed = run(receive_for(
            f"{url}/test/quiet/flexRT?read.time.min=2017-01-01&read.time.max={end}", 30))
        assert b"wrote nothing within 1 s" in b"".join(data for _, data in messages)
        assert closed.code == 1011
        assert not processes_matching("quiet.py", end)
    finally:
        kill_ws_daemon(process)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_the_daemon_down_cleanly(settings_file: Path, tmp_path: Path,
                                              stop_signal: int) -> None:
    pid_file = tmp_path / "ws.pid"
    process, url = start_ws_daemon(settings_file, "--pid-file", str(pid_file))
    try:
        assert pid_file.read_text().strip() == str(process.pid)
        end = unique_end()
        _begin, query = live_query(end)

        async def stream_then_stop() -> object:
            async with connect(f"{url}/test/realtime/flexRT?{query}") as client:
                await client.recv()
                os.kill(process.pid, stop_signal)
                try:
                    while True:
                        await client.recv()
                except ConnectionClosed as closed:
                    return closed.rcvd

        closed = run(stream_then_stop())
        assert closed.code == 1001
        assert process.wait(timeout=10) == 0
        assert not pid_file.exists()
        assert not processes_matching("realtime_reader.py", end)
        log = ws_daemon_log(settings_file).read_text()
        assert "Traceback" not in log and "stopping: 1 streams running" in log
    finally:
        kill_ws_daemon(process)


def test_tls_daemon_serves_wss(settings_file: Path, tmp_path: Path) -> None:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([require_program("openssl", "openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    process, url = start_ws_daemon(settings_file, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert url.startswith("wss://127.0.0.1:")
        client_context = ssl.create_default_context(cafile=str(cert))
        query = "read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"
        messages, closed = run(receive_for(f"{url}/test/random/flexRT?{query}", 30,
                                           ssl=client_context))
        assert len(das2_records(b"".join(data for _, data in messages), 12)) == 60
        assert closed.code == 1000
    finally:
        kill_ws_daemon(process)
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--port", "0",
                           "--tls-cert", str(key), "--tls-key", str(cert)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "cannot load the TLS certificate" in done.stderr
    assert done.stderr.count("\n") == 1


def test_command_line_errors_are_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--site",
                           str(tmp_path / "missing"), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "site_dir" in done.stderr
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--port", "70000"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--port" in done.stderr
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--port", "0",
                           "--pid-file", str(tmp_path / "missing" / "ws.pid")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "cannot write the pid file" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_busy_port_and_a_bad_port_are_one_line(settings_file: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--config",
                               str(settings_file), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"dasflex ws: port {port} is in use; pass --port\n"
    done = subprocess.run([sys.executable, "-m", "dasflex_core", "ws", "--port", "99999"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "dasflex ws: --port must be in 0..65535, not 99999\n"


def test_python_m_dasflex_ws_is_dasflex_ws_without_the_core_command() -> None:
    probe = ("import runpy, sys\n"
             "sys.argv = ['dasflex_ws', '--prefix', 'dasws']\n"
             "try:\n"
             "    runpy.run_module('dasflex_ws', run_name='__main__')\n"
             "except SystemExit as stop:\n"
             "    print(stop.code, 'dasflex_core.cli.plan_cmd' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["2", "False"]
    assert done.stderr == "dasflex ws: --prefix must start with '/'\n"
    done = subprocess.run([sys.executable, "-m", "dasflex_ws", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m dasflex_ws")
    assert "--tls-cert" in done.stdout
