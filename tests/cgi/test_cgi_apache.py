"""``dasflex-cgi`` under a real Apache (Debian apache2, event MPM, mod_cgid).

Apache runs on 127.0.0.1 on a free port with its own ServerRoot and config
in a temporary directory, the way docs/deploy-apache.md describes: a
``ScriptAlias`` to a symlink to the console script, ``SetEnv
DASFLEX_CONFIG`` and the rewrite that passes ``Authorization`` through.  As
root, Apache runs as www-data with only CAP_DAC_READ_SEARCH kept, so that it
can reach an interpreter installed below /root.  The same Apache proxies
websocket upgrades to a ``dasflex ws`` daemon (mod_proxy_wstunnel).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.das2_streams import das2_records
from tests.support.http import basic_header
from tests.support.processes import processes_matching
from tests.support.servers import free_port, kill_ws_daemon, start_ws_daemon, stop_process_group
from tests.support.system import require_program

pytestmark = pytest.mark.system  # a real Apache, and the websocket daemon behind it

MODULES_DIR = Path("/usr/lib/apache2/modules")
STARTUP_SECONDS = 20
REQUEST_TIMEOUT = 60

HTTPD_CONF = """\
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn
DefaultRuntimeDir "{root}"
Mutex file:{root} default
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule alias_module {modules}/mod_alias.so
LoadModule cgid_module {modules}/mod_cgid.so
LoadModule env_module {modules}/mod_env.so
LoadModule rewrite_module {modules}/mod_rewrite.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_wstunnel_module {modules}/mod_proxy_wstunnel.so
ScriptSock "{root}/cgid.sock"
StartServers 1
ServerLimit 2
Timeout 60

ScriptAlias /das/server "{root}/cgi-bin/server"
<Directory "{root}/cgi-bin">
    Options +ExecCGI +FollowSymLinks
    Require all granted
</Directory>
SetEnv DASFLEX_CONFIG "{config}"

# HTTP Basic credentials reach the CGI program only through this rewrite.
RewriteEngine On
RewriteCond %{{HTTP:Authorization}} ^(.+)$
RewriteRule .* - [E=HTTP_AUTHORIZATION:%1]

