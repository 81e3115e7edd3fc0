"""ISTP-style CDF variables and attributes for das2 packets and streams.

:func:`packet_variables` lays out the CDF variables of one das2 ``<packet>``:
the ``<x>`` plane becomes ``Epoch`` (CDF_TIME_TT2000, for time units) or a
double support variable; each ``<y>``/``<z>`` plane a time-series data
variable; each ``<yscan>`` a spectrogram data variable (one record per
packet, ``nitems`` values) with a non-record-varying support variable for its
yTags (``DEPEND_1``).  :func:`global_attributes` fills the ISTP global
attributes from the stream properties, with neutral defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from dasflex_core.codecs.das2 import Properties, plane_fill
from dasflex_core.dastime import from_tt2000
from dasflex_core.errors import DasFlexError, StreamError
from dasflex_core.tools.cdf.types import CDF_DOUBLE, CDF_FLOAT, CDF_TIME_TT2000

#: TT2000 fill value (ISTP).
TT2000_FILL = -9223372036854775808
#: das2 fill when a plane sets none.
DAS2_FILL = -1e31
#: das2 time units and their dastime spellings.
EPOCH_UNITS = {"us2000": "us2000", "t2000": "t2000", "t1970": "t1970", "mj1958": "mj1958",
               "ns1970": "ns1970", "tt2000": "TT2000"}
_CDF_TYPE_NAMES = {CDF_FLOAT: "CDF_FLOAT", CDF_DOUBLE: "CDF_DOUBLE",
                   CDF_TIME_TT2000: "CDF_TIME_TT2000"}
_FORMATS = {CDF_FLOAT: "E12.4", CDF_DOUBLE: "E18.10"}
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")
_FIELDNAM_LENGTH = 30
#: Property levels a plane setting cascades through: plane, packet, stream.
Levels = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class CdfVariable:
    """One record-varying CDF variable fed from a das2 record field.

    ``epoch_units`` is set for time variables (values converted to TT2000);
    ``fill`` is the das2 fill of the source plane (None for ``<x>``).
    """

    name: str
    source: str
    cdf_type: int
    dims: tuple[int, ...]
    attributes: dict[str, Any]
    epoch_units: str | None = None
    fill: float | None = None


@dataclass(frozen=True, slots=True)
class CdfConstant:
    """A non-record-varying support variable (yTags)."""

    name: str
    cdf_type: int
    values: np.ndarray
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PacketLayout:
    """The CDF variables of one das2 packet type."""

    variables: tuple[CdfVariable, ...]
    constants: tuple[CdfConstant, ...]


def clean_name(text: str) -> str:
    """A CDF-friendly variable name (letters, digits and underscores)."""
    name = _NOT_NAME.sub("_", text.strip()).strip("_")
    if not name:
        return ""
    return name if not name[0].isdigit() else f"v_{name}"


def typed(value: float | int, cdf_type: int) -> list[Any]:
    """An attribute value in cdflib's ``[value, type]`` form."""
    if cdf_type == CDF_TIME_TT2000:
        return [int(value), "CDF_TIME_TT2000"]
    scalar = np.float32(value) if cdf_type == CDF_FLOAT else float(value)
    return [scalar, _CDF_TYPE_NAMES[cdf_type]]


class NameRegistry:
    """Hands out unique variable names (``name``, ``name_2``...)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        """A unique name based on ``wanted``."""
        name = wanted
        number = 1
        while name.lower() in self._taken:
            number += 1
            name = f"{wanted}_{number}"
        self._taken.add(name.lower())
        return name


def packet_variables(header: Any, stream: Any, names: NameRegistry) -> PacketLayout:
    """The CDF variables of a das2 packet header (``stream``: its stream header)."""
    x_plane = header.x_plane
    if x_plane is None:
        raise StreamError(f"das2 packet {header.packet_id:02d} has no <x> plane for DEPEND_0")
    stream_props = stream.properties if stream is not None else Properties()

    def levels(plane: Any) -> Levels:
        return (plane.properties, header.properties, stream_props)

    depend0 = _x_variable(header.field(x_plane), x_plane, levels(x_plane), names)
    variables = [depend0]
    constants = []
    for index, plane in enumerate(header.planes):
        if plane is x_plane:
            continue
        fill = plane_fill(plane, header, stream)
        source = _Source(header.fields[index], header.packet_id,
                         clean_name(plane.name) or f"{plane.kind}_{index}",
                         DAS2_FILL if fill is None else fill)
        if plane.kind == "yscan":
            tags = _ytags_constant(plane, source.base, levels(plane), names)
            constants.append(tags)
            variables.append(_yscan_variable(plane, source, levels(plane), depend0.name,
                                             tags.name, names))
        else:
            variables.append(_series_variable(plane, source, levels(plane), depend0.name, names))
    return PacketLayout(tuple(variables), tuple(constants))


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a data variable comes from: record field, packet id, base name, fill."""

    field: str
    packet_id: int
    base: str
    fill: float


