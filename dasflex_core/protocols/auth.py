"""HTTP Basic authorization of protected sources: a thin caller of :mod:`dasflex_core.auth`.

The rules, hashes and account files live in the core so that every
front-end shares one implementation; this module adapts a
:class:`~dasflex_core.http.Request` to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dasflex_core import auth as core
from dasflex_core.auth import age_seconds, check_password, group_members
from dasflex_core.http import Request

__all__ = ["ITERATIONS", "age_seconds", "authorize", "basic_credentials", "check_password",
           "hash_password", "read_table"]

#: PBKDF2 rounds used by :func:`hash_password`.
ITERATIONS = core.PBKDF2_ROUNDS


def hash_password(password: str, *, salt: str | None = None,
                  iterations: int = ITERATIONS) -> str:
    """A ``pbkdf2_sha256$ROUNDS$SALT$HASH`` users-file entry."""
    return core.hash_password(password, scheme="pbkdf2_sha256", salt=salt, rounds=iterations)


def read_table(path: Path | None) -> dict[str, str]:
    """``name: value`` lines of a users or groups file (``#`` comments)."""
    return core.read_table(path)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header, if any."""
    return core.parse_basic(request.header("authorization"))


def authorize(source: Any, request: Request, *, end_time: str | None,
              users: Mapping[str, str], groups: Mapping[str, Any],
              allow_from: Iterable[str] = ()) -> None:
    """Return when ``request`` may read ``source``; raise 401 or 403 otherwise."""
    members = {name: value if isinstance(value, frozenset) else group_members(str(value))
               for name, value in groups.items()}
    core.authorize(source, authorization=request.header("authorization"),
                   remote_addr=request.remote_addr, end_time=end_time,
                   accounts=core.Accounts(users, members), allow_from=allow_from)
