"""The example site served by every front-end, with one account and a recording runner.

``recorder`` replaces :func:`dasflex_core.runner.run` so that no reader runs:
it records each :class:`~dasflex_core.planner.Plan` and yields a tiny das2
stream.  The account ``ann`` (group ``testgroup``) may read Examples/Auth;
``bob`` exists but is in no group.
"""

from __future__ import annotations

from typing import Any

import pytest

from dasflex_core.auth import hash_password
from tests.support.recorder import Recorder


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


@pytest.fixture()
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    from dasflex_core import runner

    recording = Recorder()
    monkeypatch.setattr(runner, "run", recording.run)
    return recording
