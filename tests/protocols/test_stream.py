"""stream_plan: status before the first byte, in-band packet or abort after it."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from dasflex_core.errors import ReaderError
from dasflex_core.http import Request
from dasflex_core.protocols import Server, stream_plan


@dataclass(frozen=True)
class FakePlan:
    stages: tuple[tuple[str, ...], ...]
    error_format: str | None
    mime: str = "text/csv"
    disposition: str = 'attachment; filename="x.csv"'
    filename: str = "x.csv"
    cwd: str | None = None


def python_stage(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


LOTS_THEN_FAIL = ("import sys,time; sys.stdout.write('1,2\\n'*5000); sys.stdout.flush(); "
                  "time.sleep(0.3); sys.exit(3)")


@pytest.fixture(scope="module")
def server(settings, site_dir) -> Server:
    from dasflex_core.sources.loader import load_site

    return Server(settings, load_site(site_dir))


def body_of(response) -> bytes:
    return b"".join(response.body) if not isinstance(response.body, bytes) else response.body


def test_failure_before_first_byte_gets_a_status(server: Server) -> None:
    plan = FakePlan((python_stage("import sys; sys.exit(2)"),), "das2")
    response = stream_plan(plan, Request(), "das2", server)
    assert response.status == 500
    assert b"[xx]" in body_of(response)


def test_failure_after_first_byte_without_inband_format_aborts(server: Server) -> None:
    response = stream_plan(FakePlan((python_stage(LOTS_THEN_FAIL),), None), Request(), "text",
                           server)
    assert response.status == 200
    with pytest.raises(ReaderError):
        b"".join(response.body)


def test_failure_after_first_byte_with_das2_is_in_band(server: Server) -> None:
    response = stream_plan(FakePlan((python_stage(LOTS_THEN_FAIL),), "das2"), Request(), "das2",
                           server)
    body = body_of(response)
    assert body.startswith(b"1,2\n") and b"[xx]" in body[-200:]


def test_empty_output_calls_the_empty_answer(server: Server) -> None:
    from dasflex_core.http import Response

    answer = stream_plan(FakePlan((python_stage("pass"),), None), Request(), "text", server,
                         empty=lambda error: Response(204))
    assert answer.status == 204
    default = stream_plan(FakePlan((python_stage("pass"),), "das2"), Request(), "das2", server)
    assert default.status == 200 and b"NoDataInInterval" in body_of(default)


def test_prefix_suffix_and_head(server: Server) -> None:
    plan = FakePlan((python_stage("print('a')"),), None)
    response = stream_plan(plan, Request(), "text", server, prefix=b"<", suffix=b">")
    assert body_of(response) == b"<a\n>"
    head = stream_plan(FakePlan((("/nonexistent/program",),), None), Request(method="HEAD"),
                       "text", server)
    assert head.status == 200 and head.body == b""


def test_headers_carry_mime_disposition_and_cors(server: Server) -> None:
    response = stream_plan(FakePlan((python_stage("print(1)"),), None), Request(), "text", server)
    assert response.header("Content-Type") == "text/csv"
    assert response.header("Content-Disposition") == 'attachment; filename="x.csv"'
    assert response.header("Access-Control-Allow-Origin") == "*"
    body_of(response)
