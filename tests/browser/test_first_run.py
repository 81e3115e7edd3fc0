"""First run in a real browser: ``dasflex serve`` on the bundled examples, driven by headless Chromium.

The server is the real command (gunicorn, a free loopback port).  Chromium
loads the home page, the source listing and every example's request form;
each form must show a quick-look PNG that the server really answers, and
the form's action URL must return data.  Chromium is required: CI installs
it, so a missing browser fails the test rather than skipping it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.support.browser import chromium
from tests.support.http import basic_header
from tests.support.paths import EXAMPLE_SITE
from tests.support.processes import dasflex_env

WINDOW_SIZE = (1200, 1600)
EXAMPLE_USER, EXAMPLE_PASSWORD, EXAMPLE_GROUP = "ann", "first-run-secret", "testgroup"
#: Examples with access rules: anonymous listings leave them out.
PROTECTED_EXAMPLES = ("Auth",)

pytestmark = pytest.mark.system  # headless Chromium against a real gunicorn


def example_source_names() -> list[str]:
    """Leaf names of the bundled example sources (one per definition file)."""
    folder = EXAMPLE_SITE / "Examples"
    return sorted(path.stem for path in folder.iterdir()
                  if path.suffix in (".dsdf", ".json") and not path.stem.startswith("_"))


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment naming a users and a groups file with one member of the example group."""
    from dasflex_core.auth import hash_password

    folder = tmp_path_factory.mktemp("accounts")
    users, groups = folder / "passwd", folder / "group"
    entry = hash_password(EXAMPLE_PASSWORD, scheme="pbkdf2_sha256", rounds=1000)
    users.write_text(f"{EXAMPLE_USER}:{entry}\n")
    groups.write_text(f"{EXAMPLE_GROUP}: {EXAMPLE_USER}\n")
    return {"DASFLEX_USERS_FILE": str(users), "DASFLEX_GROUPS_FILE": str(groups)}


@pytest.fixture(scope="module")
def server_url(accounts: dict[str, str], dasflex_server) -> Iterator[str]:
    """``dasflex serve`` exactly as the README runs it, on a free port; yields its printed URL."""
    with dasflex_server("--workers", "2", env=dasflex_env(**accounts)) as url:
        yield url + "/"


def rendered_dom(tmp_path: Path, url: str):
    """The DOM of ``url`` after load, as Chromium built it (an lxml tree)."""
    import lxml.html

    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    profile.mkdir()
    # Images off: the DOM is what matters here (the server is asked for each
    # preview directly), and a protected preview would stop headless Chromium
    # at its password prompt.
    text = chromium(profile, "--blink-settings=imagesEnabled=false", "--dump-dom", url)
    assert "<html" in text, f"chromium returned no DOM for {url}"
    return lxml.html.fromstring(text)


def fetch(url: str, *, credentials: tuple[str, str] | None = None) -> tuple[int, str, bytes]:
    """Status, content type and body of a GET (errors included)."""
    request = urllib.request.Request(url)
    if credentials:
        request.add_header("Authorization", basic_header(*credentials))
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def form_links(tmp_path: Path, server_url: str) -> dict[str, str]:
    """Source name -> absolute form URL, found by following links from the home page."""
    home = rendered_dom(tmp_path, server_url)
    browse = [urljoin(server_url, href) for href in home.xpath("//a/@href")
              if href.rstrip("/").endswith("/source")]
    assert browse, "the home page has no link to the data sources"
    listing = rendered_dom(tmp_path, browse[0])
    folders = [urljoin(browse[0], href) for href in listing.xpath("//table//a/@href")]
    assert folders, "the source listing links to no folder"
    forms: dict[str, str] = {}
    for folder in folders:
        page = rendered_dom(tmp_path, folder)
        for anchor in page.xpath("//table//a[substring(@href, string-length(@href) - 4) = '.html']"):
            forms[anchor.text_content().strip()] = urljoin(folder, anchor.get("href"))
    return forms


def assert_screenshot(path: Path, size: tuple[int, int]) -> None:
    """``path`` is a PNG of ``size`` (width, height) that is not one flat colour."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    pixels = matplotlib.image.imread(str(path))
    assert (pixels.shape[1], pixels.shape[0]) == size
    assert float(pixels[..., :3].std()) > 0.01, "the screenshot is blank"


@pytest.fixture(scope="module")
def forms(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return form_links(tmp_path_factory.mktemp("browse"), server_url)


def preview_urls(page) -> list[str]:
    return [img.get("src") for img in page.xpath("//figure/img[starts-with(@alt, 'quick look')]")]


def test_serve_prints_a_loopback_url(server_url):
    assert server_url.startswith("http://127.0.0.1:") and server_url.endswith("/")
    status, kind, _ = fetch(server_url)
    assert (status, kind) == (200, "text/html")


def test_home_page_renders_in_chromium(server_url, tmp_path):
    shot = tmp_path / "home.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}",
             f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}", server_url)
    assert_screenshot(shot, WINDOW_SIZE)


def protected_form_url(server_url: str, name: str) -> str:
    """A protected example's form, reached by its path (listings hide it from anonymous users)."""
    return urljoin(server_url, f"source/examples/{name.lower()}.html")


def test_every_example_has_a_form_with_a_png_preview(forms, server_url, tmp_path):
    public = [name for name in example_source_names() if name not in PROTECTED_EXAMPLES]
    assert sorted(forms) == public
    every = {**forms, **{name: protected_form_url(server_url, name) for name in PROTECTED_EXAMPLES}}
    for name, form_url in every.items():
        page = rendered_dom(tmp_path, form_url)
        previews = preview_urls(page)
        assert len(previews) == 1, f"{name}: no quick-look image on {form_url}"
        assert page.xpath("//form[@method='get']/@action"), f"{name}: no request form"
        credentials = (EXAMPLE_USER, EXAMPLE_PASSWORD) if name == "Auth" else None
        status, kind, body = fetch(urljoin(form_url, previews[0]), credentials=credentials)
        assert (status, kind) == (200, "image/png"), f"{name}: preview gave {status} {kind}"
        assert body[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: preview body is not a PNG"


def test_protected_preview_asks_for_a_password(server_url, tmp_path):
    form_url = protected_form_url(server_url, "Auth")
    status, _, _ = fetch(urljoin(form_url, preview_urls(rendered_dom(tmp_path, form_url))[0]))
    assert status == 401


def test_form_screenshot_shows_the_preview(server_url, tmp_path):
    form_url = urljoin(server_url, "source/examples/random.html")
    shot = tmp_path / "form.png"
    chromium(tmp_path / "profile", "--virtual-time-budget=10000", f"--screenshot={shot}",
             f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}", form_url)
    assert_screenshot(shot, WINDOW_SIZE)


def test_form_action_returns_data(server_url, tmp_path):
    page = rendered_dom(tmp_path, urljoin(server_url, "source/examples/daily.html"))
    action = page.xpath("//form[@method='get']/@action")[0]
    example = page.xpath("//h2[text()='Examples']/following-sibling::ul[1]//a/@href")[0]
    query = example.split("?", 1)[1]
    status, kind, body = fetch(f"{urljoin(server_url, action)}?{query}&format.type=csv")
    assert status == 200, body[:300]
    assert kind == "text/csv"
    rows = [line for line in body.decode().splitlines() if line and line[0].isdigit()]
    assert len(rows) > 10, body[:300]
