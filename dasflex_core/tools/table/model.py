"""One mapping from a das2 packet type or a das3 dataset to a table.

A :class:`Table` has columns of four kinds: ``time`` (int64 nanoseconds
since 1970-01-01 UTC, no leap seconds), ``real``, ``integer`` and ``text``.
A column is a scalar (one value per record) or, for vectors and spectra,
``width`` values per record along an :class:`Axis`: the frequencies or time
offsets of a das2 ``<yscan>`` (its yTags) or of a das3 coordinate that does
not vary with the record, or the component names of a das3 vector.  Units,
fill values, titles and labels travel with each column; every writer maps
them to its own metadata.

das2 (:func:`das2_layout`): the ``<x>`` plane is the time column (or a real
coordinate when its units are not times); ``<y>`` and ``<z>`` planes are
scalar columns (``<y>`` planes are coordinates when ``<z>`` planes exist);
each ``<yscan>`` is a column of ``nitems`` values along its yTags.
das3 (:func:`das3_layout`): every record-varying packet variable is a
column named after its dimension (plus the role when it is not ``center``);
datasets of rank 3 or more, ragged values and blobs have no table form.

:meth:`TableLayout.batch` turns a run of records into a :class:`Batch`:
per column the values (``(n,)`` or ``(n, width)``) and a mask of missing
values (das2 fill within das2C's relative tolerance, das3 fill exactly,
invalid times), or None when no value is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from dasflex_core.codecs.das2 import (
    PacketHeader,
    Plane,
    Properties,
    Property,
    StreamHeader,
    cascade,
    plane_fill,
)
from dasflex_core.codecs.das2_headers import FILL_TOLERANCE
from dasflex_core.codecs.das2_labels import plain_label
from dasflex_core.codecs.das3_fields import PacketField, field_fill, packet_fields
from dasflex_core.codecs.das3_model import (
    Dataset,
    Dimension,
    Property3,
    StreamHeader3,
    Values,
    Variable,
)
from dasflex_core.codecs.das3_model import Sequence as SequenceSource
from dasflex_core.dastime import FILLED_TT2000, TIME_UNITS, convert_times
from dasflex_core.errors import DasFlexError, StreamError
from dasflex_core.units import convertible_to_hertz, convertible_to_seconds

#: Time-point units the model converts, by their lower-case das2/das3 spelling.
_TIME_UNITS = {**{name.lower(): name for name in TIME_UNITS}, "utc": "us2000", "": "us2000"}
#: UCDs (IVOA Unified Content Descriptors) of the quantities we can recognise.
_UCDS = {"time": "time.epoch", "frequency": "em.freq", "time_offset": "time.interval",
         "energy": "phys.energy", "B": "phys.magField", "E": "phys.elecField"}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


class Kind(StrEnum):
    """What a column holds."""

    TIME = "time"
    REAL = "real"
    INTEGER = "integer"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Axis:
    """The coordinate along a wide column: numeric ``values`` or component ``labels``."""

    name: str
    units: str = ""
    title: str = ""
    values: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Number of points along the axis."""
        return len(self.labels) if self.labels else len(self.values)

    @property
    def ucd(self) -> str:
        """The UCD of the axis, when known."""
        return _UCDS.get(self.name, "")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``width`` values per record (1 for scalars) along ``axis``.

    ``dtype`` is the type values keep (float32 stays float32; times are
    int64 nanoseconds since 1970); ``fill`` the stream's fill value, if any;
    ``role`` is ``coord`` or ``data``.
    """

    name: str
    kind: Kind
    dtype: np.dtype
    units: str = ""
    title: str = ""
    label: str = ""
    fill: float | int | None = None
    axis: Axis | None = None
    role: str = "data"
    ucd: str = ""

    @property
    def width(self) -> int:
        """Values per record."""
        return self.axis.size if self.axis is not None else 1


@dataclass(frozen=True)
class Table:
    """A das2 packet type or das3 dataset as a table."""

    name: str
    title: str
    columns: tuple[Column, ...]
    description: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def axes(self) -> tuple[Axis, ...]:
        """The distinct axes of the wide columns, in column order."""
        found: dict[str, Axis] = {}
        for column in self.columns:
            if column.axis is not None:
                found.setdefault(column.axis.name, column.axis)
        return tuple(found.values())

    @property
    def time_column(self) -> Column | None:
        """The first time column, if any."""
        return next((c for c in self.columns if c.kind is Kind.TIME), None)


@dataclass(frozen=True, slots=True)
class Batch:
    """Records of one table: per column, its values and a mask of missing ones (or None)."""

    table: Table
    values: tuple[np.ndarray, ...]
    missing: tuple[np.ndarray | None, ...]

    @property
    def rows(self) -> int:
        """Number of records."""
        return len(self.values[0]) if self.values else 0


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """The stream header as plain text: its title and properties."""

    title: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)


#: Reads one column of a run's records: values and a missing mask (or None).
Getter = Callable[[Any], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class TableLayout:
    """A table and how to read its columns from a run of records."""

    table: Table
    getters: tuple[Getter, ...]

    def batch(self, records: Any) -> Batch:
        """The :class:`Batch` of one run of records."""
        pairs = [getter(records) for getter in self.getters]
        return Batch(self.table, tuple(v for v, _ in pairs), tuple(m for _, m in pairs))


# --------------------------------------------------------------------------
# Text helpers


def safe_name(text: str, default: str) -> str:
    """A name of letters, digits and underscores (NetCDF, VOTable and CSV friendly)."""
    name = _NAME_UNSAFE.sub("_", text).strip("_")
    if not name:
        return default
    return f"_{name}" if name[0].isdigit() else name


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... when taken; the result is added to ``taken``."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate


def stream_info(header: StreamHeader | StreamHeader3 | None) -> StreamInfo:
    """The title and properties of a das2 or das3 stream header."""
    if header is None:
        return StreamInfo()
    props = _property_texts(header.properties)
    return StreamInfo(plain_label(props.get("title", "")), props)


def _property_texts(properties: Properties | Iterable[Property3]) -> dict[str, str]:
    return {item.name: str(item.text) for item in properties if item.name}


# --------------------------------------------------------------------------
# Getters


def time_getter(key: str, units: str) -> Getter:
    """Times in ``units`` as int64 nanoseconds since 1970; invalid ones are missing."""

    def read(records: Any) -> tuple[np.ndarray, np.ndarray | None]:
        values = convert_times(np.asarray(records[key]), units, "ns1970")
        missing = values == FILLED_TT2000
        return values, missing if missing.any() else None

    return read


def real_getter(key: str, fill: float | None, tolerance: float = FILL_TOLERANCE) -> Getter:
    """Reals as stored; values within ``tolerance`` (relative) of ``fill`` are missing."""
    if fill is None:
        return lambda records: (np.asarray(records[key]), None)
    if fill == 0 or tolerance == 0:
        low = high = fill
    else:
        low, high = sorted((fill * (1 - tolerance), fill * (1 + tolerance)))

    def read(records: Any) -> tuple[np.ndarray, np.ndarray | None]:
        values = np.asarray(records[key])
        if values.dtype.kind != "f":
            values = values.astype(np.float64)
        missing = (values >= low) & (values <= high)
        return values, missing if missing.any() else None

    return read


def exact_getter(key: str, fill: Any) -> Getter:
    """Values as stored; values equal to ``fill`` are missing."""

    def read(records: Any) -> tuple[np.ndarray, np.ndarray | None]:
        values = np.asarray(records[key])
        if fill is None or values.dtype.kind not in "fiu":
            return values, None
        missing = values == fill
        return values, missing if missing.any() else None

    return read


# --------------------------------------------------------------------------
# das2 packets


def das2_layout(header: PacketHeader, stream: StreamHeader | None, name: str) -> TableLayout:
    """The table of a das2 packet type (see the module docstring)."""
    stream_props = stream.properties if stream is not None else None
    has_z = bool(header.planes_of("z"))
    taken: set[str] = set()
    axes: dict[tuple[str, str, tuple[float, ...]], Axis] = {}
    columns: list[Column] = []
    getters: list[Getter] = []
    for index, plane in enumerate(header.planes):
        key = header.fields[index]
        if plane.kind == "x":
            column, getter = _das2_x(plane, key, taken)
        else:
            role = "coord" if plane.kind == "y" and has_z else "data"
            axis = _yscan_axis(plane, axes) if plane.kind == "yscan" else None
            column, getter = _das2_value(plane, header, stream, key, role, axis, taken, index)
        columns.append(column)
        getters.append(getter)
    if not columns or header.planes[0].kind != "x":
        raise StreamError(f"packet {header.packet_id:02d} does not start with an <x> plane")
    title = plain_label(_text(cascade("title", header.properties, stream_props)))
    properties = _property_texts(header.properties)
    return TableLayout(Table(name, title, tuple(columns), properties=properties), tuple(getters))


def das2_table_name(header: PacketHeader) -> str:
    """A das2 packet's table name: its group, its only data plane's name, or ``packet_NN``."""
    if header.group:
        return safe_name(header.group, f"packet_{header.packet_id:02d}")
    named = [plane.name for plane in header.planes if plane.kind in ("y", "z", "yscan")]
    if len(named) == 1 and named[0]:
        return safe_name(named[0], f"packet_{header.packet_id:02d}")
    return f"packet_{header.packet_id:02d}"


def _das2_x(plane: Plane, key: str, taken: set[str]) -> tuple[Column, Getter]:
    units = plane.value_units.strip()
    time_units = _TIME_UNITS.get(units.lower()) if plane.is_time else None
    if time_units is not None:
        name = unique_name(safe_name(plane.name, "time"), taken)
        column = Column(name, Kind.TIME, np.dtype(np.int64), "UTC", "Time", role="coord",
                        ucd=_UCDS["time"])
        return column, time_getter(key, time_units)
    name = unique_name(safe_name(plane.name, "x"), taken)
    label = plain_label(_text(cascade("xLabel", plane.properties)))
    return (Column(name, Kind.REAL, plane.value_dtype, units, label or name, label, role="coord"),
            real_getter(key, None))


def _das2_value(plane: Plane, header: PacketHeader, stream: StreamHeader | None, key: str,
                role: str, axis: Axis | None, taken: set[str],
                index: int) -> tuple[Column, Getter]:
    stream_props = stream.properties if stream is not None else None
    fill = plane_fill(plane, header, stream)
    label_name = "yLabel" if plane.kind == "y" else "zLabel"
    label = plain_label(_text(cascade(label_name, plane.properties, header.properties,
                                      stream_props)))
    default = f"{plane.kind}_{index}"
    name = unique_name(safe_name(plane.name, default), taken)
    units = plane.value_units.strip()
    title = plain_label(_text(cascade("summary", plane.properties))) or label or name
    column = Column(name, Kind.REAL, plane.value_dtype, units, title, label, fill, axis, role,
                    _quantity_ucd(units))
    return column, real_getter(key, fill)


def _yscan_axis(plane: Plane, axes: dict[tuple[str, str, tuple[float, ...]], Axis]) -> Axis:
    """The axis of a yscan's yTags, shared with earlier yscans that have the same tags."""
    units = plane.yunits.strip()
    values = tuple(float(v) for v in plane.ytag_values())
    name = _axis_name(units)
    known = axes.get((name, units, values))
    if known is not None:
        return known
    taken = {axis.name for axis in axes.values()}
    axis = Axis(unique_name(name, taken), units, _AXIS_TITLES.get(name, name), values)
    axes[(name, units, values)] = axis
    return axis


