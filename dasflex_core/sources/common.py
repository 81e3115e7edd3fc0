"""Pieces both definition formats share: the standard time parameters (as
``commands/builtin.json`` declares them) and parsers for the small text forms (contacts, ranges, access rules, cache
levels) that DSDF and JSON definitions both use.

Parsers raise ``ValueError`` with a short reason; the callers turn it into a
:class:`~dasflex_core.errors.DefinitionError` naming file and line or key.
:func:`read_definition_text` reads either kind of file.
"""

from __future__ import annotations

import ipaddress
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from dasflex_core import keys
from dasflex_core.commands import builtin_param
from dasflex_core.errors import DefinitionError
from dasflex_core.model import (
    Access,
    AccessRule,
    CacheLevel,
    Contact,
    Example,
    Param,
    SubSource,
    Variable,
)
from dasflex_core.units import seconds_per_unit

#: Examples get a resolution of their span divided by this (as dasFlex did).
EXAMPLE_RESOLUTION_DIVISOR = 2000

#: Cache block periods (DSDF ``cacheLevel_NN``).
CACHE_PERIODS = ("yearly", "monthly", "daily", "hourly", "perminute", "persecond")

#: In a duration (``cacheLevel_NN = 10 m | ...``) ``m`` means minutes, not metres.
_DURATION_ABBREVIATIONS = {"m": "min"}

_ACCESS_METHODS = ("AGE", "GROUP", "IP", "USER")
_AGE_PATTERN = re.compile(r"(?:\d+[ymdh])+")
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.@+-]+")
_CONTACT_PATTERN = re.compile(r"^(?P<name>[^<>]*?)\s*(?:<(?P<email>[^<>]*)>)?$")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "f", "n", ""})


def time_params(*, reducible: bool, requires_interval: bool) -> list[Param]:
    """The time-range parameters (and resolution or interval) of a time source.

    Each is the built-in declaration (``commands/builtin.json``); a source
    requires its time range, and its interval when it needs one.
    """
    params = [replace(builtin_param(keys.READ_TIME_MIN), required=True),
              replace(builtin_param(keys.READ_TIME_MAX), required=True)]
    if requires_interval:
        params.append(replace(builtin_param(keys.READ_TIME_INTERVAL), required=True))
    if reducible:
        params.append(builtin_param(keys.BIN_TIME_MAX))
    return params


def split_command(text: str) -> tuple[str, ...]:
    """Split a command line into argv tokens the way a POSIX shell would quote them."""
    try:
        tokens = tuple(shlex.split(text, comments=False, posix=True))
    except ValueError as exc:
        raise ValueError(f"cannot split command line: {exc}") from None
    if not tokens:
        raise ValueError("empty command line")
    return tokens


def resolve_relative(tokens: tuple[str, ...], base_dir: Path) -> tuple[str, ...]:
    """Make relative path tokens absolute against ``base_dir``.

    The program (first token) is resolved when it holds a ``/``; any other
    token when it starts with ``./`` or ``../``.  Tokens with template slots
    are left alone.
    """
    def resolve(index: int, token: str) -> str:
        if "#[" in token or token.startswith("/"):
            return token
        is_path = token.startswith(("./", "../")) or (index == 0 and "/" in token)
        return str((base_dir / token).resolve()) if is_path else token

    return tuple(resolve(i, token) for i, token in enumerate(tokens))


def parse_bool(text: str) -> bool:
    """Read a DSDF or JSON flag (``1``, ``true``, ``yes``...; ``0``, ``false``...)."""
    word = text.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"expected a true/false value, not {text!r}")


def split_fields(text: str, count: int) -> list[str]:
    """Split ``a | b | c`` into exactly ``count`` stripped fields (missing ones empty)."""
    fields = [part.strip() for part in text.split("|")]
    if len(fields) > count:
        fields = fields[:count - 1] + ["|".join(fields[count - 1:])]
    return fields + [""] * (count - len(fields))


