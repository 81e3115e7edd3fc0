"""Times the protocols compare: HAPI's restricted ISO 8601 and definition times.

:func:`parse_hapi_time` accepts exactly the HAPI forms (YMD or day-of-year,
truncated from the right, optional ``Z``, hour 24, leap second 60) and checks
dates semantically.  :func:`to_hapi_time` also reads the looser times found in
source definitions and legacy queries, through :mod:`dasflex_core.dastime`
when it is available.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_HAPI_TIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?|-(?P<doy>\d{3}))?"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?)?)?)?Z?"
)

_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, order=True)
class HapiTime:
    """A HAPI time as whole nanoseconds since 2000-01-01 (no leap seconds)."""

    ns2000: int

    def iso(self, digits: int = 9) -> str:
        """``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` with ``digits`` fraction digits."""
        seconds, nanoseconds = divmod(self.ns2000, 1_000_000_000)
        moment = _EPOCH_2000 + timedelta(seconds=seconds)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
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
    days = (day - _EPOCH_2000.date()).days
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
    return HapiTime(seconds * 1_000_000_000 + fraction)


def _calendar_day(fields: Mapping[str, str | None]) -> date:
    year = int(fields["year"] or 0)
    if fields["doy"]:
        doy = int(fields["doy"])
        if not 1 <= doy <= (366 if _is_leap(year) else 365):
            raise ValueError("day of year out of range")
        return date(year, 1, 1) + timedelta(days=doy - 1)
    return date(year, int(fields["month"] or 1), int(fields["day"] or 1))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def to_hapi_time(text: str) -> HapiTime | None:
    """A definition's time (das2 or ISO syntax) as a HapiTime; ``now`` is now."""
    if text.strip().lower() == "now":
        moment = datetime.now(UTC)
        return HapiTime(int((moment - _EPOCH_2000).total_seconds()) * 1_000_000_000)
    try:
        return parse_hapi_time(text.strip().replace(" ", "T"))
    except ValueError:
        pass
    from dasflex_core.dastime import parse_us2000

    try:
        return HapiTime(round(parse_us2000(text) * 1000))
    except Exception:  # noqa: BLE001 - an unparsable definition time is simply unused
        return None


