"""The few unit conversions the binning and spectral tools need.

Interval units to seconds and das2 epoch units to us2000.  (Kept small and
private so that the tools start fast; ``dasflex_core.units`` is the general
module.)
"""

from __future__ import annotations

import numpy as np

#: Seconds per interval unit (canonical das2 spellings and common synonyms).
_SECONDS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "ms": 1e-3, "millisec": 1e-3, "milliseconds": 1e-3,
    "μs": 1e-6, "µs": 1e-6, "us": 1e-6, "microsec": 1e-6, "microseconds": 1e-6,
    "ns": 1e-9, "nanosec": 1e-9, "nanoseconds": 1e-9,
    "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "day": 86400.0, "days": 86400.0,
}

#: Hertz per frequency unit.
_HERTZ = {"hz": 1.0, "hertz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9}

#: Seconds from 1970-01-01 to 2000-01-01 (no leap seconds, as das2C).
_T1970_AT_2000 = 946_684_800.0
#: Days from 1958-01-01 to 2000-01-01.
_MJ1958_AT_2000 = 15_340.0


def seconds_per_unit(units: str) -> float | None:
    """Seconds in one ``units`` (an interval unit), or None if not a time interval."""
    return _SECONDS.get(units.strip().replace("\u00b5", "\u03bc"))


def hertz_per_unit(units: str) -> float | None:
    """Hertz in one ``units`` (a frequency unit), or None."""
    return _HERTZ.get(units.strip().lower())


def to_us2000(values: np.ndarray, units: str) -> np.ndarray:
    """Convert das2 time-point values in ``units`` to us2000; ValueError if not a time unit."""
    key = units.strip().lower()
    if key in ("us2000", "utc", ""):
        return values
    if key == "t2000":
        return values * 1e6
    if key == "t1970":
        return (values - _T1970_AT_2000) * 1e6
    if key == "ns1970":
        return values / 1e3 - _T1970_AT_2000 * 1e6
    if key == "mj1958":
        return (values - _MJ1958_AT_2000) * 86400e6
    raise ValueError(f"{units!r} is not a time-point unit")


def parse_begin(text: str) -> float:
    """A ``-b BEGIN`` time string (das2C parsetime syntax) as us2000; TimeError if bad."""
    from dasflex_core.dastime import parse_us2000

    return float(parse_us2000(text))
