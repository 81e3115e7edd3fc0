"""Vectorised, printf-exact number formatting into byte columns.

C's ``printf`` prints the decimal expansion of the *exact* binary value,
rounded half-to-even; so does Python's ``%`` operator.  Formatting millions
of values one by one in Python is far too slow, so this module does it with
numpy: a float64 product gives candidate digits for every value, and the rare
values whose product lies too close to a rounding tie to be trusted (and NaN,
infinities, huge, tiny or very precise values) are re-done exactly with
Python's ``%``.  Results equal glibc ``printf`` output (and Python's ``%``,
except that a NaN with its sign bit set prints ``-nan`` as glibc does).

The ``write_*`` functions fill a caller-provided ``uint8`` view of shape
``values.shape + (width,)``, column by column, so numbers can be formatted
straight into the fixed-width slots of text records (any strides).  The
``format_*`` functions allocate the matrix themselves.
"""

from __future__ import annotations

import numpy as np

from dasflex_core.dastime.core import (
    DAYS_1958_TO_2000,
    SECONDS_1970_TO_2000,
    SECONDS_PER_DAY,
    civil_from_days,
)

#: Largest number of significant digits the float64 fast path handles.
_FAST_MAX_DIGITS = 15
#: Relative distance to a rounding tie below which a value is re-done exactly.
_TIE_TOLERANCE = 2.0**-48
#: Magnitudes outside this range are re-done exactly (powers of ten overflow).
_FAST_MIN_MAGNITUDE = 1e-280
_FAST_MAX_MAGNITUDE = 1e280

_BLANK = ord(" ")
_ZERO = ord("0")
_MINUS = ord("-")
_PLUS = ord("+")

_POW10_OFFSET = 400
_POW10 = np.array([10.0**k if k < 309 else np.inf for k in range(-_POW10_OFFSET, _POW10_OFFSET)])
_LOG10_2_Q18 = 78913  # floor(log10(2) * 2**18)


class FieldOverflowError(ValueError):
    """A formatted value does not fit in its fixed-width field."""


def _power_of_ten(powers: np.ndarray) -> np.ndarray:
    """``10.0**powers`` from a table (out-of-range powers are clipped; callers re-do those)."""
    return np.take(_POW10, powers + _POW10_OFFSET, mode="clip")


def _decimal_exponent(magnitude: np.ndarray) -> np.ndarray:
    """``floor(log10(m))`` for positive normal float64 magnitudes, from the exponent bits."""
    binary = (magnitude.view(np.int64) >> 52) - 1023
    estimate = (binary * _LOG10_2_Q18) >> 18
    return estimate + (magnitude >= _power_of_ten(estimate + 1))


