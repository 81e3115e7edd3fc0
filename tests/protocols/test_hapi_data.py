"""HAPI /data through the planner and das2_hapi: csv, binary, json, header, no data."""

from __future__ import annotations

import gzip
import json

import numpy as np

DATASET = "Test/Ramp"
RANGE = "start=2020-01-01T00:00:30Z&stop=2020-01-01T00:03:30Z"


def info(client, parameters: str = "") -> dict:
    query = f"&parameters={parameters}" if parameters else ""
    return json.loads(client.get(f"/hapi/info?dataset={DATASET}{query}").get_data())


def test_csv_is_exactly_start_to_stop(client) -> None:
    reply = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    text = reply.get_data(as_text=True)
    lines = text.splitlines()
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert [line.split(",")[0][:19] for line in lines] == [
        "2020-01-01T00:01:00", "2020-01-01T00:02:00", "2020-01-01T00:03:00"]
    assert all(len(line.split(",")) == 2 for line in lines)
    assert float(lines[0].split(",")[1]) == 1.0


def test_old_parameter_names_give_the_same_bytes(client) -> None:
    new = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}").get_data()
    old = client.get(f"/hapi/data?id={DATASET}&time.min=2020-01-01T00:00:30Z"
                     "&time.max=2020-01-01T00:03:30Z").get_data()
    doy = client.get(f"/hapi/data?dataset={DATASET}&start=2020-001T00:00:30Z"
                     "&stop=2020-001T00:03:30Z&parameters=").get_data()
    assert new == old == doy


def test_time_length_matches_info(client) -> None:
    length = info(client)["parameters"][0]["length"]
    line = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}").get_data(as_text=True)
    assert len(line.split(",")[0]) == length


def test_include_header(client) -> None:
    reply = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}&include=header")
    text = reply.get_data(as_text=True)
    header = "".join(line[1:] + "\n" for line in text.splitlines() if line.startswith("#"))
    document = json.loads(header)
    assert document["format"] == "csv"
    assert document["parameters"] == info(client)["parameters"]
    assert len([line for line in text.splitlines() if not line.startswith("#")]) == 3


def test_binary_records_have_the_info_widths(client) -> None:
    reply = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}&format=binary")
    assert reply.headers["Content-Type"] == "application/octet-stream"
    length = info(client)["parameters"][0]["length"]
    records = np.frombuffer(reply.get_data(), dtype=[("t", f"S{length}"), ("v", "<f8")])
    assert records["t"][0].startswith(b"2020-01-01T00:01:00")
    assert list(records["v"]) == [1.0, 2.0, 3.0]


def test_json_has_the_header_and_data_last(client) -> None:
    reply = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}&format=json")
    document = json.loads(reply.get_data())
    assert list(document)[-1] == "data"
    assert document["parameters"] == info(client)["parameters"]
    assert [row[1] for row in document["data"]] == [1.0, 2.0, 3.0]


def test_parameter_subsets(client) -> None:
    only_time = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}&parameters=Time")
    assert all(len(line.split(",")) == 1 for line in only_time.get_data(as_text=True).splitlines())


def test_no_data_is_1201_with_an_empty_body(client) -> None:
    reply = client.get(f"/hapi/data?dataset={DATASET}&start=2020-01-01T00:00:00.001Z"
                       "&stop=2020-01-01T00:00:00.003Z")
    assert reply.status_code == 200
    assert "HAPI 1201" in reply.status
    assert reply.get_data() == b""
    with_header = client.get(f"/hapi/data?dataset={DATASET}&start=2020-01-01T00:00:00.001Z"
                             "&stop=2020-01-01T00:00:00.003Z&include=header")
    header = "".join(line[1:] for line in with_header.get_data(as_text=True).splitlines())
    assert json.loads(header)["status"]["code"] == 1201


def test_gzip_when_asked(client) -> None:
    plain = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}").get_data()
    packed = client.get(f"/hapi/data?dataset={DATASET}&{RANGE}",
                        headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain


def test_head_on_data(client) -> None:
    reply = client.head(f"/hapi/data?dataset={DATASET}&{RANGE}")
    assert reply.status_code == 200 and reply.get_data() == b""
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_reader_failure_is_upstream_1501_without_leaks(client) -> None:
    reply = client.get("/hapi/data?dataset=Test/Fails&start=2020-01-01&stop=2020-01-02")
    assert reply.status_code == 500
    document = json.loads(reply.get_data())
    assert document["status"]["code"] == 1501
    assert "HAPI 1501" in reply.status
    assert "/secret" not in reply.get_data(as_text=True)


def test_failure_after_the_first_record_aborts_the_response(client) -> None:
    import pytest

    from dasflex_core.errors import ReaderError

    reply = client.get("/hapi/data?dataset=Test/Late&start=2020-01-01&stop=2020-02-01")
    assert reply.status_code == 200
    with pytest.raises(ReaderError):
        reply.get_data()
    small = client.get("/hapi/data?dataset=Test/Late&start=2020-01-01&stop=2020-01-01T00:10")
    assert small.status_code == 500


def test_info_falls_back_to_the_definition_when_the_probe_fails(client) -> None:
    document = json.loads(client.get("/hapi/info?dataset=Test/Fails").get_data())
    assert [p["name"] for p in document["parameters"]] == ["Time", "value"]
