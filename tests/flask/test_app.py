"""The app factory, CORS preflight, error pages, `dasflex serve` errors and the bundled site."""

from __future__ import annotations

import subprocess
import sys

from dasflex_core.settings import load_settings
from dasflex_flask import create_app, server_of


def test_options_preflight_has_cors(client) -> None:
    reply = client.options("/source/test/ramp/flex")
    assert reply.status_code == 200
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in reply.headers["Access-Control-Allow-Methods"]


def test_unknown_routes_and_methods_are_clean(client) -> None:
    missing = client.get("/definitely/not/here")
    assert missing.status_code == 404
    assert b"Traceback" not in missing.get_data()
    posted = client.post("/?server=list")
    assert posted.status_code == 405
    assert posted.headers["Access-Control-Allow-Origin"] == "*"


def test_bad_utf8_in_the_path_or_query_is_a_400(client) -> None:
    reply = client.get("/source/test/ramp/flex?read.time.min=%ff")
    assert reply.status_code == 400
    assert b"UTF-8" in reply.get_data()


def test_create_app_with_an_explicit_site(site_dir) -> None:
    from dasflex_core.sources.loader import load_site

    site = load_site(site_dir)
    app = create_app(load_settings(environ={}, site_dir=site_dir), site=site)
    assert server_of(app).site is site
    assert app.test_client().get("/?server=list").status_code == 200


def test_serve_refuses_a_missing_site_in_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dasflex_core", "serve", "--site", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no such directory" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "dasflex_core", "serve", "--workers", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2


def test_bundled_examples_are_served() -> None:
    client = create_app(load_settings(environ={})).test_client()
    listing = client.get("/?server=list").get_data(as_text=True)
    assert "Examples/Random|" in listing
    for line in listing.splitlines():
        source_id = line.split("|", 1)[0]
        if not source_id.endswith("/"):
            assert client.get(f"/source/{source_id.lower()}.html").status_code == 200
            assert client.get(f"/source/{source_id.lower()}/flex.json").status_code == 200
    data = client.get("/?server=dataset&dataset=Examples/Random&start_time=2017-01-01"
                      "&end_time=2017-01-02")
    assert data.status_code == 200
    assert data.get_data().startswith(b"[00]")
    assert client.get("/hapi/catalog").status_code == 200
