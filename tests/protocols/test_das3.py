"""The ``/source/...`` data routes and catalog files through Flask's test client."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support.das2_streams import records

FLEX = "read.time.min=2020-01-01&read.time.max=2020-01-01T00:03"


@pytest.mark.parametrize("path", ["/source/test/ramp/flex", "/source/Test/Ramp/flex",
                                  "/source/TEST/RAMP/flex"])
def test_flex_data_any_case(client, path: str) -> None:
    reply = client.get(f"{path}?{FLEX}")
    assert reply.status_code == 200
    assert records(reply.get_data()) == 3
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_das2_convention_path(client) -> None:
    reply = client.get("/source/test/ramp/das2?start_time=2020-01-01&end_time=2020-01-01T00:02")
    assert reply.status_code == 200
    assert records(reply.get_data()) == 2


def test_empty_form_fields_are_ignored(client) -> None:
    reply = client.get(f"/source/test/ramp/flex?{FLEX}&read.opts=&format.type=")
    assert reply.status_code == 200


def test_repeated_plain_keys_are_refused(client) -> None:
    reply = client.get(f"/source/test/ramp/flex?{FLEX}&read.time.min=2020-01-02")
    assert reply.status_code == 400
    assert b"more than once" in reply.get_data()


@pytest.mark.parametrize(("url", "status"), [
    ("/source/test/nothing/flex?" + FLEX, 404),
    ("/source/test/ramp/flex?read.time.min=2020-01-01", 400),
    ("/source/test/ramp/flex?" + FLEX + "&unknown.key=1", 400),
    ("/source/test/fails/flex?" + FLEX, 500),
])
def test_errors_before_the_first_byte(client, url: str, status: int) -> None:
    reply = client.get(url)
    assert reply.status_code == status
    body = reply.get_data()
    assert body.startswith(b"[00]") and b"[xx]" in body
    assert b"/secret" not in body and b".py" not in body


def test_das3_clients_get_das3_errors(client) -> None:
    reply = client.get(f"/source/test/ramp/flex?{FLEX}&format.version=3&bogus=1")
    assert reply.status_code == 400
    assert reply.get_data().startswith(b"|Sx|")
    assert b"|Ex|" in reply.get_data()


def test_protected_source_on_the_flex_path(client) -> None:
    reply = client.get(f"/source/test/locked/flex?{FLEX}")
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="Test Realm"'


def test_head_on_data_runs_nothing(client) -> None:
    reply = client.head(f"/source/test/fails/flex?{FLEX}")
    assert reply.status_code == 200
    assert reply.get_data() == b""


def test_catalog_files(client) -> None:
    root = client.get("/root.json")
    assert root.status_code == 200 and root.headers["Content-Type"] == "application/json"
    assert json.loads(root.get_data())["type"] == "Catalog"
    combined = json.loads(client.get("/catalog.json").get_data())
    assert "test" in combined["catalog"]
    nodes = client.get("/nodes.csv")
    assert nodes.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(nodes.get_data(as_text=True))))
    assert len(rows) > 5
    flex = json.loads(client.get("/source/Test/Ramp/flex.json").get_data())
    assert flex["protocol"]["baseUrls"] == ["http://localhost/source/test/ramp/flex"]
    node = client.get("/source/test.json")
    assert json.loads(node.get_data())["type"] == "Catalog"
    d2t = client.get("/source/test/ramp/das2.d2t")
    assert d2t.get_data().startswith(b"[00]")


def test_no_private_files_or_paths_are_served(client) -> None:
    assert client.get("/source/test/ramp/internal.json").status_code == 404
    assert client.get("/source/test/ramp.dsdf").status_code == 404
    assert client.get("/source/../conftest.py").status_code == 404
    everything = client.get("/catalog.json").get_data() + client.get("/nodes.csv").get_data()
    assert b"ramp.py" not in everything and b"_readers" not in everything


def test_head_on_catalog_files(client) -> None:
    reply = client.head("/catalog.json")
    assert reply.status_code == 200 and reply.get_data() == b""
    assert int(reply.headers["Content-Length"]) > 100


def test_configured_server_url_is_used_in_nodes(site_dir) -> None:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    settings = load_settings(environ={}, site_dir=site_dir, server_url="https://data.example.org/das")
    client = create_app(settings).test_client()
    flex = json.loads(client.get("/source/test/ramp/flex.json").get_data())
    assert flex["protocol"]["baseUrls"] == ["https://data.example.org/das/source/test/ramp/flex"]