def _x_variable(field: str, plane: Any, levels: Levels, names: NameRegistry) -> CdfVariable:
    units = plane.value_units.strip()
    epoch_units = EPOCH_UNITS.get(units.lower())
    if epoch_units is not None:
        name = names.claim("Epoch")
        attributes = {
            "CATDESC": "Time tags of the records (TT2000, UTC with leap seconds)",
            "FIELDNAM": name[:_FIELDNAM_LENGTH], "UNITS": "ns", "VAR_TYPE": "support_data",
            "FILLVAL": typed(TT2000_FILL, CDF_TIME_TT2000), "LABLAXIS": "Time (UTC)",
            "TIME_BASE": "J2000", "TIME_SCALE": "Terrestrial Time",
            "MONOTON": "INCREASE", "SCALETYP": "linear",
        }
        return CdfVariable(name, field, CDF_TIME_TT2000, (), attributes, epoch_units)
    name = names.claim(clean_name(plane.name) or "X")
    label = _label(levels, "x", plane) or name
    attributes = {
        "CATDESC": _describe(levels, "x", f"{label} (the das2 <x> coordinate)"),
        "FIELDNAM": name[:_FIELDNAM_LENGTH], "UNITS": units or " ", "VAR_TYPE": "support_data",
        "FILLVAL": typed(DAS2_FILL, CDF_DOUBLE), "LABLAXIS": label, "FORMAT": _FORMATS[CDF_DOUBLE],
        "SCALETYP": _scale(levels, "x"),
    }
    return CdfVariable(name, field, CDF_DOUBLE, (), attributes)


def _value_type(plane: Any) -> int:
    encoding = plane.encoding
    return CDF_FLOAT if encoding.kind == "real" and encoding.width == 4 else CDF_DOUBLE


def _series_variable(plane: Any, source: _Source, levels: Levels, depend0: str,
                     names: NameRegistry) -> CdfVariable:
    name = names.claim(source.base)
    units = plane.value_units.strip()
    epoch_units = EPOCH_UNITS.get(units.lower()) if plane.is_time else None
    if epoch_units is not None:
        cdf_type = CDF_TIME_TT2000
        attributes: dict[str, Any] = {"FILLVAL": typed(TT2000_FILL, cdf_type), "UNITS": "ns"}
    else:
        cdf_type = _value_type(plane)
        attributes = {"FILLVAL": typed(source.fill, cdf_type), "UNITS": units or " ",
                      "FORMAT": _FORMATS[cdf_type]}
    axis = "z" if plane.kind == "z" else "y"
    label = _label(levels, axis, plane) or name
    attributes.update({
        "CATDESC": _describe(levels, axis, f"{label} from das2 packet {source.packet_id:02d}"),
        "FIELDNAM": name[:_FIELDNAM_LENGTH], "VAR_TYPE": "data", "DEPEND_0": depend0,
        "DISPLAY_TYPE": "time_series", "LABLAXIS": label, "SCALETYP": _scale(levels, axis),
    })
    return CdfVariable(name, source.field, cdf_type, (), attributes, epoch_units,
                       None if epoch_units else source.fill)


def _yscan_variable(plane: Any, source: _Source, levels: Levels, depend0: str, depend1: str,
                    names: NameRegistry) -> CdfVariable:
    name = names.claim(source.base)
    cdf_type = _value_type(plane)
    label = _label(levels, "z", plane) or name
    attributes = {
        "CATDESC": _describe(levels, "z", f"{label} spectrogram from das2 packet "
                                          f"{source.packet_id:02d}"),
        "FIELDNAM": name[:_FIELDNAM_LENGTH], "UNITS": plane.zunits.strip() or " ",
        "VAR_TYPE": "data", "DEPEND_0": depend0, "DEPEND_1": depend1,
        "DISPLAY_TYPE": "spectrogram", "FILLVAL": typed(source.fill, cdf_type),
        "LABLAXIS": label, "FORMAT": _FORMATS[cdf_type], "SCALETYP": _scale(levels, "z"),
    }
    return CdfVariable(name, source.field, cdf_type, (plane.nitems,), attributes, None,
                       source.fill)


