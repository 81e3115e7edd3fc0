"""das2 properties: typed ``TYPE:name="value"`` attributes of ``<properties>``.

A :class:`Property` keeps the type prefix and the value text exactly as they
were written (``Datum:xTagWidth="16.0 s"`` -> type ``Datum``, text ``16.0 s``)
so that re-serialisation is verbatim; :meth:`Property.value` interprets the
text according to the type.  :class:`Properties` is an ordered collection of
them, and :func:`cascade` looks a name up plane -> packet -> stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dasflex_core.dastime import parse_us2000

#: Canonical (lower-case) property types and the prefix das2C writes for them.
PREFIX_BY_KIND = {
    "string": "",
    "boolean": "boolean",
    "int": "int",
    "double": "double",
    "doublearray": "doubleArray",
    "datum": "Datum",
    "datumrange": "DatumRange",
    "time": "Time",
    "timerange": "TimeRange",
}

_NAME_PATTERN = re.compile(r"[A-Za-z0-9_]+")
_ARRAY_SEPARATORS = (",", ";", "\t", " ")
_XML_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
)


def escape_xml(text: str) -> str:
    """Escape ``& < > " '`` for use inside a double-quoted XML attribute."""
    return text.translate(_XML_ESCAPES)


def _split_units(text: str, words: int) -> tuple[str, str]:
    """Split ``text`` after ``words`` blank-separated words: (head, units)."""
    parts = text.split(None, words)
    if len(parts) <= words:
        return text.strip(), ""
    return " ".join(parts[:words]), parts[words].strip()


def _parse_boolean(text: str) -> bool:
    stripped = text.strip()
    if stripped[:1].isdigit():
        return stripped[0] != "0"
    return stripped.lower() == "true"


def _parse_array(text: str) -> list[float]:
    stripped = text.strip()
    if not stripped:
        return []
    for separator in _ARRAY_SEPARATORS:
        if separator in stripped:
            return [float(item) for item in stripped.split(separator) if item.strip()]
    return [float(stripped)]


def _parse_datum(text: str) -> tuple[float, str]:
    number, units = _split_units(text, 1)
    return float(number), units


def _parse_range(text: str) -> tuple[float | str, float | str, str]:
    """``"5 to 6000 Hz"`` -> (5.0, 6000.0, 'Hz'); time ranges keep their text."""
    low, separator, rest = text.strip().partition(" to ")
    if not separator or not rest.strip():
        raise ValueError(f"range {text!r} lacks ' to '")
    high, units = _split_units(rest, 1)
    try:
        return float(low), float(high), units
    except ValueError:
        return low.strip(), high.strip(), units


def _parse_time_range(text: str) -> tuple[str, str]:
    low, separator, high = text.strip().partition(" to ")
    if not separator:
        raise ValueError(f"time range {text!r} lacks ' to '")
    high = high.strip()
    if high.endswith(" UTC"):
        high = high[:-4].rstrip()
    return low.strip(), high


_PARSERS: dict[str, Any] = {
    "string": str,
    "boolean": _parse_boolean,
    "int": lambda text: int(text.strip()),
    "double": lambda text: float(text.strip()),
    "doublearray": _parse_array,
    "datum": _parse_datum,
    "datumrange": _parse_range,
    "time": str.strip,
    "timerange": _parse_time_range,
}


@dataclass(frozen=True, slots=True)
class Property:
    """One das2 property: its name, raw type prefix and raw value text."""

    name: str
    type: str
    text: str

    @property
    def kind(self) -> str:
        """Canonical lower-case type (``string``, ``datum``, ...); unknown -> string."""
        kind = self.type.lower()
        return kind if kind in _PARSERS else "string"

    def value(self) -> Any:
        """The typed value; text that does not parse as its type stays a string.

        string/Time -> str, boolean -> bool, int -> int, double -> float,
        doubleArray -> list[float], Datum -> (float, units),
        DatumRange -> (low, high, units) (low/high are str for time ranges),
        TimeRange -> (start text, end text).
        """
        try:
            return _PARSERS[self.kind](self.text)
        except ValueError:
            return self.text

    @property
    def attribute_name(self) -> str:
        """The XML attribute name: ``TYPE:name`` or ``name``."""
        return f"{self.type}:{self.name}" if self.type else self.name

    def to_xml(self) -> str:
        """``TYPE:name="escaped text"``."""
        return f'{self.attribute_name}="{escape_xml(self.text)}"'


