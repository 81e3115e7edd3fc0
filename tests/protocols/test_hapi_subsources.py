"""HAPI sub-datasets: each DSDF ``subSource_NN`` is a dataset ``ID,KEY``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import readers
from tests.support.http import basic

COMMON = ("das2Stream = 1\nnot_reducible = 1\nhapi = 1\n"
          "validRange = '2020-01-01 to 2020-12-31'\n"
          "exampleRange_00 = '2020-01-01T00:00 to 2020-01-01T00:10'\n")

DEFINITIONS = {
    "Sub/Options.dsdf": (
        "description = 'Values of one or seven'\n"
        "summary = 'The base dataset.'\n"
        "reader = '$(PYTHON) ../_readers/options.py'\n"
        "param_00 = '--seven | Values of seven'\n"
        "subSource_00 = 'seven | Sevens only | | --seven'\n"
        "subSource_01 = 'plain | Ones | |'\n" + COMMON),
    "Sub/Ticks.dsdf": (
        "description = 'Records at a chosen interval'\n"
        "reader = '$(PYTHON) ../_readers/ticks.py'\n"
        "requiresInterval = 1\n"
        "subSource_00 = 'm1 | One a minute | 60 |'\n"
        "subSource_01 = 'm2 | One every two minutes | 2 min |'\n"
        "subSource_02 = 'any | No numeric interval | fine |'\n" + COMMON),
    "Sub/Guarded.dsdf": (
        "description = 'Protected, with a sub-source'\n"
        "reader = '$(PYTHON) ../_readers/options.py'\n"
        "param_00 = '--seven | Values of seven'\n"
        "subSource_00 = 'seven | Sevens | | --seven'\n"
        "readAccess = 'GROUP:team'\n" + COMMON),
}

RANGE = "start=2020-01-01T00:00:00Z&stop=2020-01-01T00:10:00Z"


@pytest.fixture(scope="module")
def sub_client(tmp_path_factory: pytest.TempPathFactory, settings):
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    root = tmp_path_factory.mktemp("subsite")
    readers.install(root / "_readers", "options.py", "ticks.py")
    for name, text in DEFINITIONS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sub_settings = load_settings(environ={}, site_dir=Path(root), users_file=settings.users_file,
                                 groups_file=settings.groups_file, first_byte_timeout=20.0)
    with create_app(sub_settings).test_client() as client:
        yield client


def _catalog_ids(client, **headers: str) -> list[str]:
    reply = client.get("/hapi/catalog", headers=headers)
    assert reply.status_code == 200
    return [entry["id"] for entry in reply.get_json()["catalog"]]


def _values(client, dataset: str) -> list[float]:
    reply = client.get(f"/hapi/data?dataset={dataset}&{RANGE}")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return [float(line.split(",")[1]) for line in reply.get_data(as_text=True).splitlines()]


def test_catalog_lists_sub_datasets_and_skips_interval_bases(sub_client) -> None:
    ids = _catalog_ids(sub_client)
    assert ids == ["Sub/Options", "Sub/Options,seven", "Sub/Options,plain",
                   "Sub/Ticks,m1", "Sub/Ticks,m2"]


def test_info_takes_the_sub_source_description(sub_client) -> None:
    info = sub_client.get("/hapi/info?dataset=Sub/Options,seven").get_json()
    assert info["status"]["code"] == 1200
    assert info["description"] == "Sevens only"
    assert [p["name"] for p in info["parameters"]] == ["Time", "value"]
    base = sub_client.get("/hapi/info?dataset=Sub/Options").get_json()
    assert base["description"] == "The base dataset."
    titles = {e["id"]: e["title"] for e in sub_client.get("/hapi/catalog").get_json()["catalog"]}
    assert titles["Sub/Options,seven"] == "Values of one or seven (Sevens only)"


def test_data_passes_the_sub_source_options(sub_client) -> None:
    assert set(_values(sub_client, "Sub/Options,seven")) == {7.0}
    assert set(_values(sub_client, "Sub/Options,plain")) == {1.0}
    assert set(_values(sub_client, "Sub/Options")) == {1.0}


def test_data_passes_the_sub_source_interval(sub_client) -> None:
    assert _values(sub_client, "Sub/Ticks,m1") == [60.0] * 10
    assert _values(sub_client, "Sub/Ticks,m2") == [120.0] * 5


def test_unknown_or_unplannable_sub_datasets_are_1406(sub_client) -> None:
    for dataset in ("Sub/Ticks", "Sub/Ticks,any", "Sub/Options,nothing"):
        reply = sub_client.get(f"/hapi/info?dataset={dataset}")
        assert reply.status_code == 404
        assert reply.get_json()["status"]["code"] == 1406


def test_protected_sub_datasets_follow_their_source(sub_client) -> None:
    assert "Sub/Guarded,seven" not in _catalog_ids(sub_client)
    member = basic("ann", "ann-secret")
    assert {"Sub/Guarded", "Sub/Guarded,seven"} <= set(_catalog_ids(sub_client, **member))
    refused = sub_client.get(f"/hapi/data?dataset=Sub/Guarded,seven&{RANGE}")
    assert refused.status_code == 401
    allowed = sub_client.get(f"/hapi/data?dataset=Sub/Guarded,seven&{RANGE}", headers=member)
    assert allowed.status_code == 200
    assert {float(line.split(",")[1]) for line in allowed.get_data(as_text=True).splitlines()} == {7.0}