_AXIS_TITLES = {"frequency": "Frequency", "time_offset": "Time offset", "energy": "Energy"}


def _axis_name(units: str) -> str:
    """``frequency``, ``time_offset``, ``energy`` or ``ytags``, from the yTag units."""
    if not units:
        return "ytags"
    try:
        if convertible_to_hertz(units):
            return "frequency"
        if convertible_to_seconds(units):
            return "time_offset"
    except DasFlexError:  # units the unit parser does not know
        return "ytags"
    return "energy" if units.endswith("eV") else "ytags"


def _quantity_ucd(units: str) -> str:
    """A UCD guessed from the units of a value, when unambiguous."""
    text = units.strip()
    if text in ("nT", "T", "pT"):
        return _UCDS["B"]
    if text in ("V/m", "V m**-1", "mV/m", "V m^-1"):
        return _UCDS["E"]
    return ""


def _text(item: Property | None) -> str:
    """A property's text ("" when absent)."""
    return "" if item is None else str(item.text)


# --------------------------------------------------------------------------
# das3 datasets


def das3_layout(dataset: Dataset, stream: StreamHeader3 | None, name: str) -> TableLayout:
    """The table of a das3 dataset (see the module docstring)."""
    if dataset.rank > 2:
        raise StreamError(f"das3 dataset {dataset.name!r} has rank {dataset.rank}; "
                          "only rank 1 and 2 datasets have a table form")
    fields = {id(f.variable): f for f in packet_fields(dataset)}
    taken: set[str] = set()
    axes = _das3_axes(dataset)
    columns: list[Column] = []
    getters: list[Getter] = []
    for dimension in (*dataset.coords, *dataset.data):
        for variable in dimension.variables:
            if variable.index[0] != "*":
                continue
            found = fields.get(id(variable))
            if found is None:
                raise StreamError(f"{dimension.label}:{variable.use} of dataset "
                                  f"{dataset.name!r} is computed per record; it has no table form")
            column, getter = _das3_column(found, dataset, axes, taken)
            columns.append(column)
            getters.append(getter)
    props = _property_texts(dataset.properties)
    title = plain_label(props.get("title", "") or _stream_title(stream))
    return TableLayout(Table(name, title, tuple(columns), props.get("summary", ""), props),
                       tuple(getters))


