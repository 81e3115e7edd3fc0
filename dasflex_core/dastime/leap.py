"""TT2000 (CDF nanoseconds since J2000, TT) with the built-in leap-second table.

TT2000 = UTC nanoseconds since 2000-01-01T12:00 + (TAI - UTC) + 32.184 s.
TAI - UTC comes from the IERS table below: whole leap seconds from 1972, and
for 1960..1971 the linear "rubber second" drift formula evaluated once per day
at the day's Julian day number (as the CDF library and das2C do, including the
truncation of the drift to whole nanoseconds).  Before 1960 TAI - UTC is 0.

Dates outside 1707-09-22 .. 2292-04-11 have no TT2000 value: they give
:data:`ILLEGAL_TT2000` like the CDF library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dasflex_core.dastime.core import (
    JULIAN_DAY_2000,
    NS_PER_DAY,
    NS_PER_HOUR,
    NS_PER_MINUTE,
    NS_PER_SECOND,
    DasTime,
    civil_from_days,
    day_of_year,
    days_from_civil,
)
from dasflex_core.errors import TimeError

#: TT2000 value the CDF library returns for dates it cannot represent.
ILLEGAL_TT2000 = -9_223_372_036_854_775_805
#: TT2000 fill value (also used here for NaN inputs).
FILLED_TT2000 = -9_223_372_036_854_775_808
#: TT2000 pad value (0000-01-01T00:00:00).
PAD_TT2000 = -9_223_372_036_854_775_807

_TT_MINUS_TAI_NS = 32_184_000_000
_NOON_NS = 12 * NS_PER_HOUR
_MJD_OFFSET = 2_400_000.5
#: Days (since 2000-01-01) of 1707-09-22 and 2292-04-11, the valid TT2000 span.
_FIRST_VALID_DAY = 2_344_793 - JULIAN_DAY_2000
_LAST_VALID_DAY = 2_558_297 - JULIAN_DAY_2000

#: (year, month, TAI-UTC at the start of that month, drift MJD origin, drift s/day).
_TAI_MINUS_UTC = (
    (1960, 1, 1.4178180, 37300.0, 0.0012960),
    (1961, 1, 1.4228180, 37300.0, 0.0012960),
    (1961, 8, 1.3728180, 37300.0, 0.0012960),
    (1962, 1, 1.8458580, 37665.0, 0.0011232),
    (1963, 11, 1.9458580, 37665.0, 0.0011232),
    (1964, 1, 3.2401300, 38761.0, 0.0012960),
    (1964, 4, 3.3401300, 38761.0, 0.0012960),
    (1964, 9, 3.4401300, 38761.0, 0.0012960),
    (1965, 1, 3.5401300, 38761.0, 0.0012960),
    (1965, 3, 3.6401300, 38761.0, 0.0012960),
    (1965, 7, 3.7401300, 38761.0, 0.0012960),
    (1965, 9, 3.8401300, 38761.0, 0.0012960),
    (1966, 1, 4.3131700, 39126.0, 0.0025920),
    (1968, 2, 4.2131700, 39126.0, 0.0025920),
    (1972, 1, 10.0, 0.0, 0.0),
    (1972, 7, 11.0, 0.0, 0.0),
    (1973, 1, 12.0, 0.0, 0.0),
    (1974, 1, 13.0, 0.0, 0.0),
    (1975, 1, 14.0, 0.0, 0.0),
    (1976, 1, 15.0, 0.0, 0.0),
    (1977, 1, 16.0, 0.0, 0.0),
    (1978, 1, 17.0, 0.0, 0.0),
    (1979, 1, 18.0, 0.0, 0.0),
    (1980, 1, 19.0, 0.0, 0.0),
    (1981, 7, 20.0, 0.0, 0.0),
    (1982, 7, 21.0, 0.0, 0.0),
    (1983, 7, 22.0, 0.0, 0.0),
    (1985, 7, 23.0, 0.0, 0.0),
    (1988, 1, 24.0, 0.0, 0.0),
    (1990, 1, 25.0, 0.0, 0.0),
    (1991, 1, 26.0, 0.0, 0.0),
    (1992, 7, 27.0, 0.0, 0.0),
    (1993, 7, 28.0, 0.0, 0.0),
    (1994, 7, 29.0, 0.0, 0.0),
    (1996, 1, 30.0, 0.0, 0.0),
    (1997, 7, 31.0, 0.0, 0.0),
    (1999, 1, 32.0, 0.0, 0.0),
    (2006, 1, 33.0, 0.0, 0.0),
    (2009, 1, 34.0, 0.0, 0.0),
    (2012, 7, 35.0, 0.0, 0.0),
    (2015, 7, 36.0, 0.0, 0.0),
    (2017, 1, 37.0, 0.0, 0.0),
)
_FIRST_LEAP_ROW = 14  # rows before this one use the drift formula

#: Day (since 2000-01-01) on which each table row takes effect.
_ROW_DAYS = np.array([days_from_civil(y, m, 1) for y, m, *_ in _TAI_MINUS_UTC], dtype=np.int64)
_ROW_DELTA = np.array([row[2] for row in _TAI_MINUS_UTC])
_ROW_MJD = np.array([row[3] for row in _TAI_MINUS_UTC])
_ROW_RATE = np.array([row[4] for row in _TAI_MINUS_UTC])


def tai_minus_utc_ns(days2000: Any) -> Any:
    """TAI - UTC in whole nanoseconds on the given day(s) since 2000-01-01.

    Accepts an int or an int64 array; the drift of 1960..1971 is evaluated at
    the day's Julian day number and truncated toward zero, as CDF does.
    """
    days = np.asarray(days2000, dtype=np.int64)
    row = np.searchsorted(_ROW_DAYS, days, side="right") - 1
    safe_row = np.maximum(row, 0)
    julian_day = (days + JULIAN_DAY_2000).astype(np.float64)
    drift = (julian_day - _MJD_OFFSET - _ROW_MJD[safe_row]) * _ROW_RATE[safe_row]
    seconds = np.where(safe_row < _FIRST_LEAP_ROW, _ROW_DELTA[safe_row] + drift,
                       _ROW_DELTA[safe_row])
    nanos = np.trunc(seconds * 1e9).astype(np.int64)
    nanos = np.where(row < 0, 0, nanos)
    return int(nanos) if nanos.ndim == 0 else nanos


def _leap_second_days() -> np.ndarray:
    """Days (since 2000) that end with a positive leap second (1972 on)."""
    return _ROW_DAYS[_FIRST_LEAP_ROW + 1:] - 1


_LEAP_DAYS = _leap_second_days()
#: TT2000 at the start of each whole-leap-second table row (1972-01-01 on).
_ROW_TT2000 = (_ROW_DAYS[_FIRST_LEAP_ROW:] * NS_PER_DAY - _NOON_NS
               + (_ROW_DELTA[_FIRST_LEAP_ROW:] * 1e9).astype(np.int64) + _TT_MINUS_TAI_NS)


def _tt2000_from_day_ns(days: int, ns_of_day: int) -> int:
    """TT2000 of a normalised UTC day and nanosecond of that day."""
    return (days * NS_PER_DAY + ns_of_day - _NOON_NS + tai_minus_utc_ns(days)
            + _TT_MINUS_TAI_NS)


def _is_leap_second_day(days: int) -> bool:
    index = int(np.searchsorted(_LEAP_DAYS, days))
    return index < len(_LEAP_DAYS) and int(_LEAP_DAYS[index]) == days


def to_tt2000(dt: DasTime) -> int:
    """TT2000 of a calendar time; a ``23:59:60.x`` on a leap-second day is the leap second.

    Seconds of 60 or more anywhere else roll into the next minute.  Returns
    :data:`ILLEGAL_TT2000` outside 1707-09-22 .. 2292-04-11.
    """
    if (dt.year, dt.month, dt.mday, dt.hour, dt.minute) == (9999, 12, 31, 23, 59) \
            and dt.nanos >= 59_999_000_000:
        return FILLED_TT2000
    days = dt.days2000
    if dt.nanos >= 60 * NS_PER_SECOND and (dt.hour, dt.minute) == (23, 59) \
            and dt.nanos < 61 * NS_PER_SECOND and _is_leap_second_day(days):
        if not _FIRST_VALID_DAY <= days <= _LAST_VALID_DAY:
            return ILLEGAL_TT2000
        next_midnight = _tt2000_from_day_ns(days + 1, 0)
        return next_midnight - NS_PER_SECOND + (dt.nanos - 60 * NS_PER_SECOND)
    days_extra, ns_of_day = divmod(dt.hour * NS_PER_HOUR + dt.minute * NS_PER_MINUTE
                                   + dt.nanos, NS_PER_DAY)
    days += days_extra
    if not _FIRST_VALID_DAY <= days <= _LAST_VALID_DAY:
        return ILLEGAL_TT2000
    return _tt2000_from_day_ns(days, ns_of_day)


def tt2000_to_ns2000(tt2000: Any) -> tuple[Any, Any]:
    """UTC nanoseconds since 2000 (no leap seconds) and a leap-second flag.

    Works on an int or an int64 array.  A value inside a leap second maps to
    the following midnight plus the fraction (the same number the text label
    ``23:59:60.x`` converts to); the flag marks those values.
    """
    tt = np.asarray(tt2000, dtype=np.int64)
    guess = tt - _TT_MINUS_TAI_NS + _NOON_NS
    for _ in range(3):  # converges at once after 1972; the drift era needs two
        guess = tt - _TT_MINUS_TAI_NS + _NOON_NS - tai_minus_utc_ns(guess // NS_PER_DAY)
    row = np.searchsorted(_ROW_TT2000, tt, side="right") - 1
    next_row = np.minimum(row + 1, len(_ROW_TT2000) - 1)
    in_leap = (row >= 0) & (row + 1 < len(_ROW_TT2000)) \
        & (tt >= _ROW_TT2000[next_row] - NS_PER_SECOND)
    whole = (row >= 0)
    ns2000 = tt - _TT_MINUS_TAI_NS + _NOON_NS \
        - (_ROW_DELTA[_FIRST_LEAP_ROW + np.maximum(row, 0)] * 1e9).astype(np.int64)
    ns2000 = np.where(whole, ns2000, guess)
    if ns2000.ndim == 0:
        return int(ns2000), bool(in_leap)
    return ns2000, in_leap


def from_tt2000(tt2000: int) -> DasTime:
    """The UTC calendar label of a TT2000 value (``23:59:60.x`` in a leap second)."""
    tt2000 = int(tt2000)
    if tt2000 in (ILLEGAL_TT2000, FILLED_TT2000, PAD_TT2000):
        raise TimeError(f"TT2000 value {tt2000} is a fill or illegal marker, not a time")
    ns2000, in_leap = tt2000_to_ns2000(tt2000)
    if not in_leap:
        return DasTime.from_ns2000(ns2000)
    days, ns_of_day = divmod(ns2000, NS_PER_DAY)
    year, month, mday = civil_from_days(days - 1)
    return DasTime(year, month, mday, day_of_year(year, month, mday), 23, 59,
                   60 * NS_PER_SECOND + ns_of_day)


def ns2000_to_tt2000(ns2000: Any) -> Any:
    """TT2000 of UTC nanoseconds since 2000 (no leap seconds): int64 array or int.

    Values outside the TT2000 span give :data:`ILLEGAL_TT2000`.
    """
    ns = np.asarray(ns2000, dtype=np.int64)
    days = ns // NS_PER_DAY
    tt = ns - _NOON_NS + tai_minus_utc_ns(days) + _TT_MINUS_TAI_NS
    tt = np.where((days < _FIRST_VALID_DAY) | (days > _LAST_VALID_DAY), ILLEGAL_TT2000, tt)
    return int(tt) if tt.ndim == 0 else tt
