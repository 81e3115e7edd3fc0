"""The das2 <-> das3 model mapping (as das2C up-converts) and stream converters.

das2 -> das3 (:func:`dataset_from_das2`): the ``<x>`` plane becomes a
coordinate (named after the plane, else ``time`` for calendar units, else
``X``); ``<y>`` planes become data dimensions (``Y_1``... when unnamed);
``<z>`` planes make x and y coordinates; a ``<yscan>`` becomes a rank-2 data
variable plus a coordinate for its yTags (``frequency``, ``offset``,
``energy`` or ``ytags``), or, for ``renderer="waveform"``, an ``offset``
variable of the time dimension whose x values become the ``reference``.
Planes with an ``operation`` (BIN_AVG/BIN_MIN/BIN_MAX) and the same ``source``
share one dimension with roles average/min/max.

das3 -> das2 (:func:`dataset_to_das2`) handles rank-1 and rank-2 datasets
with fixed-size numeric packet data (time series, spectrograms, waveforms);
anything else raises :class:`~dasflex_core.errors.StreamError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import DasFlexError, StreamError
from ..units import parse_units
from . import das2 as d2
from .das3_fields import PacketField, packet_fields, value_dtype
from .das3_model import (
    Dataset,
    Dimension,
    PacketItems,
    Property3,
    Sequence,
    StreamHeader3,
    Values,
    Variable,
)

_OPERATION_ROLES = {"BIN_AVG": "average", "BIN_MIN": "min", "BIN_MAX": "max"}
_ROLE_OPERATIONS = {role: operation for operation, role in _OPERATION_ROLES.items()}
_WIRE_TO_DAS3 = {"<": "LE", ">": "BE"}
_DAS3_TO_DAS2_REAL = {"<f8": "little_endian_real8", ">f8": "sun_real8",
                      "<f4": "little_endian_real4", ">f4": "sun_real4"}
#: das2C widens asciiN planes to N + 2 bytes in das3 (``%.Ne`` keeps 2 more digits).
_ASCII_WIDENING = 2
_TIME_FILL_TEXT = "0001-01-01T00:00:00.000000"


@dataclass(frozen=True, slots=True)
class Das2Mapping:
    """A das2 packet's das3 dataset and, per das3 packet field, its source.

    ``sources`` maps a das3 field key to ``(das2 field name, component)``;
    component is None when the whole das2 field maps onto the das3 field.
    """

    dataset: Dataset
    sources: dict[str, tuple[str, int | None]]


# --------------------------------------------------------------------------
# das2 -> das3


def dataset_from_das2(packet_header: d2.PacketHeader,
                      stream_header: d2.StreamHeader | None = None) -> Dataset:
    """The das3 dataset das2C builds for a das2 ``<packet>`` header."""
    return map_das2_packet(packet_header, stream_header).dataset


def map_das2_packet(packet: d2.PacketHeader,
                    stream: d2.StreamHeader | StreamHeader3 | None = None) -> Das2Mapping:
    """Map a das2 packet onto a das3 dataset, remembering where values come from.

    ``stream`` may be a das3 stream header when the packet came in das3 framing.
    Axis-prefixed stream and packet properties (``xLabel``) move, unprefixed,
    onto the matching dimensions (``label``).
    """
    inherited = _convert_properties(packet.properties)
    if isinstance(stream, StreamHeader3):
        inherited = stream.properties + inherited
        stream = None
    elif stream is not None:
        inherited = _convert_properties(stream.properties) + inherited
    yscans = packet.planes_of("yscan")
    sizes = {plane.nitems for plane in yscans}
    if len(sizes) > 1:
        raise StreamError(f"das2 packet {packet.packet_id:02d} has yscans of different "
                          "lengths; it has no single das3 dataset form")
    rank = 2 if yscans else 1
    extent = sizes.pop() if sizes else None
    waveform = _renderer(packet, stream) == "waveform" and extent is not None
    builder = _DatasetBuilder(rank, extent, inherited)
    x_plane = packet.x_plane
    if x_plane is not None:
        builder.add_x(packet, x_plane, yscans[0] if waveform else None)
    has_z = bool(packet.planes_of("z"))
    for index, plane in enumerate(packet.planes):
        if plane is x_plane:
            continue
        field = packet.fields[index]
        if plane.kind == "yscan":
            builder.add_yscan(packet, plane, field, stream, waveform)
        elif plane.kind == "y" and has_z:
            builder.add_plane_dimension("coord", plane, field, "y", _fill(plane, packet, stream))
        else:
            builder.add_plane_dimension("data", plane, field, None, _fill(plane, packet, stream))
    name = _dataset_name(packet)
    return builder.finish(name, _convert_properties(packet.properties))


def _renderer(packet: d2.PacketHeader, stream: d2.StreamHeader | None) -> str | None:
    levels = [packet.properties] + ([stream.properties] if stream else [])
    for props in levels:
        value = props.get("renderer")
        if value:
            return str(value)
    return None


def _fill(plane: d2.Plane, packet: d2.PacketHeader, stream: d2.StreamHeader | None) -> float:
    fill = d2.plane_fill(plane, packet, stream)
    return d2.DEFAULT_FILL if fill is None else fill


def _dataset_name(packet: d2.PacketHeader) -> str:
    if packet.group:
        return packet.group
    named = [plane for plane in packet.planes if plane.kind in ("y", "yscan")]
    if len(named) == 1 and named[0].name:
        return _clean(named[0].name)
    if packet.planes_of("yscan"):
        return f"default_{len(packet.planes_of('yscan'))}_MultiZ"
    return f"unknown_{len(packet.planes_of('y'))}Y"


def _clean(name: str) -> str:
    return name.replace(".", "_")


class _DatasetBuilder:
    """Collects dimensions and value sources while mapping one das2 packet."""

    def __init__(self, rank: int, extent: int | None,
                 inherited: tuple[Property3, ...]) -> None:
        self.inherited = inherited
        self.rank = rank
        self.extent = extent
        self.dimensions: list[Dimension] = []
        self.sources: list[tuple[str, int | None]] = []
        self.grouped: dict[str, int] = {}
        self.unnamed = 0

    def index(self, per_record: bool) -> tuple[str, ...]:
        if self.rank == 1:
            return ("*",)
        return ("*", str(self.extent)) if per_record else ("*", "-")

    def add_x(self, packet: d2.PacketHeader, plane: d2.Plane, wave: d2.Plane | None) -> None:
        variable = _plane_variable(plane, self.index(False), "reference" if wave else "center",
                                   None)
        variables = [variable]
        if wave is not None:
            variables.append(Variable(
                semantic="real", units=wave.yunits, index=("-", str(self.extent)),
                source=_ytag_source(wave), use="offset", storage="double"))
        name = plane.name or ("time" if plane.is_time else "X")
        dim = Dimension("coord", _phys_dim(plane.units, "X"), tuple(variables), name=_clean(name),
                        axis="x", properties=_axis_properties(self.inherited, "x",
                                                              plane.properties))
        self.dimensions.append(dim)
        self.sources.append((packet.field(plane), None))

    def add_plane_dimension(self, kind: str, plane: d2.Plane, field: str, axis: str | None,
                            fill: float) -> None:
        role = _OPERATION_ROLES.get(str(plane.properties.get("operation", "")), "center")
        source = plane.properties.get("source")
        variable = _plane_variable(plane, self.index(False), role, fill)
        self.sources.append((field, None))
        if source and str(source) in self.grouped:
            position = self.grouped[str(source)]
            dim = self.dimensions[position]
            self.dimensions[position] = _with_variable(dim, variable)
            self._move_source_to(position)
            return
        if not plane.name:
            self.unnamed += 1
        name = _clean(str(source) if source else plane.name or f"Y_{self.unnamed}")
        props = _axis_properties(self.inherited, plane.kind, plane.properties)
        self.dimensions.append(Dimension(kind, _phys_dim(plane.units, "Y"), (variable,),
                                         name=name, axis=axis, properties=props))
        if source:
            self.grouped[str(source)] = len(self.dimensions) - 1

    def _move_source_to(self, position: int) -> None:
        """Keep ``sources`` in das3 wire order after adding to an earlier dimension."""
        before = sum(_packet_count(dim) for dim in self.dimensions[:position + 1]) - 1
        self.sources.insert(before, self.sources.pop())

    def add_yscan(self, packet: d2.PacketHeader, plane: d2.Plane, field: str,
                  stream: d2.StreamHeader | None, waveform: bool) -> None:
        if not waveform:
            storage = "double" if plane.encoding.width > 12 else "float"
            tags = Variable(semantic="real", units=plane.yunits, index=("-", str(self.extent)),
                            source=_ytag_source(plane), storage=storage)
            name = _ytag_name(plane.yunits)
            self.dimensions.append(Dimension(
                "coord", name if name != "ytags" else "none", (tags,), name=name, axis="y",
                properties=_axis_properties(self.inherited, "y", d2.Properties())))
        fill = _fill(plane, packet, stream)
        variable = _plane_variable(plane, self.index(True), "center", fill)
        name = plane.name or _spectrum_name(plane.zunits)
        props = _axis_properties(self.inherited, "z", plane.properties)
        self.dimensions.append(Dimension("data", _phys_dim(plane.zunits, "Z"), (variable,),
                                         name=_clean(name), properties=props))
        self.sources.append((field, None))

    def finish(self, name: str, properties: tuple[Property3, ...]) -> Das2Mapping:
        if not any(dim.kind == "coord" for dim in self.dimensions):
            raise StreamError(f"das2 packet for {name!r} has no coordinate plane")
        shape: tuple[int | None, ...] = (None,) if self.rank == 1 else (None, self.extent)
        dataset = Dataset(name, self.rank, shape, tuple(self.dimensions),
                          properties=properties)
        keys = [key for key, _, _ in dataset.packet_variables()]
        return Das2Mapping(dataset, dict(zip(keys, self.sources, strict=True)))


def _packet_count(dim: Dimension) -> int:
    return sum(isinstance(var.source, PacketItems) for var in dim.variables)


def _with_variable(dim: Dimension, variable: Variable) -> Dimension:
    return Dimension(dim.kind, dim.phys_dim, dim.variables + (variable,), dim.name, dim.axis,
                     dim.annotation, dim.frame, dim.properties)


def _plane_variable(plane: d2.Plane, index: tuple[str, ...], use: str,
                    fill: float | None) -> Variable:
    encoding = plane.encoding
    nitems = plane.nitems if plane.kind == "yscan" else 1
    fill_text = None if fill is None else f"{fill:e}"
    if encoding.kind == "time":
        items = PacketItems(1, encoding.width, "utf8", fill=_TIME_FILL_TEXT)
        return Variable("datetime", "UTC", index, items, use=use, storage="struct")
    units = plane.zunits if plane.kind == "yscan" else plane.units
    semantic = "datetime" if plane.kind == "x" and plane.is_time else "real"
    if encoding.kind == "ascii":
        storage = "float" if encoding.width <= 12 else "double"
        items = PacketItems(nitems, encoding.width + _ASCII_WIDENING, "utf8", fill=fill_text)
        return Variable(semantic, units, index, items, use=use, storage=storage)
    wire = np.dtype(encoding.wire_dtype)
    name = f"{_WIRE_TO_DAS3[wire.byteorder if wire.byteorder in '<>' else '<']}real"
    items = PacketItems(nitems, wire.itemsize, name, fill=fill_text)
    storage = "float" if wire.itemsize == 4 else "double"
    return Variable(semantic, units, index, items, use=use, storage=storage)


def _ytag_source(plane: d2.Plane) -> Values | Sequence:
    if plane.ytags is None and plane.ytag_interval is not None:
        start = float(plane.ytag_values()[0])
        return Sequence((start,), ((None, float(plane.ytag_interval)),))
    return Values(np.asarray(plane.ytag_values(), dtype=np.float64))


_UNIT_CLASSES = (
    (re.compile(r"^[kMG]?Hz$"), "frequency"),
    (re.compile(r"^(n|µ|u)?T$"), "B"),
    (re.compile(r"^[kMG]?eV$"), "energy"),
    (re.compile(r"^[kcm]?m$"), "length"),
    (re.compile(r"^(m|µ|u|n)?s$"), "time"),
)


def _phys_dim(units: str, axis: str) -> str:
    """das2C's guess of a physical dimension from units."""
    text = units.strip()
    if d2.is_time_units(text):
        return "time"
    if "Hz**-1" in text or "/Hz" in text:
        return _spectrum_name(text)
    for pattern, name in _UNIT_CLASSES:
        if pattern.match(text):
            return name
    return axis


