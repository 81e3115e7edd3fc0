"""HAPI 3.3 metadata endpoints, request checking and every status code."""

from __future__ import annotations

import json

import pytest

from dasflex_core.dastime.hapi import parse_hapi_time

DATASET = "Test/Ramp"
SAMPLE = "start=2020-01-01T00:00Z&stop=2020-01-01T00:03Z"


def hapi_json(reply) -> dict:
    assert reply.headers["Content-Type"] == "application/json"
    document = json.loads(reply.get_data())
    assert document["HAPI"] == "3.3"
    return document


def test_landing_page_and_trailing_slash(client) -> None:
    page = client.get("/hapi")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert DATASET in page.get_data(as_text=True)
    slash = client.get("/hapi/")
    assert slash.status_code == 301 and slash.headers["Location"] == "http://localhost/hapi"
    info = client.get(f"/hapi/info/?dataset={DATASET}")
    assert info.status_code == 301
    assert info.headers["Location"] == f"http://localhost/hapi/info?dataset={DATASET}"


def test_about_capabilities_catalog(client) -> None:
    about = hapi_json(client.get("/hapi/about"))
    assert about["status"] == {"code": 1200, "message": "OK"}
    assert about["id"] == "test" and about["contact"] == "ann@example.org"
    assert about["dataTest"]["query"]["dataset"] in ("Test/Late", DATASET)
    capabilities = hapi_json(client.get("/hapi/capabilities"))
    assert "csv" in capabilities["outputFormats"]
    catalog = hapi_json(client.get("/hapi/catalog"))
    assert [entry["id"] for entry in catalog["catalog"]] == ["Test/Fails", "Test/Late", DATASET]
    deep = hapi_json(client.get("/hapi/catalog?depth=all"))
    info = hapi_json(client.get(f"/hapi/info?dataset={DATASET}"))
    del info["HAPI"], info["status"]
    assert deep["catalog"][2]["info"] == info


def test_info_from_the_definition(client) -> None:
    info = hapi_json(client.get(f"/hapi/info?id={DATASET}"))
    assert info["startDate"] == "2020-01-01T00:00:00Z"
    assert info["stopDate"] == "2020-12-31T00:00:00Z"
    assert info["sampleStartDate"] < info["sampleStopDate"]
    assert info["cadence"] == "PT60S"
    time, value = info["parameters"]
    assert time == {"name": "Time", "type": "isotime", "units": "UTC", "fill": None,
                    "length": 24, "description": "time of each record"}
    assert value["name"] == "value" and value["units"] == "V" and value["type"] == "double"
    assert hapi_json(client.get(f"/hapi/info?dataset={DATASET}")) == hapi_json(
        client.get(f"/hapi/info?id={DATASET}"))


def test_info_subsetting_keeps_time(client) -> None:
    info = hapi_json(client.get(f"/hapi/info?dataset={DATASET}&parameters=value"))
    assert [p["name"] for p in info["parameters"]] == ["Time", "value"]
    only_time = hapi_json(client.get(f"/hapi/info?dataset={DATASET}&parameters=Time"))
    assert [p["name"] for p in only_time["parameters"]] == ["Time"]
    everything = hapi_json(client.get(f"/hapi/info?dataset={DATASET}&parameters="))
    assert len(everything["parameters"]) == 2


def test_metadata_headers_cors_and_head(client) -> None:
    reply = client.get("/hapi/capabilities", headers={"Origin": "http://x.org"})
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "Last-Modified" in reply.headers
    assert "HAPI 1200" in reply.status
    head = client.head("/hapi/catalog")
    assert head.status_code == 200 and head.get_data() == b""


