"""Unit strings as das2C reads and writes them: parsing, canonical spelling, scaling.

Grammar (lenient, as das2C): components separated by blanks; a component is a
name (ASCII letters, ``%`` or any non-ASCII character) optionally followed by
``**`` or ``^`` and an integer or rational exponent (``**-1``, ``^2``,
``**1/2``); a ``/`` makes every later exponent negative; parentheses are
ignored.  The canonical spelling is ``name**exp`` joined by single blanks in
input order (``V/m`` -> ``V m**-1``), unless the unit reduces to one of
das2C's built-in units, whose spelling is used (``s**-1`` -> ``Hz``,
``hour`` -> ``hours``).  Synonyms: ``sec``, ``second(s)`` -> ``s``;
``millisec``, ``microsec``, ``nanosec``; ``hertz``; the Latin-1 micro sign
becomes Greek mu and the ohm sign Omega.

Differences from das2C: the comparison only uses the built-in units (das2C
also reused spellings seen earlier in the same program, which made output
depend on input order); exponents may contain the digit ``0`` (das2C
rejected ``m**10``); a zero exponent is an error.

Strings that do not parse (``1/s``, ``R_J``, ``log10Ratio``) raise
:class:`~dasflex_core.errors.QueryError`; :func:`format_units` instead returns
them unchanged, since stream readers treat units as opaque text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

from dasflex_core.errors import QueryError

#: Time-point (epoch) units; ``UTC`` means calendar text.
CALENDAR_UNITS = ("us2000", "mj1958", "t2000", "t1970", "ns1970", "UTC", "TT2000")
#: The interval unit of each time-point unit.
INTERVAL_OF_CALENDAR = {"us2000": "μs", "mj1958": "days", "t2000": "s", "t1970": "s",
                        "ns1970": "ns", "UTC": "s", "TT2000": "ns"}
#: das2C's built-in units, in its order (the spellings canonical forms prefer).
BUILTIN_UNITS = CALENDAR_UNITS + (
    "ms", "μs", "ns", "s", "hours", "days", "Hz", "kHz", "MHz",
    "V**2 m**-2 Hz**-1", "nT**2 Hz**-1", "nT", "cm**-3", "dB", "km", "eV", "",
)
_SYNONYMS = {"sec": "s", "millisec": "ms", "microsec": "μs", "nanosec": "ns", "hertz": "Hz"}
_MILLI, _MICRO, _NANO = Fraction(1, 10**3), Fraction(1, 10**6), Fraction(1, 10**9)
#: Seconds in one of each time-interval unit, in every spelling streams,
#: definitions and tools use: the one seconds-per-unit table of dasflex
#: (look names up with :func:`seconds_per_unit`).
SECONDS_PER_UNIT: Mapping[str, Fraction] = MappingProxyType({
    name: Fraction(seconds) for names, seconds in (
        (("s", "sec", "secs", "second", "seconds"), 1),
        (("ms", "millisec", "milliseconds"), _MILLI),
        (("μs", "us", "microsec", "microseconds"), _MICRO),
        (("ns", "nanosec", "nanoseconds"), _NANO),
        (("min", "mins", "minute", "minutes"), 60),
        (("h", "hr", "hrs", "hour", "hours"), 3_600),
        (("d", "day", "days"), 86_400),
    ) for name in names
})
#: Interval names that are not an SI prefix on ``s`` (the reduction scales these).
_AD_HOC_SECONDS = {name: SECONDS_PER_UNIT[name] for name in
                   ("days", "day", "hours", "hour", "hr", "minutes", "minute", "min")}
_SI_PREFIXES = {"Y": 24, "Z": 21, "E": 18, "P": 15, "T": 12, "G": 9, "M": 6, "k": 3,
                "h": 2, "da": 1, "d": -1, "c": -2, "m": -3, "μ": -6, "n": -9,
                "p": -12, "f": -15, "a": -18, "z": -21, "y": -24}
_SI_PREFIX_NAMES = {"yotta": 24, "zetta": 21, "exa": 18, "peta": 15, "tera": 12,
                    "giga": 9, "mega": 6, "kilo": 3, "hecto": 2, "deca": 1, "deci": -1,
                    "centi": -2, "milli": -3, "micro": -6, "nano": -9, "pico": -12,
                    "femto": -15, "atto": -18, "zepto": -21, "yocto": -24}
#: SI unit names -> symbols; longer names that end with shorter ones come first.
_SI_NAMES = (
    ("electronvolt", "eV"), ("steradian", "sr"), ("becquerel", "Bq"), ("candela", "cd"),
    ("coulomb", "C"), ("siemens", "S"), ("sievert", "Sv"), ("celsius", "°C"),
    ("ampere", "A"), ("kelvin", "K"), ("newton", "N"), ("pascal", "Pa"),
    ("radian", "rad"), ("second", "s"), ("meter", "m"), ("metre", "m"), ("joule", "J"),
    ("farad", "F"), ("weber", "Wb"), ("tesla", "T"), ("henry", "H"), ("lumen", "lm"),
    ("katal", "kat"), ("hertz", "Hz"), ("gram", "g"), ("mole", "mol"), ("watt", "W"),
    ("volt", "V"), ("gray", "Gy"), ("ohm", "Ω"), ("lux", "lx"),
)
_SI_SYMBOLS = tuple(sorted({symbol for _, symbol in _SI_NAMES}, key=len, reverse=True))
_EXPONENT = re.compile(r"[+-]?(\d+)(?:/(\d+))?", re.ASCII)
_SEPARATORS = " \t\r\n\f\v()"
_SQUEEZE_BEFORE = "/()^*+-0123456789"


@dataclass(frozen=True, slots=True)
class UnitComponent:
    """One base unit with a rational exponent."""

    name: str
    exponent: Fraction = Fraction(1)

    def __str__(self) -> str:
        if self.exponent == 1:
            return self.name
        return f"{self.name}**{self.exponent.numerator}" + (
            f"/{self.exponent.denominator}" if self.exponent.denominator != 1 else "")


def _error(text: str, reason: str) -> QueryError:
    return QueryError(f"cannot parse units {text!r}: {reason}")


def _normalise_text(text: str) -> str:
    """Strip, apply the whole-string synonyms and fold micro and ohm signs."""
    text = text.strip()
    lowered = text.lower()
    if lowered in _SYNONYMS:
        return _SYNONYMS[lowered]
    if lowered.startswith("second"):
        return "s"
    return text.replace("\u00b5", "\u03bc").replace("\u2126", "\u03a9")


def _squeeze_blanks(text: str) -> str:
    """Drop blanks that come before an operator, digit, parenthesis or the end."""
    kept = []
    for index, char in enumerate(text):
        following = text[index + 1] if index + 1 < len(text) else ""
        if char.isspace() and (not following or following in _SQUEEZE_BEFORE):
            continue
        kept.append(char)
    return "".join(kept)


def _is_ascii_digit(char: str) -> bool:
    return len(char) == 1 and "0" <= char <= "9"


def _is_name_char(char: str) -> bool:
    return (char.isascii() and char.isalpha()) or char == "%" or not char.isascii()


def parse_units(text: str) -> tuple[UnitComponent, ...]:
    """The components of a unit string, in input order (synonyms applied)."""
    original = text
    text = _squeeze_blanks(_normalise_text(text))
    components: list[UnitComponent] = []
    sign = 1
    index = 0
    while index < len(text):
        char = text[index]
        following = text[index + 1: index + 2]
        if char in _SEPARATORS or (char == "/" and not _is_ascii_digit(following)):
            sign = -1 if char == "/" else sign
            index += 1
            continue
        if not _is_name_char(char):
            raise _error(original, f"unexpected {char!r} at character {index + 1}")
        start = index
        while index < len(text) and _is_name_char(text[index]):
            index += 1
        name = text[start:index]
        exponent = Fraction(1)
        if index < len(text) and text[index] in "*^":
            exponent, index = _read_exponent(original, text, index)
        if index < len(text) and not _ends_component(text, index):
            raise _error(original, f"unexpected {text[index]!r} at character {index + 1}")
        components.append(UnitComponent(name, exponent * sign))
    return tuple(components)


def _ends_component(text: str, index: int) -> bool:
    following = text[index + 1: index + 2]
    return text[index] in _SEPARATORS or (text[index] == "/" and not _is_ascii_digit(following))


def _read_exponent(original: str, text: str, index: int) -> tuple[Fraction, int]:
    while index < len(text) and text[index] in "*^":
        index += 1
    match = _EXPONENT.match(text, index)
    if match is None:
        raise _error(original, f"missing exponent at character {index + 1}")
    denominator = int(match[2]) if match[2] else 1
    if denominator == 0:
        raise _error(original, "zero denominator in an exponent")
    exponent = Fraction(int(match[0].split("/")[0]), denominator)
    if exponent == 0:
        raise _error(original, "zero exponent")
    return exponent, match.end()


# --------------------------------------------------------------------------
# Reduction to base symbols

def _strip_si_name(name: str) -> tuple[str, str | None]:
    """Replace a trailing SI unit name (optionally plural) by its symbol.

    Returns the head left in front of it and the symbol, or (name, None).
    """
    for long_name, symbol in _SI_NAMES:
        for spelled in (long_name + "s", long_name):
            if name.endswith(spelled):
                return name[: -len(spelled)], symbol
    return name, None


def _reduce_component(component: UnitComponent) -> tuple[str, Fraction, Fraction]:
    """(base name, exponent, factor) with SI prefixes and ad-hoc time names removed."""
    name, exponent = component.name, component.exponent
    factor = Fraction(1)
    if name.lower() in _AD_HOC_SECONDS:
        return "s", exponent, _power(_AD_HOC_SECONDS[name.lower()], exponent)
    head, symbol = _strip_si_name(name)
    if symbol is not None:
        if head and head in _SI_PREFIX_NAMES:
            factor = _power(Fraction(10) ** _SI_PREFIX_NAMES[head], exponent)
            name = symbol
        elif not head:
            name = symbol
    else:
        for tail in _SI_SYMBOLS:
            prefix = name[: -len(tail)]
            if name.endswith(tail) and prefix in _SI_PREFIXES:
                factor = _power(Fraction(10) ** _SI_PREFIXES[prefix], exponent)
                name = tail
                break
    if name.lower() == "hz":
        return "s", -exponent, factor
    return name, exponent, factor


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator == 1:
        return base ** exponent.numerator
    return Fraction(float(base) ** float(exponent))


def reduce_units(text: str) -> tuple[tuple[tuple[str, Fraction], ...], Fraction]:
    """Base components (merged, sorted) and the factor to those base units.

    ``value_in_text * factor == value_in_base_units``.
    """
    exponents: dict[str, Fraction] = {}
    factor = Fraction(1)
    for component in parse_units(text):
        name, exponent, scale = _reduce_component(component)
        exponents[name] = exponents.get(name, Fraction(0)) + exponent
        factor *= scale
    kept = [(name, exp) for name, exp in exponents.items() if exp != 0]
    kept.sort(key=lambda item: (item[1] < 0, -item[1], item[0]))
    return tuple(kept), factor


#: (spelling, reduction) of every built-in interval/physical unit, in das2C's order.
_BUILTIN_REDUCTIONS = tuple((name, reduce_units(name)) for name in BUILTIN_UNITS
                            if name not in CALENDAR_UNITS)


# --------------------------------------------------------------------------
# Public helpers

def canonical_units(text: str) -> str:
    """das2C's canonical spelling of a unit string; raises QueryError if unparsable."""
    normal = _normalise_text(text)
    if normal in BUILTIN_UNITS:
        return normal
    components = parse_units(normal)
    reduced = reduce_units(normal)
    for builtin, builtin_reduced in _BUILTIN_REDUCTIONS:
        if builtin_reduced == reduced:
            return builtin
    return " ".join(str(component) for component in components)