def _ytag_name(units: str) -> str:
    guess = _phys_dim(units, "ytags")
    return {"time": "offset", "frequency": "frequency", "energy": "energy"}.get(guess, "ytags")


def _spectrum_name(units: str) -> str:
    """das2C's name for a spectral density (it calls V**2 m**-2 Hz**-1 ``b_spec_dens``)."""
    return "e_spec_dens" if "T" in units.replace("TT", "") else "b_spec_dens"


# --------------------------------------------------------------------------
# Properties

_DAS2_TO_DAS3_TYPES = {"string": "string", "boolean": "bool", "int": "integer",
                       "double": "real", "doublearray": "realArray", "datum": "real",
                       "datumrange": "realRange", "time": "datetime",
                       "timerange": "datetimeRange"}


_DATUM = re.compile(r"\s*(\S+)\s*(.*)")
_DATUM_RANGE = re.compile(r"\s*(\S+)\s+to\s+(\S+)\s*(.*)")


def property_from_das2(prop: d2.Property, name: str | None = None) -> Property3:
    """A das2 property as a typed das3 ``<p>`` (``Datum`` "60 s" -> real 60, units s)."""
    kind = prop.kind
    text = prop.text.strip()
    units = None
    if kind == "datum":
        match = _DATUM.fullmatch(text)
        if match and _units_parse(match.group(2).strip()):
            text, units = match.group(1), match.group(2).strip()
        else:
            kind = "string"  # das2C demotes a Datum with unparsable units
    elif kind in ("datumrange", "timerange"):
        match = _DATUM_RANGE.fullmatch(text)
        if match:
            text, units = f"{match.group(1)} to {match.group(2)}", match.group(3).strip()
        if kind == "timerange" or units == "UTC":
            kind, units = "timerange", "UTC"
    prop_type = _DAS2_TO_DAS3_TYPES.get(kind, "string")
    term = "," if prop_type == "realArray" else None
    return Property3(name or prop.name, prop_type, text, units or None, term)


