"""Pieces both definition formats share: standard parameters, conventions,
the default reducer, and parsers for the small text forms (contacts, ranges,
access rules, cache levels) that DSDF and JSON definitions both use.

Parsers raise ``ValueError`` with a short reason; the callers turn it into a
:class:`~dasflex_core.errors.DefinitionError` naming file and line or key.
:func:`read_definition_text` reads either kind of file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from dasflex_core.errors import DefinitionError
from dasflex_core.sources.model import (
    DAS2_BINARY,
    Access,
    AccessRule,
    CacheLevel,
    CommandDef,
    CommandRole,
    Condition,
    Contact,
    Convention,
    Example,
    Param,
    ParamType,
    StreamType,
    SubSource,
    Variable,
)
from dasflex_core.units import seconds_per_unit

TIME_MIN = "read.time.min"
TIME_MAX = "read.time.max"
TIME_INTERVAL = "read.time.inter"
RESOLUTION = "bin.time.max"
READER_OPTIONS = "read.opts"

#: The program that reduces das2 streams unless a definition names another.
DEFAULT_REDUCER = "das2_bin_avgsec"

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


def standard_conventions() -> dict[str, Convention]:
    """The das2, flex, flexRT and hapi conventions every source starts with."""
    das2 = Convention(
        "das2",
        translate=MappingProxyType({
            "start_time": TIME_MIN, "end_time": TIME_MAX,
            "start": TIME_MIN, "stop": TIME_MAX,
            "resolution": RESOLUTION, "params": READER_OPTIONS,
            "interval": TIME_INTERVAL, "server": None, "dataset": None,
        }),
        defaults=MappingProxyType({"format.type": "das", "format.version": "2"}),
    )
    hapi = Convention(
        "hapi",
        translate=MappingProxyType({
            "time.min": TIME_MIN, "time.max": TIME_MAX,
            "start": TIME_MIN, "stop": TIME_MAX, "id": None, "dataset": None,
        }),
    )
    return {
        "das2": das2,
        "flex": Convention("flex"),
        "flexRT": Convention("flexRT"),
        "hapi": hapi,
    }


def merge_conventions(overrides: Mapping[str, Convention]) -> dict[str, Convention]:
    """Standard conventions with ``overrides``' keys laid over them."""
    merged = standard_conventions()
    for name, extra in overrides.items():
        base = merged.get(name, Convention(name))
        merged[name] = Convention(
            name,
            translate=MappingProxyType({**base.translate, **extra.translate}),
            defaults=MappingProxyType({**base.defaults, **extra.defaults}),
        )
    return merged


def time_params(*, reducible: bool, requires_interval: bool) -> list[Param]:
    """The time-range parameters (and resolution or interval) of a time source."""
    params = [
        Param(TIME_MIN, ParamType.ISOTIME, required=True, label="Start",
              title="Minimum time value to stream", units="UTC"),
        Param(TIME_MAX, ParamType.ISOTIME, required=True, label="End",
              title="Maximum time value to stream", units="UTC"),
    ]
    if requires_interval:
        params.append(Param(TIME_INTERVAL, ParamType.REAL, required=True, label="Interval",
                            title="Time between records", units="s"))
    if reducible:
        params.append(Param(RESOLUTION, ParamType.REAL, label="Resolution",
                            title="Largest time bin to average into (0: full resolution)",
                            units="s"))
    return params


def reducer_command(tokens: tuple[str, ...], output: StreamType) -> CommandDef:
    """A reducer run when ``bin.time.max`` > 0: ``PROGRAM ... RESOLUTION``."""
    return CommandDef(
        name="reducer",
        role=CommandRole.REDUCER,
        template=(*tokens, f"#[{RESOLUTION}]"),
        input=output,
        output=output,
        conditions=(Condition(RESOLUTION, "0", "gt"),),
        label="Reduce",
        title="Average into time bins no wider than the resolution",
        order=10,
    )


def default_reducer(output: StreamType) -> CommandDef | None:
    """The default reducer for a reader's output, if it has one."""
    if output != DAS2_BINARY:
        return None
    return reducer_command((DEFAULT_REDUCER,), output)


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
    import ipaddress

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
    import math

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
    settings = {TIME_MIN: begin, TIME_MAX: end}
    if reducible:
        start, stop = parse_simple_time(begin), parse_simple_time(end)
        if start and stop and stop > start:
            seconds = (stop - start).total_seconds() / EXAMPLE_RESOLUTION_DIVISOR
            settings[RESOLUTION] = f"{seconds:.6g}"
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
