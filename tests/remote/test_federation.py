"""Three dasflex sites on loopback (gunicorn): A serves the examples; B relays A's HAPI
datasets, C relays A's das2 sources.  Both were written by ``dasflex import-hapi`` and
``dasflex import-das2``.

* B serves A's HAPI data to das2 clients with ``resolution=`` reduction, and its
  das2, CSV and HAPI values equal A's own HAPI CSV;
* C serves A's das2 sources through HAPI: our HAPI checks (the verifier's steps
  that apply), ``dasflex verify`` and hapiclient all agree with A's das2 data.
"""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.das2_streams import decoded_records
from tests.support.paths import EXAMPLE_READERS, EXAMPLE_SITE
from tests.support.processes import dasflex, dasflex_env

SPECTRA = "Examples/Spectra"
BEGIN, END = "1979-03-01T12:26:11", "1979-03-01T12:28:11"
RANDOM_HAPI = """description = 'Random values, published over HAPI'
reader = '$(PYTHON) {readers}/random_reader.py'
das2Stream = 1
not_reducible = 1
validRange = '2017-01-01 to 2017-12-31'
coord_00 = 'time | Time | UTC'
item_00 = 'radius | Random radius | Re'
exampleRange_00 = '2017-01-01T00:00 to 2017-01-01T01:00 | One hour'
hapi = 1
"""


def get(url: str) -> tuple[int, str, bytes]:
    """Status, reason and body of a GET (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=120) as reply:
            return reply.status, reply.reason, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.reason, error.read()


def served_env(tmp: Path) -> dict[str, str]:
    return dasflex_env(DASFLEX_REMOTE_LOCK_DIR=str(tmp), DASFLEX_REMOTE_RATE="100",
                       DASFLEX_SITE_TITLE="Federation test site")


@pytest.fixture(scope="module")
def url_a(tmp_path_factory, dasflex_server) -> Iterator[str]:
    """Site A: the bundled examples, and Random published over HAPI too."""
    root = tmp_path_factory.mktemp("site_a")
    (root / "Examples").symlink_to(EXAMPLE_SITE / "Examples")
    (root / "Hapi").mkdir()
    readers = EXAMPLE_READERS
    (root / "Hapi" / "Random.dsdf").write_text(RANDOM_HAPI.format(readers=readers))
    with dasflex_server("--site", str(root), "--workers", "2") as url:
        yield url


@pytest.fixture(scope="module")
def site_b(url_a: str, tmp_path_factory) -> Path:
    """Site B: A's HAPI datasets, imported; plus A's Random as a das3 flex source."""
    root = tmp_path_factory.mktemp("site_b")
    done = dasflex("import-hapi", f"{url_a}/hapi", "--site", str(root), "--prefix", "A")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["added    A/Examples/Spectra", "added    A/Hapi/Random",
                                        "2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped"]
    (root / "Flex.json").write_text(json.dumps({
        "version": "1", "title": "Random through das3",
        "remote": {"type": "das3", "flex": f"{url_a}/source/examples/random/flex"},
        "examples": [{"label": "x", "settings": {"read.time.min": "2017-01-01",
                                                 "read.time.max": "2017-01-01T00:10"}}]}))
    (root / "Gone.json").write_text(json.dumps({
        "version": "1", "title": "A das2 server that is not there",
        "remote": {"type": "das2", "server": "http://127.0.0.1:9/", "dataset": "x"}}))
    return root


@pytest.fixture(scope="module")
def url_b(site_b: Path, dasflex_server, tmp_path_factory) -> Iterator[str]:
    env = served_env(tmp_path_factory.mktemp("locks_b"))
    with dasflex_server("--site", str(site_b), "--workers", "2", env=env) as url:
        yield url


@pytest.fixture(scope="module")
def site_c(url_a: str, tmp_path_factory) -> Path:
    """Site C: A's das2 sources (Random and Spectra), imported."""
    root = tmp_path_factory.mktemp("site_c")
    done = dasflex("import-das2", f"{url_a}/", "--site", str(root), "--prefix", "A",
                   "--only", "^Examples/(Random|Spectra)$")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 added, 0 updated, 0 removed, 0 unchanged, 0 skipped"
    return root


