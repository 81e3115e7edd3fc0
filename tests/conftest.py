"""Shared fixtures, and the ``system`` marker (see :mod:`tests.support.system`).

Fixtures used by more than one folder live here: the das2C vectors, the
front test site (:mod:`tests.support.front_site`: ``site_dir``, ``settings``,
``app``, ``client``, ``server_url``), the deployment site
(:mod:`tests.support.deploy_site`: ``deploy_root``, ``settings_file``) and
``dasflex_server``.  Plain helpers live in :mod:`tests.support`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support import deploy_site, front_site, system
from tests.support.paths import CONFORMANCE_DIR
from tests.support.servers import dasflex_serve

#: Fixtures that start a server or an external program: a test using one (even
#: through another fixture) is marked ``system``.  Add a new such fixture here.
SYSTEM_FIXTURES = frozenset({
    "dasflex_server",  # gunicorn (dasflex serve); server_url uses it
    "redis_server",  # redis-server (tests/jobs)
    "apache", "ws_daemon",  # Apache and the websocket daemon (tests/cgi)
    "daemon",  # the websocket daemon (tests/ws); ws_url uses it
    "hapi_server",  # the HAPI test server, an HTTP server in a thread (tests/remote)
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests ``conformance`` (they read the das2C vectors) and ``system`` (see above)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "conformance_dir" in fixtures:
            item.add_marker(pytest.mark.conformance)
        if fixtures & SYSTEM_FIXTURES:
            item.add_marker(pytest.mark.system)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Let the server starters know whether the running test is marked ``system``."""
    system.enter_test(item.nodeid, item.get_closest_marker("system") is not None)
    try:
        return (yield)
    finally:
        system.leave_test()


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    """The das2C conformance vectors (``tests/conformance/das2c``)."""
    assert CONFORMANCE_DIR.is_dir(), f"{CONFORMANCE_DIR} is missing from this checkout"
    return CONFORMANCE_DIR


@pytest.fixture(scope="session")
def dasflex_server() -> Callable[..., AbstractContextManager[str]]:
    """:func:`~tests.support.servers.dasflex_serve`: ``with dasflex_server("--site", DIR) as url:``."""
    return dasflex_serve


# -- the front test site (tests/protocols, tests/flask, tests/core) ---------------------------


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return front_site.write_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def settings(site_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    from dasflex_core.settings import load_settings

    users, groups = front_site.write_accounts(tmp_path_factory.mktemp("private"))
    return load_settings(environ={}, site_dir=site_dir, site_title="Test <site>",
                         users_file=users, groups_file=groups,
                         server_id="test", contact_email="ann@example.org",
                         sample_source="Test/Ramp",
                         first_byte_timeout=20.0, total_timeout=60.0)


@pytest.fixture(scope="session")
def app(settings):
    from dasflex_flask import create_app

    return create_app(settings)


@pytest.fixture()
def client(app) -> Iterator:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session")
def server_url(site_dir: Path, dasflex_server) -> Iterator[str]:
    """A real ``dasflex serve`` (gunicorn) on a free loopback port, for the whole session."""
    with dasflex_server("--site", str(site_dir), "--workers", "1") as url:
        yield url


# -- the deployment site (tests/cgi, tests/ws) -----------------------------------------------


@pytest.fixture(scope="session")
def deploy_root() -> Iterator[Path]:
    """A world-readable temporary directory holding the site and its settings."""
    root = Path(tempfile.mkdtemp(prefix="dasflex-deploy-"))
    deploy_site.write_deploy_site(root)
    deploy_site.open_tree(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def settings_file(deploy_root: Path) -> Path:
    return deploy_root / "settings.toml"