def _units_parse(units: str) -> bool:
    try:
        parse_units(units)
    except DasFlexError:
        return False
    return True


def property_to_das2(prop: Property3) -> d2.Property:
    """A das3 ``<p>`` as a das2 property (type prefix and text)."""
    kind = prop.type
    text = prop.text.strip()
    if kind == "real":
        return d2.Property(prop.name, "Datum" if prop.units else "double",
                           f"{text} {prop.units}" if prop.units else text)
    if kind == "realRange":
        return d2.Property(prop.name, "DatumRange", f"{text} {prop.units or ''}".strip())
    prefixes = {"bool": "boolean", "integer": "int", "datetime": "Time",
                "datetimeRange": "TimeRange", "realArray": "doubleArray"}
    if kind == "realArray" and prop.term:
        text = ",".join(item.strip() for item in text.split(prop.term) if item.strip())
    return d2.Property(prop.name, prefixes.get(kind, ""), text)


def _convert_properties(props: d2.Properties) -> tuple[Property3, ...]:
    return tuple(property_from_das2(prop) for prop in props)


def _axis_properties(inherited: tuple[Property3, ...], axis: str,
                     plane_props: d2.Properties) -> tuple[Property3, ...]:
    """Properties of one dimension: inherited ``<axis>Name`` ones and the plane's own.

    Prefixed names lose the axis letter (``yLabel`` -> ``label``); a plane's
    properties override inherited ones.
    """
    found: dict[str, Property3] = {}
    for prop in inherited:
        name = _strip_axis(prop.name, axis)
        if name != prop.name:
            found[name] = replace(prop, name=name)
    for plane_prop in plane_props:
        name = _strip_axis(plane_prop.name, axis)
        found[name] = property_from_das2(plane_prop, name)
    return tuple(found.values())