class Exponential:
    """Digits, exponent and sign of every value of a ``%.{precision}e`` conversion.

    ``mantissa`` holds ``precision + 1`` digits; ``exact`` marks values the
    fast path could not settle (or that are NaN, infinite, or print a
    three-digit exponent): those are written from Python's exact ``%``.
    """

    def __init__(self, values: np.ndarray, precision: int) -> None:
        flat = np.asarray(values, dtype=np.float64)
        digits = precision + 1
        self.values = flat
        self.precision = precision
        self.negative = np.signbit(flat)
        magnitude = np.abs(flat)
        regular = (magnitude >= _FAST_MIN_MAGNITUDE) & (magnitude <= _FAST_MAX_MAGNITUDE)
        zero = magnitude == 0.0
        safe = np.where(regular, magnitude, 1.0)
        exponent = _decimal_exponent(safe)
        scaled = safe * _power_of_ten(digits - 1 - exponent)
        rounded = np.rint(scaled)
        carry = rounded >= 10.0**digits
        if carry.any():
            rounded[carry] = 10.0 ** (digits - 1)
            exponent[carry] += 1
        distance = np.abs(scaled - np.floor(scaled) - 0.5)
        self.exact = ~(regular | zero) | (distance <= scaled * _TIE_TOLERANCE)
        self.exact |= (exponent >= 100) | (exponent <= -100)
        if digits > _FAST_MAX_DIGITS:
            self.exact = ~zero
        self.mantissa = np.where(zero, 0.0, rounded).astype(np.int32 if digits <= 9 else np.int64)
        self.exponent = np.where(zero, 0, exponent).astype(np.int32)

    @property
    def body_length(self) -> int:
        """Length of a fast-path value without its sign: ``d.ddde+XX``."""
        return 1 + (self.precision + 1 if self.precision else 0) + 4

    def exact_texts(self) -> tuple[tuple[np.ndarray, ...], list[str]]:
        """Indexes and exact ``printf`` texts of the values the fast path left out."""
        where = np.nonzero(self.exact)
        texts = [c_exp(value, self.precision) for value in self.values[where].tolist()]
        return where, texts

    def write(self, out: np.ndarray, pad: int = _BLANK) -> None:
        """Fill ``out`` (shape ``values.shape + (width,)``) right-justified.

        Leading columns get ``pad`` (a blank, as printf pads; NUL lets a
        caller strip the padding of variable-width text in one pass).
        """
        width = out.shape[-1]
        body = self.body_length
        start = width - body
        if start < 0 or (start == 0 and self.negative.any()):
            raise FieldOverflowError(f"%.{self.precision}e values need {body + 1} bytes, have {width}")
        if start > 1:
            out[..., : start - 1] = pad
        if start > 0:
            out[..., start - 1] = np.where(self.negative, _MINUS, pad)
        scale = 10**self.precision
        lead = self.mantissa // scale
        out[..., start] = lead + _ZERO
        if self.precision:
            out[..., start + 1] = ord(".")
            _write_digits(out[..., start + 2 : width - 4], self.mantissa - lead * scale)
        exponent_words = _word_view(out[..., width - 4], np.uint32)
        if exponent_words is not None:
            exponent_words[...] = _EXPONENT_WORDS[np.clip(self.exponent, -99, 99) + 99]
        else:
            out[..., width - 4] = ord("e")
            out[..., width - 3] = np.where(self.exponent < 0, _MINUS, _PLUS)
            magnitude = np.abs(self.exponent)
            tens = magnitude // 10
            out[..., width - 2] = tens + _ZERO
            out[..., width - 1] = magnitude - tens * 10 + _ZERO
        if self.exact.any():
            where, texts = self.exact_texts()
            _write_texts(out, where, texts, pad)

    def lengths(self) -> np.ndarray:
        """Printed length of every value (no padding)."""
        lengths = self.negative + self.body_length
        if self.exact.any():
            where, texts = self.exact_texts()
            lengths[where] = [len(text) for text in texts]
        return lengths


#: ``e-99`` .. ``e+99`` as native 4-byte words, indexed by exponent + 99.
_EXPONENT_WORDS = np.frombuffer(
    b"".join(b"e%+03d" % exponent for exponent in range(-99, 100)), dtype=np.uint32
).copy()
#: ``0000`` .. ``9999`` and ``00`` .. ``99`` as native words.
_DIGIT4_WORDS = np.frombuffer(b"".join(b"%04d" % n for n in range(10_000)), dtype=np.uint32).copy()
_DIGIT2_WORDS = np.frombuffer(b"".join(b"%02d" % n for n in range(100)), dtype=np.uint16).copy()


def _word_view(column: np.ndarray, dtype: type) -> np.ndarray | None:
    """A view of the bytes starting at each element of the uint8 ``column`` as
    (unaligned) ``dtype`` words, or None when the memory layout does not allow it.

    Storing a 2- or 4-byte word writes as many characters in one numpy pass.
    """
    root = column
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.c_contiguous and root.flags.writeable) or root.dtype != np.uint8:
        return None
    offset = column.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    try:
        return np.ndarray(column.shape, dtype, buffer=root, offset=offset, strides=column.strides)
    except (TypeError, ValueError):
        return None


