"""The das2.2 ``?server=`` API through Flask's test client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.das2_streams import records
from tests.support.http import basic

RANGE = "start_time=2020-01-01&end_time=2020-01-01T00:03"


def test_list_and_discovery(client) -> None:
    listing = client.get("/?server=list")
    assert listing.status_code == 200
    assert listing.headers["Content-Type"].startswith("text/plain")
    lines = listing.get_data(as_text=True).splitlines()
    assert "Test/|Test sources" in lines
    assert "Test/Ramp|A ramp, one value a minute" in lines
    assert not any(line.startswith(("Test/Aged|", "Test/Locked|")) for line in lines)
    discovery = client.get("/?server=discovery").get_data(as_text=True).splitlines()
    assert discovery == ["Test/|Test sources", "Test/Empty|Never any data",
                         "Test/Late|A reader that fails after some records",
                         "Test/Ramp|A ramp, one value a minute"]


def test_dsdf_is_a_das2_header_stream_and_ids_ignore_case(client) -> None:
    reply = client.get("/?server=dsdf&dataset=test/RAMP")
    body = reply.get_data()
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/vnd.das2.das2stream")
    assert body.startswith(b"[00]") and len(body) == 10 + int(body[4:10])
    assert b'validRange="2020-01-01 to 2020-12-31"' in body
    assert b"ramp.py" not in body and b"reader" not in body


def test_dataset_streams_the_readers_output(client) -> None:
    for keyword in ("dataset", "compactdataset"):
        reply = client.get(f"/?server={keyword}&dataset=Test/Ramp&{RANGE}")
        assert reply.status_code == 200
        body = reply.get_data()
        assert body.startswith(b"[00]")
        assert records(body) == 3
        assert "filename=" in reply.headers["Content-Disposition"]
        assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_server_path_alias(client) -> None:
    assert client.get("/server?server=list").status_code == 200


def test_outside_valid_range_is_a_no_data_stream(client) -> None:
    reply = client.get("/?server=dataset&dataset=Test/Ramp&start_time=2021-02-01"
                       "&end_time=2021-02-02")
    assert reply.status_code == 200
    assert b'type="NoDataInInterval"' in reply.get_data()


def test_reader_reporting_no_data(client) -> None:
    reply = client.get(f"/?server=dataset&dataset=Test/Empty&{RANGE}")
    assert reply.status_code == 200
    assert b"NoDataInInterval" in reply.get_data()


def test_failing_reader_gives_500_without_leaking(client) -> None:
    reply = client.get(f"/?server=dataset&dataset=Test/Fails&{RANGE}")
    body = reply.get_data()
    assert reply.status_code == 500
    assert b'type="ServerError"' in body
    assert b"/secret" not in body and b"ramp.py" not in body and b"python" not in body


def test_failure_after_first_byte_is_in_band(client) -> None:
    reply = client.get("/?server=dataset&dataset=Test/Late&start_time=2020-01-01"
                       "&end_time=2020-01-01T00:10")
    body = reply.get_data()
    assert reply.status_code == 200
    assert records(body) == 5
    assert body.rstrip().endswith(b"/>")
    assert b"[xx]" in body and b'type="ServerError"' in body
    assert b"/secret" not in body


def test_redirects_are_absolute(client) -> None:
    moved = client.get(f"/?server=dataset&dataset=Test/Moved&{RANGE}")
    assert moved.status_code == 302
    assert moved.headers["Location"].startswith("http://elsewhere.example.org/das/server?")
    assert "dataset=Test%2FMoved" in moved.headers["Location"]
    renamed = client.get(f"/?server=dataset&dataset=test/renamed&{RANGE}")
    assert renamed.status_code == 301
    assert renamed.headers["Location"].startswith("http://localhost/?server=dataset")
    assert "dataset=Test%2FRamp" in renamed.headers["Location"]


def test_protected_source_asks_for_credentials(client) -> None:
    reply = client.get(f"/?server=dataset&dataset=Test/Locked&{RANGE}")
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="Test Realm"'
    url = f"/?server=dataset&dataset=Test/Locked&{RANGE}"
    assert client.get(url, headers=basic("ann", "wrong")).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get(url, headers=basic("bob", "bob-secret")).status_code == 403
    allowed = client.get(url, headers=basic("ann", "ann-secret"))
    assert allowed.status_code == 200 and records(allowed.get_data()) == 3


@pytest.mark.parametrize(("query", "status"), [
    ("server=bogus", 400),
    ("server=dataset", 400),
    ("server=dataset&dataset=No/Such&" + RANGE, 404),
    ("server=dataset&dataset=Test/Ramp&start_time=2020-01-01", 400),
    ("server=dataset&dataset=Test/Ramp&start_time=yesterday-ish&end_time=2020-01-02", 400),
    ("server=dataset&dataset=Test/Ramp&" + RANGE + "&nonsense=1", 400),
])
def test_bad_requests_get_a_das2_exception_and_status(client, query: str, status: int) -> None:
    reply = client.get(f"/?{query}")
    assert reply.status_code == status
    assert reply.headers["Content-Type"].startswith("text/vnd.das2.das2stream")
    assert b"[xx]" in reply.get_data()


def test_browsers_get_an_html_error(client) -> None:
    reply = client.get("/?server=<b>bogus</b>", headers={"Accept": "text/html"})
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("text/html")
    assert b"<b>bogus" not in reply.get_data()


def test_head_answers_without_a_body(client) -> None:
    reply = client.head(f"/?server=dataset&dataset=Test/Ramp&{RANGE}")
    assert reply.status_code == 200
    assert reply.get_data() == b""
    assert reply.headers["Content-Type"] == "application/vnd.das2.das2stream"


def test_id_peers_and_logo(tmp_path: Path, site_dir: Path) -> None:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    peers = tmp_path / "peers.ini"
    peers.write_text("[Planet & Co]\nurl = https://planet.example.org/das/server\n"
                     "description = <Planetary> data\n")
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    settings = load_settings(environ={}, site_dir=site_dir, peers_file=peers, logo_file=logo,
                             site_title="Test Site")
    client = create_app(settings).test_client()
    assert client.get("/?server=id").get_data(as_text=True) == "Test Site\n"
    assert client.get("/id.txt").get_data(as_text=True) == "Test Site\n"
    assert client.get("/id.json").get_json() == {"id": "dasflex", "title": "Test Site"}
    assert client.get("/peers.xml").get_data() == client.get("/?server=peers").get_data()
    xml = client.get("/?server=peers")
    assert xml.headers["Content-Type"].startswith("text/xml")
    from lxml import etree

    root = etree.fromstring(xml.get_data())
    assert root.findtext("peers/server/name") == "Planet & Co"
    assert root.findtext("peers/server/description") == "<Planetary> data"
    image = client.get("/logo.png")
    assert image.headers["Content-Type"] == "image/png"
    assert image.get_data() == logo.read_bytes()


def test_missing_logo_is_404(client) -> None:
    assert client.get("/?server=logo").status_code == 404


def test_age_rule_frees_old_data_only(client) -> None:
    old = client.get(f"/?server=dataset&dataset=Test/Aged&{RANGE}")
    assert old.status_code == 200 and records(old.get_data()) == 3
    recent = client.get("/?server=dataset&dataset=Test/Aged&start_time=2099-01-01"
                        "&end_time=2099-01-01T00:03")
    assert recent.status_code == 401