def _strip_axis(name: str, axis: str) -> str:
    if len(name) > 1 and name[0] == axis and name[1].isupper():
        return name[1].lower() + name[2:]
    return name


def stream_header_from_das2(header: d2.StreamHeader) -> StreamHeader3:
    """The das3 stream header for a das2 one (properties typed)."""
    return StreamHeader3(properties=_convert_properties(header.properties))


def stream_header_to_das2(header: StreamHeader3) -> d2.StreamHeader:
    """The das2 stream header for a das3 one."""
    return d2.StreamHeader(properties=d2.Properties(property_to_das2(prop)
                                                    for prop in header.properties))


# --------------------------------------------------------------------------
# das3 -> das2


@dataclass(frozen=True, slots=True)
class Das3Mapping:
    """A das3 dataset's das2 packet and, per das2 field, its das3 source."""

    header: d2.PacketHeader
    sources: dict[str, tuple[str, int | None]]


def dataset_to_das2(dataset: Dataset, packet_id: int) -> d2.PacketHeader:
    """The das2 packet header for a das3 dataset that has a das2 form."""
    return map_das3_dataset(dataset, packet_id).header


def map_das3_dataset(dataset: Dataset, packet_id: int) -> Das3Mapping:
    """Map a rank-1/rank-2 das3 dataset onto a das2 packet (raise if impossible)."""
    if dataset.rank > 2 or (dataset.rank == 2 and dataset.shape[1] is None):
        raise StreamError(f"das3 dataset {dataset.name!r} (index "
                          f"{_shape_text(dataset)}) has no das2 form")
    fields = packet_fields(dataset)
    for field in fields:
        if not field.is_fixed or field.variable.semantic in ("string", "blob", "bool"):
            raise StreamError(f"das3 dataset {dataset.name!r}: variable {field.key} "
                              "has no das2 form (ragged, text or blob values)")
    coords = [field for field in fields if field.dimension.kind == "coord"
              and field.variable.index[1:] == ("-",) * (dataset.rank - 1)]
    if not coords:
        raise StreamError(f"das3 dataset {dataset.name!r} has no per-record coordinate "
                          "to become the das2 <x> plane")
    scatter = len(coords) > 1 and dataset.rank == 1
    planes: list[d2.Plane] = [_x_plane(coords[0])]
    sources: list[tuple[str, int | None]] = [(coords[0].key, None)]
    ytags = _das2_ytags(dataset) if dataset.rank == 2 else None
    for field in fields:
        if field is coords[0]:
            continue
        kind = "z" if scatter and field.dimension.kind == "data" else "y"
        for plane, source in _data_planes(field, dataset, ytags, kind):
            planes.append(plane)
            sources.append(source)
    props = d2.Properties(property_to_das2(prop) for prop in dataset.properties)
    if ytags is not None and ytags[2]:
        props.set("renderer", "waveform")
    header = d2.PacketHeader(packet_id, tuple(planes), props, dataset.name)
    return Das3Mapping(header, dict(zip(header.fields, sources, strict=True)))


