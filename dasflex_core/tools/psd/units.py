"""The unit algebra das2_psd needs: inverse, powers, products, labels.

Units are handled as ordered ``(name, exponent)`` components, the way das2C
prints them: positive exponents first, then negative ones, each group in
order of first appearance (``V**2 m**-2 Hz**-1``, ``km**2 days s**-2``).
"""

from __future__ import annotations

from fractions import Fraction

from dasflex_core.codecs.das2_style import canonical_units
from dasflex_core.units import seconds_per_unit

Components = list[tuple[str, Fraction]]

#: Time intervals and the frequency units that are their inverse.
_INVERSES = {"s": "Hz", "ms": "kHz", "\u03bcs": "MHz", "ns": "GHz"}
_INVERSES.update({value: key for key, value in list(_INVERSES.items())})
#: Hertz per frequency unit.
_HERTZ = {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}
#: The interval unit of each time-point unit.
_INTERVAL_OF = {
    "us2000": "\u03bcs", "utc": "\u03bcs", "t2000": "s", "t1970": "s",
    "mj1958": "days", "ns1970": "ns", "tt2000": "ns",
}


def parse(units: str) -> Components:
    """Components of a units string (canonicalised first; '' is dimensionless)."""
    text = canonical_units(units)
    text = units.strip() if text is None else text
    components: Components = []
    for word in text.split():
        name, _, power = word.partition("**")
        components.append((name, Fraction(power) if power else Fraction(1)))
    return components


def render(components: Components) -> str:
    """``name**exp`` words joined by blanks, positive exponents first."""
    ordered = [c for c in components if c[1] > 0] + [c for c in components if c[1] < 0]
    return " ".join(name if power == 1 else f"{name}**{_exponent(power)}" for name, power in ordered)


def label(units: str) -> str:
    """das2C's ``Units_toLabel``: exponents as ``!aN!n`` superscripts."""
    components = parse(units)
    ordered = [c for c in components if c[1] > 0] + [c for c in components if c[1] < 0]
    return " ".join(
        name if power == 1 else f"{name}!a{_exponent(power)}!n" for name, power in ordered
    )


def _exponent(power: Fraction) -> str:
    return str(power.numerator) if power.denominator == 1 else f"{power.numerator}/{power.denominator}"


def interval_of(time_units: str) -> str:
    """Interval units of a time-point unit (us2000 -> μs); others are returned as given."""
    return _INTERVAL_OF.get(time_units.strip().lower(), time_units)


def invert(units: str) -> str:
    """``1/units``: s <-> Hz, μs <-> MHz ...; otherwise exponents negated."""
    key = units.strip()
    if key in _INVERSES:
        return _INVERSES[key]
    return render([(name, -power) for name, power in parse(units)])


def power(units: str, exponent: int) -> Components:
    """``units**exponent`` as components."""
    return [(name, p * exponent) for name, p in parse(units)]


def multiply(left: Components, right: Components) -> str:
    """The product of two unit component lists, rendered."""
    merged: dict[str, Fraction] = {}
    for name, p in left + right:
        merged[name] = merged.get(name, Fraction(0)) + p
    return render([(name, p) for name, p in merged.items() if p != 0])


def hertz_scale(units: str) -> float | None:
    """Hertz in one ``units`` when it is a frequency (Hz, kHz, days**-1 ...), else None."""
    key = units.strip()
    if key in _HERTZ:
        return _HERTZ[key]
    components = parse(units)
    if len(components) == 1 and components[0][1] == -1:
        seconds = seconds_per_unit(components[0][0])
        if seconds is not None:
            return 1.0 / seconds
    return None


def density_units(value_units: str, frequency_units: str) -> str:
    """``value_units**2 / frequency_units`` (the units of a PSD)."""
    return multiply(power(value_units, 2), power(frequency_units, -1))
