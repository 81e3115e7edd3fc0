"""``dasflex_fetch das2`` and ``das3``: whole packets passed through, remote exceptions named.

A stdlib server answers each test's canned body; the happy paths against a
real dasflex are in test_federation.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dasflex_core.runner import no_data_message
from tests.support.das2_streams import decoded_records, header_packet
from tests.support.remote_fetch import run_fetch, stage_error
from tests.support.servers import serving

pytestmark = pytest.mark.system  # each test's stdlib server, relayed by dasflex_fetch


HEADER = header_packet("00", '<stream version="2.2"></stream>\n')
PACKET = header_packet("01", '<packet><x type="time24" units="us2000"></x>'
                            '<y type="ascii10" name="v" units="V"></y></packet>\n')
RECORDS = b"".join(b":01:2020-01-01T00:00:%02d.000Z%10.3f" % (i, i) for i in range(20))


def exception(kind: str, message: str) -> bytes:
    return header_packet("xx", f'<exception type="{kind}" message="{message}" />\n')


class Canned(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer: tuple[int, bytes] = (200, b"")
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/das2/server"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Canned

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.paths.append(self.path)
        status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.das2.das2stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def canned() -> Iterator[Canned]:
    with serving(Canned, "a canned das2 server") as server:
        yield server


def fetch(canned: Canned, env: dict[str, str], *options: str):
    return run_fetch("das2", canned.url, "Juno/WAV", "2020-01-01", "2020-01-02", *options,
                     env=env)


def test_the_stream_passes_through_with_the_query(canned, policy_env) -> None:
    canned.answer = (200, HEADER + PACKET + RECORDS)
    done = fetch(canned, policy_env, "--params=-smooth 3", "--interval=60")
    assert done.returncode == 0, done.stderr
    assert done.stdout == HEADER + PACKET + RECORDS
    assert canned.paths == ["/das2/server?server=dataset&dataset=Juno%2FWAV&start_time=2020-01-01"
                            "&end_time=2020-01-02&params=-smooth+3&interval=60"]


def test_no_data_passes_through(canned, policy_env) -> None:
    canned.answer = (200, HEADER + exception("NoDataInInterval", "nothing there"))
    done = fetch(canned, policy_env)
    assert done.returncode == 0 and no_data_message(done.stdout) == "nothing there"


@pytest.mark.parametrize("answer, words", [
    ((200, HEADER + exception("IllegalArgument", "bad option")),
     "refused the request (IllegalArgument: bad option)"),
    ((400, HEADER + exception("IllegalArgument", "no such source")),
     "refused the request (IllegalArgument: no such source)"),
    ((500, b"<html>oops</html>"), "refused the request (HTTP 500 Internal Server Error)"),
    ((200, b"<html><body>Maintenance</body></html>"), "sent a stream that is not das2"),
    ((200, HEADER + header_packet("00", '<stream version="2.2" compression="zlib"></stream>')),
     "compressed das2 stream"),
])
def test_refusals_and_wrong_content_are_remote_errors(canned, policy_env, answer, words) -> None:
    canned.answer = answer
    error = stage_error(fetch(canned, policy_env))
    assert words in error.message and canned.url.split("/")[2] in error.message


def test_a_break_after_the_data_relays_only_whole_packets(canned, policy_env) -> None:
    canned.answer = (200, HEADER + PACKET + RECORDS + RECORDS[:30])
    done = fetch(canned, policy_env)
    error = stage_error(done)
    assert "ends inside a packet" in error.message
    assert done.stdout == HEADER + PACKET + RECORDS
    assert len(decoded_records(done.stdout)[1]) == 20


def test_a_remote_exception_mid_stream_is_a_failure(canned, policy_env) -> None:
    canned.answer = (200, HEADER + PACKET + RECORDS + exception("ServerError", "disk gone"))
    done = fetch(canned, policy_env)
    error = stage_error(done)
    assert "broke off the stream (ServerError: disk gone)" in error.message
    assert done.stdout == HEADER + PACKET + RECORDS


def test_a_das3_stream_passes_through(canned, policy_env) -> None:
    header = b'<stream version="3.0" type="das-basic-stream"/>\n'
    body = b"|Sx||%d|" % len(header) + header + b"|Cx||11|<comment/>\n"
    canned.answer = (200, body)
    done = run_fetch("das3", canned.url.replace("das2/server", "source/juno/flex"), "2020-01-01",
                     "2020-01-02", "--stream=das3", env=policy_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == body
    assert "read.time.min=2020-01-01" in canned.paths[0]
    assert "format.version=3" in canned.paths[0]
