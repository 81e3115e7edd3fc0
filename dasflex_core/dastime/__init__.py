"""Time for dasflex: parsing, epochs, leap seconds and formatting.

The public API lives here; the work is split over ``core`` (calendar,
:class:`DasTime`), ``parse`` (das2C parsetime and HAPI ISO 8601),
``leap`` (TT2000), ``format`` (scalar formatting),
``fields`` (numpy fast paths for ``timeN`` text fields),
``iso`` (vectorised ISO 8601) and ``vec`` (epoch arrays).

Epoch units: ``us2000`` (microseconds since 2000-01-01), ``t2000`` and
``t1970`` (seconds), ``mj1958`` (days since 1958-01-01), ``ns1970``
(nanoseconds since 1970) all ignore leap seconds; ``TT2000`` (CDF
nanoseconds since J2000 TT) counts them.  A leap second ``23:59:60.x`` has
no us2000 of its own: it converts to the following midnight plus ``x``, the
same number its text label gives.

Differences from das2C beyond parsing (see ``parse``): times keep
exact nanoseconds, so TT2000 of ``...56.789012`` is ``...973012000`` where
das2C's binary64 truncation gives ``...973011999``; das2C's ns1970 offset
(9.46684e17, 800 s short) is not copied; TT2000 before 1972 converts back to
UTC with the drift formula (das2C assumed no leap seconds there).
"""

from __future__ import annotations

from fractions import Fraction
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dasflex_core.dastime.core import (
    NS_1958_TO_2000,
    NS_1970_TO_2000,
    NS_PER_DAY,
    NS_PER_SECOND,
    SECONDS_1970_TO_2000,
    DasTime,
    ns2000_from_us2000,
    us2000_from_ns2000,
)
from dasflex_core.dastime.format import format_iso, format_prtime
from dasflex_core.dastime.parse import parse_time
from dasflex_core.errors import TimeError

if TYPE_CHECKING:
    from dasflex_core.dastime.fields import format_time_fields, parse_time_fields
    from dasflex_core.dastime.iso import format_iso_fields
    from dasflex_core.dastime.leap import (
        FILLED_TT2000,
        ILLEGAL_TT2000,
        PAD_TT2000,
        from_tt2000,
        to_tt2000,
    )
    from dasflex_core.dastime.vec import DAS2_FILL, TIME_UNITS, convert_times, us2000_from_das2

#: Names whose modules import numpy, loaded on first use (module ``__getattr__``)
#: so that scalar parsing (templates, query checks) starts without numpy.
_LAZY_NAMES = MappingProxyType({
    "format_time_fields": "fields",
    "parse_time_fields": "fields",
    "format_iso_fields": "iso",
    "FILLED_TT2000": "leap",
    "ILLEGAL_TT2000": "leap",
    "PAD_TT2000": "leap",
    "from_tt2000": "leap",
    "to_tt2000": "leap",
    "DAS2_FILL": "vec",
    "TIME_UNITS": "vec",
    "convert_times": "vec",
    "us2000_from_das2": "vec",
})


def __getattr__(name: str) -> Any:
    """Load a numpy-backed name of :data:`_LAZY_NAMES` on first use."""
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DAS2_FILL",
    "FILLED_TT2000",
    "ILLEGAL_TT2000",
    "PAD_TT2000",
    "SECONDS_1970_TO_2000",
    "TIME_UNITS",
    "DasTime",
    "convert_times",
    "format_iso",
    "format_iso_fields",
    "format_prtime",
    "format_time_fields",
    "from_epoch",
    "from_tt2000",
    "from_us2000",
    "parse_time",
    "parse_time_fields",
    "parse_us2000",
    "to_epoch",
    "to_tt2000",
    "to_us2000",
    "us2000_from_das2",
]


def to_us2000(dt: DasTime) -> float:
    """Microseconds since 2000-01-01 (no leap seconds; ``:60`` rolls over)."""
    return us2000_from_ns2000(dt.ns2000)


def from_us2000(us2000: float) -> DasTime:
    """The normalised calendar time of a us2000 value (nearest nanosecond)."""
    return DasTime.from_ns2000(ns2000_from_us2000(float(us2000)))


def parse_us2000(text: str | bytes) -> float:
    """Parse a time string straight to us2000."""
    return to_us2000(parse_time(text))


def to_epoch(dt: DasTime, units: str) -> float | int:
    """``dt`` in any time-point unit: float for us2000/t2000/t1970/mj1958, int otherwise.

    Floats are the correctly rounded value of the exact time (us2000 uses the
    same rounding as :func:`parse_time_fields`).
    """
    ns2000 = dt.ns2000
    if units == "us2000":
        return us2000_from_ns2000(ns2000)
    if units == "t2000":
        return float(Fraction(ns2000, NS_PER_SECOND))
    if units == "t1970":
        return float(Fraction(ns2000 + NS_1970_TO_2000, NS_PER_SECOND))
    if units == "mj1958":
        return float(Fraction(ns2000 + NS_1958_TO_2000, NS_PER_DAY))
    if units == "ns1970":
        return ns2000 + NS_1970_TO_2000
    if units == "TT2000":
        from dasflex_core.dastime.leap import to_tt2000

        return to_tt2000(dt)
    from dasflex_core.dastime.vec import TIME_UNITS

    raise TimeError(f"{units!r} is not a time-point unit (one of {', '.join(TIME_UNITS)})")


def from_epoch(value: float | int, units: str) -> DasTime:
    """The calendar time of a time-point value in ``units``."""
    from dasflex_core.dastime.leap import from_tt2000
    from dasflex_core.dastime.vec import convert_times

    if units == "TT2000":
        return from_tt2000(int(value))
    if units == "ns1970":
        return DasTime.from_ns2000(int(value) - NS_1970_TO_2000)
    return from_us2000(float(convert_times(value, units, "us2000")))
