"""The das3 (das-basic-stream v3.0) header model: parsing and serialising.

A stream header (``<stream>``) becomes a :class:`StreamHeader3`; a dataset
header (``<dataset>``) a :class:`Dataset` made of :class:`Dimension` objects
holding :class:`Variable` objects.  Each variable has exactly one value
source: :class:`Values` (numbers in the header), :class:`Sequence`
(``minval + sum(interval_i * index_i)``) or :class:`PacketItems` (values in
the data packets).  :mod:`.das3_xml` writes headers back in das2C's layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StreamError
from ..xmltext import parse_root

#: Variable roles (the ``use`` attribute).
ROLES = (
    "center", "offset", "average", "count", "min", "reference", "max", "width",
    "std_dev", "min_error", "max_error", "norm",
)
SEMANTICS = ("bool", "integer", "real", "datetime", "string", "blob")

#: Binary encodings and the numpy type letter they map to.
_BINARY_KINDS = {"int": "i", "uint": "u", "real": "f"}
TEXT_ENCODINGS = ("utf8", "blob", "base64")

#: das2 property type spellings accepted in das3 headers, and their das3 names.
DAS2_PROPERTY_TYPES = {
    "datum": "real", "datumrange": "realRange", "double": "real", "doublearray": "realArray",
    "time": "datetime", "timerange": "datetimeRange", "boolean": "bool", "int": "integer",
    "": "string",
}
TERM_ESCAPES = {"\\n": b"\n", "\\t": b"\t", "\\r": b"\r", "\\0": b"\0"}


@dataclass(frozen=True, slots=True)
class Property3:
    """One ``<p>`` property: its type name, units, item terminator and text."""

    name: str
    type: str = "string"
    text: str = ""
    units: str | None = None
    term: str | None = None

    def value(self) -> Any:
        """The value parsed by type (numbers, bools, lists for arrays)."""
        kind = self.type.lower()
        if kind.endswith("array"):
            term = TERM_ESCAPES.get(self.term, b"").decode() or self.term if self.term else None
            items = self.text.split(term) if term else self.text.split()
            base = Property3(self.name, kind[:-5], "", self.units)
            return [_scalar_value(base.type, " ".join(item.split())) for item in items if item]
        if kind.endswith("range"):
            low, _, high = self.text.partition(" to ")
            return (_scalar_value(kind[:-5], low.strip()), _scalar_value(kind[:-5], high.strip()))
        return _scalar_value(kind, self.text.strip())


def _scalar_value(kind: str, text: str) -> Any:
    """Parse one property item of a scalar type."""
    try:
        if kind in ("integer", "int"):
            return int(text)
        if kind in ("real", "double"):
            return float(text)
    except ValueError:
        return text
    if kind in ("bool", "boolean"):
        return text.lower() in ("true", "1", "t", "yes")
    return text


@dataclass(frozen=True, slots=True)
class Frame:
    """A coordinate frame declared in the stream header."""

    name: str
    body: str | None = None
    fixed: bool | None = None
    properties: tuple[Property3, ...] = ()
    directions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamHeader3:
    """The das3 ``<stream>`` header."""

    version: str = "3.0"
    type: str = "das-basic-stream"
    lang: str | None = None
    properties: tuple[Property3, ...] = ()
    frames: tuple[Frame, ...] = ()

    def property(self, name: str) -> Property3 | None:
        """The property called ``name``, or None."""
        return next((prop for prop in self.properties if prop.name == name), None)


@dataclass(frozen=True, slots=True)
class Values:
    """Values listed in the header (``<values>``)."""

    values: np.ndarray


@dataclass(frozen=True, slots=True)
class Sequence:
    """Computed values, one ``(minval, slopes)`` pair per component.

    ``slopes`` holds one entry per dataset index, None where unused.
    """

    minvals: tuple[float, ...]
    slopes: tuple[tuple[float | None, ...], ...]


@dataclass(frozen=True, slots=True)
class PacketItems:
    """Values carried in the data packets (``<packet>``).

    ``num_items``/``item_bytes`` are None for ``*`` (variable).  ``idx_terms``
    holds one terminator (or None) per dataset index after the first.
    """

    num_items: int | None
    item_bytes: int | None
    encoding: str
    fill: str | None = None
    val_term: bytes | None = None
    idx_terms: tuple[bytes | None, ...] = ()
    trim: bool = True
    mime: str | None = None

    @property
    def is_text(self) -> bool:
        """True for utf8, blob and base64 items."""
        return self.encoding in TEXT_ENCODINGS

    def binary_dtype(self) -> np.dtype:
        """The numpy dtype of one binary item."""
        return binary_dtype(self.encoding, self.item_bytes)


ValueSource = Values | Sequence | PacketItems


@dataclass(frozen=True, slots=True)
class Variable:
    """A scalar (``components == 0``) or vector variable of a dimension."""

    semantic: str
    units: str
    index: tuple[str, ...]
    source: ValueSource
    use: str = "center"
    storage: str | None = None
    components: int = 0
    system: str | None = None
    sysorder: str | None = None
    frame: str | None = None
    properties: tuple[Property3, ...] = ()

    @property
    def is_vector(self) -> bool:
        """True for ``<vector>`` variables."""
        return self.components > 0


@dataclass(frozen=True, slots=True)
class Dimension:
    """A physical dimension: a ``<coord>`` or ``<data>`` element."""

    kind: str
    phys_dim: str
    variables: tuple[Variable, ...]
    name: str | None = None
    axis: str | None = None
    annotation: str | None = None
    frame: str | None = None
    properties: tuple[Property3, ...] = ()

    @property
    def label(self) -> str:
        """The name used in variable keys: the name, else the physDim."""
        return self.name or self.phys_dim or "none"

    def variable(self, use: str) -> Variable | None:
        """The variable with role ``use``, or None."""
        return next((var for var in self.variables if var.use == use), None)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A das3 ``<dataset>``: ``shape`` has None for ``*`` extents."""

    name: str
    rank: int
    shape: tuple[int | None, ...]
    dimensions: tuple[Dimension, ...]
    plot: str | None = None
    properties: tuple[Property3, ...] = field(default=())

    @property
    def coords(self) -> tuple[Dimension, ...]:
        """The coordinate dimensions."""
        return tuple(dim for dim in self.dimensions if dim.kind == "coord")

    @property
    def data(self) -> tuple[Dimension, ...]:
        """The data dimensions."""
        return tuple(dim for dim in self.dimensions if dim.kind == "data")

    def packet_variables(self) -> list[tuple[str, Dimension, Variable]]:
        """``(key, dimension, variable)`` for each packet variable, in wire order.

        Keys are ``<dimension>:<role>`` (das2C's naming), made unique.
        """
        found: list[tuple[str, Dimension, Variable]] = []
        seen: set[str] = set()
        for dim in self.dimensions:
            for var in dim.variables:
                if not isinstance(var.source, PacketItems):
                    continue
                key = base = f"{dim.label}:{var.use}"
                number = 1
                while key in seen:
                    number += 1
                    key = f"{base}_{number}"
                seen.add(key)
                found.append((key, dim, var))
        return found


