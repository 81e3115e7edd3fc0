"""HAPI times: the restricted ISO 8601 of HAPI requests, and definition times.

:func:`parse_hapi_time` accepts exactly the HAPI forms (YMD or day-of-year,
truncated from the right, optional ``Z``, hour 24, leap second 60) and checks
dates semantically.  :func:`to_hapi_time` also reads the looser times found in
source definitions and legacy queries, through :func:`~dasflex_core.dastime.parse_us2000`.
Both give a :class:`HapiTime`: whole nanoseconds since 2000-01-01 (no leap seconds).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from dasflex_core.dastime import parse_us2000
from dasflex_core.dastime.core import (
    NS_PER_DAY,
    NS_PER_HOUR,
    NS_PER_MINUTE,
    NS_PER_SECOND,
    SECONDS_1970_TO_2000,
    civil_from_days,
    days_from_civil,
    days_in_year,
    month_day_from_yday,
)

_HAPI_TIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?|-(?P<doy>\d{3}))?"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?)?)?)?Z?"
)


@dataclass(frozen=True, slots=True, order=True)
class HapiTime:
    """A HAPI time as whole nanoseconds since 2000-01-01 (no leap seconds)."""

    ns2000: int

    def iso(self, digits: int = 9) -> str:
        """``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` with ``digits`` fraction digits (truncated).

        >>> HapiTime(86_400 * 10**9 + 1_500_000_000).iso(3)
        '2000-01-02T00:00:01.500Z'
        """
        days, ns_of_day = divmod(self.ns2000, NS_PER_DAY)
        year, month, mday = civil_from_days(days)
        hour, rest = divmod(ns_of_day, NS_PER_HOUR)
        minute, rest = divmod(rest, NS_PER_MINUTE)
        second, nanoseconds = divmod(rest, NS_PER_SECOND)
        text = f"{year:04d}-{month:02d}-{mday:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        if digits:
            text += "." + f"{nanoseconds:09d}"[:digits]
        return text + "Z"

    @property
    def us2000(self) -> float:
        """Microseconds since 2000-01-01."""
        return self.ns2000 / 1000.0


def parse_hapi_time(text: str) -> HapiTime:
    """Parse a restricted ISO 8601 time (YMD or day-of-year, truncated, optional Z).

    Hour 24 is the next midnight and second 60 a leap second (counted as the
    next minute's start).  Anything else raises :class:`ValueError`.
    """
    match = _HAPI_TIME.fullmatch(text)
    if match is None:
        raise ValueError("not a HAPI time (use YYYY-MM-DDThh:mm:ss.sssZ or YYYY-DDDThh:mm:ssZ)")
    fields = match.groupdict()
    if fields["hour"] and not (fields["day"] or fields["doy"]):
        raise ValueError("a time of day needs a full date")
    day = _calendar_day(fields)
    hour, minute, second = (int(fields[key] or 0) for key in ("hour", "minute", "second"))
    fraction = int((fields["fraction"] or "")[:9].ljust(9, "0"))
    if minute > 59 or second > 60 or hour > 24 or hour == 24 and (minute or second or fraction):
        raise ValueError("hour, minute or second out of range")
    days = days_from_civil(day.year, day.month, day.day)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
    return HapiTime(seconds * NS_PER_SECOND + fraction)


def _calendar_day(fields: Mapping[str, str | None]) -> date:
    """The checked date of the fields (ValueError names what is out of range)."""
    year = int(fields["year"] or 0)
    if fields["doy"]:
        doy = int(fields["doy"])
        if not 1 <= doy <= days_in_year(year):
            raise ValueError("day of year out of range")
        month, mday = month_day_from_yday(year, doy)
        return date(year, month, mday)
    return date(year, int(fields["month"] or 1), int(fields["day"] or 1))


def to_hapi_time(text: str) -> HapiTime | None:
    """A definition's time (das2 or ISO syntax) as a HapiTime; ``now`` is now."""
    if text.strip().lower() == "now":
        return HapiTime(int(time.time() - SECONDS_1970_TO_2000) * NS_PER_SECOND)
    try:
        return parse_hapi_time(text.strip().replace(" ", "T"))
    except ValueError:
        pass
    try:
        return HapiTime(round(parse_us2000(text) * 1000))
    except Exception:  # noqa: BLE001 - an unparsable definition time is simply unused
        return None