def _write_digits(out: np.ndarray, numbers: np.ndarray) -> None:
    """Write the last ``out.shape[-1]`` decimal digits of ``numbers`` (zero-padded).

    Four digits per pass as one word store where the memory layout allows,
    else one column per pass (a division by a scalar is cheap in numpy).
    """
    remaining = numbers.astype(np.int32) if out.shape[-1] <= 9 else numbers
    end = out.shape[-1]
    while end >= 4:
        words = _word_view(out[..., end - 4], np.uint32)
        if words is None:
            break
        quotient = remaining // 10_000
        words[...] = _DIGIT4_WORDS[remaining - quotient * 10_000]
        remaining = quotient
        end -= 4
    if end >= 2:
        words = _word_view(out[..., end - 2], np.uint16)
        if words is not None:
            quotient = remaining // 100
            words[...] = _DIGIT2_WORDS[remaining - quotient * 100]
            remaining = quotient
            end -= 2
    for column in range(end - 1, -1, -1):
        quotient = remaining // 10
        out[..., column] = remaining - quotient * 10 + _ZERO
        remaining = quotient


def _write_texts(
    out: np.ndarray, where: tuple[np.ndarray, ...], texts: list[str], pad: int = _BLANK
) -> None:
    """Write right-justified ``texts`` into the rows ``where`` of ``out``."""
    width = out.shape[-1]
    if any(len(text) > width for text in texts):
        wide = next(text for text in texts if len(text) > width)
        raise FieldOverflowError(f"value '{wide}' does not fit in {width} bytes")
    joined = "".join(text.rjust(width, chr(pad)) for text in texts).encode("ascii")
    out[where] = np.frombuffer(joined, dtype=np.uint8).reshape(len(texts), width)


def _c_special(value: float) -> str | None:
    """glibc's text for NaN and infinities (NaN keeps its sign), else None."""
    if value != value:
        return "-nan" if np.signbit(value) else "nan"
    if value == float("inf"):
        return "inf"
    if value == float("-inf"):
        return "-inf"
    return None


def c_exp(value: float, precision: int) -> str:
    """``printf("%.{precision}e", value)`` for one value."""
    return _c_special(value) or f"{value:.{precision}e}"


def _c_fixed(value: float, precision: int, width: int, zero_pad: bool) -> str:
    """``printf("%{0}{width}.{precision}f", value)`` for one value."""
    special = _c_special(value)
    if special is not None:
        return special.rjust(width)
    return ("%0*.*f" if zero_pad else "%*.*f") % (width, precision, value)


def write_exp(out: np.ndarray, values: np.ndarray, precision: int) -> None:
    """Write ``values`` like ``%{width}.{precision}e`` into ``out`` (``values.shape + (width,)``).

    Raises :class:`FieldOverflowError` when a value does not fit.
    """
    Exponential(values, precision).write(out)


def format_exp(values: np.ndarray, precision: int, width: int = 0) -> np.ndarray:
    """``%{width}.{precision}e`` of ``values``: a matrix of right-justified byte rows.

    The rows are ``max(width, longest)`` bytes wide.
    """
    layout = Exponential(values, precision)
    lengths = layout.lengths()
    total = max(width, int(lengths.max(initial=0)), layout.body_length)
    out = np.empty(np.shape(values) + (total,), dtype=np.uint8)
    layout.write(out)
    return out


def format_exp_ragged(values: np.ndarray, precision: int) -> tuple[np.ndarray, np.ndarray]:
    """``%.{precision}e`` of ``values``: right-justified byte rows and their lengths."""
    layout = Exponential(values, precision)
    lengths = layout.lengths()
    total = max(int(lengths.max(initial=0)), layout.body_length)
    out = np.empty(np.shape(values) + (total,), dtype=np.uint8)
    layout.write(out)
    return out, lengths