def binary_dtype(encoding: str, width: int | None) -> np.dtype:
    """The numpy dtype of a binary das3 encoding, e.g. ``LEreal`` 4 -> ``<f4``."""
    if encoding == "byte":
        return np.dtype("i1")
    if encoding == "ubyte":
        return np.dtype("u1")
    order = {"BE": ">", "LE": "<"}.get(encoding[:2])
    kind = _BINARY_KINDS.get(encoding[2:])
    valid = (1, 2, 4, 8) if kind in ("i", "u") else (4, 8)
    if order is None or kind is None or width not in valid:
        raise StreamError(f"unsupported das3 encoding {encoding!r} with itemBytes={width}")
    return np.dtype(f"{order}{kind}{width}")


# --------------------------------------------------------------------------
# Parsing


def parse_stream_header(xml: bytes, offset: int | None = None) -> StreamHeader3:
    """Parse a das3 ``<stream>`` element."""
    root = _parse_xml(xml, "stream", offset)
    frames = tuple(_parse_frame(elem) for elem in root.iterfind("frame"))
    if root.find("extension") is not None:
        raise StreamError("<extension> elements in <stream> are not supported", offset)
    return StreamHeader3(
        version=root.get("version", "3.0"),
        type=root.get("type", "das-basic-stream"),
        lang=root.get("lang"),
        properties=_parse_properties(root.find("properties")),
        frames=frames,
    )


