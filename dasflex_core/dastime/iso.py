"""Vectorised ISO 8601 formatting (HAPI and CSV output): exact, rounded, carried.

Unlike das2C's ``timeN`` printing, values are converted to whole nanoseconds
first and rounded half up to the requested digits with a proper carry into
minutes, hours and days, so every element equals
:func:`~dasflex_core.dastime.format.format_iso` of the same value.  A TT2000
value inside a leap second prints as ``23:59:60.x``.
"""

from __future__ import annotations

import numpy as np

from dasflex_core.dastime.core import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND
from dasflex_core.dastime.fields import BLOCK_ROWS, civil_date, put_number, put_pair, put_year
from dasflex_core.dastime.leap import tt2000_to_ns2000
from dasflex_core.dastime.vec import INTEGER_TIME_UNITS, TIME_UNITS, convert_times, to_ns2000
from dasflex_core.errors import TimeError

#: |us2000| beyond this is after year 9999 or before year 1.
MAX_US2000 = 2.6e17


def format_iso_fields(values: np.ndarray, frac_digits: int = 3, units: str = "us2000", *,
                      ordinal: bool = False, zulu: bool = False) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS[.f][Z]`` (or ``YYYY-DDDT...``) for every value, dtype ``S<n>``.

    Raises :class:`~dasflex_core.errors.TimeError` for NaN, fill or
    out-of-range values, which have no ISO form.
    """
    if not 0 <= frac_digits <= 9:
        raise TimeError(f"fractional digits must be 0..9, not {frac_digits}")
    if units not in TIME_UNITS:
        raise TimeError(f"{units!r} is not a time-point unit")
    text = ("0000-000" if ordinal else "0000-00-00") + "T00:00:00"
    if frac_digits:
        text += "." + "0" * frac_digits
    template = np.frombuffer((text + ("Z" if zulu else "")).encode(), dtype=np.uint8)
    flat = np.asarray(values).reshape(-1)
    out = np.empty((len(flat), len(template)), dtype=np.uint8)
    out[:] = template
    for start in range(0, len(flat), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(flat))
        days, ns_of_day = _rounded_day_and_ns(flat[start:stop], units, frac_digits)
        _write_block(out[start:stop], days, ns_of_day, frac_digits, ordinal, units)
    return out.view(f"S{len(template)}").reshape(-1)


def _rounded_day_and_ns(values: np.ndarray, units: str, digits: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Label day (since 2000) and nanoseconds of that day, rounded half up.

    A leap second keeps its day and has 86 400 s or more of the day.
    """
    unit = 10 ** (9 - digits)
    days, ns_of_day, valid, leap = _day_and_ns(values, units)
    if not valid.all():
        bad = values[np.flatnonzero(~valid)[0]]
        raise TimeError(f"time value {bad!r} ({units}) has no ISO 8601 form")
    rounded = (ns_of_day + unit // 2) // unit * unit
    carry = rounded >= NS_PER_DAY
    days = days + carry
    rounded = rounded - carry * NS_PER_DAY
    if leap.any():
        leap_ns = np.minimum((ns_of_day[leap] + unit // 2) // unit * unit, NS_PER_SECOND - unit)
        days[leap] -= carry[leap] + 1
        rounded[leap] = NS_PER_DAY + leap_ns
    return days, rounded


def _day_and_ns(values: np.ndarray, units: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day since 2000, nanosecond of day (unrounded), validity and leap-second flags."""
    leap = np.zeros(values.shape, dtype=bool)
    if units in INTEGER_TIME_UNITS:
        ns2000, valid = to_ns2000(values, units)
        if units == "TT2000":
            whole = np.where(valid, values, 0).astype(np.int64)
            leap = np.asarray(tt2000_to_ns2000(whole)[1]) & valid
        days, ns_of_day = np.divmod(ns2000, NS_PER_DAY)
        return days, ns_of_day, valid, leap
    us2000 = convert_times(values, units, "us2000")
    valid = np.isfinite(us2000) & (np.abs(us2000) < MAX_US2000)
    safe = np.where(valid, us2000, 0.0)
    whole_us = np.floor(safe)
    frac_ns = np.rint((safe - whole_us) * 1000.0).astype(np.int64)
    days, us_of_day = np.divmod(whole_us.astype(np.int64), NS_PER_DAY // 1000)
    return days, us_of_day * 1000 + frac_ns, valid, leap


def _write_block(out: np.ndarray, days: np.ndarray, ns_of_day: np.ndarray, digits: int,
                 ordinal: bool, units: str) -> None:
    year, month, mday, day_in_year = civil_date(days, units)
    put_year(out, year)
    if ordinal:
        put_number(out, 5, day_in_year + 1, 3)
        clock_column = 9
    else:
        put_pair(out, 5, month)
        put_pair(out, 8, mday)
        clock_column = 11
    clock = np.minimum(ns_of_day, NS_PER_DAY - NS_PER_MINUTE)
    hour, rest = np.divmod(clock, NS_PER_HOUR)
    minute = rest // NS_PER_MINUTE
    in_minute = ns_of_day - hour * NS_PER_HOUR - minute * NS_PER_MINUTE
    whole, frac = np.divmod(in_minute, NS_PER_SECOND)
    put_pair(out, clock_column, hour)
    put_pair(out, clock_column + 3, minute)
    put_pair(out, clock_column + 6, whole)
    if digits:
        put_number(out, clock_column + 9, frac // 10 ** (9 - digits), digits)