@pytest.fixture(scope="module")
def url_c(site_c: Path, dasflex_server, tmp_path_factory) -> Iterator[str]:
    env = served_env(tmp_path_factory.mktemp("locks_c"))
    with dasflex_server("--site", str(site_c), "--workers", "2", env=env) as url:
        yield url


def das2(url: str, dataset: str, begin: str, end: str, **extra: str) -> tuple[Any, np.ndarray]:
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    status, _, body = get(f"{url}/?server=dataset&dataset={dataset}&start_time={begin}"
                          f"&end_time={end}&{query}")
    assert status == 200, body[:500]
    return decoded_records(body)


def hapi_csv(url: str, dataset: str, begin: str, end: str) -> tuple[list[str], np.ndarray]:
    status, _, body = get(f"{url}/hapi/data?dataset={dataset}&start={begin}Z&stop={end}Z")
    assert status == 200, body[:500]
    rows = [line.split(",") for line in body.decode().splitlines()]
    return [row[0] for row in rows], np.array([[float(v) for v in row[1:]] for row in rows])


# -- site B: a HAPI server's datasets for das2 clients ------------------------------------


def test_a_hapi_dataset_is_served_to_das2_clients_with_reduction(url_a, url_b) -> None:
    _, relayed = das2(url_b, f"A/{SPECTRA}", "1979-03-01T12:00", "1979-03-01T14:00",
                      resolution="600")
    _, local = das2(url_a, SPECTRA, "1979-03-01T12:00", "1979-03-01T14:00", resolution="600")
    assert len(relayed) == len(local) == 12
    np.testing.assert_array_equal(relayed["x0"], local["x0"])
    # A averages its reader's 7-digit text values, B the doubles of A's HAPI binary
    np.testing.assert_allclose(relayed["yscan1"], local["yscan1"], rtol=1e-6)


def test_values_as_das2_csv_and_hapi_equal_the_remotes_own_csv(url_a, url_b) -> None:
    times, expected = hapi_csv(url_a, SPECTRA, BEGIN, END)
    assert expected.shape == (120, 100)
    _, records = das2(url_b, f"A/{SPECTRA}", BEGIN, END)
    np.testing.assert_allclose(records["yscan1"], expected, rtol=1e-6)
    hapi_times, hapi_values = hapi_csv(url_b, f"A/{SPECTRA}", BEGIN, END)
    assert hapi_times == times
    np.testing.assert_allclose(hapi_values, expected, rtol=1e-6)
    status, _, body = get(f"{url_b}/source/a/examples/spectra/flex?read.time.min={BEGIN}"
                          f"&read.time.max={END}&format.type=csv")
    assert status == 200
    rows = [line.split(";") for line in body.decode().splitlines() if '"values"' in line]
    assert [row[2] + "Z" for row in rows] == times
    np.testing.assert_allclose([[float(v) for v in row[3:]] for row in rows], expected, rtol=1e-6)


def test_a_das3_flex_source_is_relayed(url_a, url_b) -> None:
    _, relayed = das2(url_b, "Flex", "2017-01-01", "2017-01-01T00:10")
    _, local = das2(url_a, "Examples/Random", "2017-01-01", "2017-01-01T00:10")
    assert len(relayed) == len(local) > 0
    np.testing.assert_array_equal(relayed["y1"], local["y1"])


def test_a_failing_remote_is_a_502_naming_it(url_b) -> None:
    status, reason, body = get(f"{url_b}/?server=dataset&dataset=Gone&start_time=2017-01-01"
                               "&end_time=2017-01-02")
    assert status == 502
    assert b'type="ServerError"' in body
    assert b"The remote das2 server 127.0.0.1:9 refused the connection" in body
    status, _, body = get(f"{url_b}/source/gone/flex?read.time.min=2017-01-01"
                          "&read.time.max=2017-01-02&format.type=csv")
    assert status == 502 and b"127.0.0.1:9" in body and b"Traceback" not in body


def test_reimporting_reports_nothing_changed(url_a, site_b) -> None:
    done = dasflex("import-hapi", f"{url_a}/hapi", "--site", str(site_b), "--prefix", "A")
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["0 added, 0 updated, 0 removed, 2 unchanged, 0 skipped"]


# -- site C: a das2 server's sources over HAPI --------------------------------------------