def parse_dataset(xml: bytes, offset: int | None = None) -> Dataset:
    """Parse a das3 ``<dataset>`` element into a :class:`Dataset`."""
    root = _parse_xml(xml, "dataset", offset)
    name = root.get("name")
    if not name:
        raise StreamError("<dataset> has no name", offset)
    rank = _parse_int(root.get("rank"), "dataset rank", offset)
    shape = _parse_shape(root.get("index", ""), rank, offset)
    dimensions = []
    for elem in root:
        if not isinstance(elem.tag, str) or elem.tag in ("properties",):
            continue
        if elem.tag not in ("coord", "data"):
            raise StreamError(f"<{elem.tag}> in a <dataset> is not supported", offset)
        dimensions.append(_parse_dimension(elem, rank, offset))
    if not any(dim.kind == "coord" for dim in dimensions):
        raise StreamError(f"dataset {name!r} has no <coord> dimension", offset)
    return Dataset(
        name=name, rank=rank, shape=shape, dimensions=tuple(dimensions),
        plot=root.get("plot"), properties=_parse_properties(root.find("properties")),
    )


def _parse_xml(xml: bytes, tag: str, offset: int | None) -> Any:
    try:
        root = parse_root(xml, remove_comments=True)
    except ValueError as exc:
        raise StreamError(f"invalid XML in <{tag}> header: {exc}", offset) from None
    if root.tag != tag:
        raise StreamError(f"expected a <{tag}> header, found <{root.tag}>", offset)
    return root