def _shape_text(dataset: Dataset) -> str:
    return ";".join("*" if size is None else str(size) for size in dataset.shape)


def _das2_encoding(field: Any) -> str:
    items = field.items
    if items.encoding == "utf8":
        prefix = "time" if field.variable.semantic == "datetime" else "ascii"
        return f"{prefix}{items.item_bytes}"
    wire = items.binary_dtype()
    return _DAS3_TO_DAS2_REAL.get(wire.str, "little_endian_real8")


def _x_plane(field: Any) -> d2.Plane:
    units = field.variable.units
    if field.items.encoding == "utf8" and field.variable.semantic == "datetime":
        units = "UTC"
    props = d2.Properties(property_to_das2(prop) for prop in field.dimension.properties)
    name = field.dimension.name or ""
    if name == "time" and field.variable.semantic == "datetime":
        name = ""  # das2C names unnamed time planes "time"
    return d2.Plane("x", d2.parse_encoding(_das2_encoding(field)), name=name,
                    units=units, properties=props)


def _das2_ytags(dataset: Dataset) -> tuple[np.ndarray, str, bool]:
    """The yTags of a rank-2 dataset: values, units and whether it is a waveform."""
    extent = dataset.shape[1]
    assert extent is not None
    for dim in dataset.coords:
        for var in dim.variables:
            if var.index[0] != "-" or isinstance(var.source, PacketItems):
                continue
            values = _header_values(var, extent)
            return values, var.units, var.use == "offset"
    return np.arange(extent, dtype=np.float64), "", False


