"""Hostile values in every parameter of every example source, on every front-end.

A value is either refused with a 4xx error or reaches the pipeline inside one
argv element: the programs and the argv shape of every stage stay those a
benign value (or no value) gives.  Nothing answers 5xx, shows a traceback or
puts CR/LF into a response header.  The runner is replaced by a recorder, so
no reader runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.support.http import basic_header
from tests.support.payloads import PAYLOADS
from tests.support.recorder import Recorder
from tests.support.wsgi import cgi_get

EXAMPLE_SOURCES = ("Examples/Auth", "Examples/Daily", "Examples/Das3Native", "Examples/Params",
                   "Examples/Random", "Examples/Realtime", "Examples/Spectra", "Examples/Waveform")
FRONTS = ("legacy", "das3", "cgi", "ws")
CREDENTIALS = {"Authorization": basic_header("ann", "ann-password")}
LEGACY_KEYS = ("start_time", "end_time", "resolution", "params", "interval")
ALIAS_SOURCE = "Examples/Spectra"
LEGACY_BENIGN = {"resolution": "1.5", "params": "abc", "interval": "60"}
HAPI_KEYS = ("dataset", "start", "stop", "parameters", "format", "include", "time.min")

Reply = tuple[int, list[tuple[str, str]], bytes, Any]


def benign(param: Any) -> str:
    kind = str(getattr(param.type, "value", param.type)).lower()
    return {"real": "1.5", "integer": "16", "flagset": ""}.get(kind, "abc")


def base_query(source: Any, front: str) -> dict[str, str]:
    example = dict(source.examples[0].settings)
    times = {"read.time.min": example["read.time.min"], "read.time.max": example["read.time.max"]}
    if front in ("legacy", "cgi"):
        return {"start_time": times["read.time.min"], "end_time": times["read.time.max"]}
    return times


def shape(plan: Any) -> tuple[tuple[str, int], ...]:
    return tuple((stage[0] if not stage[0].endswith("python") else stage[1], len(stage))
                 for stage in plan.stages)


def send(front: str, clients: dict[str, Any], recorder: Recorder, source_id: str,
         query: dict[str, str]) -> Reply:
    """Status, headers, body and the recorded plan (or None) of one request."""
    before = len(recorder.plans)
    if front == "ws":
        return _send_ws(clients["server"], source_id, query)
    if front == "cgi":
        text = urlencode({"server": "dataset", "dataset": source_id, **query})
        status, headers, body = cgi_get(clients["wsgi"], "/server", text, CREDENTIALS)
        return int(status[:3]), headers, body, recorder.last_since(before)
    path = ("/server?" + urlencode({"server": "dataset", "dataset": source_id, **query})
            if front == "legacy" else
            f"/source/{source_id.lower()}/flex?" + urlencode(query))
    reply = clients["flask"].get(path, headers=CREDENTIALS)
    return reply.status_code, list(reply.headers.items()), reply.data, recorder.last_since(before)


def _send_ws(server: Any, source_id: str, query: dict[str, str]) -> Reply:
    from dasflex_core.errors import DasFlexError
    from dasflex_ws.routing import build_request, prepare_stream

    path = f"/dasws/{quote(source_id.lower())}/flexRT?" + urlencode(query)
    headers = {"Host": "localhost", **CREDENTIALS}
    try:
        setup = prepare_stream(server, build_request(path, headers, "127.0.0.1"))
    except DasFlexError as error:
        return error.status, [], error.message.encode(), None
    return 200, [], b"", setup.plan


def problems(reply: Reply, allowed: set[Any], where: str) -> list[str]:
    status, headers, body, plan = reply
    found = []
    if status >= 500:
        found.append(f"{where}: status {status}")
    if b"Traceback" in body:
        found.append(f"{where}: traceback in body")
    if any("\r" in f"{name}{value}" or "\n" in f"{name}{value}" for name, value in headers):
        found.append(f"{where}: CR/LF in a header")
    if plan is not None and shape(plan) not in allowed:
        found.append(f"{where}: argv shape {shape(plan)} not in {allowed}")
    return found


@pytest.fixture()
def clients(flask_app: Any, wsgi_app: Any, server: Any) -> Iterator[dict[str, Any]]:
    with flask_app.test_client() as flask_client:
        yield {"flask": flask_client, "wsgi": wsgi_app, "server": server}


def test_example_sources_are_all_covered(server: Any) -> None:
    assert tuple(sorted(source.id for source in server.site)) == EXAMPLE_SOURCES
    assert len(PAYLOADS) >= 200


def _keys(front: str, source: Any) -> list[str]:
    """The source's parameters; das2 aliases too on one source (they map to the same keys)."""
    keys = [param.key for param in source.params]
    if front in ("legacy", "cgi") and source.id == ALIAS_SOURCE:
        keys += LEGACY_KEYS
    return keys


