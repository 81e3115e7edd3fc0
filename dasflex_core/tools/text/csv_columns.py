"""The columns ``das3_csv`` prints, and those of a das2 packet type.

A das2 packet type is up-converted the way das2C does it: the ``<x>`` plane
becomes a coordinate (``time`` for calendar units), ``<y>``/``<z>`` planes
data (or, with ``<z>``, ``<y>`` coordinates), a ``<yscan>`` a coordinate for
its yTags plus a data column, a waveform ``<yscan>`` offset, reference and
center times.  (A das3 dataset's columns are :mod:`.csv_das3`'s.)  Each
:class:`Column` knows its header cells and how to take its values from a
batch of records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from dasflex_core.codecs.das2 import (
    PacketHeader,
    Plane,
    Properties,
    Property,
    StreamHeader,
    cascade,
)
from dasflex_core.codecs.das2_style import canonical_units
from dasflex_core.dastime.core import SECONDS_1970_TO_2000, SECONDS_PER_EPOCH_UNIT
from dasflex_core.errors import StreamError
from dasflex_core.textfmt import t2000_seconds
from dasflex_core.units import SECONDS_PER_UNIT

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from dasflex_core.codecs.das3_model import StreamHeader3

#: yTag units (canonical) of a das2 ``<yscan>`` that become das3 time offsets.
_OFFSET_UNITS = frozenset({"s", "ms", "\u03bcs", "ns", "us"})

#: One decoded record of a ragged das3 dataset: each packet variable's value.
RaggedRecord: TypeAlias = "Mapping[str, ArrayLike]"
#: A batch of records: a structured array, or ragged das3 records.
Records: TypeAlias = "np.ndarray | Sequence[RaggedRecord]"
#: Takes a column's values from a batch: an array of shape ``(records, cells)``.
Getter: TypeAlias = "Callable[[Records], np.ndarray]"
#: The header of a das2 or a das3 stream.
StreamHeaders: TypeAlias = "StreamHeader | StreamHeader3"


@dataclass(slots=True)
class Column:
    """One variable of a dataset as das3_csv lays it out.

    ``header_cells`` cells in header rows 1 and 2, one cell in row 3 and, if
    ``values`` is set, ``width`` cells per values row from ``values(records)``
    (an array of shape ``(records, width)``; times as us2000).
    """

    category: str
    dimension: str
    role: str
    units: str
    label: str
    header_cells: int
    width: int = 1
    is_time: bool = False
    values: Getter | None = None
    time_units: str = "us2000"
    text_kind: str = "real"
    fill: Getter | None = None

    @property
    def id_text(self) -> str:
        """Header row 1 cell: ``coord:time`` or ``coord:time:offset``."""
        if self.role == "center":
            return f"{self.category}:{self.dimension}"
        return f"{self.category}:{self.dimension}:{self.role}"


def column_of(records: Records, key: str) -> np.ndarray:
    """The values of field ``key`` in a batch of records (ragged values flattened)."""
    if isinstance(records, np.ndarray):
        return np.asarray(records[key])
    if len(records) == 1:
        return _flattened(records[0][key]).reshape(1, -1)
    return np.array([np.asarray(record[key]).reshape(-1) for record in records])


def _flattened(value: ArrayLike) -> np.ndarray:
    """The items of a (possibly nested, ragged) record value as one flat array."""
    if isinstance(value, list | tuple):
        parts = [_flattened(part) for part in value]
        return np.concatenate(parts) if parts else np.empty(0)
    return np.asarray(value).reshape(-1)


# das2 packets, up-converted the way das2C does it ---------------------------


def canonical(units: str) -> str:
    """das2C's canonical spelling of ``units`` (else the units, stripped)."""
    canonical = canonical_units(units)
    return units.strip() if canonical is None else canonical


def _label(name: str, plane: Plane, header: PacketHeader, stream: StreamHeaders | None) -> str:
    item = cascade(name, plane.properties, header.properties, _das2_properties(stream))
    return "" if item is None else item.text


def _das2_properties(stream: StreamHeaders | None) -> Properties | None:
    """The stream properties as das2 :class:`Properties` (das3 headers are converted)."""
    if stream is None or isinstance(stream, StreamHeader):
        return None if stream is None else stream.properties
    return Properties(Property(item.name, "", item.text) for item in stream.properties)


def _is_time_plane(plane: Plane) -> bool:
    return plane.encoding.kind == "time" or plane.units.strip() in SECONDS_PER_EPOCH_UNIT


def _time_getter(field_name: str) -> Getter:
    """Raw epoch values of a time plane (text times arrive as us2000)."""

    def values(records: Records) -> np.ndarray:
        raw = np.asarray(column_of(records, field_name), dtype=np.float64)
        return raw.reshape(len(raw), -1)

    return values


def _time_units(plane: Plane) -> str:
    return "us2000" if plane.encoding.kind == "time" else plane.units.strip()


def _real_getter(field_name: str, plane: Plane) -> Getter:
    """Values as das2C stores them: asciiN <= 12 as float32, other text as float64."""
    narrow_text = plane.encoding.kind == "ascii" and plane.encoding.width <= 12

    def values(records: Records) -> np.ndarray:
        column = column_of(records, field_name)
        if narrow_text:
            column = column.astype(np.float32)
        return column.reshape(len(column), -1)

    return values


def _coordinate_name(plane: Plane, fallback: str) -> str:
    if plane.name:
        return plane.name.replace(".", "_")
    return "time" if _is_time_plane(plane) else fallback