def _header_values(var: Variable, extent: int) -> np.ndarray:
    source = var.source
    if isinstance(source, Values):
        return np.asarray(source.values, dtype=np.float64)
    assert isinstance(source, Sequence)
    slope = source.slopes[0][1] or 0.0
    return source.minvals[0] + slope * np.arange(extent, dtype=np.float64)


def _data_planes(field: Any, dataset: Dataset, ytags: tuple[np.ndarray, str, bool] | None,
                 kind: str) -> list[tuple[d2.Plane, Any]]:
    var = field.variable
    encoding = d2.parse_encoding(_das2_encoding(field))
    base = field.dimension.label
    props = d2.Properties(property_to_das2(prop) for prop in field.dimension.properties)
    if var.use in _ROLE_OPERATIONS:
        props.set("operation", _ROLE_OPERATIONS[var.use])
        props.set("source", base)
        if var.use != "average":
            base = f"{base}.{var.use}"
    per_record = dataset.rank == 2 and var.index[1] != "-"
    if per_record:
        assert ytags is not None
        plane = d2.Plane("yscan", encoding, name=base, nitems=len(ytags[0]), ytags=ytags[0],
                         yunits=ytags[1], zunits=var.units, properties=props)
        return [(plane, (field.key, None))]
    components = max(var.components, 1)
    planes = []
    for component in range(components):
        name = base if components == 1 else f"{base}_{component}"
        plane = d2.Plane(kind, encoding, name=name, units=var.units, properties=props)
        planes.append((plane, (field.key, component if components > 1 else None)))
    return planes


# --------------------------------------------------------------------------
# Records


def das3_records(fields: list[PacketField], sources: dict[str, tuple[str, int | None]],
                 records: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """das2 ``records`` as the values of das3 packet ``fields`` (``sources``: see
    :class:`Das2Mapping`); ``dtype`` is ``value_dtype(fields)`` when already known."""
    out = np.empty(len(records), dtype=value_dtype(fields) if dtype is None else dtype)
    for field in fields:
        name, _ = sources[field.key]
        out[field.key] = records[name]
    return out


def das2_records(mapping: Das3Mapping, records: np.ndarray | list[dict[str, Any]],
                 offset: int | None = None) -> np.ndarray:
    """das3 ``records`` as the records of ``mapping.header`` (ragged records have no
    das2 form: StreamError at ``offset``)."""
    if not isinstance(records, np.ndarray):
        raise StreamError("ragged das3 records have no das2 form", offset)
    header = mapping.header
    out = np.empty(len(records), dtype=header.record_dtype)
    for name in header.fields:
        key, component = mapping.sources[name]
        column = records[key]
        out[name] = column if component is None else column[..., component]
    return out