def _baselines(send_one: Callable[[dict[str, str]], Reply], query: dict[str, str],
               key: str, value: str) -> set[Any]:
    shapes = set()
    for variant in ({**query, key: value}, {k: v for k, v in query.items() if k != key}):
        plan = send_one(variant)[3]
        if plan is not None:
            shapes.add(shape(plan))
    return shapes


@pytest.mark.parametrize("front", FRONTS)
@pytest.mark.parametrize("source_id", EXAMPLE_SOURCES)
def test_payloads_in_every_parameter(front: str, source_id: str, clients: dict[str, Any],
                                     recorder: Recorder) -> None:
    source = clients["server"].source(source_id)
    query = base_query(source, front)

    def send_one(values: dict[str, str]) -> Reply:
        return send(front, clients, recorder, source_id, values)

    assert send_one(query)[3] is not None, "the benign request must reach the planner"
    found: list[str] = []
    for key in _keys(front, source):
        param = source.param(key)
        value = query.get(key) or (benign(param) if param else LEGACY_BENIGN[key])
        allowed = _baselines(send_one, query, key, value)
        assert allowed, f"{front} {source_id} {key}: no benign plan"
        for payload in PAYLOADS:
            where = f"{front} {source_id} {key}={payload[:30]!r}"
            found += problems(send_one({**query, key: payload}), allowed, where)
    assert not found, "\n".join(found[:20])


def test_payloads_in_every_hapi_parameter(clients: dict[str, Any], recorder: Recorder) -> None:
    query = {"dataset": "Examples/Spectra", "start": "1979-03-01T12:26:11Z",
             "stop": "1979-03-01T12:29:24Z"}
    flask_client = clients["flask"]

    def send_one(values: dict[str, str]) -> Reply:
        before = len(recorder.plans)
        reply = flask_client.get("/hapi/data?" + urlencode(values))
        return reply.status_code, list(reply.headers.items()), reply.data, recorder.last_since(before)

    baseline = send_one(query)
    assert baseline[0] < 500 and baseline[3] is not None, baseline[2]
    found: list[str] = []
    for key in HAPI_KEYS:
        allowed = {shape(baseline[3])}
        for payload in PAYLOADS:
            found += problems(send_one({**query, key: payload}), allowed, f"hapi {key}={payload[:30]!r}")
    assert not found, "\n".join(found[:20])


@pytest.mark.parametrize("front", FRONTS)
def test_hostile_keys_never_reach_argv(front: str, clients: dict[str, Any],
                                       recorder: Recorder) -> None:
    source = clients["server"].source("Examples/Spectra")
    query = base_query(source, front)
    allowed = {shape(send(front, clients, recorder, source.id, query)[3])}
    found: list[str] = []
    for payload in PAYLOADS[:60]:
        reply = send(front, clients, recorder, source.id, {**query, payload or "k": "1"})
        found += problems(reply, allowed, f"{front} key {payload[:30]!r}")
        plan = reply[3]
        if plan is not None and payload:
            assert all(payload not in arg for stage in plan.stages for arg in stage), payload
    assert not found, "\n".join(found[:20])
