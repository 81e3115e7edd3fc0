"""Time-string parsing: HAPI restricted ISO 8601 and das2C's ``parsetime``.

:func:`parse_time` first tries the ISO 8601 forms HAPI allows
(``YYYY[-MM[-DD]|-DDD][Thh[:mm[:ss[.f...]]]][Z]``, including ``T24:00`` as
the next midnight and a bare year), then falls back to a re-implementation of
das2C's heuristic ``parsetime`` (delimiters ``blank tab / - : _ ;``, month
names, ``(DDD)`` tokens, two-digit years, day-of-year tokens, ``HHMM``...).

Quirks of das2C that are kept: ``2001-13-01`` is January 13; a fractional
token in the time part is always the seconds (``T12.5`` = 00:00:12.5,
``T12:30.5`` = 12:00:30.5); seconds 60 and 61 are accepted anywhere; a
missing year is the current (UTC) year; ``,`` is a radix point, so
``February 21, 1960`` fails; only the first ``T`` after a digit separates
date and time.

Quirks that are *not* copied (each silently changed the meaning):

* a lower-case ``t`` after a digit separates date and time like ``T`` (das2C
  ignored it and returned midnight);
* a ``-`` at the start or after another delimiter is rejected (das2C shifted
  the date/time boundary: ``2001--01-01`` was 01:00);
* text after the fractional seconds or after ``Z`` is rejected (das2C ignored it);
* seconds of 62 or more are rejected (das2C did not check fractional seconds);
* tokens such as ``12abc``, ``1e3`` or ``0x1F`` are rejected (das2C read a number
  prefix with ``strtod``);
* a bare four-digit year and ``T24:00`` are accepted, as HAPI requires;
* years above 9999 are rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dasflex_core.dastime.core import (
    NS_PER_DAY,
    NS_PER_SECOND,
    DasTime,
    day_of_year,
    days_in_month,
    days_in_year,
    is_leap_year,
    month_day_from_yday,
)
from dasflex_core.errors import TimeError

MAX_TIME_LENGTH = 80

_ISO_PATTERN = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?:(?P<yday>\d{3})|(?P<month>\d{2})(?:-(?P<mday>\d{2}))?))?"
    r"(?:T(?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})"
    r"(?:\.(?P<frac>\d+))?)?)?)?Z?",
    re.ASCII,
)
_NUMBER_PATTERN = re.compile(r"(?P<whole>\d*)(?:\.(?P<frac>\d*))?", re.ASCII)
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)
_DELIMITERS = frozenset(" \t/-:_;\r\n")
_DATE_COUNT_DELIMITERS = frozenset("/-:_;\r\n")
_LOWER_T_AFTER_DIGIT = re.compile(r"(?<=\d)t", re.ASCII)
_DIGITS = frozenset("0123456789")


def fraction_to_nanos(digits: str) -> int:
    """Nanoseconds of a decimal fraction's digits, rounded half up at the 10th digit."""
    nanos = int((digits + "000000000")[:9]) if digits else 0
    if len(digits) > 9 and digits[9] >= "5":
        nanos += 1
    return nanos


