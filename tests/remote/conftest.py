"""Fixtures for remote sources: the failing HAPI test server, the environment of a fetch.

The server is :mod:`tests.support.hapi_server`; the fetch policy and running
``dasflex_fetch`` are in :mod:`tests.support.remote_fetch`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hapi_server import HapiTestServer
from tests.support.remote_fetch import policy_environment
from tests.support.servers import serving


@pytest.fixture
def hapi_server() -> Iterator[HapiTestServer]:
    """A HAPI test server on a free loopback port (mode ``ok``); a ``system`` fixture."""
    with serving(HapiTestServer, "the HAPI test server") as server:
        yield server


@pytest.fixture
def policy_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a fetch run under the test policy."""
    return policy_environment(tmp_path / "locks")
