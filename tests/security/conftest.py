"""The example site served by every front-end, with one account and a recording runner.

``recorder`` replaces :func:`dasflex_core.runner.run` so that no reader runs:
it records each :class:`~dasflex_core.planner.Plan` and yields a tiny das2
stream.  The account ``ann`` (group ``testgroup``) may read Examples/Auth;
``bob`` exists but is in no group.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dasflex_core.auth import hash_password

REALM = "dasflex example data"
_HEADER = b'<stream version="2.2"><properties title="t"/></stream>\n'
STREAM = b"[00]%06d" % len(_HEADER) + _HEADER


def basic_header(user: str, password: str) -> str:
    """An ``Authorization: Basic`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="session")
def security_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from dasflex_core.settings import load_settings

    private = tmp_path_factory.mktemp("accounts")
    users, groups = private / "passwd", private / "group"
    users.write_text(
        f"ann:{hash_password('ann-password', scheme='pbkdf2_sha256', rounds=1000)}\n"
        f"bob:{hash_password('bob-password', scheme='pbkdf2_sha256', rounds=1000)}\n")
    groups.write_text("testgroup: ann\n")
    return load_settings(environ={}, users_file=users, groups_file=groups,
                         first_byte_timeout=20.0, total_timeout=60.0)


@pytest.fixture(scope="session")
def server(security_settings: Any) -> Any:
    """The core server context (HAPI infos probed once with the real readers)."""
    from dasflex_core.http import Request, parse_query
    from dasflex_core.protocols import Server, routes
    from dasflex_core.sources.loader import load_site

    context = Server(security_settings, load_site(security_settings.site_dir))
    info = Request(path="/hapi/info", query=parse_query("dataset=Examples/Spectra"))
    assert routes.dispatch(context, info).status == 200
    return context


@pytest.fixture(scope="session")
def flask_app(security_settings: Any, server: Any) -> Any:
    from dasflex_flask import create_app

    app = create_app(security_settings, site=server.site)
    with app.test_client() as warm:
        assert warm.get("/hapi/info?dataset=Examples/Spectra").status_code == 200
    return app


@pytest.fixture(scope="session")
def wsgi_app(security_settings: Any, server: Any) -> Any:
    """The plain WSGI application the CGI front-end runs."""
    from dasflex_core.protocols.wsgi import make_wsgi_app

    return make_wsgi_app(security_settings, site=server.site)


class Recorder:
    """Plans handed to the runner, in order."""

    def __init__(self) -> None:
        self.plans: list[Any] = []

    def run(self, plan: Any, **_options: Any) -> Iterator[bytes]:
        self.plans.append(plan)
        return self._stream()

    @staticmethod
    def _stream() -> Iterator[bytes]:
        yield STREAM

    def last_since(self, count: int) -> Any:
        """The plan recorded after the first ``count``, or None."""
        return self.plans[-1] if len(self.plans) > count else None


@pytest.fixture()
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    from dasflex_core import runner

    recording = Recorder()
    monkeypatch.setattr(runner, "run", recording.run)
    return recording


def wsgi_get(app: Any, path: str, query: str = "", headers: dict[str, str] | None = None,
             remote_addr: str = "127.0.0.1") -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of a GET through a WSGI application."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "/cgi-bin/dasflex", "REMOTE_ADDR": remote_addr,
        "wsgi.url_scheme": "http", "wsgi.input": None, "wsgi.errors": None,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    reply: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        reply["status"], reply["headers"] = status, response_headers

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return reply["status"], reply["headers"], body


PROJECT_DIR = Path(__file__).resolve().parents[2]