def _ytags_constant(plane: Any, base: str, levels: Levels, names: NameRegistry) -> CdfConstant:
    name = names.claim(f"{base}_{_ytag_word(plane.yunits)}")
    values = np.asarray(plane.ytag_values(), dtype=np.float64)
    label = _label(levels, "y", plane) or name
    attributes = {
        "CATDESC": f"Coordinates (yTags) of the {base} spectrogram items",
        "FIELDNAM": name[:_FIELDNAM_LENGTH], "UNITS": plane.yunits.strip() or " ",
        "VAR_TYPE": "support_data", "FILLVAL": typed(DAS2_FILL, CDF_DOUBLE),
        "VALIDMIN": typed(float(values.min()), CDF_DOUBLE),
        "VALIDMAX": typed(float(values.max()), CDF_DOUBLE),
        "LABLAXIS": label, "FORMAT": _FORMATS[CDF_DOUBLE], "SCALETYP": _scale(levels, "y"),
    }
    return CdfConstant(name, CDF_DOUBLE, values, attributes)


def _ytag_word(units: str) -> str:
    text = units.strip()
    if text.endswith("Hz"):
        return "frequency"
    if text in ("s", "ms", "us", "ns"):
        return "offset"
    if text.endswith("eV"):
        return "energy"
    return "ytags"


def _label(levels: Levels, axis: str, plane: Any) -> str:
    for props in levels:
        for key in (f"{axis}Label", "label"):
            value = props.get(key)
            if value:
                return plain_text(str(value))
    return plane.name.strip()


def _describe(levels: Levels, axis: str, default: str) -> str:
    for key in (f"{axis}Summary", "description", "summary"):
        value = levels[0].get(key)
        if value:
            return plain_text(str(value))
    return default


def _scale(levels: Levels, axis: str) -> str:
    for props in levels:
        value = props.get(f"{axis}ScaleType")
        if value:
            return "log" if "log" in str(value).lower() else "linear"
    return "linear"


def plain_text(text: str) -> str:
    """Label text without das2's formatting escapes (``!c``, ``%{...}``)."""
    text = re.sub(r"%\{[^}]*\}", " ", text)
    text = re.sub(r"![aAuU]", "^", text)
    text = re.sub(r"![bBdD]", "_", text)
    text = re.sub(r"![cC]", " ", text)
    text = re.sub(r"!.", "", text)
    return " ".join(text.split())


# --------------------------------------------------------------------------
# Global attributes

#: ISTP global attributes from das2 stream properties (first found wins).
_GLOBAL_SOURCES = {
    "Project": ("project", "mission"),
    "Source_name": ("source", "spacecraft", "mission"),
    "Discipline": ("discipline",),
    "Mission_group": ("mission", "project"),
    "PI_name": ("piName", "PI_name", "pi"),
    "PI_affiliation": ("piAffiliation", "PI_affiliation"),
    "Instrument_type": ("instrumentType", "Instrument_type"),
    "TEXT": ("summary", "description", "title"),
    "Logical_source_description": ("title", "summary", "description"),
}
_GLOBAL_DEFAULTS = {
    "Project": "dasflex",
    "Source_name": "dasflex",
    "Discipline": "Space Physics>Magnetospheric Science",
    "Mission_group": "dasflex",
    "PI_name": "unknown",
    "PI_affiliation": "unknown",
    "Instrument_type": "unknown",
    "TEXT": "Converted from a das stream by dasflex das2_cdf",
    "Logical_source_description": "das stream converted to CDF",
}


def global_attributes(stream_properties: Any, version: str, first_tt2000: int | None,
                      overrides: dict[str, str]) -> dict[str, str]:
    """The ISTP global attributes, then the stream properties that are not ISTP ones."""
    props = stream_properties
    found: dict[str, str] = {}
    for name, keys in _GLOBAL_SOURCES.items():
        value = next((str(props.get(key)) for key in keys if props.get(key)), "")
        found[name] = plain_text(value) or _GLOBAL_DEFAULTS[name]
    kind = "das2" if version.startswith("2") else "das3"
    source_short = clean_name(found["Source_name"].split(">")[0]).lower() or "dasflex"
    found["Data_type"] = f"{kind}>{kind} stream"
    found["Descriptor"] = "DASFLEX>dasflex das2_cdf"
    found["Data_version"] = "1"
    found["Logical_source"] = f"{source_short}_{kind}_dasflex"
    found["Logical_file_id"] = f"{found['Logical_source']}_{_date_of(first_tt2000)}_v01"
    found["Generated_by"] = "dasflex das2_cdf"
    found["Generation_date"] = datetime.now(UTC).strftime("%Y%m%d")
    found.update(overrides)
    for item in props:
        name = clean_name(item.name)
        if name and name not in found and item.text.strip():
            found[name] = item.text.strip()
    return found


def _date_of(tt2000: int | None) -> str:
    if tt2000 is None or tt2000 == TT2000_FILL:
        return "00000000"
    try:
        moment = from_tt2000(tt2000)
    except DasFlexError:
        return "00000000"
    return f"{moment.year:04d}{moment.month:02d}{moment.mday:02d}"
