"""The columns ``das3_csv`` prints for a das3 dataset: one per variable.

Vectors get a cell per component (labelled ``B_x`` or ``x_FRAME``), fixed
extents a cell per item; record-varying variables take their values from the
packets (times as us2000 or, for TT2000, UTC seconds since 2000).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dasflex_core.codecs.das2 import Property
from dasflex_core.codecs.das3_model import Dataset, Dimension, PacketItems, Property3, Variable
from dasflex_core.dastime.leap import tt2000_to_ns2000
from dasflex_core.errors import StreamError
from dasflex_core.tools.text.csv_columns import (
    Column,
    Getter,
    Records,
    StreamHeaders,
    canonical,
    column_of,
)


def _das3_label(dimension: Dimension, dataset: Dataset, stream: StreamHeaders | None) -> str:
    """The ``label`` property of a dimension, cascading to the dataset and stream."""
    stream_properties: Iterable[Property | Property3] = () if stream is None else stream.properties
    for level in (dimension.properties, dataset.properties, stream_properties):
        for item in level:
            if item.name == "label":
                return str(item.text)
    return ""


#: Component symbols of each das3 vector system, in the system's own order.
_SYSTEM_SYMBOLS = {
    "cartesian": ("x", "y", "z"),
    "cylindrical": ("\u03c1", "\u03c6", "z"),
    "spherical": ("r", "\u03b8", "\u03c6"),
    "centric": ("\u03c6", "\u03b8", "r"),
    "detic": ("\u03c6", "\u03b8", "a"),
    "graphic": ("\u03c6", "\u03b8", "a"),
}


def _component_labels(dimension: Dimension, variable: Variable) -> list[str]:
    """Column labels of a vector: ``compLabel``, else ``B_x`` or, in a frame, ``x_FRAME``."""
    for item in dimension.properties:
        if item.name == "compLabel":
            return item.text.split(item.term) if item.term else item.text.split()
    symbols = _SYSTEM_SYMBOLS.get(variable.system or "cartesian", _SYSTEM_SYMBOLS["cartesian"])
    # das2C names cartesian components after the physical dimension (B_x) and
    # other systems' components after their frame (θ_IAU_EARTH).
    order = [int(part) for part in (variable.sysorder or "").split(";") if part.strip().isdigit()]
    if len(order) != variable.components:
        order = list(range(variable.components))
    system = variable.system or "cartesian"
    frame = (variable.frame or dimension.frame) if system != "cartesian" else None
    labels = []
    for axis in order:
        symbol = symbols[axis] if axis < len(symbols) else str(axis)
        labels.append(f"{symbol}_{frame}" if frame else f"{dimension.phys_dim}_{symbol}")
    return labels


def _variable_cells(variable: Variable, dataset: Dataset) -> int:
    """Columns a variable takes in the header rows (fixed extents x components)."""
    cells = 1
    for entry, extent in zip(variable.index[1:], dataset.shape[1:], strict=False):
        if entry == "^" and extent:
            cells *= int(extent)
        elif entry not in ("-", "*", "^"):
            cells *= int(entry)
    return cells * max(1, variable.components)


def das3_columns(packet_id: int, dataset: Dataset, stream: StreamHeaders | None) -> list[Column]:
    """The das3_csv columns of a das3 dataset (one per variable)."""
    keys = {id(variable): key for key, _, variable in dataset.packet_variables()}
    _reject_embedded_media(packet_id, dataset)
    columns: list[Column] = []
    for dimension in (*dataset.coords, *dataset.data):
        for variable in dimension.variables:
            key = keys.get(id(variable))
            columns.append(_das3_column(dimension, variable, dataset, stream, key))
    return columns


def _reject_embedded_media(packet_id: int, dataset: Dataset) -> None:
    """Reject what das2C rejects at header time: embedded images (``mime``),
    which no CSV cell can hold, and text items ragged in two or more indexes
    without ``idxTerm`` (their runs cannot be delimited)."""
    for dimension in dataset.dimensions:
        for variable in dimension.variables:
            source = variable.source
            if not isinstance(source, PacketItems):
                continue
            depth = sum(1 for entry in variable.index[1:] if entry == "*")
            if source.encoding == "utf8" and depth >= 2 and not source.idx_terms:
                raise StreamError(
                    f"{dimension.label}:{variable.use} in dataset {packet_id} is utf8 with a "
                    f"variable-count run structure {depth} indexes deep but declares no idxTerm"
                )
            if source.mime:
                raise StreamError(
                    f"variable {dimension.label}:{variable.use} in dataset {packet_id} is an "
                    f"embedded '{source.mime}' that cannot be written as text"
                )


def _das3_column(dimension: Dimension, variable: Variable, dataset: Dataset,
                 stream: StreamHeaders | None, key: str | None) -> Column:
    category = "coord" if dimension.kind == "coord" else "data"
    units = variable.units.strip()
    cells = _variable_cells(variable, dataset)
    record_varying = variable.index[0] == "*"
    if not record_varying:
        label = ""
    elif variable.components:
        label = '";"'.join(_component_labels(dimension, variable))
    else:
        label = _das3_label(dimension, dataset, stream)
    column = Column(category, dimension.label, variable.use, canonical(units) if units else "",
                    label, cells, cells)
    if record_varying and key is not None:
        _attach_das3_values(column, variable, key)
    return column


def _attach_das3_values(column: Column, variable: Variable, key: str) -> None:
    units = variable.units.strip()
    if variable.semantic == "datetime":
        column.is_time = True
        if units == "TT2000":
            column.time_units = "t2000"
            column.values = _tt2000_getter(key)
        else:
            column.time_units = "us2000" if units in ("UTC", "") else units
            column.values = _das3_getter(key, None)
        return
    source = variable.source
    is_text = isinstance(source, PacketItems) and source.encoding == "utf8"
    if variable.semantic == "real":
        column.values = _das3_getter(key, _real_storage(variable, is_text))
    elif variable.semantic == "bool" and is_text:
        column.values = _text_bool_getter(key)
        column.text_kind = "text"
    else:
        column.values = _das3_getter(key, None)
        column.text_kind = "text"


def _real_storage(variable: Variable, is_text: bool) -> str | None:
    """The dtype das2C keeps real values in: the ``storage`` attribute, else for
    text values float32 up to 12-byte items (float64 otherwise), else the wire type."""
    if variable.storage in ("float", "double"):
        return "float32" if variable.storage == "float" else "float64"
    if is_text and isinstance(variable.source, PacketItems):
        width = variable.source.item_bytes
        return "float32" if width is not None and width <= 12 else "float64"
    return None


def _das3_getter(key: str, dtype: str | None) -> Getter:
    def values(records: Records) -> np.ndarray:
        column = column_of(records, key)
        if dtype is not None:
            column = column.astype(dtype)
        return column.reshape(len(column), -1)

    return values


def _text_bool_getter(key: str) -> Getter:
    """Booleans read from text: das2C stores them as signed bytes, so fill is -128."""
    raw = _das3_getter(key, None)

    def values(records: Records) -> np.ndarray:
        flags = np.asarray(raw(records)).astype(np.int16)
        return np.where(flags > 1, -128, flags)

    return values


def _tt2000_getter(key: str) -> Getter:
    """TT2000 nanoseconds as UTC seconds since 2000 (leap seconds removed)."""
    raw = _das3_getter(key, None)

    def values(records: Records) -> np.ndarray:
        ns2000, _ = tt2000_to_ns2000(np.asarray(raw(records), dtype=np.int64))
        return np.asarray(ns2000, dtype=np.float64) * 1e-9

    return values
