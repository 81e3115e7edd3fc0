"""Times of remote requests: parsing, HAPI request text, ISO 8601 durations, splitting.

Times are whole nanoseconds since 2000-01-01 (``ns2000``, no leap seconds),
as :mod:`dasflex_core.dastime` counts them.
"""

from __future__ import annotations

import re

from dasflex_core.dastime import DasTime, format_iso, parse_time
from dasflex_core.dastime.core import NS_PER_SECOND
from dasflex_core.errors import TimeError
from dasflex_core.units import seconds_per_unit

_DURATION = re.compile(
    r"P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
#: Days per ISO 8601 duration unit of a day or more; years and months are counted
#: short, so that ranges split by them never exceed a remote's limit.
_UNIT_DAYS = {"Y": 365, "M": 28, "W": 7, "D": 1}
#: The interval unit (:mod:`dasflex_core.units`) of each ISO 8601 time-part designator.
_TIME_UNITS = {"h": "h", "m": "min", "s": "s"}


def parse_ns2000(text: str) -> int:
    """A time (das2 or ISO 8601 syntax) as nanoseconds since 2000-01-01.

    >>> parse_ns2000("2000-01-01T00:00:01.5Z")
    1500000000
    """
    try:
        return int(parse_time(text.strip()).ns2000)
    except (TimeError, ValueError, OverflowError):
        raise TimeError(f"not a time: {text[:64]!r}") from None


def hapi_time(ns2000: int) -> str:
    """The shortest exact ``YYYY-MM-DDTHH:MM:SS[.fff...]Z`` for a request.

    >>> hapi_time(0), hapi_time(1_500_000_000), hapi_time(1_000)
    ('2000-01-01T00:00:00Z', '2000-01-01T00:00:01.500Z', '2000-01-01T00:00:00.000001Z')
    """
    nanoseconds = ns2000 % NS_PER_SECOND
    digits = 0 if not nanoseconds else 3 if not nanoseconds % 1_000_000 else \
        6 if not nanoseconds % 1_000 else 9
    return format_iso(DasTime.from_ns2000(ns2000), digits, zulu=True)


def duration_seconds(text: str) -> float | None:
    """An ISO 8601 duration (``P1D``, ``PT1H30M``, ``P1Y``) in seconds; None if unreadable.

    >>> duration_seconds("PT1H30M"), duration_seconds("P2D"), duration_seconds("soon")
    (5400.0, 172800.0, None)
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        return None
    seconds = sum(float(value) * _unit_seconds(unit)
                  for unit, value in match.groupdict().items() if value)
    return seconds if seconds > 0 else None


def _unit_seconds(designator: str) -> float:
    """Seconds in one unit of an ISO 8601 duration designator (``Y``... ``D``, ``h``, ``m``, ``s``)."""
    if designator in _UNIT_DAYS:
        return _UNIT_DAYS[designator] * _seconds("d")
    return _seconds(_TIME_UNITS[designator])


def _seconds(units: str) -> float:
    seconds = seconds_per_unit(units)
    assert seconds is not None, units
    return seconds


def split_range(begin: int, end: int, longest: float | None) -> list[tuple[int, int]]:
    """``[begin, end)`` as consecutive ranges of at most ``longest`` seconds each.

    >>> split_range(0, 10 * 10**9, 4.0)
    [(0, 4000000000), (4000000000, 8000000000), (8000000000, 10000000000)]
    """
    if end <= begin:
        return []
    if not longest or longest <= 0:
        return [(begin, end)]
    step = max(1, int(longest * NS_PER_SECOND))
    return [(start, min(start + step, end)) for start in range(begin, end, step)]
