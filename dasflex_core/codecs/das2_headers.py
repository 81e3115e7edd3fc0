"""das2 v2.2 headers: value encodings, planes, packet and stream headers.

Record layout.  A data packet ``:NN:`` is followed by the values of every
plane in header order; :attr:`PacketHeader.dtype` is the numpy structured
dtype of one wire record *including* the 4-byte tag (field ``tag``).  Plane
fields are named ``<kind><index>`` where index is the plane's position in the
packet: ``x0``, ``y1``, ``y2``, ``yscan3``, ``z4``...  (see
:meth:`PacketHeader.field`).  ``<yscan>`` fields are always sub-arrays of
shape ``(nitems,)``.  :attr:`PacketHeader.record_dtype` is the dtype of
decoded records: binary values keep their wire dtype (``'<f4'``, ``'>f8'``),
``asciiN`` and ``timeN`` values become float64 (times as us2000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dasflex_core.codecs.das2_props import Properties, cascade, escape_xml, number_of
from dasflex_core.codecs.das2_xml import XmlElement, parse_xml
from dasflex_core.errors import StreamError

#: das2C's packet buffer: no header or data record may be larger.
MAX_PACKET_BYTES = 262_144
#: das2C's limit on ``<yscan nitems>``.
MAX_YSCAN_ITEMS = 249_999
#: das2C's limit on planes per packet.
MAX_PLANES = 100
#: The fill value when no property gives one.
DEFAULT_FILL = -1e31
#: das2C's relative fill tolerance: a value ``v`` is fill when ``|(fill - v) / fill| < 1e-5``.
FILL_TOLERANCE = 1e-5

PLANE_KINDS = ("x", "y", "z", "yscan")

_BINARY_ENCODINGS = {
    "sun_real8": ">f8",
    "double": ">f8",
    "little_endian_real8": "<f8",
    "sun_real4": ">f4",
    "float": ">f4",
    "little_endian_real4": "<f4",
}
_TEXT_ENCODING = re.compile(r"(ascii|time)(\d+)")
_INTEGER_ENCODING = re.compile(r"(little|big)_endian_u?int\d+|(sun|le|be)_u?int\d+", re.I)


@dataclass(frozen=True, slots=True)
class Encoding:
    """A das2 value encoding (the ``type`` attribute of a plane)."""

    name: str
    width: int
    wire_dtype: str
    kind: str  # 'real', 'ascii' or 'time'

    @property
    def is_text(self) -> bool:
        """True for ``asciiN`` and ``timeN``."""
        return self.kind != "real"

    @property
    def value_dtype(self) -> np.dtype:
        """dtype of a decoded value (wire dtype for reals, float64 for text)."""
        return np.dtype(self.wire_dtype if self.kind == "real" else np.float64)


def parse_encoding(name: str) -> Encoding:
    """Look up a das2 encoding name; raise ValueError with the reason if unusable."""
    if name in _BINARY_ENCODINGS:
        dtype = _BINARY_ENCODINGS[name]
        return Encoding(name, int(dtype[-1]), dtype, "real")
    match = _TEXT_ENCODING.fullmatch(name)
    if match:
        width = int(match.group(2))
        if not 2 <= width <= 127:
            raise ValueError(f"encoding {name!r}: width must be 2..127")
        return Encoding(name, width, f"S{width}", match.group(1))
    if _INTEGER_ENCODING.fullmatch(name):
        raise ValueError(f"integer encoding {name!r} is not supported in das2 streams")
    raise ValueError(f"unknown value encoding {name!r}")


@dataclass(eq=False, slots=True)
class Plane:
    """One plane of a das2 packet: ``<x>``, ``<y>``, ``<z>`` or ``<yscan>``.

    ``units`` is the ``units`` attribute as written ('' if absent; yscans use
    ``zunits`` for their values).  ``ytags`` holds explicit yTags, else
    ``ytag_interval``/``ytag_min``/``ytag_max`` describe a series; use
    :meth:`ytag_values` for the tags whatever their form.
    """

    kind: str
    encoding: Encoding
    name: str = ""
    units: str = ""
    nitems: int = 1
    ytags: np.ndarray | None = None
    ytag_interval: float | None = None
    ytag_min: float | None = None
    ytag_max: float | None = None
    yunits: str = ""
    zunits: str = ""
    properties: Properties = field(default_factory=Properties)
    ytags_text: str | None = None

    @property
    def width(self) -> int:
        """Bytes of one value on the wire."""
        return self.encoding.width

    @property
    def size(self) -> int:
        """Bytes of this plane in one record (width x items)."""
        return self.encoding.width * self.nitems

    @property
    def dtype(self) -> np.dtype:
        """numpy dtype of one wire value (``'<f4'``, ``'S11'``...)."""
        return np.dtype(self.encoding.wire_dtype)

    @property
    def value_dtype(self) -> np.dtype:
        """numpy dtype of one decoded value."""
        return self.encoding.value_dtype

    @property
    def is_time(self) -> bool:
        """True when values are calendar times (text times, or a time-point unit)."""
        return self.encoding.kind == "time" or is_time_units(self.units)

    @property
    def value_units(self) -> str:
        """Units of the decoded values: us2000 for text times, zUnits for yscans."""
        if self.encoding.kind == "time":
            return "us2000"
        return self.zunits if self.kind == "yscan" else self.units

    def ytag_values(self) -> np.ndarray:
        """The ``nitems`` y coordinates of a yscan (item indexes when none are given)."""
        if self.ytags is not None:
            return self.ytags
        indexes = np.arange(self.nitems, dtype=np.float64)
        if self.ytag_interval is None:
            return indexes
        if self.ytag_min is None and self.ytag_max is not None:
            return self.ytag_max - self.ytag_interval * indexes[::-1]
        return (self.ytag_min or 0.0) + self.ytag_interval * indexes

    def to_xml(self) -> str:
        """The plane element as das2C writes it."""
        attributes = f'name="{escape_xml(self.name)}" type="{self.encoding.name}"'
        if self.kind == "yscan":
            attributes += (
                f' zUnits="{escape_xml(self.zunits)}" yUnits="{escape_xml(self.yunits)}"'
                f' nitems="{self.nitems}" {self._ytags_xml()}>'
            )
        else:
            units = "UTC" if self.encoding.kind == "time" else self.units
            attributes += f' units="{escape_xml(units)}">'
        return f"  <{self.kind} {attributes}\n{self.properties.to_xml(4)}  </{self.kind}>\n"

    def _ytags_xml(self) -> str:
        if self.ytags is not None:
            text = self.ytags_text or ",".join(f"{tag:g}" for tag in self.ytags)
            return f'\n         yTags="{text}"'
        if self.ytag_interval is None:
            return " "
        text = f'yTagInterval="{self.ytag_interval:.6e}"'
        if self.ytag_min is None and self.ytag_max is not None:
            return f'{text} yTagMax="{self.ytag_max:.6e}"  '
        low = self.ytag_min or 0.0
        return f'{text} yTagMin="{low:.6e}"  ' if low else f'{text} yTagMin="0"  '


_TIME_UNITS = frozenset({"us2000", "mj1958", "t2000", "t1970", "ns1970", "utc", "tt2000", "et2000"})


def is_time_units(units: str) -> bool:
    """True for das2 time-point units (``us2000``, ``t2000``, ``UTC``...)."""
    return units.strip().lower() in _TIME_UNITS


@dataclass(eq=False, slots=True)
class PacketHeader:
    """A das2 ``<packet>`` header defining data packets ``:NN:``.

    Derived on construction: ``record_size`` (bytes after the tag),
    ``dtype`` (wire record with the ``tag`` field), ``record_dtype`` (decoded
    record) and ``fields`` (one name per plane).  Treat headers as immutable:
    to change one, build a new PacketHeader (``raw_xml=None`` so that the
    writer serialises the new content instead of the bytes that were read).
    """

    packet_id: int
    planes: tuple[Plane, ...]
    properties: Properties = field(default_factory=Properties)
    group: str | None = None
    raw_xml: bytes | None = None
    record_size: int = field(init=False)
    dtype: np.dtype = field(init=False)
    record_dtype: np.dtype = field(init=False)
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.planes = tuple(self.planes)
        self.fields = tuple(f"{plane.kind}{index}" for index, plane in enumerate(self.planes))
        self.record_size = sum(plane.size for plane in self.planes)
        self.dtype = self._wire_dtype()
        self.record_dtype = self._decoded_dtype()

    @property
    def tag(self) -> bytes:
        """The 4-byte data packet tag ``:NN:``."""
        return b":%02d:" % self.packet_id

    @property
    def is_binary(self) -> bool:
        """True when no plane uses a text encoding."""
        return not any(plane.encoding.is_text for plane in self.planes)

    def field(self, plane: Plane | int) -> str:
        """The records field name of ``plane`` (a Plane of this header or its index)."""
        if isinstance(plane, int):
            return self.fields[plane]
        for index, candidate in enumerate(self.planes):
            if candidate is plane:
                return self.fields[index]
        raise KeyError(f"plane {plane.name!r} is not part of packet {self.packet_id:02d}")

    def planes_of(self, kind: str) -> list[Plane]:
        """The planes of one kind, in order."""
        return [plane for plane in self.planes if plane.kind == kind]

    @property
    def x_plane(self) -> Plane | None:
        """The first ``<x>`` plane, if any."""
        xs = self.planes_of("x")
        return xs[0] if xs else None

    def _formats(self, decoded: bool) -> list[Any]:
        formats: list[Any] = []
        for plane in self.planes:
            base = plane.value_dtype if decoded else plane.dtype
            formats.append((base, (plane.nitems,)) if plane.kind == "yscan" else base)
        return formats

    def field_offset(self, name: str) -> int:
        """Byte offset of field ``name`` in a wire record (the tag is at 0)."""
        layout = self.dtype.fields
        assert layout is not None
        return int(layout[name][1])

    def _wire_dtype(self) -> np.dtype:
        spec: dict[str, Any] = {"names": ["tag", *self.fields], "formats": ["S4", *self._formats(False)]}
        return np.dtype(spec)  # type: ignore[call-overload]

    def _decoded_dtype(self) -> np.dtype:
        spec: dict[str, Any] = {"names": list(self.fields), "formats": self._formats(True)}
        if self.is_binary:
            spec["offsets"] = [self.field_offset(name) for name in self.fields]
            spec["itemsize"] = self.dtype.itemsize
        return np.dtype(spec)  # type: ignore[call-overload]

    def xml_bytes(self) -> bytes:
        """The header XML to write: ``raw_xml`` verbatim when read from a stream."""
        return self.raw_xml if self.raw_xml is not None else self.to_xml().encode("utf-8")

    def to_xml(self) -> str:
        """The header XML: ``raw_xml`` when read from a stream, else das2C style."""
        if self.raw_xml is not None:
            return self.raw_xml.decode("utf-8", errors="replace")
        group = f' group="{escape_xml(self.group)}"' if self.group else ""
        body = self.properties.to_xml(2) + "".join(plane.to_xml() for plane in self.planes)
        return f"<packet{group}>\n{body}</packet>\n"


@dataclass(eq=False, slots=True)
class StreamHeader:
    """A das2 ``<stream>`` header."""

    version: str = "2.2"
    compression: str = "none"
    properties: Properties = field(default_factory=Properties)
    raw_xml: bytes | None = None

    def xml_bytes(self) -> bytes:
        """The header XML to write: ``raw_xml`` verbatim when read from a stream."""
        return self.raw_xml if self.raw_xml is not None else self.to_xml().encode("utf-8")

    def to_xml(self) -> str:
        """The header XML: ``raw_xml`` when read from a stream, else das2C style."""
        if self.raw_xml is not None:
            return self.raw_xml.decode("utf-8", errors="replace")
        return (
            f'<stream compression="{self.compression}" version="{self.version}" >\n'
            f"{self.properties.to_xml(2)}</stream>\n"
        )


def plane_fill(plane: Plane, packet: PacketHeader, stream: StreamHeader | None) -> float | None:
    """The fill value of ``plane`` (das2C rules; None for ``<x>``).

    ``<y>``: cascaded ``yFill``; ``<z>``/``<yscan>``: cascaded ``zFill``; then
    cascaded ``fill``; then -1e31.  The cascade is plane -> packet -> stream.
    """
    if plane.kind == "x":
        return None
    levels = (plane.properties, packet.properties, stream.properties if stream else None)
    names = ("yFill", "fill") if plane.kind == "y" else ("zFill", "fill")
    for name in names:
        value = number_of(cascade(name, *levels))
        if value is not None:
            return value
    return DEFAULT_FILL


def fill_mask(values: np.ndarray, fill: float | None) -> np.ndarray:
    """Boolean mask of fill values: das2C's ``|(fill - v) / fill| <`` :data:`FILL_TOLERANCE`
    (NaN is not fill)."""
    values = np.asarray(values, dtype=np.float64)
    if fill is None:
        return np.zeros(values.shape, dtype=bool)
    if fill == 0:
        return values == 0
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs((fill - values) / fill) < FILL_TOLERANCE


# ----------------------------------------------------------------------- parsing


def _child_properties(element: XmlElement, offset: int) -> Properties:
    """Merge the ``<properties>`` children of ``element``."""
    merged: list[tuple[str, str]] = []
    for child in element.children:
        if child.tag == "properties":
            merged.extend(child.attributes)
    try:
        return Properties.from_attributes(merged)
    except ValueError as exc:
        raise StreamError(f"bad property in <{element.tag}>: {exc}", offset) from None


def parse_stream_header(xml: bytes, offset: int = 0) -> StreamHeader:
    """Parse the XML of a ``[00]`` packet (``offset``: where ``xml`` starts, for errors)."""
    root = parse_xml(xml, offset)
    if root.tag != "stream":
        raise StreamError(f"stream header root is <{root.tag}>, expected <stream>", offset)
    for child in root.children:
        if child.tag != "properties":
            raise StreamError(f"unexpected <{child.tag}> in a das2 stream header", offset)
    compression = (root.attribute("compression") or "none").strip().lower()
    if compression == "zlib":
        compression = "deflate"
    if compression not in ("none", "deflate"):
        raise StreamError(f"unknown stream compression {compression!r}", offset)
    return StreamHeader(
        version=root.attribute("version") or "2.2",
        compression=compression,
        properties=_child_properties(root, offset),
        raw_xml=bytes(xml),
    )


def parse_packet_header(xml: bytes, packet_id: int, offset: int = 0) -> PacketHeader:
    """Parse the XML of a ``[NN]`` packet header for data packets ``:NN:``."""
    root = parse_xml(xml, offset)
    if root.tag != "packet":
        raise StreamError(f"packet header root is <{root.tag}>, expected <packet>", offset)
    planes = []
    for child in root.children:
        if child.tag in PLANE_KINDS:
            planes.append(_parse_plane(child, offset))
        elif child.tag != "properties":
            raise StreamError(f"unknown element <{child.tag}> in packet header {packet_id:02d}", offset)
    if not planes:
        raise StreamError(f"packet header {packet_id:02d} defines no planes", offset)
    if len(planes) > MAX_PLANES:
        raise StreamError(f"packet header {packet_id:02d} has more than {MAX_PLANES} planes", offset)
    header = PacketHeader(
        packet_id, tuple(planes), _child_properties(root, offset), root.attribute("group"), bytes(xml)
    )
    if header.record_size + 4 > MAX_PACKET_BYTES:
        raise StreamError(
            f"packet {packet_id:02d} records are {header.record_size + 4} bytes, "
            f"over the {MAX_PACKET_BYTES}-byte limit",
            offset,
        )
    return header


def _parse_plane(element: XmlElement, offset: int) -> Plane:
    kind = element.tag
    for child in element.children:
        if child.tag != "properties":
            raise StreamError(f"unknown element <{child.tag}> inside <{kind}>", offset)
    type_name = element.attribute("type")
    if type_name is None:
        raise StreamError(f"<{kind}> plane has no type attribute", offset)
    try:
        encoding = parse_encoding(type_name.strip())
    except ValueError as exc:
        raise StreamError(str(exc), offset) from None
    units = element.attribute("units", "") or ""
    if units.strip().upper() == "UTC" and encoding.kind != "time":
        raise StreamError(f"<{kind}> plane with units UTC must use a time encoding", offset)
    plane = Plane(
        kind,
        encoding,
        name=element.attribute("name", "") or "",
        units=units,
        properties=_child_properties(element, offset),
    )
    if kind == "yscan":
        _parse_yscan(plane, element, offset)
    return plane


def _number(element: XmlElement, name: str, offset: int) -> float | None:
    text = element.attribute(name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise StreamError(f"<yscan> attribute {name}={text!r} is not a number", offset) from None


def _parse_yscan(plane: Plane, element: XmlElement, offset: int) -> None:
    text = element.attribute("nitems")
    try:
        plane.nitems = int(text or "")
    except ValueError:
        raise StreamError(f"<yscan> nitems={text!r} is not an integer", offset) from None
    if not 1 <= plane.nitems <= MAX_YSCAN_ITEMS:
        raise StreamError(f"<yscan> nitems={plane.nitems} is outside 1..{MAX_YSCAN_ITEMS}", offset)
    plane.yunits = element.attribute("yUnits", "") or ""
    plane.zunits = element.attribute("zUnits", "") or ""
    tags = element.attribute("yTags")
    if tags is not None:
        try:
            values = np.array([float(item) for item in tags.split(",")], dtype=np.float64)
        except ValueError:
            raise StreamError("<yscan> yTags must be comma-separated numbers", offset) from None
        if len(values) != plane.nitems:
            raise StreamError(
                f"<yscan> has {len(values)} yTags but nitems={plane.nitems}", offset
            )
        plane.ytags, plane.ytags_text = values, tags
        return
    plane.ytag_interval = _number(element, "yTagInterval", offset)
    plane.ytag_min = _number(element, "yTagMin", offset)
    plane.ytag_max = _number(element, "yTagMax", offset)
    if plane.ytag_interval is not None and not plane.ytag_interval > 0:
        raise StreamError(f"<yscan> yTagInterval={plane.ytag_interval} must be > 0", offset)