def _stream_title(stream: StreamHeader3 | None) -> str:
    item = stream.property("title") if stream is not None else None
    return item.text if item is not None else ""


def _das3_axes(dataset: Dataset) -> list[Axis]:
    """Axes along index 1: coordinate variables that do not vary with the record."""
    if dataset.rank < 2:
        return []
    extent = dataset.shape[1]
    axes: list[Axis] = []
    taken: set[str] = set()
    for dimension in dataset.coords:
        for variable in dimension.variables:
            if variable.index[0] != "-" or variable.index[1] == "-" or variable.is_vector:
                continue
            values = _static_values(variable, extent)
            if values is None:
                continue
            base = dimension.label if variable.use == "center" else f"{dimension.label}_{variable.use}"
            name = unique_name(safe_name(base, "axis"), taken)
            title = _dimension_text(dimension, "label") or name
            axes.append(Axis(name, variable.units.strip(), plain_label(title), values))
    return axes


def _static_values(variable: Variable, extent: int | None) -> tuple[float, ...] | None:
    """The values of a header-defined variable along index 1, or None."""
    source = variable.source
    if isinstance(source, Values):
        try:
            return tuple(float(v) for v in np.asarray(source.values, dtype=np.float64).ravel())
        except (TypeError, ValueError):
            return None
    if isinstance(source, SequenceSource) and extent:
        slope = source.slopes[0][1] if len(source.slopes[0]) > 1 else None
        if slope is None:
            return None
        return tuple(float(source.minvals[0] + slope * i) for i in range(extent))
    return None


