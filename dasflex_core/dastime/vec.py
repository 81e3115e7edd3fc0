"""Vectorised epoch conversions among us2000, t2000, t1970, mj1958, ns1970 and TT2000."""

from __future__ import annotations

from typing import Any

import numpy as np

from dasflex_core.dastime.core import (
    DAYS_1958_TO_2000,
    NS_1970_TO_2000,
    SECONDS_1970_TO_2000,
)
from dasflex_core.dastime.leap import (
    FILLED_TT2000,
    ILLEGAL_TT2000,
    PAD_TT2000,
    ns2000_to_tt2000,
    tt2000_to_ns2000,
)
from dasflex_core.errors import TimeError

#: das2's fill value; ``timeN`` writers print it as 0001-01-01T00:00:00.
DAS2_FILL = -1e31
TIME_UNITS = ("us2000", "t2000", "t1970", "mj1958", "ns1970", "TT2000")
INTEGER_TIME_UNITS = ("ns1970", "TT2000")
#: Largest |us2000| whose nanoseconds still fit an int64.
_MAX_US_FOR_NS = 9.2e15


# --------------------------------------------------------------------------
# Epoch conversions

def convert_times(values: Any, from_units: str, to_units: str) -> np.ndarray:
    """Convert time points between us2000, t2000, t1970, mj1958, ns1970 and TT2000.

    Float units give float64 arrays; ns1970 and TT2000 give int64.  Only
    TT2000 counts leap seconds.  NaN or out-of-range values become
    :data:`~dasflex_core.dastime.leap.FILLED_TT2000` in integer units and NaN
    from TT2000 fill/illegal markers.
    """
    for name in (from_units, to_units):
        if name not in TIME_UNITS:
            raise TimeError(f"{name!r} is not a time-point unit (one of {', '.join(TIME_UNITS)})")
    array = np.asarray(values)
    if from_units == to_units:
        return array.astype(np.int64 if to_units in INTEGER_TIME_UNITS else np.float64)
    if from_units not in INTEGER_TIME_UNITS and to_units not in INTEGER_TIME_UNITS:
        return _convert_float(array.astype(np.float64), from_units, to_units)
    ns2000, valid = to_ns2000(array, from_units)
    if to_units == "TT2000":
        return np.where(valid, ns2000_to_tt2000(np.where(valid, ns2000, 0)), FILLED_TT2000)
    if to_units == "ns1970":
        return np.where(valid, ns2000 + NS_1970_TO_2000, FILLED_TT2000)
    whole_us, rest_ns = np.divmod(ns2000, 1000)
    us2000 = np.where(valid, whole_us.astype(np.float64) + rest_ns / 1000.0, np.nan)
    return _convert_float(us2000, "us2000", to_units)


def us2000_from_das2(values: np.ndarray, units: str) -> np.ndarray:
    """das2 time-point values in ``units`` as float us2000, by das2C's float arithmetic.

    Unit names are case-insensitive; ``UTC`` and ``""`` are already us2000
    (decoded time planes).  ns1970 is scaled as a float, not split exactly
    as :func:`convert_times` does.  ValueError if ``units`` is not a time point.

    >>> us2000_from_das2(np.array([946_684_801.5]), "t1970").tolist()
    [1500000.0]
    """
    key = units.strip().lower()
    if key in ("us2000", "utc", ""):
        return values
    if key == "ns1970":
        return values / 1e3 - SECONDS_1970_TO_2000 * 1e6
    if key in ("t2000", "t1970", "mj1958"):
        return _convert_float(values, key, "us2000")
    raise ValueError(f"{units!r} is not a time-point unit")


def _convert_float(values: np.ndarray, from_units: str, to_units: str) -> np.ndarray:
    pair = (from_units, to_units)
    if pair == ("t2000", "t1970"):
        return values + SECONDS_1970_TO_2000
    if pair == ("t1970", "t2000"):
        return values - SECONDS_1970_TO_2000
    to_us = {"us2000": lambda v: v, "t2000": lambda v: v * 1e6,
             "t1970": lambda v: (v - SECONDS_1970_TO_2000) * 1e6,
             "mj1958": lambda v: (v - DAYS_1958_TO_2000) * 86_400e6}
    from_us = {"us2000": lambda u: u, "t2000": lambda u: u / 1e6,
               "t1970": lambda u: u / 1e6 + SECONDS_1970_TO_2000,
               "mj1958": lambda u: u / 86_400e6 + DAYS_1958_TO_2000}
    return from_us[to_units](to_us[from_units](values))


def to_ns2000(array: np.ndarray, units: str) -> tuple[np.ndarray, np.ndarray]:
    """Whole UTC nanoseconds since 2000 (no leap seconds) and a validity mask."""
    if units in INTEGER_TIME_UNITS and array.dtype.kind in "iu":
        ints = array.astype(np.int64)
        if units == "ns1970":
            return ints - NS_1970_TO_2000, np.ones(ints.shape, dtype=bool)
        valid = ~np.isin(ints, (ILLEGAL_TT2000, FILLED_TT2000, PAD_TT2000))
        ns2000, _ = tt2000_to_ns2000(np.where(valid, ints, 0))
        return np.asarray(ns2000), valid
    if units in INTEGER_TIME_UNITS:
        floats = array.astype(np.float64)
        valid = np.isfinite(floats) & (np.abs(floats) < 9.2e18)
        ns2000, whole_valid = to_ns2000(np.where(valid, floats, 0).astype(np.int64), units)
        return ns2000, valid & whole_valid
    us2000 = _convert_float(array.astype(np.float64), units, "us2000")
    valid = np.isfinite(us2000) & (np.abs(us2000) < _MAX_US_FOR_NS)
    safe = np.where(valid, us2000, 0.0)
    whole = np.floor(safe)
    ns2000 = whole.astype(np.int64) * 1000 + np.rint((safe - whole) * 1000.0).astype(np.int64)
    return ns2000, valid