def _x_column(header: PacketHeader, stream: StreamHeaders | None) -> Column:
    plane = header.planes[0]
    field_name = header.fields[0]
    is_time = _is_time_plane(plane)
    units = "UTC" if plane.encoding.kind == "time" else canonical(plane.units)
    getter = _time_getter(field_name) if is_time else _real_getter(field_name, plane)
    label = _label("xLabel", plane, header, stream)
    time_units = _time_units(plane) if is_time else "us2000"
    return Column("coord", _coordinate_name(plane, "X"), "center", units, label, 1, 1, is_time,
                  getter, time_units)


def _tag_dimension(units: str) -> str:
    canonical = canonical_units(units) or ""
    if canonical.endswith("Hz"):
        return "frequency"
    if canonical in _OFFSET_UNITS:
        return "offset"
    if canonical.endswith("eV"):
        return "energy"
    return "ytags"


def _waveform_columns(header: PacketHeader, stream: StreamHeaders | None, index: int) -> list[Column]:
    """A waveform yscan: offsets, reference and center times of the time coordinate."""
    plane = header.planes[index]
    reference = _x_column(header, stream)
    x_units = _time_units(header.planes[0])
    centers = _waveform_centers(header.fields[0], plane, x_units)
    label = reference.label
    units = reference.units
    count = plane.nitems
    return [
        Column("coord", "time", "offset", canonical(plane.yunits), "", count),
        Column("coord", "time", "reference", units, label, 1, 1, True, reference.values, x_units),
        Column("coord", "time", "center", units, label, count, count, True, centers, "t1970"),
        _data_column(header, stream, index, "zLabel"),
    ]


def _waveform_centers(x_field: str, plane: Plane, x_units: str) -> Getter:
    """Reference + offset times as seconds since 1970, by das2C's arithmetic.

    das2C keeps yTags as float32, scales them to the reference's units, adds
    in double there, converts the sum to seconds since 2000 and splits off the
    time of day on the seconds-since-1970 scale.  Repeating each rounding step
    makes centers on a half-millisecond tie print the same digits.
    """
    scale = float(SECONDS_PER_UNIT[canonical(plane.yunits)]) / SECONDS_PER_EPOCH_UNIT[x_units]
    tags = plane.ytag_values().astype(np.float32).astype(np.float64)
    offsets = tags if scale == 1.0 else scale * tags
    x_times = _time_getter(x_field)

    def centers(records: Records) -> np.ndarray:
        summed = x_times(records) + offsets[None, :]
        if x_units == "t1970":
            return summed
        return t2000_seconds(summed, x_units) + float(SECONDS_1970_TO_2000)

    return centers


def _data_column(header: PacketHeader, stream: StreamHeaders | None, index: int,
                 label_name: str) -> Column:
    plane = header.planes[index]
    units = plane.zunits if plane.kind == "yscan" else plane.units
    name = plane.name.replace(".", "_") if plane.name else f"{plane.kind.upper()}_{index}"
    label = _label(label_name, plane, header, stream)
    getter = _real_getter(header.fields[index], plane)
    return Column("data", name, "center", canonical(units), label, plane.nitems, plane.nitems,
                  False, getter)


def das2_columns(header: PacketHeader, stream: StreamHeaders | None) -> list[Column]:
    """The das3_csv columns of a das2 packet type (das2C's das2 -> das3 mapping)."""
    kinds = [plane.kind for plane in header.planes]
    if not kinds or kinds[0] != "x":
        raise StreamError(f"packet {header.packet_id:02d} does not start with an <x> plane")
    if "yscan" in kinds and "y" in kinds:
        y_plane = header.planes[kinds.index("y")]
        scan = header.planes[kinds.index("yscan")]
        raise StreamError(
            f"packet {header.packet_id:02d}: das3 reads a <y> plus <yscan> packet as a "
            f"reference plus yTag offsets, and units '{canonical(scan.yunits)}' cannot be "
            f"added to units '{canonical(y_plane.units)}'"
        )
    columns = [_x_column(header, stream)]
    if "yscan" in kinds:
        scan_columns = _yscan_columns(header, stream)
        is_waveform = scan_columns[0].role == "offset"
        return scan_columns if is_waveform else columns + scan_columns
    if "z" in kinds:
        for index, kind in enumerate(kinds):
            if kind == "y":
                plane = header.planes[index]
                getter = _real_getter(header.fields[index], plane)
                columns.append(Column("coord", _coordinate_name(plane, "Y"), "center",
                                      canonical(plane.units),
                                      _label("yLabel", plane, header, stream), 1, 1, False, getter))
        return columns + [
            _data_column(header, stream, index, "zLabel")
            for index, kind in enumerate(kinds) if kind == "z"
        ]
    return columns + [
        _data_column(header, stream, index, "yLabel") for index, kind in enumerate(kinds) if kind == "y"
    ]


def _yscan_columns(header: PacketHeader, stream: StreamHeaders | None) -> list[Column]:
    columns: list[Column] = []
    for index, plane in enumerate(header.planes):
        if plane.kind != "yscan":
            continue
        renderer = cascade("renderer", plane.properties, header.properties,
                           _das2_properties(stream))
        dimension = _tag_dimension(plane.yunits)
        if renderer is not None and renderer.text == "waveform" and dimension == "offset":
            return _waveform_columns(header, stream, index)
        columns.append(Column("coord", dimension, "center", canonical(plane.yunits), "",
                              plane.nitems))
        columns.append(_data_column(header, stream, index, "zLabel"))
    coords = [column for column in columns if column.category == "coord"]
    return coords + [column for column in columns if column.category == "data"]
