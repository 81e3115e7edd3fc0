"""Accounts, password hashes and per-source access rules: the one implementation.

Every front-end (legacy das2, das3, HAPI, HTML, CGI, WebSocket) calls
:func:`authorize` before it plans a pipeline, and :func:`may_list` before it
lists a protected source in an anonymous catalog.

Users file: one ``name:HASH`` line each, ``#`` comments.  HASH is one of

* ``scrypt$N$R$P$SALT$DIGEST`` (the default, :func:`hashlib.scrypt`),
* ``pbkdf2_sha256$ROUNDS$SALT$DIGEST`` (:func:`hashlib.pbkdf2_hmac`),
* a 13-character DES ``crypt`` hash written by the predecessor's
  ``dasflex_passwd``: checked with the standard library's ``crypt`` module
  while it exists (Python <= 3.12), refused otherwise.

DIGEST is base64.  Groups file: ``group: user1, user2`` or the predecessor's
``group:x:GID:user1,user2``.  No account ships with dasflex.

Access rules (``readAccess``) grant access when any one matches:
``AGE:1y6m`` (the requested data end at least that long ago), ``USER:name``,
``GROUP:name`` and ``IP:10.0.0.0/8`` (the client address lies in the range).
Without valid credentials the reply is 401 in the source's realm; with valid
credentials that no rule admits, 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dasflex_core.dastime import SECONDS_1970_TO_2000, parse_us2000
from dasflex_core.dastime.core import SECONDS_PER_DAY
from dasflex_core.errors import (
    DasFlexError,
    DefinitionError,
    ForbiddenError,
    TooLargeError,
    UnauthorizedError,
)

#: The hash scheme :func:`hash_password` uses unless told otherwise.
DEFAULT_SCHEME = "scrypt"

#: scrypt cost (N, r, p): 16 MiB of memory, about 50 ms a check.
SCRYPT_COST = (2**14, 8, 1)

#: PBKDF2-HMAC-SHA256 rounds for new pbkdf2 hashes.
PBKDF2_ROUNDS = 200_000

#: Valid user and group names (no ``:``, ``,``, spaces or control characters).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}")

#: Seconds per unit of an AGE access rule (``1y6m``): mean Gregorian year and month.
_AGE_UNITS = {"y": 365.25 * SECONDS_PER_DAY, "m": 30.4375 * SECONDS_PER_DAY,
              "d": float(SECONDS_PER_DAY), "h": SECONDS_PER_DAY / 24}
_DES_HASH = re.compile(r"[./0-9A-Za-z]{13}")
_MAX_SCRYPT_N = 2**20
_MAX_PBKDF2_ROUNDS = 10_000_000


class AccountError(DasFlexError):
    """A passwd or group file, or a change to one, is invalid."""


# --------------------------------------------------------------------------- hashes


def hash_password(password: str, *, scheme: str = DEFAULT_SCHEME,
                  salt: str | None = None, rounds: int | None = None) -> str:
    """A users-file hash of ``password`` (``scrypt`` or ``pbkdf2_sha256``)."""
    salt = salt or secrets.token_hex(16)
    if scheme == "scrypt":
        n, r, p = SCRYPT_COST if rounds is None else (rounds, 8, 1)
        digest = _scrypt(password, salt, n, r, p)
        return f"scrypt${n}${r}${p}${salt}${_b64(digest)}"
    if scheme == "pbkdf2_sha256":
        count = rounds or PBKDF2_ROUNDS
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), count)
        return f"pbkdf2_sha256${count}${salt}${_b64(digest)}"
    raise AccountError(f"unknown hash scheme '{scheme}' (use scrypt or pbkdf2_sha256)")


def check_password(password: str, entry: str) -> bool:
    """True when ``password`` matches the users-file hash ``entry``."""
    method = entry.partition("$")[0]
    try:
        if method == "scrypt":
            return _check_scrypt(password, entry)
        if method == "pbkdf2_sha256":
            return _check_pbkdf2(password, entry)
    except (ValueError, MemoryError):
        return False
    if _DES_HASH.fullmatch(entry):
        return _check_des_crypt(password, entry)
    return False


def hash_scheme(entry: str) -> str:
    """``scrypt``, ``pbkdf2_sha256``, ``des-crypt`` or ``unknown``."""
    method = entry.partition("$")[0]
    if method in ("scrypt", "pbkdf2_sha256"):
        return method
    return "des-crypt" if _DES_HASH.fullmatch(entry) else "unknown"


def legacy_crypt_available() -> bool:
    """True when DES ``crypt`` hashes of the predecessor can still be checked."""
    return _crypt_function() is not None


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=32)


def _check_scrypt(password: str, entry: str) -> bool:
    _, n_text, r_text, p_text, salt, expected = entry.split("$")
    n, r, p = int(n_text), int(r_text), int(p_text)
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    return hmac.compare_digest(_b64(_scrypt(password, salt, n, r, p)), expected)


def _check_pbkdf2(password: str, entry: str) -> bool:
    _, rounds_text, salt, expected = entry.split("$")
    rounds = int(rounds_text)
    if not 1 <= rounds <= _MAX_PBKDF2_ROUNDS:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return hmac.compare_digest(_b64(digest), expected)


def _crypt_function() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # removed in Python 3.13
        except ImportError:
            return None
    return crypt.crypt


def _check_des_crypt(password: str, entry: str) -> bool:
    crypt = _crypt_function()
    if crypt is None:
        return False
    try:
        computed = crypt(password, entry[:2])
    except (OSError, ValueError):
        return False
    return isinstance(computed, str) and hmac.compare_digest(computed, entry)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Accounts:
    """Users (name -> hash) and groups (name -> member names)."""

    users: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def verify(self, user: str, password: str) -> bool:
        """True when ``user`` exists and ``password`` matches its hash."""
        entry = self.users.get(user)
        if entry is None:
            _scrypt(password, "no-such-user", *SCRYPT_COST)  # same cost: no user enumeration
            return False
        return check_password(password, entry)

    def in_group(self, user: str, group: str) -> bool:
        """True when ``user`` is a member of ``group``."""
        return user in self.groups.get(group, frozenset())


def read_users(path: Path | None) -> dict[str, str]:
    """The ``name:HASH`` lines of a users file (empty when ``path`` is None)."""
    return {name: value for name, value in _table(path)} if path is not None else {}


def read_groups(path: Path | None) -> dict[str, frozenset[str]]:
    """The groups of a groups file, in either the dasflex or the Unix layout."""
    if path is None:
        return {}
    return {name: group_members(value) for name, value in _table(path)}


def load_accounts(users_file: Path | None, groups_file: Path | None) -> Accounts:
    """Read both account files into :class:`Accounts`."""
    return Accounts(read_users(users_file), read_groups(groups_file))


def group_members(value: str) -> frozenset[str]:
    """Members from ``user1, user2`` or the Unix ``x:GID:user1,user2`` layout."""
    if value.count(":") >= 2:
        value = value.rsplit(":", 1)[1]
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def read_table(path: Path | None) -> dict[str, str]:
    """``name: value`` lines of a users or groups file, values unparsed."""
    return dict(_table(path)) if path is not None else {}


def _table(path: Path) -> list[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(str(path), None, f"cannot read account file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DefinitionError(str(path), None, "account file is not UTF-8") from None
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, _, value = line.partition(":")
            rows.append((name.strip(), value.strip()))
    return rows


def write_users(path: Path, users: Mapping[str, str]) -> None:
    """Write a users file atomically, readable by its owner only."""
    lines = [f"{name}:{entry}" for name, entry in sorted(users.items())]
    _write_private(path, "# dasflex users: name:HASH (edit with 'dasflex passwd')\n", lines)


def write_groups(path: Path, groups: Mapping[str, Iterable[str]]) -> None:
    """Write a groups file atomically (``group: user1, user2`` lines)."""
    lines = [f"{name}: {', '.join(sorted(members))}" for name, members in sorted(groups.items())]
    _write_private(path, "# dasflex groups: group: user1, user2\n", lines)


def check_name(name: str, kind: str = "user") -> str:
    """``name`` when it is a valid user or group name; :class:`AccountError` otherwise."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(f"bad {kind} name {name!r} (letters, digits and _.@+- only, "
                           "at most 64 characters)")
    return name


