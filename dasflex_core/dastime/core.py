"""Calendar arithmetic and the immutable :class:`DasTime` value.

Everything here is exact integer arithmetic on the proleptic Gregorian
calendar with 86 400-second days (leap seconds are handled only by the TT2000
functions in :mod:`dasflex_core.dastime.leap`).  The day-count helpers accept
Python integers or numpy integer arrays alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from dasflex_core.errors import TimeError

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR
SECONDS_PER_DAY = 86_400

#: Days from 1970-01-01 to 2000-01-01.
DAYS_1970_TO_2000 = 10_957
#: Days from 1958-01-01 to 2000-01-01.
DAYS_1958_TO_2000 = 15_340
#: Seconds from 1970-01-01 to 2000-01-01 (946 684 800; no leap seconds, as
#: das2C and Unix time): the one 1970 -> 2000 epoch offset of dasflex.
SECONDS_1970_TO_2000 = DAYS_1970_TO_2000 * SECONDS_PER_DAY
#: Nanoseconds from 1970-01-01 to 2000-01-01 (no leap seconds).
NS_1970_TO_2000 = DAYS_1970_TO_2000 * NS_PER_DAY
#: Nanoseconds from 1958-01-01 to 2000-01-01 (no leap seconds).
NS_1958_TO_2000 = DAYS_1958_TO_2000 * NS_PER_DAY
#: Seconds per count of each float or integer epoch unit (TT2000 counts leap
#: seconds, so it has no fixed scale to the others and is not listed).
SECONDS_PER_EPOCH_UNIT = MappingProxyType({
    "us2000": 1e-6, "t2000": 1.0, "t1970": 1.0, "mj1958": float(SECONDS_PER_DAY), "ns1970": 1e-9,
})
#: Julian day number of 2000-01-01 (at noon).
JULIAN_DAY_2000 = 2_451_545

#: Cumulative days before each month (index 1..12), common and leap years.
_DAYS_BEFORE_MONTH = (
    (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365),
    (0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366),
)


def is_leap_year(year: int) -> bool:
    """True for Gregorian leap years."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Number of days in ``month`` (1..12) of ``year``."""
    table = _DAYS_BEFORE_MONTH[is_leap_year(year)]
    return table[month + 1] - table[month]


def days_in_year(year: int) -> int:
    """365 or 366."""
    return 366 if is_leap_year(year) else 365


def day_of_year(year: int, month: int, mday: int) -> int:
    """Ordinal day (1..366) of a calendar date."""
    return _DAYS_BEFORE_MONTH[is_leap_year(year)][month] + mday


def month_day_from_yday(year: int, yday: int) -> tuple[int, int]:
    """Split an ordinal day into (month, day of month)."""
    table = _DAYS_BEFORE_MONTH[is_leap_year(year)]
    month = 1
    while month < 12 and yday > table[month + 1]:
        month += 1
    return month, yday - table[month]


def days_from_civil(year: Any, month: Any, mday: Any) -> Any:
    """Days since 2000-01-01 of a date (ints or numpy integer arrays).

    Works on whole 400-year eras counted from 0000-03-01 so that floor
    division handles dates before the epoch.
    """
    shifted_year = year - (month <= 2)
    era = shifted_year // 400
    year_of_era = shifted_year - era * 400
    month_from_march = (month + 9) % 12
    day_of_era_year = (153 * month_from_march + 2) // 5 + mday - 1
    day_of_era = (year_of_era * 365 + year_of_era // 4 - year_of_era // 100
                  + day_of_era_year)
    return era * 146_097 + day_of_era - 719_468 - DAYS_1970_TO_2000


def civil_from_days(days: Any) -> tuple[Any, Any, Any]:
    """Inverse of :func:`days_from_civil`: (year, month, day of month)."""
    shifted = days + 719_468 + DAYS_1970_TO_2000
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524
                   - day_of_era // 146_096) // 365
    day_of_march_year = day_of_era - (365 * year_of_era + year_of_era // 4
                                      - year_of_era // 100)
    month_from_march = (5 * day_of_march_year + 2) // 153
    mday = day_of_march_year - (153 * month_from_march + 2) // 5 + 1
    month = month_from_march + 3 - 12 * (month_from_march >= 10)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, mday


@dataclass(frozen=True, slots=True, order=True)
class DasTime:
    """A calendar time (UTC label) with exact nanosecond resolution.

    ``nanos`` counts nanoseconds within the minute; values of 60 s and more
    are kept as given (leap seconds, or das2C's tolerated ``:60``/``:61``)
    and only folded into the next minute by the epoch conversions.  Times
    order by their fields, which is chronological for labels in range.
    """

    year: int
    month: int
    mday: int
    yday: int
    hour: int
    minute: int
    nanos: int

    @classmethod
    def from_parts(cls, year: int, month: int, mday: int, hour: int = 0,
                   minute: int = 0, nanos: int = 0) -> DasTime:
        """Build a time from a calendar date, validating every field."""
        if not 1 <= month <= 12:
            raise TimeError(f"month {month} is not in 1..12")
        if not 1 <= mday <= days_in_month(year, month):
            raise TimeError(f"day {mday} is not valid in {year:04d}-{month:02d}")
        if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= nanos < 62 * NS_PER_SECOND):
            raise TimeError(f"time of day {hour}:{minute}:{nanos / 1e9} is out of range")
        return cls(year, month, mday, day_of_year(year, month, mday), hour, minute, nanos)

    @classmethod
    def from_ns2000(cls, ns2000: int) -> DasTime:
        """The (normalised) time ``ns2000`` nanoseconds after 2000-01-01T00:00."""
        days, ns_of_day = divmod(int(ns2000), NS_PER_DAY)
        year, month, mday = civil_from_days(days)
        hour, rest = divmod(ns_of_day, NS_PER_HOUR)
        minute, nanos = divmod(rest, NS_PER_MINUTE)
        return cls(year, month, mday, day_of_year(year, month, mday), hour, minute, nanos)

    @property
    def second(self) -> float:
        """Seconds within the minute as a float (may be >= 60, see class doc)."""
        return self.nanos / NS_PER_SECOND

    @property
    def days2000(self) -> int:
        """Days from 2000-01-01 to this date."""
        return days_from_civil(self.year, self.month, self.mday)

    @property
    def ns2000(self) -> int:
        """Nanoseconds since 2000-01-01T00:00:00, ignoring leap seconds."""
        return (self.days2000 * NS_PER_DAY + self.hour * NS_PER_HOUR
                + self.minute * NS_PER_MINUTE + self.nanos)

    def normalized(self) -> DasTime:
        """The same instant with seconds folded into 0..59.999999999."""
        return DasTime.from_ns2000(self.ns2000)

    def __str__(self) -> str:
        whole, frac = divmod(self.nanos, NS_PER_SECOND)
        return (f"{self.year:04d}-{self.month:02d}-{self.mday:02d}T{self.hour:02d}:"
                f"{self.minute:02d}:{whole:02d}.{frac:09d}")


def us2000_from_ns2000(ns2000: int) -> float:
    """Microseconds since 2000 as a float (the rounding the vector code uses)."""
    whole_us, rest_ns = divmod(ns2000, 1000)
    return float(whole_us) + rest_ns / 1000.0


def ns2000_from_us2000(us2000: float) -> int:
    """Nearest whole nanosecond to a finite us2000 value."""
    if us2000 != us2000 or us2000 in (float("inf"), float("-inf")):
        raise TimeError(f"time value {us2000!r} is not a finite number")
    whole_us = int(us2000 // 1)
    frac_us = us2000 - whole_us
    return whole_us * 1000 + round(frac_us * 1000.0)
