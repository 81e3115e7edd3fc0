"""HTTP Basic authorization of protected sources (DSDF ``readAccess``).

Any rule grants access (OR): ``AGE:1y6m`` when the requested data end more
than that long ago, ``USER:name`` for that user, ``GROUP:name`` for its
members.  Users live in the ``users_file`` setting, one
``name:pbkdf2_sha256$ITERATIONS$SALT$HASH`` line each (HASH is the base64
PBKDF2-HMAC-SHA256 digest; :func:`hash_password` makes one); groups in the
``groups_file`` setting, one ``group: user1, user2`` line each.  Without
valid credentials the reply is 401 with the source's realm; with valid
credentials that no rule admits, 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any

from dasflex_core.errors import ForbiddenError, UnauthorizedError
from dasflex_core.http import Request

#: PBKDF2 iterations used by :func:`hash_password`.
ITERATIONS = 200_000

_AGE_UNITS = {"y": 365.25 * 86400, "m": 30.4375 * 86400, "d": 86400.0, "h": 3600.0}


def hash_password(password: str, *, salt: str | None = None,
                  iterations: int = ITERATIONS) -> str:
    """A ``pbkdf2_sha256$ITERATIONS$SALT$HASH`` entry for the users file."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def check_password(password: str, entry: str) -> bool:
    """True when ``password`` matches a users-file hash entry."""
    try:
        method, iterations, salt, expected = entry.split("$")
        rounds = int(iterations)
    except ValueError:
        return False
    if method != "pbkdf2_sha256" or not 1 <= rounds <= 10_000_000:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


def read_table(path: Path | None) -> dict[str, str]:
    """``name: value`` lines of a users or groups file (``#`` comments)."""
    if path is None:
        return {}
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, _, value = line.partition(":")
            table[name.strip()] = value.strip()
    return table


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header, if any."""
    scheme, _, token = request.header("authorization").partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


def age_seconds(text: str) -> float:
    """``1y6m`` -> seconds (years, months, days and hours)."""
    return sum(int(count) * _AGE_UNITS[unit] for count, unit in re.findall(r"(\d+)([ymdh])", text))


def authorize(source: Any, request: Request, *, end_time: str | None,
              users: dict[str, str], groups: dict[str, str]) -> None:
    """Return when ``request`` may read ``source``; raise 401 or 403 otherwise."""
    access = source.access
    if access is None or not access.rules:
        return
    rules = access.rules
    if end_time and any(r.method == "AGE" and _older_than(end_time, r.value) for r in rules):
        return
    realm = access.realm or source.id
    credentials = basic_credentials(request)
    user = _verified_user(credentials, users)
    if user is None:
        raise UnauthorizedError(f"data source '{source.id}' needs a user name and password", realm)
    for rule in rules:
        if rule.method == "USER" and rule.value == user:
            return
        if rule.method == "GROUP" and user in _members(groups.get(rule.value, "")):
            return
    raise ForbiddenError(f"user '{user}' may not read data source '{source.id}'")


def _verified_user(credentials: tuple[str, str] | None, users: dict[str, str]) -> str | None:
    if credentials is None:
        return None
    user, password = credentials
    entry = users.get(user)
    return user if entry is not None and check_password(password, entry) else None


def _members(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def _older_than(end_time: str, age: str) -> bool:
    from dasflex_core.protocols.times import to_hapi_time

    end, now = to_hapi_time(end_time), to_hapi_time("now")
    if end is None or now is None:
        return False
    return end.ns2000 <= now.ns2000 - age_seconds(age) * 1e9
