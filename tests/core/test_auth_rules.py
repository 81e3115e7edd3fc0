"""Basic authorization rules: AGE, USER and GROUP, password hashes (:mod:`dasflex_core.auth`)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from dasflex_core.auth import (
    Accounts,
    age_seconds,
    check_password,
    group_members,
    hash_password,
    parse_basic,
)
from dasflex_core.auth import authorize as authorize_source
from dasflex_core.errors import ForbiddenError, UnauthorizedError
from dasflex_core.http import Request
from dasflex_core.model import Access, AccessRule, SourceDef
from tests.support.http import basic


def pbkdf2(password: str) -> str:
    """A cheap users-file hash (1000 PBKDF2 rounds) for tests."""
    return hash_password(password, scheme="pbkdf2_sha256", rounds=1000)


USERS = {"ann": pbkdf2("pw"), "bob": pbkdf2("pw2")}
GROUPS = {"team": "carol, bob"}


def authorize(source: SourceDef, request: Request, *, end_time: str | None,
              users: Mapping[str, str], groups: Mapping[str, str]) -> str | None:
    """The core check, called the way the protocols call it: from a request's header."""
    accounts = Accounts(users, {name: group_members(value) for name, value in groups.items()})
    return authorize_source(source, authorization=request.header("authorization"),
                            remote_addr=request.remote_addr, end_time=end_time,
                            accounts=accounts)


def source(*rules: AccessRule) -> SourceDef:
    return SourceDef("X/Y", "t", "/x", access=Access(tuple(rules), "Realm"))


def request_as(user: str, password: str) -> Request:
    return Request(headers={key.lower(): value for key, value in basic(user, password).items()})


def test_hashes_round_trip_and_reject_garbage() -> None:
    entry = pbkdf2("secret")
    assert check_password("secret", entry)
    assert not check_password("Secret", entry)
    assert not check_password("secret", "plain-text")
    assert not check_password("secret", "md5$1$a$b")


def test_basic_header_parsing() -> None:
    assert parse_basic(request_as("ann", "a:b").header("authorization")) == ("ann", "a:b")
    assert parse_basic("Bearer x") is None
    assert parse_basic("Basic %%%") is None


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
