"""The parameters of a HAPI ``info`` header as das2 can carry them (no numpy, no codecs).

Each parameter of a header is a :class:`Column` (:func:`columns_of`): its
wire layout (type, size, length) and whether a das2 stream keeps them.  The
primary time must come first; scalar and one-dimensional ``double`` and
``integer`` parameters are kept; ``string`` and non-primary ``isotime``
parameters and arrays of two or more dimensions are read, then dropped.
Both the fetch (:mod:`dasflex_core.remote.hapi_das2`) and ``dasflex
import-hapi`` (:mod:`dasflex_core.remote.importer`) ask this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_TIME_LENGTH", "Column", "ContentError", "columns_of", "hapi_fill", "hapi_units",
           "static_bins"]

#: das2C's longest ``timeN`` text.
MAX_TIME_LENGTH = 127


class ContentError(ValueError):
    """The remote's header or records do not make sense (reported as wrong content)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One HAPI parameter as it arrives: its wire layout and whether das2 keeps it."""

    name: str
    kind: str  # double, integer, string, isotime
    shape: tuple[int, ...]
    length: int
    info: Mapping[str, Any]
    kept: bool

    @property
    def count(self) -> int:
        """Values per record (CSV columns)."""
        return math.prod(self.shape) if self.shape else 1

    def wire_format(self) -> Any:
        """The numpy format of this parameter in a HAPI binary record."""
        base = {"double": "<f8", "integer": "<i4"}.get(self.kind, f"S{max(1, self.length)}")
        return (base, self.shape) if self.shape else base


def columns_of(info: Mapping[str, Any]) -> list[Column]:
    """The parameters of an ``info`` header, time first (ContentError when malformed)."""
    parameters = info.get("parameters")
    if not isinstance(parameters, list) or not parameters:
        raise ContentError("its info has no parameters")
    columns = []
    for index, parameter in enumerate(parameters):
        if not isinstance(parameter, Mapping) or not isinstance(parameter.get("name"), str):
            raise ContentError(f"parameter {index} of its info has no name")
        kind = str(parameter.get("type", ""))
        size = parameter.get("size") or []
        if not isinstance(size, list) or not all(isinstance(n, int) and n > 0 for n in size):
            raise ContentError(f"parameter {parameter['name']!r} has a bad size")
        shape = tuple(size) if size != [1] else ()
        length = parameter.get("length") or 0
        if kind in ("string", "isotime") and not (isinstance(length, int) and length > 0):
            raise ContentError(f"parameter {parameter['name']!r} has no length")
        if kind not in ("double", "integer", "string", "isotime"):
            raise ContentError(f"parameter {parameter['name']!r} has the unknown type {kind!r}")
        kept = index > 0 and kind in ("double", "integer") and len(shape) <= 1
        columns.append(Column(parameter["name"], kind, shape, int(length), parameter, kept))
    time = columns[0]
    if time.kind != "isotime" or time.shape:
        raise ContentError("its first parameter is not the isotime primary time")
    if not 2 <= time.length <= MAX_TIME_LENGTH:
        raise ContentError(f"its time length {time.length} does not fit a das2 time field")
    return columns


def hapi_fill(value: Any) -> float | None:
    """A numeric HAPI fill (a string); None for null and NaN (NaN is missing as it is)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def hapi_units(value: Any) -> str:
    """HAPI units as one das2 units string ("" for null and dimensionless)."""
    if isinstance(value, list):
        distinct = {item for item in value if isinstance(item, str)}
        value = distinct.pop() if len(distinct) == 1 else None
    if not isinstance(value, str) or value.strip().lower() == "dimensionless":
        return ""
    return value.strip()


def static_bins(column: Column) -> tuple[list[float], str]:
    """The yTags and their units: static ``bins[0].centers``, else the item indexes."""
    bins = column.info.get("bins")
    first = bins[0] if isinstance(bins, list) and bins and isinstance(bins[0], Mapping) else {}
    centers = first.get("centers")
    if isinstance(centers, list) and len(centers) == column.count and all(
            isinstance(value, int | float) and not isinstance(value, bool) for value in centers):
        return [float(value) for value in centers], hapi_units(first.get("units"))
    return [float(index) for index in range(column.count)], ""
