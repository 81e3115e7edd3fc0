"""Access rules on every data path: HAPI with credentials, IP rules, request-size limits.

A copy of the example site gains protected HAPI variants of Examples/Spectra:
``Locked`` (GROUP:testgroup), ``Aged`` (AGE:1y | GROUP:testgroup), ``Lan``
(IP:10.1.0.0/16) and ``Short`` (public, at most one day per request).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from dasflex_core.errors import TooLargeError, UnauthorizedError
from dasflex_core.http import Request, Response, parse_query
from dasflex_core.model import Access, AccessRule, Convention, Site
from tests.support.http import basic_header
from tests.support.recorder import REALM, Recorder

MEMBER = {"authorization": basic_header("ann", "ann-password")}
OUTSIDER = {"authorization": basic_header("bob", "bob-password")}
WRONG = {"authorization": basic_header("ann", "not-it")}
CHALLENGE = ("WWW-Authenticate", f'Basic realm="{REALM}"')
HAPI_TIMES = {"start": "1979-03-01T00:00Z", "stop": "1979-03-02T00:00Z"}
FLEX_TIMES = {"read.time.min": "1979-03-01", "read.time.max": "1979-03-02"}


def _variant(base: Any, name: str, rules: tuple[AccessRule, ...] = (),
             max_days: float = 0.0) -> Any:
    access = Access(rules, REALM, "", "") if rules else None
    return dataclasses.replace(base, id=f"Examples/{name}", access=access,
                               max_request_days=max_days)


def make_server(settings: Any, site: Any, **changes: Any) -> Any:
    """A server over ``site`` plus the protected variants, with changed settings."""
    from dasflex_core.protocols import Server

    spectra = site.get("Examples/Spectra")
    group = AccessRule("GROUP", "testgroup")
    variants = [
        _variant(spectra, "Locked", (group,)),
        _variant(spectra, "Aged", (AccessRule("AGE", "1y"), group)),
        _variant(spectra, "Lan", (AccessRule("IP", "10.1.0.0/16"),)),
        _variant(spectra, "Short", max_days=1.0),
    ]
    sources = {**site.sources, **{source.id: source for source in variants}}
    return Server(dataclasses.replace(settings, **changes),
                  Site(site.root, sources, site.directories))


@pytest.fixture()
def locked(security_settings: Any, server: Any) -> Any:
    return make_server(security_settings, server.site)


def get(server: Any, path: str, query: dict[str, str], headers: dict[str, str] | None = None,
        remote_addr: str = "127.0.0.1") -> Response:
    from dasflex_core.protocols import routes

    raw = urlencode(query)
    request = Request(path=path, query=parse_query(raw), raw_query=raw,
                      headers=headers or {}, remote_addr=remote_addr)
    response = routes.dispatch(server, request)
    if not isinstance(response.body, bytes):
        body = b"".join(response.body)
        if response.close is not None:
            response.close()
        response = dataclasses.replace(response, body=body)
    return response


def hapi_status(response: Response) -> int:
    return int(json.loads(response.body)["status"]["code"])


def catalog_ids(server: Any, headers: dict[str, str] | None = None,
                remote_addr: str = "127.0.0.1") -> set[str]:
    reply = get(server, "/hapi/catalog", {}, headers, remote_addr)
    assert reply.status == 200
    return {entry["id"] for entry in json.loads(reply.body)["catalog"]}


# -- HAPI with credentials ---------------------------------------------------


@pytest.mark.parametrize("endpoint", ["info", "data"])
def test_hapi_anonymous_gets_a_challenge_and_a_status_body(endpoint: str, locked: Any,
                                                           recorder: Recorder) -> None:
    extra = HAPI_TIMES if endpoint == "data" else {}
    reply = get(locked, f"/hapi/{endpoint}", {"dataset": "Examples/Locked", **extra})
    assert reply.status == 401
    assert CHALLENGE in reply.headers
    assert hapi_status(reply) == 1401
    assert not recorder.plans


@pytest.mark.parametrize(("headers", "status"), [(WRONG, 401), (OUTSIDER, 403)])
def test_hapi_wrong_credentials_are_refused(headers: dict[str, str], status: int,
                                            locked: Any, recorder: Recorder) -> None:
    reply = get(locked, "/hapi/data", {"dataset": "Examples/Locked", **HAPI_TIMES}, headers)
    assert reply.status == status
    assert (CHALLENGE in reply.headers) == (status == 401)
    assert hapi_status(reply) == 1401
    assert not recorder.plans


def test_hapi_member_gets_info_and_data(locked: Any, recorder: Recorder) -> None:
    info = get(locked, "/hapi/info", {"dataset": "Examples/Locked"}, MEMBER)
    assert info.status == 200 and hapi_status(info) == 1200
    before = len(recorder.plans)
    data = get(locked, "/hapi/data", {"dataset": "Examples/Locked", **HAPI_TIMES}, MEMBER)
    assert data.status == 200
    plan = recorder.last_since(before)
    assert plan is not None and "1979-03-02" in " ".join(map(str, plan.stages[0]))


def test_hapi_age_rule_admits_old_data_anonymously(locked: Any, recorder: Recorder) -> None:
    reply = get(locked, "/hapi/data", {"dataset": "Examples/Aged", **HAPI_TIMES})
    assert reply.status == 200
    assert recorder.plans


def test_hapi_catalog_lists_protected_sources_only_to_readers(locked: Any) -> None:
    anonymous = catalog_ids(locked)
    assert "Examples/Spectra" in anonymous and "Examples/Short" in anonymous
    assert not {"Examples/Locked", "Examples/Aged", "Examples/Lan"} & anonymous
    assert {"Examples/Locked", "Examples/Aged"} <= catalog_ids(locked, MEMBER)
    for headers in (OUTSIDER, WRONG):
        assert "Examples/Locked" not in catalog_ids(locked, headers)
    assert "Examples/Lan" in catalog_ids(locked, remote_addr="10.1.2.3")
    assert "Examples/Lan" not in catalog_ids(locked, MEMBER)


def test_hapi_landing_page_and_about_hide_protected_sources(locked: Any) -> None:
    page = get(locked, "/hapi", {})
    assert b"Examples/Spectra" in page.body and b"Examples/Locked" not in page.body
    about = json.loads(get(locked, "/hapi/about", {}).body)
    assert about.get("dataTest", {}).get("query", {}).get("dataset") not in (
        "Examples/Locked", "Examples/Aged", "Examples/Lan")


# -- IP rules and allow_from ---------------------------------------------------


@pytest.mark.parametrize(("address", "status"), [("10.1.200.7", 200), ("10.2.0.1", 401),
                                                 ("", 401), ("not-an-address", 401)])
def test_ip_rule_uses_the_client_address(address: str, status: int, locked: Any,
                                         recorder: Recorder) -> None:
    reply = get(locked, "/source/examples/lan/flex", FLEX_TIMES, remote_addr=address)
    assert reply.status == status
    assert bool(recorder.plans) == (status == 200)
    hapi = get(locked, "/hapi/data", {"dataset": "Examples/Lan", **HAPI_TIMES},
               remote_addr=address)
    assert hapi.status == status


def test_allow_from_admits_trusted_clients_everywhere(security_settings: Any, server: Any,
                                                      recorder: Recorder) -> None:
    trusted = make_server(security_settings, server.site, allow_from="192.0.2.0/24 ::1/128")
    legacy = {"server": "dataset", "dataset": "Examples/Locked",
              "start_time": "1979-03-01", "end_time": "1979-03-02"}
    assert get(trusted, "/", legacy, remote_addr="192.0.2.9").status == 200
    assert get(trusted, "/source/examples/locked/flex", FLEX_TIMES, remote_addr="::1").status == 200
    assert get(trusted, "/", legacy, remote_addr="198.51.100.1").status == 401
    assert "Examples/Locked" in catalog_ids(trusted, remote_addr="192.0.2.200")


def test_websocket_checks_ip_rules_through_the_core(locked: Any) -> None:
    from dasflex_ws.routing import build_request, prepare_stream

    path = "/dasws/examples/lan/flexRT?" + urlencode(FLEX_TIMES)
    assert prepare_stream(locked, build_request(path, {"Host": "localhost"}, "10.1.0.9")).plan
    with pytest.raises(UnauthorizedError):
        prepare_stream(locked, build_request(path, {"Host": "localhost"}, "10.9.0.9"))


def test_access_checks_read_the_range_the_planner_reads(locked: Any, recorder: Recorder) -> None:
    """A source's own das2 key for the end time is checked like ``end_time`` (one translator)."""
    from dasflex_core.protocols import Server

    short = locked.site.get("Examples/Short")
    renamed = dataclasses.replace(short, id="Examples/Renamed", conventions={
        "das2": Convention("das2", {"until": "read.time.max"})})
    site = Site(locked.site.root, {**locked.site.sources, renamed.id: renamed},
                locked.site.directories)
    server = Server(locked.settings, site)
    two_days = {"start_time": "1979-03-01", "until": "1979-03-03"}
    legacy = get(server, "/", {"server": "dataset", "dataset": "Examples/Renamed", **two_days})
    flex = get(server, "/source/examples/renamed/das2", two_days)
    assert (legacy.status, flex.status) == (413, 413)
    assert not recorder.plans
    one_day = {"start_time": "1979-03-01", "until": "1979-03-02"}
    assert get(server, "/source/examples/renamed/das2", one_day).status == 200