class _Fixed:
    """Integer and fraction digits of every value of a ``%.{precision}f`` conversion."""

    def __init__(self, values: np.ndarray, precision: int) -> None:
        flat = np.asarray(values, dtype=np.float64)
        self.values = flat
        self.precision = precision
        scaled = np.abs(flat) * 10.0**precision
        regular = np.isfinite(scaled) & (scaled < 1e15)
        safe = np.where(regular, scaled, 0.0)
        self.ticks = np.rint(safe).astype(np.int64)
        distance = np.abs(safe - np.floor(safe) - 0.5)
        self.exact = ~regular | (distance <= safe * _TIE_TOLERANCE) | (precision > 15)
        self.scale = 10**precision
        self.whole = self.ticks // self.scale
        self.whole_digits = _count_digits(self.whole)
        self.negative = np.signbit(flat)

    def exact_texts(self, width: int, zero_pad: bool) -> tuple[tuple[np.ndarray, ...], list[str]]:
        """Indexes and exact ``printf`` texts of the values the fast path left out."""
        where = np.nonzero(self.exact)
        values = self.values[where].tolist()
        return where, [_c_fixed(v, self.precision, width, zero_pad) for v in values]

    def lengths(self) -> np.ndarray:
        """Printed length of every value (no padding)."""
        point = self.precision + 1 if self.precision else 0
        lengths = self.negative + self.whole_digits + point
        if self.exact.any():
            where, texts = self.exact_texts(0, False)
            lengths[where] = [len(text) for text in texts]
        return lengths

    def write(self, out: np.ndarray, zero_pad: bool) -> None:
        """Fill ``out`` (shape ``values.shape + (width,)``) right-justified."""
        width = out.shape[-1]
        precision = self.precision
        fast_lengths = np.where(self.exact, 0, self.negative + self.whole_digits)
        if int(fast_lengths.max(initial=0)) + (precision + 1 if precision else 0) > width:
            raise FieldOverflowError(f"%.{precision}f values do not fit in {width} bytes")
        point = width - precision - 1 if precision else width
        if precision:
            out[..., point] = ord(".")
            _write_digits(out[..., point + 1 :], self.ticks - self.whole * self.scale)
        _write_digits(out[..., :point], self.whole)
        _pad_fixed(out[..., :point], self.whole_digits, self.negative, zero_pad)
        if self.exact.any():
            where, texts = self.exact_texts(width, zero_pad)
            _write_texts(out, where, texts)


def write_fixed(
    out: np.ndarray, values: np.ndarray, precision: int, zero_pad: bool = False
) -> None:
    """Write ``values`` like ``%{0}{width}.{precision}f`` into ``out`` (``values.shape + (width,)``).

    Raises :class:`FieldOverflowError` when a value does not fit.
    """
    _Fixed(values, precision).write(out, zero_pad)


def _count_digits(numbers: np.ndarray) -> np.ndarray:
    """Number of decimal digits of non-negative integers (at least 1)."""
    count = np.ones(numbers.shape, dtype=np.int64)
    for power in range(1, 19):
        more = numbers >= 10**power
        if not more.any():
            break
        count += more
    return count


def _pad_fixed(
    integer_part: np.ndarray, whole_digits: np.ndarray, negative: np.ndarray, zero_pad: bool
) -> None:
    """Blank the leading zeros of the integer columns (unless ``zero_pad``) and add signs."""
    width = integer_part.shape[-1]
    columns = np.arange(width)
    first = width - whole_digits
    if not zero_pad:
        integer_part[columns < first[..., None]] = _BLANK
        sign_column = first - 1
    else:
        sign_column = np.zeros_like(first)
    if negative.any():
        where = np.nonzero(negative)
        integer_part[where + (sign_column[where],)] = _MINUS


def format_fixed(
    values: np.ndarray, precision: int, width: int = 0, zero_pad: bool = False
) -> np.ndarray:
    """``%{0}{width}.{precision}f`` of ``values`` as right-justified byte rows."""
    layout = _Fixed(values, precision)
    longest = int(layout.lengths().max(initial=1))
    out = np.empty(layout.values.shape + (max(width, longest),), dtype=np.uint8)
    layout.write(out, zero_pad)
    return out


def write_int(out: np.ndarray, values: np.ndarray) -> None:
    """Write non-negative integers zero-padded (``%0{width}d``) into ``out``."""
    _write_digits(out, np.asarray(values, dtype=np.int64))


def ragged_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    """Keep-mask selecting the last ``lengths`` bytes of right-justified ``width``-byte rows."""
    return np.arange(width) >= (width - lengths)[..., None]


#: Text of a fill time (das2C prints year 1 for the fill value -1e31).
_FILL_TIME = b"0001-01-01T00:00:00.000000000"
#: (first printed width, characters shown, fraction digits) of das2C's time layouts.
_TIME_LAYOUTS = (
    (4, 4, None),
    (7, 7, None),
    (10, 10, None),
    (13, 13, None),
    (16, 16, None),
    (19, 19, 0),
    (21, 21, 1),
    (22, 22, 2),
    (23, 23, 3),
    (26, 26, 6),
    (29, 29, 9),
)


