"""The table formats from a real server, the way their users read them.

``dasflex serve`` (gunicorn, a free loopback port) on the bundled examples;
headless Chromium runs a page whose JavaScript ``fetch``es JSON answers and
parses them (``response.json()``, ``Date.parse`` of the ISO times), and
pandas reads plain CSV straight from a URL (``pandas.read_csv(url,
parse_dates=[0])``), also through the legacy ``?server=dataset&style=plain``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.browser import chromium
from tests.support.paths import EXAMPLE_SITE
from tests.support.processes import dasflex_env

DAS3_DAY = {"read.time.min": "2020-01-01", "read.time.max": "2020-01-01T01:00"}
SPECTRA = {"read.time.min": "1979-03-01T12:26:11", "read.time.max": "1979-03-01T12:29:24"}

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body><pre id="out">pending</pre><script>
const urls = %s;
Promise.all(Object.entries(urls).map(([name, url]) =>
  fetch(url).then(reply => reply.json()).then(doc => {
    const table = doc.tables[0];
    const row = table.data[0];
    return [name, {tables: doc.tables.length, rows: table.data.length,
                   columns: table.columns.map(c => c.name + ":" + c.units),
                   axes: Object.keys(table.axes), first: Date.parse(row[0]),
                   value: row[1], last: Date.parse(table.data[table.data.length - 1][0])}];
  })))
  .then(entries => { document.getElementById("out").textContent =
                       JSON.stringify(Object.fromEntries(entries)); })
  .catch(error => { document.getElementById("out").textContent = "ERROR " + error; });
</script></body></html>
"""


@pytest.fixture(scope="module")
def server_url(dasflex_server) -> Iterator[str]:
    with dasflex_server("--site", str(EXAMPLE_SITE), "--workers", "2", env=dasflex_env()) as url:
        yield url


def flex_url(server_url: str, source: str, query: dict[str, str]) -> str:
    return f"{server_url}/source/examples/{source}/flex?{urlencode(query)}"


def test_javascript_fetches_and_parses_the_json(server_url: str, tmp_path: Path) -> None:
    import lxml.html

    urls = {"mag": flex_url(server_url, "das3native", {**DAS3_DAY, "format.type": "json"}),
            "spectra": flex_url(server_url, "spectra", {**SPECTRA, "format.type": "json"})}
    page = tmp_path / "fetch.html"
    page.write_text(PAGE % json.dumps(urls))
    profile = tmp_path / "profile"
    profile.mkdir()
    dom = chromium(profile, "--virtual-time-budget=30000", "--dump-dom", page.as_uri())
    text = lxml.html.fromstring(dom).get_element_by_id("out").text_content()
    assert not text.startswith(("ERROR", "pending")), text
    found = json.loads(text)
    mag, spectra = found["mag"], found["spectra"]
    assert mag["tables"] == 1 and mag["rows"] == 1800
    assert mag["columns"] == ["time:UTC", "b_field:nT", "b_magnitude:nT"]
    assert mag["first"] == 1577836800000 and mag["last"] == 1577836800000 + 1799 * 2000
    assert mag["value"][0] == pytest.approx(20.0) and len(mag["value"]) == 3
    assert spectra["axes"] == ["frequency"] and spectra["rows"] == 193
    assert spectra["first"] == 289139171000 and len(spectra["value"]) == 100


def test_pandas_reads_plain_csv_from_a_url(server_url: str) -> None:
    import pandas as pd

    url = flex_url(server_url, "daily", {"read.time.min": "2021-06-01",
                                         "read.time.max": "2021-06-03",
                                         "format.type": "csv", "format.style": "plain"})
    frame = pd.read_csv(url, parse_dates=[0])
    assert list(frame.columns) == ["time (UTC)", "temperature (deg C)", "pressure (hPa)"]
    assert str(frame.dtypes.iloc[0]) == "datetime64[ns, UTC]" and len(frame) == 144
    assert frame["temperature (deg C)"].iloc[0] == pytest.approx(11.26)
    spectra = pd.read_csv(flex_url(server_url, "spectra", {**SPECTRA, "format.style": "plain"}),
                          parse_dates=[0])
    assert spectra.shape == (193, 101) and spectra.columns[1] == "spec_dens_0 (V**2 m**-2 Hz**-1)"


def test_pandas_reads_the_legacy_style_plain(server_url: str) -> None:
    import pandas as pd

    query = urlencode({"server": "dataset", "dataset": "Examples/Random",
                       "start_time": "2017-01-01T00:00", "end_time": "2017-01-01T01:00",
                       "style": "plain"})
    frame = pd.read_csv(f"{server_url}/?{query}", parse_dates=[0])
    assert list(frame.columns) == ["time (UTC)", "radius (Re)"] and len(frame) == 720
    assert str(frame.iloc[0, 0]) == "2017-01-01 00:00:00+00:00"
