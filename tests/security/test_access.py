"""Protected data (Examples/Auth, GROUP:testgroup) is never served without credentials.

Every path is tried anonymously, with a wrong password, as a user outside the
group and as a member: 401 with exactly ``WWW-Authenticate: Basic
realm="..."``, 401, 403, then data.  A refused request never reaches the runner.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from dasflex_core.errors import ForbiddenError, UnauthorizedError
from tests.support.http import basic_header
from tests.support.recorder import REALM, Recorder
from tests.support.wsgi import cgi_get

TIMES = {"read.time.min": "2020-01-01", "read.time.max": "2020-01-02"}
LEGACY = {"server": "dataset", "dataset": "Examples/Auth", "start_time": "2020-01-01",
          "end_time": "2020-01-02"}
HTTP_PATHS = (
    "/server?" + urlencode(LEGACY),
    "/?" + urlencode(LEGACY),
    "/source/examples/auth/flex?" + urlencode(TIMES),
    "/source/examples/auth/das2?" + urlencode({"start_time": "2020-01-01", "end_time": "2020-01-02"}),
    "/source/examples/auth/flex?" + urlencode({**TIMES, "format.type": "csv"}),
    "/source/Examples/Auth/flex?" + urlencode(TIMES),
)
IDENTITIES = {
    "anonymous": ({}, 401),
    "wrong password": ({"Authorization": basic_header("ann", "wrong")}, 401),
    "unknown user": ({"Authorization": basic_header("eve", "ann-password")}, 401),
    "garbled header": ({"Authorization": "Basic !!!"}, 401),
    "other scheme": ({"Authorization": "Bearer ann-password"}, 401),
    "outside the group": ({"Authorization": basic_header("bob", "bob-password")}, 403),
    "member": ({"Authorization": basic_header("ann", "ann-password")}, 200),
}
CHALLENGE = ("WWW-Authenticate", f'Basic realm="{REALM}"')


def check(status: int, headers: list[tuple[str, str]], expected: int, ran: bool) -> None:
    assert status == expected
    assert ran == (expected == 200)
    if expected == 401:
        assert CHALLENGE in headers  # exactly this name and case
    else:
        assert not any(name.lower() == "www-authenticate" for name, _ in headers)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("path", HTTP_PATHS)
def test_flask_paths(path: str, identity: str, flask_app: Any, recorder: Recorder) -> None:
    headers, expected = IDENTITIES[identity]
    with flask_app.test_client() as client:
        reply = client.get(path, headers=headers)
    check(reply.status_code, list(reply.headers.items()), expected, bool(recorder.plans))


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("path", HTTP_PATHS[:3])
def test_cgi_paths(path: str, identity: str, wsgi_app: Any, recorder: Recorder) -> None:
    headers, expected = IDENTITIES[identity]
    route, _, query = path.partition("?")
    status, reply_headers, _ = cgi_get(wsgi_app, route, query, headers)
    check(int(status[:3]), reply_headers, expected, bool(recorder.plans))


@pytest.mark.parametrize("identity", IDENTITIES)
def test_websocket(identity: str, server: Any) -> None:
    from dasflex_ws.routing import build_request, prepare_stream, rejection

    headers, expected = IDENTITIES[identity]
    request = build_request("/dasws/examples/auth/flexRT?" + urlencode(TIMES),
                            {"Host": "localhost", **headers}, "127.0.0.1")
    if expected == 200:
        assert prepare_stream(server, request).plan.stages
        return
    error_type = UnauthorizedError if expected == 401 else ForbiddenError
    with pytest.raises(error_type) as caught:
        prepare_stream(server, request)
    status, reply_headers, _ = rejection(caught.value)
    check(status, reply_headers, expected, False)


@pytest.mark.parametrize("identity", ("anonymous", "member"))
def test_hapi_never_serves_it(identity: str, flask_app: Any, recorder: Recorder) -> None:
    """Examples/Auth is not flagged ``hapi``; protected HAPI datasets: test_access_wiring.py."""
    headers = IDENTITIES[identity][0]
    with flask_app.test_client() as client:
        catalog = client.get("/hapi/catalog", headers=headers).get_json()
        assert "Examples/Auth" not in {entry["id"] for entry in catalog["catalog"]}
        times = {"start": "2020-01-01T00:00Z", "stop": "2020-01-02T00:00Z"}
        for endpoint, extra in (("info", {}), ("data", times)):
            query = urlencode({"dataset": "Examples/Auth", **extra})
            reply = client.get(f"/hapi/{endpoint}?{query}", headers=headers)
            assert reply.status_code in (401, 403, 404)
            assert reply.get_json()["status"]["code"] in (1401, 1406)
    assert not recorder.plans


def test_form_says_it_is_protected_and_serves_no_data(flask_app: Any, recorder: Recorder) -> None:
    with flask_app.test_client() as client:
        page = client.get("/source/examples/auth.html")
    assert page.status_code == 200 and b"needs a user name and password" in page.data
    assert not recorder.plans


def test_a_bad_rule_cannot_be_bypassed_by_case_or_encoding(flask_app: Any,
                                                          recorder: Recorder) -> None:
    tricks = [basic_header("ANN", "ann-password"), basic_header("ann ", "ann-password"),
              basic_header("ann", "ann-password ").replace("Basic", "basic  "),
              "Basic " + basic_header("ann", "ann-password").split()[1] + "=="]
    with flask_app.test_client() as client:
        for value in tricks:
            assert client.get(HTTP_PATHS[2], headers={"Authorization": value}).status_code == 401
    assert not recorder.plans