def time_layout(width: int) -> tuple[int, int | None]:
    """das2C's layout for a ``timeN`` field of ``width`` = N-1 printed bytes.

    Returns (characters shown, fraction digits or None when seconds are not
    shown); the rest of the field is blank padding.  Raises ValueError below 4.
    """
    chosen = None
    for first_width, shown, digits in _TIME_LAYOUTS:
        if width >= first_width:
            chosen = (shown, digits)
    if chosen is None:
        raise ValueError(f"a {width}-byte time field cannot hold a year")
    return chosen


#: das2C's conversion of epoch values to seconds since 2000-01-01 (t2000).
_TO_T2000 = {
    "us2000": lambda v: v * 1e-6,
    "t2000": lambda v: v,
    "t1970": lambda v: v - SECONDS_1970_TO_2000,
    "mj1958": lambda v: (v - DAYS_1958_TO_2000) * SECONDS_PER_DAY,
    "ns1970": lambda v: v * 1e-9 - SECONDS_1970_TO_2000,
}
#: Epoch units :func:`write_time` accepts.
TIME_UNITS = frozenset(_TO_T2000)


def t2000_seconds(values: np.ndarray, units: str) -> np.ndarray:
    """Epoch ``values`` in ``units`` (one of :data:`TIME_UNITS`) as das2C's
    double seconds since 2000-01-01 (us2000 scaled by ``1e-6``, not ``/ 1e6``)."""
    return np.asarray(_TO_T2000[units](np.asarray(values, dtype=np.float64)), dtype=np.float64)


def write_time(
    out: np.ndarray,
    values: np.ndarray,
    decimals: int | None = None,
    fill: np.ndarray | None = None,
    units: str = "us2000",
) -> None:
    """Write epoch times as ISO ``YYYY-MM-DDTHH:MM:SS.fff`` text into ``out``.

    ``units`` is one of :data:`TIME_UNITS`.  The broken-down time is computed
    as das2C does (seconds since 2000 as a double, then seconds of the day,
    hours, minutes) so that printed digits match it.  With ``decimals`` None
    the layout follows das2C's ``timeN`` table for the field width
    ``out.shape[-1]``; otherwise seconds get ``decimals`` digits.  Seconds
    are rounded like printf but with a proper carry into minutes, hours and
    days (das2C can print ``60.000``); layouts without seconds truncate.
    Rows flagged in ``fill`` (and non-finite times) print as year 1.
    Raises :class:`FieldOverflowError` for years outside 0..9999.
    """
    width = out.shape[-1]
    if decimals is None:
        shown, digits = time_layout(width)
    else:
        digits = decimals
        shown = 19 + (decimals + 1 if decimals else 0)
        if shown > width:
            raise FieldOverflowError(f"times with {decimals} decimals need {shown} bytes")
    raw = np.asarray(values, dtype=np.float64)
    blank = ~np.isfinite(raw) if fill is None else (np.asarray(fill) | ~np.isfinite(raw))
    t2000 = _TO_T2000[units](np.where(blank, 0.0, raw))
    days = np.floor(t2000 / 86_400.0)
    of_day = t2000 - days * 86_400.0
    hour = np.floor(of_day / 3600.0)
    minute = np.floor((of_day - hour * 3600.0) / 60.0)
    seconds = of_day - hour * 3600.0 - minute * 60.0
    precision = digits if digits is not None else 0
    per_second = 10**precision
    if digits is None:
        second_ticks = np.floor(seconds).astype(np.int64)
    else:
        second_ticks = _round_ticks(seconds, precision)
    ticks = (hour.astype(np.int64) * 3600 + minute.astype(np.int64) * 60) * per_second + second_ticks
    per_day = 86_400 * per_second
    carry = ticks >= per_day
    ticks -= carry * per_day
    day_numbers = days.astype(np.int64) + carry
    _write_calendar(out[..., :shown], day_numbers, ticks, per_second, digits)
    if width > shown:
        out[..., shown:] = _BLANK
    if blank.any():
        text = np.frombuffer(_FILL_TIME[:shown].ljust(width), dtype=np.uint8)
        out[np.nonzero(blank)] = text