def parse_time_range(text: str) -> tuple[str, str]:
    """Read ``BEGIN to END [UTC]`` into its two time strings."""
    parts = re.split(r"\s+to\s+", text.strip(), maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise ValueError(f"expected 'BEGIN to END', got {text!r}")
    end = re.sub(r"\s+UTC$", "", parts[1].strip(), flags=re.IGNORECASE)
    return parts[0].strip(), end.strip()


def parse_contacts(text: str, role: str) -> list[Contact]:
    """Read ``Name <email>[, Name <email>...]``."""
    contacts = []
    for chunk in (part.strip() for part in text.split(",")):
        if not chunk:
            continue
        match = _CONTACT_PATTERN.match(chunk)
        if not match:
            raise ValueError(f"cannot read contact {chunk!r} (expected 'Name <email>')")
        name, email = match.group("name").strip(), (match.group("email") or "").strip()
        if not name and not email:
            raise ValueError(f"empty contact in {text!r}")
        contacts.append(Contact(name or email, email, role))
    return contacts


def parse_variable(text: str) -> Variable:
    """Read ``name | title | units`` (coord_NN, item_NN, data_NN)."""
    name, title, units = split_fields(text, 3)
    if not name:
        raise ValueError("missing the variable name (expected 'name | title | units')")
    return Variable(name, title, units)


def parse_access(text: str, realm: str, contact: str = "") -> Access:
    """Read ``readAccess``: ``AGE:1y6m | GROUP:name | USER:name | IP:cidr,cidr`` (any one suffices)."""
    rules = []
    for term in (part.strip() for part in text.split("|")):
        if not term:
            continue
        method, sep, value = term.partition(":")
        method, value = method.strip().upper(), value.strip()
        if not sep or method not in _ACCESS_METHODS:
            raise ValueError(f"bad access term {term!r} (expected AGE:, GROUP:, IP: or USER:)")
        if method == "IP":
            value = parse_networks(value)
        elif not (_AGE_PATTERN if method == "AGE" else _NAME_PATTERN).fullmatch(value):
            raise ValueError(f"bad {method} value {value!r} in access term {term!r}")
        rules.append(AccessRule(method, value))
    if not rules:
        raise ValueError("readAccess holds no access terms")
    return Access(tuple(rules), realm, text.strip(), contact)


def parse_networks(text: str) -> str:
    """Check a comma-separated CIDR list (``10.0.0.0/8,2001:db8::/32``); return it normalised."""
    ranges = [part.strip() for part in text.split(",") if part.strip()]
    if not ranges:
        raise ValueError("IP: needs at least one address range, e.g. IP:10.0.0.0/8")
    for item in ranges:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"bad IP range {item!r} (expected CIDR, e.g. 192.168.0.0/16)") from None
    return ",".join(ranges)


def parse_max_days(text: str | float) -> float:
    """Read ``maxRequestDays``: a positive number of days."""
    try:
        days = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of days, not {text!r}") from None
    if not math.isfinite(days) or days <= 0:
        raise ValueError(f"must be a positive number of days, not {text!r}")
    return days


def parse_duration(text: str) -> float:
    """Read ``250 ms``, ``1 s``, ``2hr`` into seconds."""
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-zμ]*)\s*", text)
    if not match:
        raise ValueError(f"cannot read duration {text!r}")
    try:
        amount = float(match.group(1))
    except ValueError:
        raise ValueError(f"cannot read duration {text!r}") from None
    unit = match.group(2) or "s"
    seconds = seconds_per_unit(_DURATION_ABBREVIATIONS.get(unit, unit))
    if seconds is None:
        raise ValueError(f"unknown time unit {unit!r} in {text!r}")
    if amount < 0:
        raise ValueError(f"negative duration {text!r}")
    return amount * seconds


def parse_cache_level(key: str, text: str) -> CacheLevel:
    """Read ``RES UNITS | PERIOD [| PARAMS]`` or ``intrinsic | PERIOD [| PARAMS]``."""
    resolution_text, period, params = split_fields(text, 3)
    period = period.lower()
    if period not in CACHE_PERIODS:
        raise ValueError(f"unknown cache period {period!r} (expected one of {', '.join(CACHE_PERIODS)})")
    if resolution_text.lower() == "intrinsic":
        return CacheLevel(key, None, "intrinsic", period, params)
    return CacheLevel(key, parse_duration(resolution_text), resolution_text, period, params)


def parse_sub_source(key: str, text: str) -> SubSource:
    """Read ``KEY | description | resolution-or-interval | params``."""
    name, description, resolution, params = split_fields(text, 4)
    if not name:
        raise ValueError("missing the sub-source key")
    return SubSource(name, description, resolution, params)


def parse_simple_time(text: str) -> datetime | None:
    """An ISO 8601 time as UTC, or None when it is not one (used for spans only)."""
    cleaned = text.strip().replace(" ", "T").rstrip("Zz")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def example_from_range(label: str, begin: str, end: str, *, reducible: bool,
                       extra: Mapping[str, str] | None = None) -> Example:
    """An example over ``begin``-``end``; a reducible source gets span/2000 resolution."""
    settings = {keys.READ_TIME_MIN: begin, keys.READ_TIME_MAX: end}
    if reducible:
        start, stop = parse_simple_time(begin), parse_simple_time(end)
        if start and stop and stop > start:
            seconds = (stop - start).total_seconds() / EXAMPLE_RESOLUTION_DIVISOR
            settings[keys.BIN_TIME_MAX] = f"{seconds:.6g}"
    settings.update(extra or {})
    return Example(label or f"{begin} to {end}", MappingProxyType(settings))


def read_definition_text(path: Path) -> str:
    """A definition file's text (UTF-8, byte-order mark dropped); DefinitionError if unreadable."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DefinitionError(str(path), None, "not UTF-8 text") from None
    except OSError as exc:
        raise DefinitionError(str(path), None, f"cannot read ({exc.strerror})") from None