def hapi_json(url: str) -> dict[str, Any]:
    status, _, body = get(url)
    assert status == 200, body[:300]
    return json.loads(body)


def width(parameter: dict[str, Any]) -> int:
    return math.prod(parameter.get("size") or [1])


def check_dataset(url: str, dataset: str) -> None:
    """The verifier's steps for one dataset (info, data in every form, subsets, no data)."""
    info = hapi_json(f"{url}/hapi/info?dataset={dataset}")
    parameters = info["parameters"]
    time = parameters[0]
    assert (time["type"], time["units"], time["fill"]) == ("isotime", "UTC", None)
    for parameter in parameters:
        assert {"name", "type", "units", "fill"} <= set(parameter)
        assert parameter["type"] in ("isotime", "double", "integer", "string")
    start, stop = info["sampleStartDate"], info["sampleStopDate"]
    base = f"{url}/hapi/data?dataset={dataset}&start={start}&stop={stop}"
    status, _, csv = get(base)
    assert status == 200 and csv.endswith(b"\n") and b"\n\n" not in csv
    lines = csv.decode().splitlines()
    assert lines and all(len(line.split(",")) == sum(map(width, parameters)) for line in lines)
    stamps = [line.split(",", 1)[0] for line in lines]
    assert all(len(stamp) == time["length"] for stamp in stamps)
    moments = [np.datetime64(stamp.rstrip("Z")) for stamp in stamps]
    first, last = np.datetime64(start.rstrip("Z")), np.datetime64(stop.rstrip("Z"))
    assert moments == sorted(moments) and first <= moments[0] and moments[-1] < last
    old = f"{url}/hapi/data?id={dataset}&time.min={start}&time.max={stop}"
    assert get(old)[2] == csv
    status, _, headed = get(base + "&include=header")
    header_lines = [line[1:] for line in headed.decode().splitlines() if line.startswith("#")]
    header = json.loads("\n".join(header_lines))
    assert header["format"] == "csv" and header["parameters"] == parameters
    assert headed.endswith(csv)
    status, _, binary = get(base + "&format=binary")
    record = time["length"] + 8 * sum(map(width, parameters[1:]))
    assert status == 200 and len(binary) == record * len(lines)
    for parameter in parameters:
        status, _, subset = get(base + f"&parameters={parameter['name']}")
        assert status == 200 and len(subset.splitlines()) == len(lines)
    after = [str(first + np.timedelta64(ms, "ms")) + "Z" for ms in (1, 3)]
    status, reason, empty = get(f"{url}/hapi/data?dataset={dataset}&start={after[0]}"
                                f"&stop={after[1]}")
    assert (status, empty) == (200, b"") and "HAPI 1201" in reason


def test_a_das2_sites_sources_pass_the_hapi_checks(url_c) -> None:
    capabilities = hapi_json(f"{url_c}/hapi/capabilities")
    assert {"csv", "binary", "json"} <= set(capabilities["outputFormats"])
    catalog = [entry["id"] for entry in hapi_json(f"{url_c}/hapi/catalog")["catalog"]]
    assert catalog == ["A/Examples/Random", "A/Examples/Spectra"]
    for dataset in catalog:
        check_dataset(url_c, dataset)


def test_dasflex_verify_passes_on_the_relaying_site(url_a, site_c) -> None:
    done = dasflex("verify", "--site", str(site_c), "--first", "--quiet", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith(" passed, 0 failed")


@pytest.mark.parametrize("output", ["binary", "csv"])
def test_hapiclient_reads_the_relayed_das2_source(url_a, url_c, tmp_path, output) -> None:
    from hapiclient import hapi

    options = {"format": output, "cachedir": str(tmp_path), "usecache": False, "cache": False,
               "logging": False}
    begin, end = "2017-01-01T00:00:00", "2017-01-01T00:20:00"
    data, meta = hapi(f"{url_c}/hapi", "A/Examples/Random", "radius", begin + "Z", end + "Z",
                      **options)
    _, local = das2(url_a, "Examples/Random", begin, end)
    assert [p["name"] for p in meta["parameters"]] == ["Time", "radius"]
    assert len(data) == len(local) > 0
    np.testing.assert_allclose(data["radius"], local["y1"], rtol=1e-6)