def _round_ticks(seconds: np.ndarray, precision: int) -> np.ndarray:
    """``seconds * 10**precision`` rounded exactly as printf's ``%.{precision}f`` rounds."""
    scaled = seconds * float(10**precision)
    ticks = np.rint(scaled).astype(np.int64)
    distance = np.abs(scaled - np.floor(scaled) - 0.5)
    near_tie = distance <= np.abs(scaled) * _TIE_TOLERANCE + 1e-300
    if near_tie.any():
        where = np.nonzero(near_tie)
        exact = [int(f"{value:.{precision}f}".replace(".", "")) for value in seconds[where].tolist()]
        ticks[where] = exact
    return ticks


#: Above this many distinct days (or seconds) per call, fields are computed per value.
_TABLE_LIMIT = 100_000


def _write_calendar(
    out: np.ndarray, days: np.ndarray, ticks: np.ndarray, per_second: int, digits: int | None
) -> None:
    """Fill ``out`` with as much of ``YYYY-MM-DDTHH:MM:SS.fff`` as it is wide.

    Times in a batch span few days: the date and ``THH:MM:SS`` texts are
    rendered once per distinct day / second and gathered as 8-byte words.
    """
    seconds, fraction = np.divmod(ticks, per_second)
    if out.shape[-1] >= 19 and not _write_by_tables(out, days, seconds):
        _write_fields(out, days, seconds)
    elif out.shape[-1] < 19:
        _write_fields(out, days, seconds)
    if digits:
        out[..., 19] = ord(".")
        _write_digits(out[..., 20 : 20 + digits], fraction)


def _write_fields(out: np.ndarray, days: np.ndarray, seconds: np.ndarray) -> None:
    """Calendar fields computed and written value by value (vectorised)."""
    year, month, mday = civil_from_days(days)
    if int(year.min(initial=0)) < 0 or int(year.max(initial=0)) > 9999:
        raise FieldOverflowError("a time lies outside the years 0000-9999")
    minutes, second = np.divmod(seconds, 60)
    hour, minute = np.divmod(minutes, 60)
    shown = out.shape[-1]
    fields = ((0, 4, year), (5, 7, month), (8, 10, mday), (11, 13, hour), (14, 16, minute), (17, 19, second))
    for (start, end, value), separator in zip(fields, b"--T:: ", strict=True):
        if start >= shown:
            return
        _write_digits(out[..., start:end], value)
        if end < shown:
            out[..., end] = separator


def _write_by_tables(out: np.ndarray, days: np.ndarray, seconds: np.ndarray) -> bool:
    """``YYYY-MM-DDTHH:MM:SS`` from per-day and per-second text tables; False if unsuitable."""
    if days.size == 0:
        return True
    first_day, last_day = int(days.min()), int(days.max())
    first_second, last_second = int(seconds.min()), int(seconds.max())
    if last_day - first_day >= _TABLE_LIMIT or last_second - first_second >= _TABLE_LIMIT:
        return False
    date_head = _word_view(out[..., 0], np.uint64)
    date_tail = _word_view(out[..., 8], np.uint16)
    clock = _word_view(out[..., 11], np.uint64)
    if date_head is None or date_tail is None or clock is None:
        return False
    dates = np.empty((last_day - first_day + 1, 16), dtype=np.uint8)
    _write_fields(dates[:, :10], np.arange(first_day, last_day + 1), np.zeros(1, dtype=np.int64))
    day_index = days - first_day
    date_head[...] = dates[:, :8].copy().view(np.uint64)[day_index, 0]
    date_tail[...] = dates[:, 8:10].copy().view(np.uint16)[day_index, 0]
    out[..., 10] = ord("T")
    span = np.arange(first_second, last_second + 1)
    times = np.empty((span.size, 8), dtype=np.uint8)
    minutes, second = np.divmod(span, 60)
    hour, minute = np.divmod(minutes, 60)
    _write_digits(times[:, 0:2], hour)
    _write_digits(times[:, 3:5], minute)
    _write_digits(times[:, 6:8], second)
    times[:, 2] = times[:, 5] = ord(":")
    clock[...] = times.view(np.uint64)[seconds - first_second, 0]
    return True
