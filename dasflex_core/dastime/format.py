"""Scalar time formatting: ISO 8601 (exact, rounded) and das2_prtime style."""

from __future__ import annotations

import math

from dasflex_core.dastime.core import (
    NS_PER_SECOND,
    DasTime,
    ns2000_from_us2000,
)
from dasflex_core.errors import TimeError

PRTIME_STYLES = ("both", "iso", "ordinal")


def _as_dastime(value: DasTime | float) -> DasTime:
    if isinstance(value, DasTime):
        return value
    return DasTime.from_ns2000(ns2000_from_us2000(float(value)))


def _rounded_nanos(dt: DasTime, frac_digits: int) -> DasTime:
    """``dt`` rounded (half up) to ``frac_digits`` decimals, carrying into the minute.

    A leap second (60 s or more) is never carried: it is clamped below 61 s.
    """
    unit = 10 ** (9 - frac_digits)
    steps, rest = divmod(dt.nanos, unit)
    if 2 * rest >= unit:
        steps += 1
    nanos = steps * unit
    if dt.nanos >= 60 * NS_PER_SECOND:
        nanos = min(nanos, 61 * NS_PER_SECOND - unit)
    elif nanos >= 60 * NS_PER_SECOND:
        return DasTime.from_ns2000(dt.ns2000 - dt.nanos + nanos)
    return DasTime(dt.year, dt.month, dt.mday, dt.yday, dt.hour, dt.minute, nanos)


def format_iso(value: DasTime | float, frac_digits: int = 3, *, ordinal: bool = False,
               zulu: bool = False) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.fff]`` (or ``YYYY-DDDT...``) rounded to ``frac_digits``.

    ``value`` is a :class:`DasTime` or a us2000 float.  Rounding carries into
    minutes, hours and days (unlike das2C's ``60.000``); ``zulu`` appends ``Z``.
    """
    if not 0 <= frac_digits <= 9:
        raise TimeError(f"fractional digits must be 0..9, not {frac_digits}")
    dt = _rounded_nanos(_as_dastime(value), frac_digits)
    if not 0 <= dt.year <= 9999:
        raise TimeError(f"year {dt.year} cannot be written as four digits")
    whole, frac = divmod(dt.nanos, NS_PER_SECOND)
    date = f"{dt.year:04d}-{dt.yday:03d}" if ordinal else \
        f"{dt.year:04d}-{dt.month:02d}-{dt.mday:02d}"
    text = f"{date}T{dt.hour:02d}:{dt.minute:02d}:{whole:02d}"
    if frac_digits:
        text += f".{frac // 10 ** (9 - frac_digits):0{frac_digits}d}"
    return text + "Z" if zulu else text


def format_prtime(dt: DasTime, frac_digits: int = 0, style: str = "both") -> str:
    """Format as das2_prtime does: ``style`` both/iso/ordinal, fraction *truncated*.

    Like das2C the fraction is cut from the binary64 seconds, so ``32.330``
    prints ``32.329`` with three digits; seconds are never normalised.
    """
    if style not in PRTIME_STYLES:
        raise TimeError(f"prtime style must be one of {PRTIME_STYLES}, not {style!r}")
    if not 0 <= frac_digits <= 9:
        raise TimeError(f"fractional digits must be 0..9, not {frac_digits}")
    second = dt.second
    whole = math.floor(second)
    clock = f"{dt.hour:02d}:{dt.minute:02d}:{whole:02d}"
    if style == "both":
        text = f"{dt.year:04d}-{dt.month:02d}-{dt.mday:02d} ({dt.yday:03d}) {clock}"
    elif style == "iso":
        text = f"{dt.year:04d}-{dt.month:02d}-{dt.mday:02d}T{clock}"
    else:
        text = f"{dt.year:04d}-{dt.yday:03d}T{clock}"
    if frac_digits:
        text += f".{int((second - whole) * 10 ** frac_digits):0{frac_digits}d}"
    return text