# -- request size limits -------------------------------------------------------


def _too_long_paths(source: str) -> list[tuple[str, dict[str, str]]]:
    days = {"read.time.min": "1979-03-01", "read.time.max": "1979-03-03"}
    return [
        ("/", {"server": "dataset", "dataset": f"Examples/{source}",
               "start_time": "1979-03-01", "end_time": "1979-03-03"}),
        (f"/source/examples/{source.lower()}/flex", days),
        (f"/source/examples/{source.lower()}/das2",
         {"start_time": "1979-03-01", "end_time": "1979-03-03"}),
    ]


@pytest.mark.parametrize("index", range(3))
def test_per_source_limit_gives_413_on_das_paths(index: int, locked: Any,
                                                 recorder: Recorder) -> None:
    path, query = _too_long_paths("Short")[index]
    reply = get(locked, path, query)
    assert reply.status == 413
    assert b"at most 1 days per request" in reply.body
    assert not recorder.plans
    shorter = {key: value.replace("03-03", "03-02") for key, value in query.items()}
    assert get(locked, path, shorter).status == 200


def test_per_source_limit_gives_hapi_1408(locked: Any, recorder: Recorder) -> None:
    query = {"dataset": "Examples/Short", "start": "1979-03-01T00:00Z",
             "stop": "1979-03-03T00:00Z"}
    reply = get(locked, "/hapi/data", query)
    assert reply.status == 413 and hapi_status(reply) == 1408
    assert "at most 1 days" in json.loads(reply.body)["status"]["message"]
    readers = [" ".join(map(str, plan.stages[0])) for plan in recorder.plans]
    assert not any("1979-03-03" in argv for argv in readers)  # only the /info probe ran


