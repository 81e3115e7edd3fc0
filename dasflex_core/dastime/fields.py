"""Text time fields (das2 ``timeN``, das3 fixed-width times) <-> us2000, vectorised.

These are hot paths of the das2/das3 text codecs.  Fixed layouts
(``YYYY-MM-DDTHH:MM:SS.fff``, ``YYYY-DDDTHH:MM:SS``, their truncations, a
blank instead of ``T``, a trailing ``Z``, blank/newline/NUL padding) are
decoded column by column from a ``(rows, width)`` byte matrix, in blocks that
stay in cache, with table look-ups instead of calendar arithmetic; anything
else falls back to :func:`~dasflex_core.dastime.parse.parse_time` once per
distinct string.  Results equal the scalar functions value for value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dasflex_core.dastime.core import (
    DAYS_1958_TO_2000,
    NS_PER_DAY,
    NS_PER_SECOND,
    days_from_civil,
    us2000_from_ns2000,
)
from dasflex_core.dastime.leap import (
    FILLED_TT2000,
    ILLEGAL_TT2000,
    PAD_TT2000,
    tt2000_to_ns2000,
)
from dasflex_core.dastime.parse import parse_time
from dasflex_core.dastime.vec import (
    DAS2_FILL,
    INTEGER_TIME_UNITS,
    NS_1970_TO_2000,
    SECONDS_1970_TO_2000,
)
from dasflex_core.errors import TimeError

#: Rows handled per block (keeps the temporaries in cache).
BLOCK_ROWS = 1 << 15
#: Distinct fixed layouts tried in one array before falling back to parse_time.
MAX_LAYOUTS = 4

_FIELD_LAYOUT = re.compile(
    rb"(?P<year>\d{4})-(?:(?P<yday>\d{3})|(?P<month>\d{2})-(?P<mday>\d{2}))"
    rb"(?:(?P<sep>[T ])(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})"
    rb"(?:\.(?P<frac>\d+))?)?)?)?Z?"
)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _calendar_tables() -> tuple[np.ndarray, ...]:
    """Look-up tables for years 0..10000 and (leap, month) / (leap, day of year)."""
    years = np.arange(10_001, dtype=np.int64)
    year_start = days_from_civil(years, 1, 1)
    leap = ((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))).astype(np.int64)
    month_days = np.zeros((2, 100), dtype=np.int64)
    month_days[0, 1:13] = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    month_days[1, 1:13] = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    month_start = np.zeros((2, 100), dtype=np.int64)
    month_start[:, 1:13] = np.cumsum(month_days[:, :12], axis=1)
    month_of_day = np.full((2, 366), 12, dtype=np.int64)
    for is_leap in (0, 1):
        months = np.repeat(np.arange(1, 13), month_days[is_leap, 1:13])
        month_of_day[is_leap, :len(months)] = months
    tens = (ord("0") + np.arange(100) // 10).astype(np.uint8)
    ones = (ord("0") + np.arange(100) % 10).astype(np.uint8)
    blank = np.zeros(256, dtype=bool)
    blank[[0, 9, 10, 13, 32]] = True
    return tuple(_read_only(table) for table in (
        year_start, leap, month_days.reshape(-1), month_start.reshape(-1),
        month_of_day.reshape(-1), tens, ones, blank))


(_YEAR_START, _LEAP, _MONTH_DAYS, _MONTH_START, _MONTH_OF_DAY, _TENS, _ONES,
 _BLANK_BYTES) = _calendar_tables()


# --------------------------------------------------------------------------
# Parsing

@dataclass(frozen=True)
class _Layout:
    """Where the fields of one fixed text layout sit in a row."""

    offset: int
    content: bytes
    spans: dict[str, tuple[int, int]]


def parse_time_fields(fields: np.ndarray) -> np.ndarray:
    """us2000 (float64) of an array of fixed-width byte strings (dtype ``S<N>``).

    Trailing blanks, newlines and NULs are ignored.  Raises
    :class:`~dasflex_core.errors.TimeError` naming the first bad value.
    """
    array = np.asarray(fields)
    if array.dtype.kind == "U":
        try:
            array = np.char.encode(array, "ascii")
        except UnicodeEncodeError as exc:
            raise TimeError(f"time field is not ASCII text: {exc.object!r}") from None
    if array.dtype.kind != "S":
        raise TypeError(f"parse_time_fields needs a bytes array, not dtype {array.dtype}")
    flat = np.ascontiguousarray(array).reshape(-1)
    result = np.empty(flat.size, dtype=np.float64)
    if flat.size == 0:
        return result.reshape(array.shape)
    if flat.dtype.itemsize == 0:
        raise TimeError("empty time field")
    matrix = flat.view(np.uint8).reshape(flat.size, flat.dtype.itemsize)
    handled = np.zeros(flat.size, dtype=bool)
    _decode_fixed_layouts(matrix, result, handled)
    if not handled.all():
        _parse_by_distinct_value(flat, ~handled, result)
    return result.reshape(array.shape)


def _decode_fixed_layouts(matrix: np.ndarray, result: np.ndarray, handled: np.ndarray) -> None:
    """Decode rows by the layout of the first row, then of the first row left, ...

    Stops after :data:`MAX_LAYOUTS` layouts or when a layout's own sample row
    is not decodable (an out-of-range field: the scalar parser decides).
    """
    todo = np.arange(len(matrix))
    for _ in range(MAX_LAYOUTS):
        layout = _detect_layout(matrix[todo[0]])
        if layout is None:
            return
        every_row = len(todo) == len(matrix)
        rows = matrix if every_row else matrix[todo]
        values = result if every_row else np.empty(len(todo), dtype=np.float64)
        done = handled if every_row else np.zeros(len(todo), dtype=bool)
        for start in range(0, len(todo), BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, len(todo))
            _decode_block(rows[start:stop], layout, values[start:stop], done[start:stop])
        if not every_row:
            result[todo[done]] = values[done]
            handled[todo[done]] = True
        if not done[0] or done.all():
            return
        todo = todo[~done]


def _detect_layout(row: np.ndarray) -> _Layout | None:
    text = bytes(row)
    offset = len(text) - len(text.lstrip(b" "))
    content = text[offset:].rstrip(b" \t\r\n\0")
    match = _FIELD_LAYOUT.fullmatch(content)
    if match is None:
        return None
    spans = {name: match.span(name) for name in
             ("year", "yday", "month", "mday", "hour", "minute", "second", "frac")
             if match[name] is not None}
    return _Layout(offset, content, spans)


def _decode_block(block: np.ndarray, layout: _Layout, out: np.ndarray,
                  handled: np.ndarray) -> None:
    """Decode rows of ``block`` that fit ``layout``; mark them in ``handled``."""
    ok = _block_matches(block, layout)
    column = layout.offset

    def field(name: str) -> np.ndarray:
        if name not in layout.spans:
            return np.zeros(len(block), dtype=np.int32)
        start, stop = layout.spans[name]
        value = block[:, column + start].astype(np.int32) - ord("0")
        for index in range(column + start + 1, column + stop):
            value = value * 10 + (block[:, index] - ord("0"))
        return value

    year = np.where(ok, field("year"), 0)
    hour, minute, second = field("hour"), field("minute"), field("second")
    leap = _LEAP[year]
    if "yday" in layout.spans:
        yday = field("yday")
        ok &= (yday >= 1) & (yday <= 365 + leap)
        days = _YEAR_START[year] + yday - 1
    else:
        month_index = leap * 100 + np.where(ok, field("month"), 0)
        mday = field("mday")
        ok &= (mday >= 1) & (mday <= _MONTH_DAYS[month_index])
        days = _YEAR_START[year] + _MONTH_START[month_index] + mday - 1
    ok &= (year >= 1) & (hour <= 23) & (minute <= 59) & (second <= 61)
    seconds_of_day = (hour * 60 + minute) * 60 + second
    whole_us = days * 86_400_000_000 + seconds_of_day.astype(np.int64) * 1_000_000
    frac_us, rest_ns = _fraction(block, layout)
    us2000 = (whole_us + frac_us).astype(np.float64)
    if rest_ns is not None:
        us2000 += rest_ns / 1000.0
    np.copyto(out, us2000, where=ok)
    handled |= ok


def _block_matches(block: np.ndarray, layout: _Layout) -> np.ndarray:
    """Rows with digits and literals where the layout has them, blanks elsewhere."""
    ok = np.ones(len(block), dtype=bool)
    for index in range(layout.offset):
        ok &= block[:, index] == ord(" ")
    for index, expected in enumerate(layout.content, start=layout.offset):
        if 48 <= expected <= 57:
            ok &= (block[:, index] - ord("0")) <= 9
        else:
            ok &= block[:, index] == expected
    for index in range(layout.offset + len(layout.content), block.shape[1]):
        ok &= _BLANK_BYTES[block[:, index]]
    return ok


def _fraction(block: np.ndarray, layout: _Layout) -> tuple[np.ndarray | int, np.ndarray | None]:
    """Whole microseconds and leftover nanoseconds of the fraction digits.

    Digits after the ninth only round (half up, on the tenth digit).
    """
    if "frac" not in layout.spans:
        return 0, None
    start, stop = layout.spans["frac"]
    first = layout.offset + start
    used = min(stop - start, 9)
    nanos = np.zeros(len(block), dtype=np.int64)
    for index in range(first, first + used):
        nanos = nanos * 10 + (block[:, index] - ord("0"))
    nanos *= 10 ** (9 - used)
    if stop - start > 9:
        nanos += block[:, first + 9] >= ord("5")
    if used <= 6 and stop - start <= 9:
        return nanos // 1000, None
    whole_us, rest_ns = np.divmod(nanos, 1000)
    return whole_us, rest_ns


def _parse_by_distinct_value(flat: np.ndarray, todo: np.ndarray, result: np.ndarray) -> None:
    """Parse the rows in ``todo`` once per distinct string with :func:`parse_time`."""
    indices = np.flatnonzero(todo)
    distinct, inverse = np.unique(flat[indices], return_inverse=True)
    values = np.empty(len(distinct), dtype=np.float64)
    for position, raw in enumerate(distinct):
        try:
            values[position] = us2000_from_ns2000(parse_time(bytes(raw)).ns2000)
        except TimeError as exc:
            row = int(indices[np.flatnonzero(inverse == position)[0]])
            raise TimeError(f"bad time field {row}: {exc.message}") from None
    result[indices] = values[inverse]


# --------------------------------------------------------------------------
# Formatting

def time_layout(width: int) -> tuple[int, int, int]:
    """(date/time fields 1..6, fraction digits, pad blanks) das2C uses for ``timeN``."""
    if width < 5:
        raise TimeError(f"time{width} is too narrow to hold a year")
    if width <= 19:
        fields, pad = divmod(width - 5, 3)
        return fields + 1, 0, pad
    fixed = {20: (0, 0), 21: (0, 1), 22: (1, 0), 23: (2, 0), 24: (3, 0), 25: (3, 1),
             26: (3, 2), 27: (6, 0), 28: (6, 1), 29: (6, 2), 30: (9, 0)}
    digits, pad = fixed.get(width, (9, width - 30))
    return 6, digits, pad


def format_time_fields(values: np.ndarray, width: int, units: str = "us2000") -> np.ndarray:
    """Text of ``timeN`` fields (dtype ``S<width-1>``) as das2C's writers print them.

    Width 5..19 give truncated dates (year, month, day, hour, minute, each
    optionally padded with blanks); 20/21 whole seconds; 22, 23, 24..26,
    27..29 and 30+ give 1, 2, 3, 6 and 9 decimals.  Seconds are rounded like
    printf without carrying, so ``59.9996`` prints ``60.000`` (das2C's quirk),
    and das2's fill (-1e31, or NaN) prints as ``0001-01-01T00:00:00...``.
    ``units`` is any time-point unit of :data:`~dasflex_core.dastime.TIME_UNITS`.
    """
    fields, digits, pad = time_layout(width)
    text = "0000-00-00T00:00:00"[:3 * fields + 1]
    if fields == 6 and digits:
        text += "." + "0" * digits
    template = np.frombuffer((text + " " * pad).encode(), dtype=np.uint8)
    flat = np.asarray(values).reshape(-1)
    out = np.empty((len(flat), len(template)), dtype=np.uint8)
    out[:] = template
    for start in range(0, len(flat), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(flat))
        _format_block(flat[start:stop], units, out[start:stop], fields, digits)
    return out.view(f"S{len(template)}").reshape(-1)


def _format_block(values: np.ndarray, units: str, out: np.ndarray, fields: int,
                  digits: int) -> None:
    days, hour, minute, in_minute, fill = split_times(values, units)
    days = np.where(fill, days_from_civil(1, 1, 1), days)
    year, month, mday, _ = civil_date(days, units)
    put_year(out, year)
    clock = (month, mday, np.where(fill, 0, hour), np.where(fill, 0, minute))
    for index, column in enumerate(clock[:fields - 1]):
        put_pair(out, 5 + 3 * index, column)
    if fields == 6:
        scaled = round_half_even_scaled(np.where(fill, 0.0, in_minute), digits)
        whole, frac = np.divmod(scaled, 10 ** digits)
        put_pair(out, 17, whole)
        put_number(out, 20, frac, digits)


def civil_date(days: np.ndarray, units: str
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day, day of year - 1) of days since 2000, by table look-up.

    Raises TimeError (naming ``units``) outside years 0..9999.
    """
    year_guess = np.floor((days + 730_485) / 365.2425).astype(np.int64)
    if ((year_guess < 0) | (year_guess > 9999)).any():
        raise TimeError(f"a time in {units} is outside years 0..9999")
    year = year_guess + (_YEAR_START[year_guess + 1] <= days) - (_YEAR_START[year_guess] > days)
    if ((year < 0) | (year > 9999)).any():
        raise TimeError(f"a time in {units} is outside years 0..9999")
    leap = _LEAP[year]
    day_in_year = days - _YEAR_START[year]
    month = _MONTH_OF_DAY[leap * 366 + day_in_year]
    mday = day_in_year - _MONTH_START[leap * 100 + month] + 1
    return year, month, mday, day_in_year


def put_year(out: np.ndarray, year: np.ndarray) -> None:
    """Write four-digit years into columns 0..3."""
    century, year_in_century = np.divmod(year.astype(np.int32), 100)
    put_pair(out, 0, century)
    put_pair(out, 2, year_in_century)


def put_pair(out: np.ndarray, column: int, values: np.ndarray) -> None:
    """Write ``values`` (0..99) as two digits at ``column``."""
    out[:, column] = _TENS[values]
    out[:, column + 1] = _ONES[values]


def put_number(out: np.ndarray, column: int, values: np.ndarray, count: int) -> None:
    """Write ``values`` as ``count`` zero-padded decimal digits at ``column``."""
    while count >= 2:
        count -= 2
        high, values = np.divmod(values, 10 ** count)
        put_pair(out, column, high)
        column += 2
    if count:
        out[:, column] = ord("0") + values


def round_half_even_scaled(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(values * 10**digits)`` on the exact binary value, as printf rounds.

    The product's rounding error is recovered exactly (Dekker's two-product)
    so that ties and near-ties go the way ``"%.*f"`` sends them.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = float(10 ** digits)
    product = values * scale
    nearest = np.rint(product)
    if digits == 0:
        return nearest.astype(np.int64)
    ties = np.flatnonzero(np.abs(product - nearest) == 0.5)
    if len(ties):
        error = _product_error(values[ties], scale, product[ties])
        distance = product[ties] - nearest[ties]
        up = (distance == 0.5) & (error > 0)
        down = (distance == -0.5) & (error < 0)
        nearest[ties] += up.astype(np.float64) - down.astype(np.float64)
    return nearest.astype(np.int64)


def _product_error(a: np.ndarray, b: float, product: np.ndarray) -> np.ndarray:
    """Exact ``a * b - product`` (Dekker split, no FMA needed)."""
    splitter = 134_217_729.0  # 2**27 + 1
    big = splitter * a
    a_high = big - (big - a)
    a_low = a - a_high
    b_big = splitter * b
    b_high = b_big - (b_big - b)
    b_low = b - b_high
    return ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low


def split_times(values: np.ndarray, units: str
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Day since 2000, hour, minute, seconds in the minute (float) and a fill mask.

    Float units follow das2C's arithmetic (seconds of day from
    ``fmod(t2000, 86400)``) so that printed seconds match its output digit for
    digit; day and clock come from the same remainder, so they never disagree
    near midnight the way das2C's separate day computation can.
    """
    if units in INTEGER_TIME_UNITS:
        return _split_integer_times(values, units)
    values = values.astype(np.float64, copy=False)
    fill = (values == DAS2_FILL) | ~np.isfinite(values)
    safe = np.where(fill, 0.0, values)
    if units == "us2000":
        t2000 = safe * 1e-6
    elif units == "t2000":
        t2000 = safe
    elif units == "t1970":
        t2000 = (safe - SECONDS_1970_TO_2000) * 1e6 * 1e-6
    elif units == "mj1958":
        t2000 = (safe - DAYS_1958_TO_2000) * 86400 * 1e6 * 1e-6
    else:
        raise TimeError(f"cannot format times in units {units!r}")
    remainder = np.fmod(t2000, 86400.0)
    negative = remainder < 0
    days = np.rint((t2000 - remainder) / 86400.0).astype(np.int64) - negative
    remainder = np.where(negative, remainder + 86400.0, remainder)
    rollover = remainder >= 86400.0
    days = days + rollover
    remainder = np.where(rollover, 0.0, remainder)
    clock = remainder.astype(np.int32)  # remainder >= 0, so this is floor
    hour, seconds_of_hour = np.divmod(clock, 3600)
    minute = seconds_of_hour // 60
    return days, hour, minute, remainder - (clock - seconds_of_hour % 60), fill


def _split_integer_times(values: np.ndarray, units: str
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if values.dtype.kind == "f":
        fill = ~np.isfinite(values) | (values == DAS2_FILL) | (np.abs(values) >= 9.2e18)
        values = np.where(fill, 0, values).astype(np.int64)
    else:
        values = values.astype(np.int64)
        fill = np.zeros(values.shape, dtype=bool)
    leap = np.zeros(values.shape, dtype=bool)
    if units == "TT2000":
        fill |= np.isin(values, (ILLEGAL_TT2000, FILLED_TT2000, PAD_TT2000))
        ns2000, leap = tt2000_to_ns2000(np.where(fill, 0, values))
        ns2000 = np.asarray(ns2000) - np.where(leap, NS_PER_SECOND, 0)
    else:
        ns2000 = values - NS_1970_TO_2000
    days, ns_of_day = np.divmod(ns2000, NS_PER_DAY)
    hour, rest = np.divmod(ns_of_day, 3600 * NS_PER_SECOND)
    minute, ns_of_minute = np.divmod(rest, 60 * NS_PER_SECOND)
    in_minute = ns_of_minute / 1e9 + np.where(leap, 1.0, 0.0)
    return days, hour, minute, in_minute, fill