def _format_number(value: float) -> str:
    return repr(float(value)) if value != int(value) or abs(value) >= 1e16 else f"{value:.1f}"


def property_for(name: str, value: Any, units: str | None = None) -> Property:
    """Build a property from a Python value, choosing the das2 type prefix.

    str -> String, bool -> boolean, int -> int, float -> double (Datum with
    ``units``), list/tuple of numbers -> doubleArray.
    """
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(f"property name {name!r} may only hold letters, digits and '_'")
    if isinstance(value, bool):
        return Property(name, "boolean", "true" if value else "false")
    if isinstance(value, int):
        return Property(name, "int", str(value))
    if isinstance(value, float):
        if units:
            return Property(name, "Datum", f"{_format_number(value)} {units}")
        return Property(name, "double", _format_number(value))
    if isinstance(value, list | tuple):
        return Property(name, "doubleArray", ",".join(_format_number(v) for v in value))
    return Property(name, "", str(value))


class Properties:
    """Ordered das2 properties keyed by name (the type prefix is not part of the key)."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Property] = ()) -> None:
        self._items: dict[str, Property] = {}
        for item in items:
            self._items[item.name] = item

    @classmethod
    def from_attributes(cls, attributes: Iterable[tuple[str, str]]) -> Properties:
        """Build from XML attribute (name, value) pairs such as ``("Datum:w", "5 s")``."""
        items = []
        for attribute, text in attributes:
            prefix, _, name = attribute.rpartition(":")
            items.append(Property(name, prefix, text))
        return cls(items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[Property]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Properties) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Properties({list(self._items.values())!r})"

    def raw(self, name: str) -> Property | None:
        """The stored property ``name`` or None."""
        return self._items.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        """The typed value of ``name`` (see :meth:`Property.value`) or ``default``."""
        item = self._items.get(name)
        return default if item is None else item.value()

    def get_float(self, name: str) -> float | None:
        """A plain number for ``name`` (int/double/Datum value), or None."""
        return number_of(self._items.get(name))

    def get_time(self, name: str) -> float | None:
        """A ``Time`` (or time text) property as us2000; None when absent.

        Raises TimeError when the text is not a time.
        """
        item = self._items.get(name)
        if item is None:
            return None

        return float(parse_us2000(item.text.strip()))

    def get_time_range(self, name: str) -> tuple[float, float] | None:
        """A ``TimeRange`` (or ``DatumRange`` in UTC) property as two us2000 values."""
        item = self._items.get(name)
        if item is None:
            return None

        start, end = _parse_time_range(item.text)
        return float(parse_us2000(start)), float(parse_us2000(end))

    def set(self, name: str, value: Any, units: str | None = None) -> None:
        """Add or replace ``name`` with a Python value (prefix chosen by type)."""
        self.add(property_for(name, value, units))

    def add(self, item: Property) -> None:
        """Add or replace a property (keeps the original position on replace)."""
        self._items[item.name] = item

    def remove(self, name: str) -> None:
        """Drop ``name`` if present."""
        self._items.pop(name, None)

    def copy(self) -> Properties:
        """A shallow copy (properties themselves are immutable)."""
        return Properties(self._items.values())

    def as_dict(self) -> dict[str, Any]:
        """``{name: typed value}`` in order."""
        return {item.name: item.value() for item in self}

    def to_xml(self, indent: int = 2) -> str:
        """das2C style: one property per line, or '' when there are none."""
        if not self._items:
            return ""
        pad = " " * indent
        lines = [f"{pad}<properties"]
        lines += [f"{pad}  {item.to_xml()}" for item in self]
        lines.append(f"{pad}/>\n")
        return "\n".join(lines)


def number_of(item: Property | None) -> float | None:
    """The number held by an int/double/Datum (or untyped numeric) property."""
    if item is None:
        return None
    value = item.value()
    if isinstance(value, tuple) and len(value) == 2:
        value = value[0]
    if isinstance(value, str):
        try:
            return float(value.split()[0]) if value.strip() else None
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def cascade(name: str, *levels: Properties | None) -> Property | None:
    """The first property ``name`` found in ``levels`` (e.g. plane, packet, stream)."""
    for level in levels:
        if level is not None:
            item = level.raw(name)
            if item is not None:
                return item
    return None