def parse_time(text: str | bytes) -> DasTime:
    """Parse a time string as das2C's parsetime (and HAPI ISO 8601) would.

    Raises :class:`~dasflex_core.errors.TimeError` with the reason when the
    string is not a time.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    stripped = text.strip(" \t\r\n\0")
    if not stripped:
        raise TimeError("empty time string")
    if len(stripped) > MAX_TIME_LENGTH:
        raise TimeError(f"time string longer than {MAX_TIME_LENGTH} characters: {stripped[:20]!r}...")
    iso = _parse_iso(stripped)
    if iso is not None:
        return iso
    try:
        return _HeuristicParser(stripped).parse()
    except TimeError as exc:
        raise TimeError(f"cannot parse time {stripped!r}: {exc.message}") from None


def _parse_iso(text: str) -> DasTime | None:
    """The strict ISO 8601 / HAPI forms; None when the text is anything else."""
    match = _ISO_PATTERN.fullmatch(text)
    if match is None:
        return None
    fields = match.groupdict()
    year = int(fields["year"])
    if year < 1 or (fields["hour"] is not None and fields["mday"] is None
                    and fields["yday"] is None):
        return None
    date = _iso_date(year, fields)
    if date is None:
        return None
    month, mday = date
    hour = int(fields["hour"] or 0)
    minute = int(fields["minute"] or 0)
    second = int(fields["second"] or 0)
    nanos = second * NS_PER_SECOND + fraction_to_nanos(fields["frac"] or "")
    if hour == 24 and minute == 0 and nanos == 0:
        return DasTime.from_ns2000(DasTime.from_parts(year, month, mday).ns2000 + NS_PER_DAY)
    if hour > 23 or minute > 59 or second > 61:
        return None
    return DasTime(year, month, mday, day_of_year(year, month, mday), hour, minute, nanos)


def _iso_date(year: int, fields: dict[str, str | None]) -> tuple[int, int] | None:
    """(month, day) of the ISO date fields, or None if they are out of range."""
    if fields["yday"] is not None:
        yday = int(fields["yday"])
        if not 1 <= yday <= days_in_year(year):
            return None
        return month_day_from_yday(year, yday)
    month = int(fields["month"] or 1)
    mday = int(fields["mday"] or 1)
    if not 1 <= month <= 12 or not 1 <= mday <= days_in_month(year, month):
        return None
    return month, mday


class _HeuristicParser:
    """One run of the parsetime heuristic over one string (not reusable)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.year = 0
        self.month = 0
        self.mday = 0
        self.yday = 0
        self.hour = 0
        self.minute = 0
        self.nanos = 0
        self.hold = 0
        self.in_date = True
        self.want_year = self.want_month = self.want_day = True
        self.want_hour = self.want_minute = self.want_second = False

    def parse(self) -> DasTime:
        """Run the heuristic and validate the resulting date."""
        text, delimiters, end_of_date = self._prepare(self.text)
        tokens = _tokenize(text, delimiters)
        if not tokens:
            raise TimeError("no date fields")
        for index, (start, token) in enumerate(tokens):
            if end_of_date is not None and self.in_date and start > end_of_date:
                self._start_time_part()
            if self._consume(token):
                if index + 1 < len(tokens):
                    raise TimeError(f"unexpected {tokens[index + 1][1]!r} after the fractional seconds")
                break
        return self._finish()

    @staticmethod
    def _prepare(text: str) -> tuple[str, frozenset[str], int | None]:
        """Radix, ``Z`` and ``T`` handling; returns text, delimiters, end of date."""
        text = text.replace(",", ".", 1)
        zulu = text.find("Z")
        if zulu >= 0:
            if text[zulu + 1:].strip():
                raise TimeError(f"unexpected {text[zulu + 1:].strip()!r} after 'Z'")
            text = text[:zulu]
        text = _LOWER_T_AFTER_DIGIT.sub("T", text)
        delimiters = _DELIMITERS
        end_of_date = None
        t_index = text.find("T")
        if t_index > 0 and text[t_index - 1] in _DIGITS:
            delimiters = _DELIMITERS | {"T"}
            end_of_date = t_index
        else:
            count = 0
            for index, char in enumerate(text):
                if char in _DATE_COUNT_DELIMITERS:
                    count += 1
                    if count == 3:
                        end_of_date = index
                        break
        for index, char in enumerate(text):
            if char == "-" and (index == 0 or text[index - 1] in delimiters):
                raise TimeError("'-' must sit between two fields (negative or empty field)")
        return text, delimiters, end_of_date

    def _start_time_part(self) -> None:
        self.in_date = False
        self.want_hour = self.want_minute = self.want_second = True

    def _consume(self, token: str) -> bool:
        """Handle one token; True when it was the (final) fractional seconds."""
        if len(token) == 5 and token[0] == "(" and token[4] == ")" \
                and set(token[1:4]) <= _DIGITS and 0 < int(token[1:4]) < 367:
            return False
        number = _NUMBER_PATTERN.fullmatch(token)
        if number is None or token in (".", ""):
            self._consume_word(token)
            return False
        whole_text = number["whole"]
        frac_text = number["frac"] or ""
        if frac_text.strip("0"):
            if not self.want_second:
                raise TimeError(f"fractional number {token!r} in the date")
            self.nanos = int(whole_text or "0") * NS_PER_SECOND + fraction_to_nanos(frac_text)
            if self.nanos >= 62 * NS_PER_SECOND:
                raise TimeError(f"seconds {token} out of range")
            return True
        value = int(whole_text or "0")
        if self.in_date:
            self._consume_date_number(value, len(token))
        else:
            self._consume_time_number(value, len(token))
        return False

    def _consume_word(self, token: str) -> None:
        if not (token.isascii() and token.isalpha()):
            raise TimeError(f"unexpected {token!r}")
        if len(token) < 3:
            raise TimeError(f"{token!r} is too short for a month name (3 letters at least)")
        if not self.in_date:
            raise TimeError(f"unexpected word {token!r} in the time of day")
        lowered = token.lower()
        for index, name in enumerate(_MONTH_NAMES):
            if name.startswith(lowered):
                self.month = index + 1
                self.want_month = False
                if self.hold:
                    if self.mday:
                        raise TimeError("too many day fields")
                    self.mday, self.hold = self.hold, 0
                    self.want_day = False
                return
        raise TimeError(f"{token!r} is not a month name")

    def _consume_date_number(self, value: int, length: int) -> None:  # noqa: C901
        if value == 0:
            raise TimeError("zero date field")
        if length == 4 and self.want_year:
            self.year = value
            self.want_year = False
        elif value > 31:
            if self.want_year:
                self.year = value + 1900 if value < 1000 else value
                self.want_year = False
            elif self.want_month:
                self.want_month = self.want_day = False
                self.month, self.yday = 0, value
            else:
                raise TimeError(f"unexpected date field {value}")
        elif value > 12:
            if not self.want_day:
                raise TimeError(f"unexpected date field {value}")
            if self.hold:
                self.month = self.hold
                self.want_month = False
            if length == 3:
                if self.month:
                    raise TimeError(f"day of year {value} given with a month")
                self.yday, self.mday = value, 0
                self.want_month = False
            else:
                self.mday = value
            self.want_day = False
        elif not self.want_month:
            if self.month:
                self.mday, self.yday = value, 0
            else:
                self.yday, self.mday = value, 0
            self.want_day = False
        elif not self.want_day:
            if self.yday:
                raise TimeError("month given with a day of year")
            self.month = value
            self.want_month = False
        elif not self.want_year:
            if length == 3:
                if self.month:
                    raise TimeError(f"day of year {value} given with a month")
                self.yday, self.mday = value, 0
                self.want_day = False
            else:
                if self.yday:
                    raise TimeError("month given with a day of year")
                self.month = value
                if self.hold:
                    self.mday = self.hold
                    self.want_day = False
            self.want_month = False
        elif self.hold:
            self.month, self.mday, self.hold = self.hold, value, 0
            self.want_month = self.want_day = False
        else:
            self.hold = value
        if not (self.want_year or self.want_month or self.want_day):
            self._start_time_part()

    def _consume_time_number(self, value: int, length: int) -> None:
        if self.want_hour:
            if length == 4:
                if value // 100 > 23 or value % 100 > 59:
                    raise TimeError(f"bad HHMM field {value:04d}")
                self.hour, self.minute = divmod(value, 100)
                self.want_minute = False
            elif value > 23:
                raise TimeError(f"hour {value} out of range")
            else:
                self.hour = value
            self.want_hour = False
        elif self.want_minute:
            if value > 59:
                raise TimeError(f"minute {value} out of range")
            self.minute = value
            self.want_minute = False
        elif self.want_second:
            if value > 61:
                raise TimeError(f"second {value} out of range")
            self.nanos = value * NS_PER_SECOND
            self.want_second = False
        else:
            raise TimeError(f"unexpected extra field {value}")

    def _finish(self) -> DasTime:
        if self.want_year:
            self.year = datetime.now(UTC).year
        if self.year > 9999:
            raise TimeError(f"year {self.year} out of range")
        if self.month and not self.mday:
            self.mday = 1
        if self.month and self.mday and not self.yday:
            if self.mday > days_in_month(self.year, self.month):
                raise TimeError(f"day {self.mday} is not valid in {self.year:04d}-{self.month:02d}")
            self.yday = day_of_year(self.year, self.month, self.mday)
        elif self.yday and not self.month and not self.mday:
            if self.yday > (366 if is_leap_year(self.year) else 365):
                raise TimeError(f"day of year {self.yday} is not valid in {self.year:04d}")
            self.month, self.mday = month_day_from_yday(self.year, self.yday)
        else:
            raise TimeError("incomplete date (need a month or a day of year)")
        return DasTime(self.year, self.month, self.mday, self.yday, self.hour,
                       self.minute, self.nanos)


def _tokenize(text: str, delimiters: frozenset[str]) -> list[tuple[int, str]]:
    """Split on runs of delimiters, keeping each token's start index."""
    tokens: list[tuple[int, str]] = []
    start = -1
    for index, char in enumerate(text):
        if char in delimiters:
            if start >= 0:
                tokens.append((start, text[start:index]))
                start = -1
        elif start < 0:
            start = index
    if start >= 0:
        tokens.append((start, text[start:]))
    return tokens