# The websocket daemon (docs/deploy-websocket.md), at /dasws/ and at the
# catalog's /das/server/source/<id>/flexRT URLs.
ProxyPass        /dasws/ ws://127.0.0.1:{ws_port}/dasws/
ProxyPassReverse /dasws/ ws://127.0.0.1:{ws_port}/dasws/
RewriteCond %{{HTTP:Upgrade}} =websocket [NC]
RewriteRule ^/das/server/source/(.+)/flexRT$ ws://127.0.0.1:{ws_port}/dasws/source/$1/flexRT [P,L]
"""


def cgi_program() -> Path:
    """The installed ``dasflex-cgi`` console script."""
    script = Path(sysconfig.get_path("scripts")) / "dasflex-cgi"
    assert script.is_file(), f"{script} is missing: run pip install -e ."
    return script


def apache_command(conf: Path) -> list[str]:
    """apache2 in the foreground; as root, as www-data keeping CAP_DAC_READ_SEARCH."""
    command = [require_program("apache2", "apache2"), "-f", str(conf), "-DFOREGROUND"]
    if os.geteuid() != 0:
        return command
    return [require_program("setpriv", "util-linux"), "--reuid=www-data", "--regid=www-data", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *command]


def write_server_root(root: Path, port: int, config: Path, ws_port: int) -> Path:
    (root / "cgi-bin").mkdir(parents=True)
    (root / "cgi-bin" / "server").symlink_to(cgi_program())
    conf = root / "httpd.conf"
    conf.write_text(HTTPD_CONF.format(root=root, port=port, modules=MODULES_DIR, config=config,
                                      ws_port=ws_port))
    if os.geteuid() == 0:
        shutil.chown(root, "www-data", "www-data")
    return conf


def wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    text = log.read_text() if log.exists() else ""
    raise AssertionError(f"apache2 did not start: {text[-2000:]}")


@pytest.fixture(scope="module")
def ws_daemon(settings_file: Path) -> Iterator[str]:
    """URL of a running ``dasflex ws`` (Apache proxies to it)."""
    process, url = start_ws_daemon(settings_file)
    try:
        yield url
    finally:
        kill_ws_daemon(process)


@pytest.fixture(scope="module")
def apache(deploy_root: Path, settings_file: Path, ws_daemon: str) -> Iterator[int]:
    """Port of a running Apache serving dasflex-cgi at /das/server."""
    root = deploy_root / "apache"
    port = free_port()
    conf = write_server_root(root, port, settings_file, int(ws_daemon.rsplit(":", 1)[1].split("/")[0]))
    process = subprocess.Popen(apache_command(conf), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_until_listening(process, port, root / "error.log")
        yield port
    finally:
        stop_process_group(process)


def get(port: int, path: str, headers: dict[str, str] | None = None,
        method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_data_request_streams_the_reader_output(apache: int) -> None:
    status, headers, body = get(apache, "/das/server/source/test/random/flex"
                                        "?read.time.min=2017-01-01&read.time.max=2017-01-01T00:10")
    assert status == 200
    assert headers["content-type"] == "application/vnd.das2.das2stream"
    expected = subprocess.run([sys.executable, "random_reader.py", "2017-01-01T00:00:00",
                               "2017-01-01T00:10:00"], capture_output=True, check=True,
                              cwd=Path(__file__).resolve().parents[2] / "examples" / "readers")
    assert body == expected.stdout


def test_legacy_das2_request_and_head(apache: int) -> None:
    query = "/das/server?server=dataset&dataset=Test/Random&start_time=2017-01-01&end_time=2017-01-01T00:05"
    status, _headers, body = get(apache, query)
    assert status == 200 and body.startswith(b"[00]")
    assert len(das2_records(body, 12)) == 300
    status, _headers, body = get(apache, query, method="HEAD")
    assert status == 200 and body == b""


def test_hapi_request(apache: int) -> None:
    status, headers, body = get(apache, "/das/server/hapi/info?id=Test/Spectra")
    assert status == 200, body
    info = json.loads(body)
    assert info["status"]["code"] == 1200
    assert info["parameters"][0]["type"] == "isotime"
    status, headers, body = get(apache, "/das/server/hapi/data?id=Test/Spectra"
                                        "&time.min=1979-03-01T12:00:00Z&time.max=1979-03-01T12:00:10Z")
    assert status == 200, body
    assert headers["content-type"].startswith("text/csv")
    rows = body.decode().splitlines()
    assert len(rows) == 10 and rows[0].startswith("1979-03-01T12:00:00")


def test_protected_source_needs_credentials(apache: int) -> None:
    path = "/das/server/source/test/locked/flex?read.time.min=2017-01-01&read.time.max=2017-01-01T00:01"
    status, headers, _body = get(apache, path)
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="Deploy Realm"'
    status, _headers, _body = get(apache, path, {"Authorization": basic_header("ann", "wrong")})
    assert status == 401
    status, _headers, _body = get(apache, path, {"Authorization": basic_header("bob", "bob-secret")})
    assert status == 403
    status, _headers, body = get(apache, path, {"Authorization": basic_header("ann", "ann-secret")})
    assert status == 200 and len(das2_records(body, 12)) == 60


def test_error_before_the_first_byte_gets_a_status(apache: int) -> None:
    status, headers, body = get(apache, "/das/server/source/test/fails/flex"
                                        "?read.time.min=2017-01-01&read.time.max=2017-01-02")
    assert status == 500
    assert headers["content-type"] == "text/vnd.das2.das2stream"
    assert b'type="ServerError"' in body and b"The data reader failed" in body
    assert b"secret" not in body and b"fail.py" not in body
    status, _headers, body = get(apache, "/das/server/source/test/nothing/flex")
    assert status == 404 and b"no data source" in body


def test_client_that_disconnects_stops_the_reader(apache: int) -> None:
    begin = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    end = f"2099-12-31T23:59:{os.getpid() % 60:02d}"
    connection = socket.create_connection(("127.0.0.1", apache), timeout=REQUEST_TIMEOUT)
    request = (f"GET /das/server/source/test/realtime/flex?read.time.min={begin}"
               f"&read.time.max={end} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    connection.sendall(request.encode())
    assert connection.recv(4096).startswith(b"HTTP/1.1 200")
    needles = ("realtime_reader.py", begin, end)
    readers = processes_matching(*needles)
    assert len(readers) == 1
    connection.close()
    deadline = time.monotonic() + 10
    while processes_matching(*needles) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_matching(*needles), "the reader outlived the request"


@pytest.mark.parametrize("path", ["/dasws/test/realtime/flexRT", "/das/server/source/test/realtime/flexRT"])
def test_websocket_daemon_behind_apache(apache: int, path: str) -> None:
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    begin = (datetime.now(UTC) - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    url = f"ws://127.0.0.1:{apache}{path}?read.time.min={begin}&read.time.max=2099-01-01"

    async def stream() -> bytes:
        received = b""
        async with connect(url, subprotocols=["forward-stream-v1.das2.org"]) as client:
            assert client.subprotocol == "forward-stream-v1.das2.org"
            while len(das2_records(received, 12)) < 25:
                received += await client.recv()
        return received

    assert asyncio.run(stream()).startswith(b"[00]")

    async def refused() -> int:
        try:
            async with connect(url.replace("/realtime/", "/locked/")):
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    assert asyncio.run(refused()) == 401