def _write_private(path: Path, heading: str, lines: list[str]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(heading + "".join(f"{line}\n" for line in lines))
    os.replace(temporary, path)


# --------------------------------------------------------------------------- rules


def parse_basic(header: str) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header value, if any."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep and user else None


def age_seconds(text: str) -> float:
    """``1y6m`` -> seconds (years, months, days and hours)."""
    return sum(int(count) * _AGE_UNITS[unit] for count, unit in re.findall(r"(\d+)([ymdh])", text))


def ended_before(end_time: str | None, age: str, now: float | None = None) -> bool:
    """True when ``end_time`` lies at least ``age`` before ``now`` (Unix seconds)."""
    if not end_time:
        return False
    try:
        end_us2000 = parse_us2000(end_time)
    except (DasFlexError, ValueError, OverflowError):
        return False
    now_us2000 = ((time.time() if now is None else now) - SECONDS_1970_TO_2000) * 1e6
    return end_us2000 <= now_us2000 - age_seconds(age) * 1e6


def address_in(address: str, ranges: Iterable[str]) -> bool:
    """True when ``address`` lies in any CIDR range (bad ranges never match)."""
    try:
        client = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    for text in ranges:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if client.version == network.version and client in network:
            return True
    return False


def authorize(source: Any, *, authorization: str = "", remote_addr: str = "",
              end_time: str | None = None, accounts: Accounts | None = None,
              allow_from: Iterable[str] = ()) -> str | None:
    """Return (the verified user, if any) when the request may read ``source``.

    Raises :class:`UnauthorizedError` (401, with the source's realm) when no
    rule admits an anonymous request and the credentials are missing or
    wrong, :class:`ForbiddenError` (403) when the user is known but no rule
    admits it.  ``allow_from`` lists server-wide trusted CIDR ranges.
    """
    access = getattr(source, "access", None)
    if access is None or not access.rules:
        return None
    if _admits_anonymous(access.rules, end_time, remote_addr, allow_from):
        return None
    accounts = accounts or Accounts()
    credentials = parse_basic(authorization)
    if credentials is None or not accounts.verify(*credentials):
        raise UnauthorizedError(f"data source '{source.id}' needs a user name and password",
                                access.realm or source.id)
    user = credentials[0]
    if admits_user(source, user, accounts):
        return user
    raise ForbiddenError(f"user '{user}' may not read data source '{source.id}'")


def admits_user(source: Any, user: str, accounts: Accounts) -> bool:
    """True when a ``USER`` or ``GROUP`` rule of ``source`` names the verified ``user``."""
    access = getattr(source, "access", None)
    if access is None:
        return False
    for rule in access.rules:
        if rule.method == "USER" and rule.value == user:
            return True
        if rule.method == "GROUP" and accounts.in_group(user, rule.value):
            return True
    return False


def check_span(source_id: str, begin: str | None, end: str | None, max_days: float) -> None:
    """Raise :class:`TooLargeError` when ``begin``..``end`` spans more than ``max_days``.

    ``max_days`` of 0 means no limit; unparsable times are left to the planner.
    """
    if max_days <= 0 or not begin or not end:
        return
    try:
        days = (parse_us2000(end) - parse_us2000(begin)) / 86_400e6
    except (DasFlexError, ValueError, OverflowError):
        return
    if days > max_days:
        raise TooLargeError(f"{days:.4g} days requested from data source '{source_id}'; "
                            f"at most {max_days:g} days per request")


def may_list(source: Any, *, remote_addr: str = "", allow_from: Iterable[str] = ()) -> bool:
    """True when an anonymous catalog may list ``source`` (public or IP-admitted)."""
    access = getattr(source, "access", None)
    if access is None or not access.rules:
        return True
    return _admits_anonymous(access.rules, None, remote_addr, allow_from)


def _admits_anonymous(rules: Iterable[Any], end_time: str | None, remote_addr: str,
                      allow_from: Iterable[str]) -> bool:
    if remote_addr and address_in(remote_addr, allow_from):
        return True
    for rule in rules:
        if rule.method == "AGE" and ended_before(end_time, rule.value):
            return True
        if rule.method == "IP" and remote_addr and address_in(remote_addr, rule.value.split(",")):
            return True
    return False