def test_server_limit_applies_unless_the_source_sets_its_own(security_settings: Any,
                                                             server: Any,
                                                             recorder: Recorder) -> None:
    limited = make_server(security_settings, server.site, max_request_days=0.5)
    half_day = {"read.time.min": "1979-03-01", "read.time.max": "1979-03-01T12:00"}
    assert get(limited, "/source/examples/spectra/flex", half_day).status == 200
    assert get(limited, "/source/examples/spectra/flex", FLEX_TIMES).status == 413
    assert get(limited, "/source/examples/short/flex", FLEX_TIMES).status == 200


def test_websocket_checks_the_limit_through_the_core(security_settings: Any,
                                                     server: Any) -> None:
    from dasflex_ws.routing import build_request, prepare_stream

    limited = make_server(security_settings, server.site, max_request_days=0.5)
    path = "/dasws/examples/spectra/flexRT?" + urlencode(FLEX_TIMES)
    with pytest.raises(TooLargeError):
        prepare_stream(limited, build_request(path, {"Host": "localhost"}, "127.0.0.1"))


def test_auth_comes_before_the_size_check(security_settings: Any, server: Any,
                                          recorder: Recorder) -> None:
    limited = make_server(security_settings, server.site, max_request_days=0.5)
    assert get(limited, "/source/examples/locked/flex", FLEX_TIMES).status == 401
    assert get(limited, "/source/examples/locked/flex", FLEX_TIMES, MEMBER).status == 413
