"""Remote definitions: loading, planning, and remote failures as the runner reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dasflex_core import runner
from dasflex_core.errors import (
    DasFlexError,
    DefinitionError,
    NoDataError,
    ParameterError,
    RemoteError,
)
from dasflex_core.planner import plan
from dasflex_core.remote.policy import POLICY_VARIABLE
from dasflex_core.sources.loader import load_site, load_source
from dasflex_core.sources.remote import decode_argument, encode_argument
from dasflex_core.templates import compile_template
from tests.support.remote_fetch import policy_json


def write_hapi_definition(site: Path, url: str, name: str = "Ramp", **remote: object) -> Path:
    path = site / "Remote" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    block = {"type": "hapi", "server": url, "dataset": "ramp", **remote}
    path.write_text(json.dumps({"version": "1", "title": "Remote ramp", "remote": block,
                                "validRange": ["2020-01-01", "2020-01-10"], "hapi": True}))
    return path


def load(site: Path):
    return load_site(site)


def test_a_json_remote_becomes_a_fetch_reader(tmp_path: Path) -> None:
    write_hapi_definition(tmp_path, "http://h.example.org/hapi/", parameters=["value", "spectrum"],
                          maxRequestDuration="P1D", format="csv")
    source = load(tmp_path).get("Remote/Ramp")
    assert source.reader.template == (
        "dasflex_fetch", "hapi", "http://h.example.org/hapi", "ramp", "#[read.time.min]",
        "#[read.time.max]", "--parameters=value,spectrum", "--format=csv", "--max-duration=P1D",
        "#[read.opts # --client-parameters=@ #]")
    assert str(source.output) == "das2/2.2/binary" and source.reducible
    assert {"read.time.min", "read.time.max", "bin.time.max", "read.opts"} <= {
        p.key for p in source.params}


@pytest.mark.parametrize("line, template", [
    ("das2 | http://d.example.org/das2/server | Juno/WAV/Survey",
     ("dasflex_fetch", "das2", "http://d.example.org/das2/server", "Juno/WAV/Survey",
      "#[read.time.min]", "#[read.time.max]", "#[read.opts # --params=@ #]")),
    ("das3 | http://d.example.org/source/juno/flex | das3",
     ("dasflex_fetch", "das3", "http://d.example.org/source/juno/flex", "#[read.time.min]",
      "#[read.time.max]", "--stream=das3", "#[read.opts # --params=@ #]")),
    ("hapi | http://h.example.org/hapi | AC H0#1 | B,V",
     ("dasflex_fetch", "hapi", "http://h.example.org/hapi", "AC%20H0%231", "#[read.time.min]",
      "#[read.time.max]", "--parameters=B,V", "#[read.opts # --client-parameters=@ #]")),
])
def test_a_dsdf_remote_becomes_a_fetch_reader(tmp_path: Path, line: str, template) -> None:
    (tmp_path / "Relay.dsdf").write_text(f"description = 'Relayed'\nremote = '{line}'\n")
    source = load(tmp_path).get("Relay")
    assert source.reader.template == template
    assert str(source.output) == ("das3/3.0/binary" if line.endswith("das3") else "das2/2.2/binary")


def test_ids_with_any_character_stay_one_argument() -> None:
    odd = "spase://a b/#[x]@y%2F"
    template = compile_template(("dasflex_fetch", "hapi", encode_argument(odd), "#[read.time.min]"))
    argv = template.render({"read.time.min": "2020-01-01T00:00:00"})
    assert len(argv) == 4 and decode_argument(argv[2]) == odd


@pytest.mark.parametrize("document, words", [
    ({"remote": {"type": "hapi", "server": "http://h.example.org/hapi"}}, "dataset"),
    ({"remote": {"type": "hapi", "server": "ftp://h.example.org/hapi", "dataset": "x"}}, "remote"),
    ({"remote": {"type": "das2", "server": "http://h.example.org/x", "dataset": "x"},
      "commands": {"r": {"role": "reader", "template": "x", "output": "das2/2.2/binary"}}},
     "no reader command"),
    ({}, "commands"),
])
def test_bad_remote_definitions_are_refused(tmp_path: Path, document: dict, words: str) -> None:
    path = tmp_path / "Bad.json"
    path.write_text(json.dumps({"version": "1", "title": "Bad", **document}))
    with pytest.raises(DefinitionError) as caught:
        load_source(path, "Bad")
    assert words in str(caught.value)


def test_a_dsdf_with_reader_and_remote_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Bad.dsdf"
    path.write_text("description = 'x'\nreader = 'rdr'\nremote = 'das2 | http://h.example.org/ | x'\n")
    with pytest.raises(DefinitionError, match="line 2: reader: a source that names a remote"):
        load_source(path, "Bad")
    path.write_text("description = 'x'\nremote = 'ftp | http://h.example.org/ | x'\n")
    with pytest.raises(DefinitionError, match="line 2: remote: unknown remote type 'ftp'"):
        load_source(path, "Bad")


def test_remote_sources_get_reduction_formats_and_options(tmp_path: Path) -> None:
    write_hapi_definition(tmp_path, "http://h.example.org/hapi")
    site = load(tmp_path)
    query = {"start_time": "2020-01-01", "end_time": "2020-01-02", "resolution": "600",
             "params": "value"}
    result = plan(site, query, "das2", source_id="Remote/Ramp")
    assert result.stages == (
        ("dasflex_fetch", "hapi", "http://h.example.org/hapi", "ramp", "2020-01-01T00:00:00",
         "2020-01-02T00:00:00", "--client-parameters=value"),
        ("das2_bin_avgsec", "-b", "2020-01-01T00:00:00", "600"))
    csv = plan(site, {"read.time.min": "2020-01-01", "read.time.max": "2020-01-02",
                      "format.type": "csv"}, source_id="Remote/Ramp")
    assert [stage[0] for stage in csv.stages] == ["dasflex_fetch", "das3_csv"]


# -- the runner ---------------------------------------------------------------------------


@pytest.fixture
def remote_site(tmp_path: Path, hapi_server, monkeypatch):
    """A site relaying the HAPI test server, with the test policy for every stage."""

    monkeypatch.setenv(POLICY_VARIABLE, policy_json(tmp_path / "locks"))
    write_hapi_definition(tmp_path / "site", hapi_server.url)
    return load(tmp_path / "site")


def run_plan(site, **query: str) -> bytes:
    planned = plan(site, {"read.time.min": "2020-01-01T00:00", "read.time.max": "2020-01-01T03:00",
                          **query}, source_id="Remote/Ramp")
    with runner.run(planned, first_byte_timeout=30, total_timeout=60) as pipeline:
        return b"".join(pipeline)


def test_remote_data_flow_through_reduction_to_csv(remote_site) -> None:
    text = run_plan(remote_site, **{"format.type": "csv", "bin.time.max": "600"}).decode()
    rows = [line.split(";") for line in text.splitlines() if ";20" in line]
    scalars = [row for row in rows if row[0] == "1"]
    spectra = [row for row in rows if row[0] == "2"]
    assert len(scalars) == len(spectra) == 18
    # minutes 0..8 (minute 9 is fill, which the average leaves out)
    assert scalars[0][2].startswith("2020-01-01T00:05:00") and float(scalars[0][3]) == 4.0


@pytest.mark.parametrize("mode, status, hapi_code, words", [
    ("range", 400, 1405, "lies outside the data of the remote HAPI server 127.0.0.1:"),
    ("unknown", 502, 1501, "The remote HAPI server 127.0.0.1:"),
    ("html", 502, 1501, "sent text/html instead of HAPI data"),
])
def test_remote_failures_get_their_own_status(remote_site, hapi_server, mode, status, hapi_code,
                                              words) -> None:
    hapi_server.mode = mode
    with pytest.raises(DasFlexError) as caught:
        run_plan(remote_site, **{"format.type": "csv"})
    assert (caught.value.status, caught.value.hapi_code) == (status, hapi_code)
    assert words in caught.value.message


@pytest.mark.parametrize("names", ["nope", "value,value"])
def test_parameters_the_client_asked_and_the_remote_refuses_are_a_bad_request(
        remote_site, names) -> None:
    with pytest.raises(ParameterError) as caught:
        run_plan(remote_site, **{"read.opts": names, "format.type": "csv"})
    assert caught.value.status == 400 and caught.value.hapi_code == 1407
    assert f"refuses the parameters {names} (14" in caught.value.message


def test_parameters_of_the_definition_the_remote_refuses_are_its_failure(
        tmp_path: Path, hapi_server, monkeypatch) -> None:
    monkeypatch.setenv(POLICY_VARIABLE, policy_json(tmp_path / "locks"))
    write_hapi_definition(tmp_path / "site", hapi_server.url, parameters=["nope"])
    with pytest.raises(RemoteError) as caught:
        run_plan(load(tmp_path / "site"))
    assert caught.value.status == 502 and "(1407 unknown dataset parameter)" in caught.value.message


def test_no_remote_data_is_no_data(remote_site, hapi_server) -> None:
    hapi_server.mode = "nodata"
    with pytest.raises(NoDataError):
        run_plan(remote_site)


def test_a_stream_broken_mid_way_ends_as_its_format_allows(remote_site, hapi_server) -> None:
    hapi_server.mode = "broken"
    day = {"read.time.max": "2020-01-02T00:00"}
    stream = run_plan(remote_site, **day)
    assert stream.rstrip().endswith(b"/>")
    tail = stream[stream.rindex(b"[xx]"):]
    assert b'type="ServerError"' in tail and b"127.0.0.1" in tail and b"broke off" in tail
    with pytest.raises(RemoteError, match="broke off"):
        run_plan(remote_site, **day, **{"format.type": "csv"})
