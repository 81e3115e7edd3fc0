"""Every concrete URL and server path the README and docs show is answered.

Full URLs (``http://127.0.0.1:8080/...``, ``https://data.example.org/das/server/...``)
are reduced to their path below the server root (the ``/das/server`` and
``/das`` mount points are dropped) and requested from the Flask app serving
the bundled site; so are backquoted root paths such as ```/hapi/catalog```.
Placeholders (``...``, ``<id>``, ``HOST``, ``PORT``, ``ID``) mark a pattern,
not a URL, and are skipped.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.support.paths import PROJECT_DIR

DOCUMENTS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
_URL = re.compile(r"https?://[^\s'\"`)<>]+")
_ROOT_PATH = re.compile(r"`(/(?:hapi|source|catalog\.json|root\.json|nodes\.csv|metrics|verify"
                        r"|admin|server)[^`\s]*)`")
_PLACEHOLDER = re.compile(r"\.\.\.|<|>|\b(?:HOST|PORT|ID|PID)\b|\[|\]")
_MOUNTS = ("/das/server", "/das")
#: Paths that need an administrator: documented, and answered 401 to anyone else.
_ADMIN_PREFIX = "/admin"


def documented_paths() -> list[tuple[str, str, bool]]:
    """(document, path?query, is a full URL) for every concrete URL or root path shown."""
    found: dict[str, tuple[str, bool]] = {}
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        name = document.relative_to(PROJECT_DIR).as_posix()
        for url in _URL.findall(text):
            path = server_path(url)
            if path is not None:
                found[path] = (name, True)
        for path in _ROOT_PATH.findall(text):
            if not _PLACEHOLDER.search(path):
                found.setdefault(path, (name, False))
    return sorted((name, path, full) for path, (name, full) in found.items())


def server_path(url: str) -> str | None:
    """The path and query of ``url`` below the server root; None for a pattern or another site."""
    if _PLACEHOLDER.search(url):
        return None
    parts = urlsplit(url.rstrip(".,;:"))
    host = parts.hostname or ""
    if host not in ("127.0.0.1", "localhost") and not host.endswith("example.org"):
        return None
    path = parts.path or "/"
    for mount in _MOUNTS:
        if path == mount or path.startswith(mount + "/") or path.startswith(mount + "?"):
            path = path[len(mount):] or "/"
            break
    else:
        if host.endswith("example.org") and path not in ("", "/"):
            return None  # another site's page, not a dasflex server URL
    return path + (f"?{parts.query}" if parts.query else "")


DOCUMENTED = documented_paths()


def test_the_docs_show_urls() -> None:
    paths = [path for _, path, _ in DOCUMENTED]
    assert "/hapi/catalog" in paths
    assert any(path.startswith("/source/examples/daily/flex?") for path in paths)
    assert server_path("https://data.example.org/das/server?server=dsdf&dataset=Examples/Random") \
        == "/?server=dsdf&dataset=Examples/Random"
    assert server_path("http://HOST:PORT/") is None


@pytest.fixture(scope="module")
def client():
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    app = create_app(load_settings(environ={}, site_dir=PROJECT_DIR / "examples" / "site"))
    return app.test_client()


@pytest.mark.parametrize("document, path, full_url", DOCUMENTED,
                         ids=[path for _, path, _ in DOCUMENTED])
def test_documented_url_is_answered(client, document: str, path: str, full_url: bool) -> None:
    """A full URL returns what it promises; an endpoint named alone exists (a 400 that
    explains the missing parameters is its answer)."""
    response = client.get(path)
    try:
        status = response.status_code
        if path.startswith(_ADMIN_PREFIX):
            assert status == 401, f"{document}: {path} answered {status} without credentials"
        elif full_url:
            assert status in (200, 301, 302, 308), (
                f"{document}: {path} answered {status}: {response.data[:300]!r}")
        else:
            assert status not in (404, 405) and status < 500, (
                f"{document}: {path} answered {status}: {response.data[:300]!r}")
    finally:
        response.close()
