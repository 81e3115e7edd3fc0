"""How das3 packet variables sit in a data packet, and how values are decoded.

:func:`packet_fields` turns a :class:`~.das3_model.Dataset` into one
:class:`PacketField` per ``<packet>`` variable.  When every field has a fixed
size, :func:`record_dtype` gives the structured dtype of one data packet
payload, so a run of packets decodes with one ``np.frombuffer``.  Text fields
(``utf8``) are converted by :func:`decode_text` (vectorised over a run).

Decoded values: binary items keep their wire dtype; text reals become float64
(float32 when ``storage="float"``), integers int64, bools uint8 (fill 255),
datetimes float64 microseconds since 2000-01-01 (``value_units`` "us2000"),
strings numpy unicode, blobs ``bytes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DasFlexError, StreamError
from .das2_text import decode_times
from .das3_model import Dataset, Dimension, PacketItems, Variable

#: Fill values used when a ``<packet>`` has no ``fill`` attribute.
DEFAULT_FILLS = {
    "u1": 255, "i1": -128, "u2": 65535, "i2": -32767, "u4": 4294967295,
    "i4": -2147483647, "u8": 2**64 - 1, "i8": -(2**63 - 1), "f4": -1e31, "f8": -1e31,
}
DEFAULT_TIME_FILL = "0001-01-01T00:00:00"
_TRUE_TEXT = frozenset((b"t", b"true", b"1", b"y", b"yes"))
_FALSE_TEXT = frozenset((b"f", b"false", b"0", b"n", b"no"))
_BOOL_FILL_TEXT = frozenset((b"*", b"?", b"-", b""))


@dataclass(frozen=True, slots=True)
class Level:
    """One index level a packet variable spans (index 1 is ``j``)."""

    letter: str
    extent: int | None
    terminator: bytes | None


@dataclass(frozen=True, slots=True)
class PacketField:
    """One ``<packet>`` variable: its wire layout and decoded form.

    ``wire_dtype`` is the per-record wire layout (None when it varies),
    ``item_dtype`` that of one wire item (object for variable-width items).
    """

    key: str
    dimension: Dimension
    variable: Variable
    items: PacketItems
    levels: tuple[Level, ...]
    shape: tuple[int, ...] | None
    wire_dtype: np.dtype | None
    value_dtype: np.dtype
    item_dtype: np.dtype

    @property
    def is_fixed(self) -> bool:
        """True when the field has the same byte size in every packet."""
        return self.wire_dtype is not None

    @property
    def components(self) -> int:
        """Wire values per innermost element (vector components, else 1)."""
        return max(self.variable.components, 1)

    @property
    def value_units(self) -> str:
        """Units of the decoded values (text datetimes become us2000)."""
        if self.variable.semantic == "datetime" and self.items.encoding == "utf8":
            return "us2000"
        return self.variable.units

    @property
    def fill_value(self) -> object:
        """The fill value in the decoded form."""
        return field_fill(self)


def packet_fields(dataset: Dataset) -> list[PacketField]:
    """The packet fields of ``dataset`` in wire order."""
    return [_make_field(key, dim, var, dataset) for key, dim, var in dataset.packet_variables()]


def record_dtype(fields: list[PacketField]) -> np.dtype | None:
    """The structured wire dtype of one payload, or None if any field varies."""
    if not fields or not all(field.is_fixed for field in fields):
        return None
    return np.dtype([(field.key, field.wire_dtype) for field in fields])


def value_dtype(fields: list[PacketField]) -> np.dtype:
    """The structured dtype of decoded records (fixed fields only)."""
    return np.dtype([(field.key, field.value_dtype, field.shape or ()) for field in fields])


def _make_field(key: str, dim: Dimension, var: Variable, dataset: Dataset) -> PacketField:
    items = var.source
    assert isinstance(items, PacketItems)
    levels = _levels(var, dataset, items)
    shape = _fixed_shape(var, items, levels)
    if shape is not None:
        levels = ()
    wire = None
    if shape is not None and items.item_bytes is not None:
        wire = np.dtype((_item_wire_dtype(items), shape))
    return PacketField(key, dim, var, items, levels, shape, wire, _value_dtype(var, items),
                       _item_wire_dtype(items) if items.item_bytes else np.dtype(object))


def _levels(var: Variable, dataset: Dataset, items: PacketItems) -> tuple[Level, ...]:
    spans = []
    for position in range(1, dataset.rank):
        entry = var.index[position]
        if entry != "-":
            extent = int(entry) if entry.isdigit() else dataset.shape[position]
            spans.append((chr(ord("i") + position), extent))
    terms = _assign_terminators(items.idx_terms, [extent for _, extent in spans])
    return tuple(Level(letter, extent, term)
                 for (letter, extent), term in zip(spans, terms, strict=True))


def _assign_terminators(terms: tuple[bytes | None, ...],
                        extents: list[int | None]) -> list[bytes | None]:
    """Map ``idxTerm`` entries onto levels: all levels, else the ragged ones.

    das2C streams give either one terminator per index after the first, or one
    per ragged index only (``index="*;3;*" idxTerm="!"`` ends the ``k`` runs).
    """
    assigned: list[bytes | None] = [None] * len(extents)
    if len(terms) >= len(extents):
        return list(terms[:len(extents)])
    ragged = [pos for pos, extent in enumerate(extents) if extent is None]
    targets = ragged if len(terms) == len(ragged) else list(range(len(extents)))[-len(terms):]
    for pos, term in zip(targets, terms, strict=False):
        assigned[pos] = term
    return assigned


def _fixed_shape(var: Variable, items: PacketItems,
                 levels: tuple[Level, ...]) -> tuple[int, ...] | None:
    if items.num_items is None or any(level.extent is None for level in levels):
        return None
    shape = tuple(level.extent for level in levels if level.extent is not None)
    if var.is_vector:
        shape += (var.components,)
    if math.prod(shape) != items.num_items:
        return (items.num_items,) if items.num_items != 1 else ()
    return shape


def _item_wire_dtype(items: PacketItems) -> np.dtype:
    if items.encoding == "blob":
        return np.dtype(f"V{items.item_bytes}")
    if items.is_text:
        return np.dtype(f"S{items.item_bytes}")
    return items.binary_dtype()


def _value_dtype(var: Variable, items: PacketItems) -> np.dtype:
    if not items.is_text:
        return items.binary_dtype()
    if items.encoding != "utf8" or var.semantic == "blob":
        return np.dtype(object)
    semantic = var.semantic
    if semantic == "real":
        return np.dtype("f4" if var.storage == "float" else "f8")
    if semantic == "integer":
        return np.dtype("i8")
    if semantic == "datetime":
        return np.dtype("f8")
    if semantic == "bool":
        return np.dtype("u1")
    width = items.item_bytes
    return np.dtype(f"U{width}") if width else np.dtype(object)


def field_fill(field: PacketField) -> object:
    """The decoded fill value of ``field``."""
    items = field.items
    kind = field.value_dtype
    if field.variable.semantic == "datetime" and items.encoding == "utf8":
        return float(_parse_times(np.array([items.fill or DEFAULT_TIME_FILL], dtype="S"))[0])
    if kind.kind in "fiu" and kind.itemsize and field.variable.semantic != "bool":
        if items.fill not in (None, ""):
            try:
                return kind.type(float(items.fill)) if kind.kind == "f" else kind.type(
                    int(float(items.fill)))
            except (ValueError, OverflowError):
                pass
        return kind.type(DEFAULT_FILLS.get(kind.str[1:], -1e31))
    if field.variable.semantic == "bool":
        return np.uint8(255)
    return items.fill or ""


def decode_text(field: PacketField, raw: np.ndarray) -> np.ndarray:
    """Decode an array of fixed-width utf8 items (dtype ``S<N>``) to values."""
    semantic = field.variable.semantic
    if semantic == "datetime":
        return _parse_times(raw, field)
    if semantic in ("real", "integer"):
        return _parse_numbers(raw, field)
    if semantic == "bool":
        return _parse_bools(raw)
    # das2C keeps the blank padding of fixed-width strings (the field width is
    # part of the value); ``trim`` only applies to whitespace-separated tokens.
    text = raw if semantic == "string" or not field.items.trim else np.char.strip(raw)
    return np.char.decode(text, "utf-8", "replace").astype(field.value_dtype)


def decode_text_items(field: PacketField, items: list[bytes]) -> np.ndarray:
    """Decode a list of utf8 items (variable width) to values."""
    semantic = field.variable.semantic
    if semantic == "string":
        texts = [item.strip() if field.items.trim else item for item in items]
        return np.array([text.decode("utf-8", "replace") for text in texts], dtype=object)
    if not items:
        return np.zeros(0, dtype=field.value_dtype)
    return decode_text(field, np.array(items, dtype="S"))


def _parse_numbers(raw: np.ndarray, field: PacketField) -> np.ndarray:
    stripped = np.char.strip(raw)
    try:
        if field.value_dtype.kind == "i":
            return stripped.astype(np.float64).astype(field.value_dtype)
        return stripped.astype(field.value_dtype)
    except ValueError:
        pass
    fill = field_fill(field)
    flat = [_number_or(item, fill) for item in stripped.ravel().tolist()]
    return np.array(flat, dtype=field.value_dtype).reshape(raw.shape)


def _number_or(text: bytes, fill: object) -> object:
    try:
        return float(text)
    except ValueError:
        return fill


def _parse_bools(raw: np.ndarray) -> np.ndarray:
    out = np.full(raw.shape, 255, dtype=np.uint8)
    for position, text in np.ndenumerate(np.char.lower(np.char.strip(raw))):
        if text in _TRUE_TEXT:
            out[position] = 1
        elif text in _FALSE_TEXT:
            out[position] = 0
    return out


def _parse_times(raw: np.ndarray, field: PacketField | None = None) -> np.ndarray:
    """Parse text times to us2000 (via the das2 text codec and dastime)."""
    stripped = np.char.strip(raw.astype("S"))
    try:
        return np.asarray(decode_times(stripped), dtype=np.float64).reshape(raw.shape)
    except (DasFlexError, ValueError) as exc:
        raise StreamError(f"invalid time value in the stream: {exc}") from None
