"""docs/formats.md runs: its Python blocks as notebook cells, its JavaScript in Chromium.

A real ``dasflex serve`` on the bundled examples stands in for the
``http://127.0.0.1:8080`` of the document.  The Python blocks run one after
the other in one namespace (their own ``assert`` lines check the results);
the JavaScript block runs as a module script in headless Chromium and its
variables are reported back through the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import chromium
from tests.support.paths import EXAMPLE_SITE, PROJECT_DIR
from tests.support.processes import dasflex_env

DOCUMENT = PROJECT_DIR / "docs" / "formats.md"
DOCUMENTED_SERVER = "http://127.0.0.1:8080"
_BLOCK = re.compile(r"```(python|javascript)\n(.*?)```", re.S)
#: Appended to the document's JavaScript: report its variables through the page.
REPORT = """
document.getElementById("out").textContent = JSON.stringify({
  rows: table.data.length, columns: table.columns.map(c => c.name),
  first: times[0].getTime(), field: field[0]});
"""


def blocks(language: str) -> list[str]:
    return [code for kind, code in _BLOCK.findall(DOCUMENT.read_text("utf-8")) if kind == language]


@pytest.fixture(scope="module")
def server_url(dasflex_server) -> Iterator[str]:
    with dasflex_server("--site", str(EXAMPLE_SITE), "--workers", "2", env=dasflex_env()) as url:
        yield url


def test_the_python_examples_run_as_notebook_cells(server_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cells = blocks("python")
    assert len(cells) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "formats_doc"}
    for number, cell in enumerate(cells):
        code = compile(cell.replace(DOCUMENTED_SERVER, server_url), f"formats.md cell {number}",
                       "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples
    printed = capsys.readouterr().out
    assert "datetime64[ns, UTC]" in printed and "temperature (deg C)" in printed
    assert (tmp_path / "waveform.nc").stat().st_size > 0


def test_the_javascript_example_runs_in_chromium(server_url: str, tmp_path: Path) -> None:
    import lxml.html

    (script,) = blocks("javascript")
    page = tmp_path / "example.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
                    '<pre id="out">pending</pre><script type="module">\n'
                    + script.replace(DOCUMENTED_SERVER, server_url) + REPORT
                    + "</script></body></html>")
    profile = tmp_path / "profile"
    profile.mkdir()
    dom = chromium(profile, "--virtual-time-budget=30000", "--dump-dom", page.as_uri())
    text = lxml.html.fromstring(dom).get_element_by_id("out").text_content()
    assert text != "pending", "the documented JavaScript did not finish"
    found = json.loads(text)
    assert found["rows"] == 1800 and found["columns"] == ["time", "b_field", "b_magnitude"]
    assert found["first"] == 1577836800000 and len(found["field"]) == 3
