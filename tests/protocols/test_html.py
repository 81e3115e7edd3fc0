"""Home page, directory listings and request forms; everything echoed is escaped."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from tests.support.das2_streams import records
from tests.support.http import read_page


def test_home_page_escapes_the_site_title_and_links_the_apis(client) -> None:
    reply = client.get("/", headers={"Accept": "text/html"})
    body = reply.get_data(as_text=True)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "Test &lt;site&gt;" in body and "Test <site>" not in body
    for target in ("?server=list", "/catalog.json", "/hapi", "/source/"):
        assert target in body


def test_home_page_example_links_work(client) -> None:
    links = read_page(client.get("/").get_data()).links
    data_links = [link for link in links if "server=dataset" in link or link.endswith("flex")
                  or "/flex?" in link]
    assert data_links
    for link in data_links:
        parts = urlsplit(link)
        reply = client.get(f"{parts.path}?{parts.query}")
        assert reply.status_code == 200, link
        assert records(reply.get_data()) > 0


def test_directory_listings(client) -> None:
    top = client.get("/source/")
    assert top.status_code == 200
    assert 'href="test/"' in top.get_data(as_text=True)
    inner = client.get("/source/test/")
    text = inner.get_data(as_text=True)
    assert 'href="ramp.html"' in text and 'href="ramp/flex.json"' in text
    assert "Never any data" in text
    assert client.get("/source/test/index.html").status_code == 200
    assert client.get("/source/nowhere/").status_code == 404


def test_form_action_and_fields_make_a_url_the_server_accepts(client) -> None:
    page = client.get("/source/test/ramp.html")
    assert page.status_code == 200
    form = read_page(page.get_data())
    assert form.action == "http://localhost/source/test/ramp/flex"
    names = [control["name"] for control in form.controls]
    assert "read.time.min" in names and "read.time.max" in names
    fields = []
    for control in form.controls:
        value = {"read.time.min": "2020-01-01T00:00", "read.time.max": "2020-01-01T00:04"}.get(
            control["name"], control.get("value", ""))
        if control.get("type") != "checkbox":
            fields.append((control["name"], value))
    reply = client.get(f"{urlsplit(form.action).path}?{urlencode(fields)}")
    assert reply.status_code == 200
    assert records(reply.get_data()) == 4


def test_form_example_links_are_accepted(client) -> None:
    form = read_page(client.get("/source/Test/Ramp.html").get_data())
    examples = [link for link in form.links if "/flex?" in link]
    assert examples
    parts = urlsplit(examples[0])
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200


def test_unknown_pages_are_escaped_404s(client) -> None:
    reply = client.get("/source/<script>alert(1)</script>.html", headers={"Accept": "text/html"})
    assert reply.status_code == 404
    assert b"<script>" not in reply.get_data()
    assert client.get("/no/such/page").status_code == 404


def test_catalog_page_for_a_directory(client) -> None:
    reply = client.get("/source/test.html")
    assert reply.status_code == 200
    assert "ramp.html" in reply.get_data(as_text=True)


def test_flagset_checkboxes_are_joined_by_the_server(client) -> None:
    form = read_page(client.get("/source/test/ramp.html").get_data())
    boxes = [c for c in form.controls if c.get("type") == "checkbox"]
    assert {box["value"] for box in boxes} == {"fast", "smooth"}
    assert {box["name"] for box in boxes} == {"read.opts"}
    url = ("/source/test/ramp/flex?read.time.min=2020-01-01&read.time.max=2020-01-01T00:02"
           "&read.opts=fast&read.opts=smooth")
    assert client.get(url).status_code == 200
    assert client.get(url.replace("smooth", "bogus")).status_code == 400