def _parse_int(text: str | None, what: str, offset: int | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        raise StreamError(f"invalid {what} {text!r}", offset) from None


def _parse_shape(text: str, rank: int, offset: int | None) -> tuple[int | None, ...]:
    parts = [part.strip() for part in text.split(";")]
    if len(parts) != rank or not 1 <= rank <= 8:
        raise StreamError(f"dataset index {text!r} does not match rank {rank}", offset)
    if parts[0] != "*":
        raise StreamError(f"dataset index {text!r} must start with '*'", offset)
    return tuple(None if part == "*" else _parse_int(part, "index extent", offset)
                 for part in parts)


def _parse_properties(elem: Any) -> tuple[Property3, ...]:
    if elem is None:
        return ()
    found = []
    for prop in elem.iterfind("p"):
        kind = prop.get("type", "string")
        found.append(Property3(
            name=prop.get("name", ""), type=DAS2_PROPERTY_TYPES.get(kind.lower(), kind),
            text=prop.text or "", units=prop.get("units"),
            term=prop.get("term", prop.get("sep")),
        ))
    if not found and elem.attrib:  # das2-style attributes inside das3 framing
        found = [Property3(name=key, text=value) for key, value in elem.attrib.items()]
    return tuple(found)


def _parse_frame(elem: Any) -> Frame:
    fixed = elem.get("fixed")
    return Frame(
        name=elem.get("name", ""), body=elem.get("body"),
        fixed=None if fixed is None else fixed.lower() == "true",
        properties=_parse_properties(elem.find("properties")),
        directions=tuple(child.get("name", "") for child in elem.iterfind("dir")),
    )


def _parse_dimension(elem: Any, rank: int, offset: int | None) -> Dimension:
    variables = []
    for child in elem:
        if not isinstance(child.tag, str) or child.tag == "properties":
            continue
        if child.tag not in ("scalar", "vector"):
            raise StreamError(f"<{child.tag}> in <{elem.tag}> is not supported", offset)
        variables.append(_parse_variable(child, rank, offset))
    return Dimension(
        kind=elem.tag, phys_dim=elem.get("physDim") or "none", variables=tuple(variables),
        name=elem.get("name"), axis=elem.get("axis"), annotation=elem.get("annotation"),
        frame=elem.get("frame"), properties=_parse_properties(elem.find("properties")),
    )


def _parse_variable(elem: Any, rank: int, offset: int | None) -> Variable:
    index = tuple(part.strip() for part in elem.get("index", "").split(";"))
    if len(index) != rank:
        raise StreamError(f"variable index {elem.get('index')!r} does not match rank {rank}",
                          offset)
    semantic = elem.get("semantic", "real")
    if semantic not in SEMANTICS:
        raise StreamError(f"unknown variable semantic {semantic!r}", offset)
    use = elem.get("use", "center")
    if use not in ROLES:
        raise StreamError(f"unknown variable role use={use!r}", offset)
    components = 0
    if elem.tag == "vector":
        components = _parse_int(elem.get("components"), "vector components", offset)
    return Variable(
        semantic=semantic, units=elem.get("units", ""), index=index,
        source=_parse_source(elem, rank, max(components, 1), offset), use=use,
        storage=elem.get("storage"), components=components, system=elem.get("system"),
        sysorder=elem.get("sysorder"), frame=elem.get("frame"),
        properties=_parse_properties(elem.find("properties")),
    )


def _parse_source(elem: Any, rank: int, components: int, offset: int | None) -> ValueSource:
    packets = elem.findall("packet")
    values = elem.findall("values")
    sequences = elem.findall("sequence")
    if len(packets) + len(values) + (1 if sequences else 0) != 1 or len(packets) > 1:
        raise StreamError("a variable needs exactly one of <packet>, <values>, <sequence>",
                          offset)
    if packets:
        return _parse_packet_items(packets[0], offset)
    if values:
        return _parse_values(values[0])
    if len(sequences) != components:
        raise StreamError(f"expected {components} <sequence> element(s), got {len(sequences)}",
                          offset)
    return _parse_sequences(sequences, rank, elem.get("index", "").split(";"), offset)


def _parse_values(elem: Any) -> Values:
    text = elem.text or ""
    term = elem.get("valTerm")
    items = text.split(term) if term else text.split()
    items = [item.strip() for item in items if item.strip()]
    try:
        return Values(np.array([float(item) for item in items]))
    except ValueError:
        return Values(np.array(items, dtype=object))


def _parse_sequences(elems: list[Any], rank: int, index: list[str],
                     offset: int | None) -> Sequence:
    minvals = []
    slopes = []
    used = [pos for pos, part in enumerate(index) if part.strip() != "-"]
    for elem in elems:
        if elem.get("repeat") is not None:
            raise StreamError("<sequence repeat=...> is not part of das3 v3.0", offset)
        try:
            minvals.append(float(elem.get("minval", "0")))
            parts = [part.strip() for part in elem.get("interval", "").split(";")]
            numbers = [None if part in ("-", "") else float(part) for part in parts]
        except ValueError:
            raise StreamError("invalid <sequence> minval or interval", offset) from None
        if len(numbers) != rank:
            if len(numbers) != len(used):
                raise StreamError(f"<sequence> interval {parts} does not fit the index", offset)
            full: list[float | None] = [None] * rank
            for pos, number in zip(used, numbers, strict=True):
                full[pos] = number
            numbers = full
        slopes.append(tuple(numbers))
    return Sequence(tuple(minvals), tuple(slopes))


def _parse_packet_items(elem: Any, offset: int | None) -> PacketItems:
    num_text = elem.get("numItems", "1").strip()
    bytes_text = elem.get("itemBytes", "").strip()
    encoding = elem.get("encoding", "")
    num_items = None if num_text == "*" else _parse_int(num_text, "numItems", offset)
    item_bytes = None if bytes_text == "*" else _parse_int(bytes_text, "itemBytes", offset)
    if encoding not in TEXT_ENCODINGS:
        binary_dtype(encoding, item_bytes)
    elif item_bytes is not None and item_bytes < 1:
        raise StreamError(f"invalid itemBytes {bytes_text!r}", offset)
    idx_text = elem.get("idxTerm")
    idx_terms = tuple(_parse_term(part) for part in idx_text.split(",")) if idx_text else ()
    return PacketItems(
        num_items=num_items, item_bytes=item_bytes, encoding=encoding,
        fill=elem.get("fill"), val_term=_parse_term(elem.get("valTerm")),
        idx_terms=idx_terms, trim=elem.get("trim", "true").lower() != "false",
        mime=elem.get("mime"),
    )


def _parse_term(text: str | None) -> bytes | None:
    if text is None or text == "":
        return None
    return TERM_ESCAPES.get(text, text.encode()[:1])