@pytest.mark.parametrize(("url", "status", "code"), [
    ("/hapi/nothing", 400, 1400),
    ("/hapi/capabilities?x=1", 400, 1401),
    ("/hapi/about?dataset=x", 400, 1401),
    ("/hapi/info", 400, 1400),
    (f"/hapi/info?id={DATASET}&dataset={DATASET}", 400, 1400),
    (f"/hapi/info?dataset={DATASET}&dataset={DATASET}", 400, 1400),
    ("/hapi/info?dataset=a_test_of_an_invalid_id", 404, 1406),
    ("/hapi/info?dataset=Test/Locked", 404, 1406),
    (f"/hapi/info?dataset={DATASET}&parameters=nope", 404, 1407),
    (f"/hapi/info?dataset={DATASET}&parameters=value,value", 400, 1411),
    (f"/hapi/info?dataset={DATASET}&resolve_references=maybe", 400, 1412),
    ("/hapi/catalog?depth=deep", 400, 1400),
    (f"/hapi/data?dataset={DATASET}&start=2020-01-01Z", 400, 1400),
    (f"/hapi/data?dataset={DATASET}&{SAMPLE}&format=xml", 400, 1409),
    (f"/hapi/data?dataset={DATASET}&{SAMPLE}&include=all", 400, 1410),
    (f"/hapi/data?dataset={DATASET}&start=2020-13-01&stop=2020-01-02", 400, 1402),
    (f"/hapi/data?dataset={DATASET}&start=2020-01-01&stop=2020-02-30", 400, 1403),
    (f"/hapi/data?dataset={DATASET}&start=2020-01-02&stop=2020-01-01", 400, 1404),
    (f"/hapi/data?dataset={DATASET}&start=2020-01-01T01Z&stop=2020-01-01T01Z", 400, 1404),
    (f"/hapi/data?dataset={DATASET}&start=2019-12-31&stop=2020-01-02", 400, 1405),
    (f"/hapi/data?dataset=nope&{SAMPLE}", 404, 1406),
    (f"/hapi/data?dataset={DATASET}&{SAMPLE}&parameters=bogus", 404, 1407),
    (f"/hapi/data?id={DATASET}&time.min=2020-01-01&time.max=2020-01-02&start=2020-01-01",
     400, 1400),
])
def test_status_codes(client, url: str, status: int, code: int) -> None:
    reply = client.get(url)
    assert reply.status_code == status
    document = hapi_json(reply)
    assert document["status"]["code"] == code
    assert f"HAPI {code}" in reply.status
    assert document["status"]["message"].startswith(f"HAPI error {code}")
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_too_much_data_is_1408(site_dir) -> None:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    settings = load_settings(environ={}, site_dir=site_dir, hapi_max_request_days=1)
    client = create_app(settings).test_client()
    reply = client.get(f"/hapi/data?dataset={DATASET}&start=2020-01-01&stop=2020-01-03")
    assert reply.status_code == 400
    assert json.loads(reply.get_data())["status"]["code"] == 1408


def test_hapi_can_be_disabled(site_dir) -> None:
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    settings = load_settings(environ={}, site_dir=site_dir, hapi_enabled=False)
    reply = create_app(settings).test_client().get("/hapi/capabilities")
    assert reply.status_code == 404


@pytest.mark.parametrize(("text", "iso"), [
    ("2017Z", "2017-01-01T00:00:00.000000000Z"),
    ("2017-03", "2017-03-01T00:00:00.000000000Z"),
    ("2017-060T12Z", "2017-03-01T12:00:00.000000000Z"),
    ("2016-366", "2016-12-31T00:00:00.000000000Z"),
    ("2017-01-15T23:59:60Z", "2017-01-16T00:00:00.000000000Z"),
    ("2017-01-15T24:00Z", "2017-01-16T00:00:00.000000000Z"),
    ("2017-01-15T01:02:03.1234567891Z", "2017-01-15T01:02:03.123456789Z"),
])
def test_hapi_time_forms(text: str, iso: str) -> None:
    assert parse_hapi_time(text).iso() == iso


@pytest.mark.parametrize("text", ["2017-366", "2017-02-29", "2017-W01", "20170101",
                                  "2017-01-01T12:00+01:00", "2017T12", "2017-01-01T24:01",
                                  "2017-01-01 12:00", ""])
def test_non_hapi_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hapi_time(text)


def test_time_forms_give_the_same_instant() -> None:
    assert parse_hapi_time("2020-032T00:00:00.000Z") == parse_hapi_time("2020-02-01")

