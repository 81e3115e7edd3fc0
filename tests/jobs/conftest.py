"""Fixtures of the job queue tests: a real redis-server and the tiny cached site.

The site and the helpers the tests call on it are in :mod:`tests.support.tiny_site`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import RedisServer
from tests.support.tiny_site import make_site


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return make_site(tmp_path / "site")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
