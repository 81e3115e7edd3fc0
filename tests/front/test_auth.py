"""Basic authorization rules: AGE, USER and GROUP, password hashes."""

from __future__ import annotations

import pytest

from dasflex_core.errors import ForbiddenError, UnauthorizedError
from dasflex_core.http import Request
from dasflex_core.model import Access, AccessRule, SourceDef
from dasflex_core.protocols.auth import (
    age_seconds,
    authorize,
    basic_credentials,
    check_password,
    hash_password,
)
from tests.front.conftest import basic

USERS = {"ann": hash_password("pw", iterations=1000), "bob": hash_password("pw2", iterations=1000)}
GROUPS = {"team": "carol, bob"}


def source(*rules: AccessRule) -> SourceDef:
    return SourceDef("X/Y", "t", "/x", access=Access(tuple(rules), "Realm"))


def request_as(user: str, password: str) -> Request:
    return Request(headers={key.lower(): value for key, value in basic(user, password).items()})


def test_hashes_round_trip_and_reject_garbage() -> None:
    entry = hash_password("secret", iterations=1000)
    assert check_password("secret", entry)
    assert not check_password("Secret", entry)
    assert not check_password("secret", "plain-text")
    assert not check_password("secret", "md5$1$a$b")


def test_basic_header_parsing() -> None:
    assert basic_credentials(request_as("ann", "a:b")) == ("ann", "a:b")
    assert basic_credentials(Request(headers={"authorization": "Bearer x"})) is None
    assert basic_credentials(Request(headers={"authorization": "Basic %%%"})) is None


def test_user_and_group_rules() -> None:
    protected = source(AccessRule("USER", "ann"), AccessRule("GROUP", "team"))
    authorize(protected, request_as("ann", "pw"), end_time=None, users=USERS, groups=GROUPS)
    authorize(protected, request_as("bob", "pw2"), end_time=None, users=USERS, groups=GROUPS)
    with pytest.raises(UnauthorizedError) as caught:
        authorize(protected, Request(), end_time=None, users=USERS, groups=GROUPS)
    assert caught.value.realm == "Realm"
    only_ann = source(AccessRule("USER", "ann"))
    with pytest.raises(ForbiddenError):
        authorize(only_ann, request_as("bob", "pw2"), end_time=None, users=USERS, groups={})


def test_age_rule() -> None:
    aged = source(AccessRule("AGE", "1y6m"))
    authorize(aged, Request(), end_time="2001-01-01", users={}, groups={})
    with pytest.raises(UnauthorizedError):
        authorize(aged, Request(), end_time="now", users={}, groups={})
    assert age_seconds("1y6m") == pytest.approx(1.5 * 365.25 * 86400)