def _das3_column(found: PacketField, dataset: Dataset, axes: list[Axis],
                 taken: set[str]) -> tuple[Column, Getter]:
    dimension, variable = found.dimension, found.variable
    base = dimension.label if variable.use in ("center", "reference") else \
        f"{dimension.label}_{variable.use}"
    name = unique_name(safe_name(base, "value"), taken)
    units = variable.units.strip()
    label = plain_label(_dimension_text(dimension, "label"))
    title = plain_label(_dimension_text(dimension, "title") or _dimension_text(dimension, "summary")
                        or label or name)
    role = "coord" if dimension.kind == "coord" else "data"
    axis = _column_axis(found, dataset, axes)
    kind, dtype, getter = _das3_kind(found)
    fill = None if kind is Kind.TIME else _plain_fill(field_fill(found))
    ucd = _UCDS.get(dimension.phys_dim, "") if kind is not Kind.TIME else _UCDS["time"]
    column = Column(name, kind, dtype, "UTC" if kind is Kind.TIME else units, title, label,
                    fill if kind in (Kind.REAL, Kind.INTEGER) else None, axis, role, ucd)
    if axis is None and found.shape not in (None, ()):
        raise StreamError(f"{found.key} of dataset {dataset.name!r} has shape {found.shape}; "
                          "it has no table form")
    return column, getter