def format_units(text: str) -> str:
    """The canonical spelling, or ``text`` unchanged when it does not parse."""
    try:
        return canonical_units(text)
    except QueryError:
        return text


def is_calendar(units: str) -> bool:
    """True for time-point units (us2000, t2000, t1970, mj1958, ns1970, UTC, TT2000)."""
    return units.strip() in CALENDAR_UNITS


def _reduces_to(units: str, exponent: int) -> bool:
    if is_calendar(units):
        return False
    try:
        components, _ = reduce_units(_normalise_text(units))
    except QueryError:
        return False
    return components == (("s", Fraction(exponent)),)


def convertible_to_seconds(units: str) -> bool:
    """True for interval units that scale to seconds (s, ms, min, hours, Hz**-1, ...)."""
    return _reduces_to(units, 1)


def convertible_to_hertz(units: str) -> bool:
    """True for frequency units that scale to hertz (Hz, kHz, s**-1, ...)."""
    return _reduces_to(units, -1)


def scale_factor(from_units: str, to_units: str) -> float:
    """Factor ``f`` with ``value_in_to = value_in_from * f``; QueryError if incompatible."""
    for name in (from_units, to_units):
        if is_calendar(name):
            raise QueryError(f"{name!r} is a time point, not a scalable unit; "
                             "convert epochs with dastime.convert_times")
    source, source_factor = reduce_units(_normalise_text(from_units))
    target, target_factor = reduce_units(_normalise_text(to_units))
    if source != target:
        raise QueryError(f"units {from_units!r} cannot be converted to {to_units!r}")
    return float(source_factor / target_factor)


def seconds_per_unit(units: str) -> float | None:
    """Seconds in one ``units`` of :data:`SECONDS_PER_UNIT`, or None if not listed.

    Blanks around the name are ignored and the micro sign reads as mu.

    >>> seconds_per_unit("ms"), seconds_per_unit(" \u00b5s "), seconds_per_unit("m")
    (0.001, 1e-06, None)
    """
    seconds = SECONDS_PER_UNIT.get(units.strip().replace("\u00b5", "\u03bc"))
    return None if seconds is None else float(seconds)


def interval_to_seconds(value: float, units: str) -> float:
    """An interval expressed in ``units`` (s, ms, μs, ns, min, hours, days...) in seconds."""
    if not convertible_to_seconds(units):
        raise QueryError(f"units {units!r} are not a time interval")
    return value * scale_factor(units, "s")


def interval_units(units: str) -> str:
    """The interval unit that differences of ``units`` have (us2000 -> μs); others unchanged."""
    return INTERVAL_OF_CALENDAR.get(units.strip(), units)
