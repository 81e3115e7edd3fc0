"""``dasflex import-hapi`` against the HAPI test server: definitions, id mapping, re-runs."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from dasflex_core.remote.importer import id_path, import_hapi
from dasflex_core.sources.loader import load_site
from tests.support.hapi_server import INFO
from tests.support.processes import dasflex


def prefix_of(server) -> str:
    return f"127.0.0.1_{server.server_address[1]}"


def test_a_dataset_becomes_a_definition(hapi_server, tmp_path: Path) -> None:
    report = import_hapi(hapi_server.url, tmp_path)
    source_id = f"{prefix_of(hapi_server)}/ramp"
    assert report.added == [source_id]
    document = json.loads((tmp_path / f"{source_id}.json").read_text())
    assert document["remote"] == {"type": "hapi", "server": hapi_server.url, "dataset": "ramp",
                                  "parameters": ["value", "count", "spectrum"],
                                  "format": "binary", "maxRequestDuration": "P1D"}
    assert document["title"] == "Test ramp"
    assert document["summary"] == "A ramp with a spectrum, one record a minute"
    assert document["validRange"] == ["2020-01-01T00:00:00Z", "2020-01-10T00:00:00Z"]
    assert document["contacts"] == [{"name": "Test Person", "email": "test@example.org",
                                     "role": "technical"}]
    assert document["data"][0] == {"name": "value", "title": "minutes since the start",
                                   "units": "V"}
    assert [e["settings"] for e in document["examples"]] == [
        {"read.time.min": "2020-01-01T00:00:00Z", "read.time.max": "2020-01-01T02:00:00Z"},
        {"read.time.min": "2020-01-01T00:00:00Z", "read.time.max": "2020-01-10T00:00:00Z",
         "bin.time.max": "600"}]
    assert document["hapi"] is True
    source = load_site(tmp_path).get(source_id)
    assert source.reader.template[:4] == ("dasflex_fetch", "hapi", hapi_server.url, "ramp")


def test_rerunning_updates_keeps_and_removes(hapi_server, tmp_path: Path) -> None:
    import_hapi(hapi_server.url, tmp_path, prefix="Relay")
    path = tmp_path / "Relay" / "ramp.json"
    edited = {**json.loads(path.read_text()), "cacheLevels": ["1 h | monthly"], "hidden": True}
    path.write_text(json.dumps(edited))
    again = import_hapi(hapi_server.url, tmp_path, prefix="Relay")
    assert again.lines() == ["0 added, 0 updated, 0 removed, 1 unchanged, 0 skipped"]

    hapi_server.datasets["ramp"]["stopDate"] = "2020-01-11T00:00:00Z"
    hapi_server.datasets["odd/ id:x"] = json.loads(json.dumps(INFO))
    hapi_server.datasets["_strings"] = {**INFO, "parameters": [INFO["parameters"][0],
                                                               INFO["parameters"][-1]]}
    report = import_hapi(hapi_server.url, tmp_path, prefix="Relay")
    assert report.lines() == [
        "added    Relay/odd/x_id_x",
        "updated  Relay/ramp (validRange, examples)",
        "skipped  _strings: no parameter that a das2 stream can carry",
        "1 added, 1 updated, 0 removed, 0 unchanged, 1 skipped"]
    kept = json.loads(path.read_text())
    assert kept["cacheLevels"] == ["1 h | monthly"] and kept["hidden"] is True
    assert kept["validRange"][1] == "2020-01-11T00:00:00Z"

    del hapi_server.datasets["odd/ id:x"]
    only = import_hapi(hapi_server.url, tmp_path, prefix="Relay", only="^ramp$")
    assert only.removed == [] and (tmp_path / "Relay" / "odd" / "x_id_x.json").exists()
    report = import_hapi(hapi_server.url, tmp_path, prefix="Relay")
    assert report.removed == ["Relay/odd/x_id_x"]
    assert not (tmp_path / "Relay" / "odd" / "x_id_x.json").exists()


def test_ids_map_to_distinct_paths(hapi_server, tmp_path: Path) -> None:
    assert id_path("spase://NASA/NumericalData/ACE") == "spase_/NASA/NumericalData/ACE"
    hapi_server.datasets = {name: INFO for name in ("a b", "a:b", "A_B")}
    report = import_hapi(hapi_server.url, tmp_path, prefix="P")
    assert report.added == ["P/a_b", "P/a_b_2", "P/A_B_3"]
    again = import_hapi(hapi_server.url, tmp_path, prefix="P")
    assert len(again.unchanged) == 3


def test_the_command_reports_and_fails_in_one_line(hapi_server, tmp_path: Path) -> None:
    done = dasflex("import-hapi", hapi_server.url, "--site", str(tmp_path), "--only", "ramp")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"added    {prefix_of(hapi_server)}/ramp",
                                        "1 added, 0 updated, 0 removed, 0 unchanged, 0 skipped"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failed = dasflex("import-hapi", f"http://127.0.0.1:{port}/hapi", "--site", str(tmp_path))
    assert failed.returncode == 1
    assert failed.stderr == (f"dasflex import-hapi: The remote HAPI server 127.0.0.1:{port} "
                             "refused the connection\n")


@pytest.mark.parametrize("argv", [["import-hapi", "--only", "("], ["import-das2", "--only", "("]])
def test_a_bad_filter_is_refused(hapi_server, tmp_path: Path, argv: list[str]) -> None:
    done = dasflex(argv[0], hapi_server.url, "--site", str(tmp_path), *argv[1:])
    assert done.returncode == 1 and "bad regular expression" in done.stderr