def _das3_kind(found: PacketField) -> tuple[Kind, np.dtype, Getter]:
    semantic = found.variable.semantic
    if found.shape is None:
        raise StreamError(f"{found.key} has a variable number of values; it has no table form")
    if semantic == "datetime":
        units = _TIME_UNITS.get(found.value_units.strip().lower())
        if units is None:
            raise StreamError(f"{found.key}: unknown time units {found.value_units!r}")
        return Kind.TIME, np.dtype(np.int64), time_getter(found.key, units)
    if semantic == "real":
        return Kind.REAL, found.value_dtype, exact_getter(found.key, field_fill(found))
    if semantic in ("integer", "bool"):
        return Kind.INTEGER, found.value_dtype, exact_getter(found.key, field_fill(found))
    if semantic == "string":
        return Kind.TEXT, found.value_dtype, exact_getter(found.key, None)
    raise StreamError(f"{found.key} holds {semantic} values; they have no table form")


def _column_axis(found: PacketField, dataset: Dataset, axes: list[Axis]) -> Axis | None:
    """The axis of a wide das3 column: its vector components, or the index 1 coordinate."""
    variable = found.variable
    shape = found.shape or ()
    if variable.is_vector and len(shape) == 1:
        return Axis(f"{safe_name(found.dimension.label, 'vector')}_component", "",
                    "Component", labels=tuple(_component_labels(found.dimension, variable)))
    if len(shape) != 1 or variable.is_vector:
        return None
    extent = shape[0]
    for axis in axes:
        if axis.size == extent:
            return axis
    return Axis(f"index_{extent}", "", "Index", tuple(float(i) for i in range(extent)))


_SYSTEM_SYMBOLS = {
    "cartesian": ("x", "y", "z"), "cylindrical": ("rho", "phi", "z"),
    "spherical": ("r", "theta", "phi"), "centric": ("phi", "theta", "r"),
    "detic": ("phi", "theta", "a"), "graphic": ("phi", "theta", "a"),
}


def _component_labels(dimension: Dimension, variable: Variable) -> list[str]:
    """``compLabel`` if given, else the system's symbols (x, y, z...)."""
    for item in dimension.properties:
        if item.name == "compLabel":
            parts = item.text.split(item.term) if item.term else item.text.split()
            if len(parts) == variable.components:
                return [part.strip() for part in parts]
    symbols = _SYSTEM_SYMBOLS.get(variable.system or "cartesian", _SYSTEM_SYMBOLS["cartesian"])
    return [symbols[i] if i < len(symbols) else str(i) for i in range(variable.components)]


def _dimension_text(dimension: Dimension, name: str) -> str:
    item = next((p for p in dimension.properties if p.name == name), None)
    return item.text if item is not None else ""


def _plain_fill(value: object) -> float | int | None:
    if isinstance(value, np.integer | int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(str(value))  # the shortest text of the stored type: float32 -1e31 stays -1e31
    return None


def layout_for(header: PacketHeader | Dataset, stream: StreamHeader | StreamHeader3 | None,
               name: str) -> TableLayout:
    """The layout of a das2 packet header or a das3 dataset."""
    if isinstance(header, PacketHeader):
        das2_stream = stream if isinstance(stream, StreamHeader) else None
        return das2_layout(header, das2_stream, name)
    if isinstance(header, Dataset):
        return das3_layout(header, stream if isinstance(stream, StreamHeader3) else None, name)
    raise StreamError(f"unsupported header {type(header).__name__}")


def table_name(header: PacketHeader | Dataset) -> str:
    """The name a header's table starts from (before being made unique)."""
    if isinstance(header, PacketHeader):
        return das2_table_name(header)
    return safe_name(getattr(header, "name", ""), "dataset")
