"""JSON: one document, streamed as the records arrive.

Layout (a test parses it with ``json`` and with JavaScript)::

    {"title": "...", "properties": {...stream properties...},
     "tables": [
      {"name": "spec_dens", "title": "...", "description": "...",
       "columns": [{"name": "time", "type": "time", "units": "UTC", ...},
                   {"name": "spec_dens", "type": "float32", "units": "V**2 m**-2 Hz**-1",
                    "size": 100, "axis": "frequency", "fill": -1e31, "label": "..."}],
       "axes": {"frequency": {"units": "Hz", "title": "Frequency", "values": [10.0, ...]}},
       "data": [
        ["1979-03-01T12:26:11.000000000Z", [1.04105544e-12, ...]],
        ...]}]}

Each row of ``data`` is an array with one item per column: times as ISO
8601 strings ending in ``Z``, numbers with every digit of their type,
vectors and spectra as arrays along their axis; missing values (fill, NaN)
are ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from dasflex_core.tools.table.model import Axis, Batch, Column, Kind, StreamInfo, Table
from dasflex_core.tools.table.spool import SequentialWriter
from dasflex_core.tools.table.text import Cells, TextStyle, column_cells, join_rows, row_chunks


def _json_text(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class JsonWriter(SequentialWriter):
    """Writes the JSON document (see the module docstring)."""

    def __init__(self, emit: Callable[[bytes], object], *, digits: int | None = None,
                 time_digits: int | None = None, tmpdir: str | None = None) -> None:
        super().__init__(emit, tmpdir)
        self.style = TextStyle(missing=b"null", nonfinite_missing=True, time_quote=b'"',
                               digits=digits, time_digits=time_digits, text=_json_text)

    def document_start(self, info: StreamInfo) -> bytes:
        head = {"title": info.title, "properties": dict(info.properties)}
        return _dumps(head)[:-1].encode("utf-8") + b',\n"tables": ['

    def table_start(self, table: Table, index: int) -> bytes:
        meta = {"name": table.name, "title": table.title, "description": table.description,
                "columns": [column_meta(c) for c in table.columns],
                "axes": {axis.name: axis_meta(axis) for axis in table.axes}}
        prefix = b"\n" if index == 0 else b",\n"
        return prefix + _dumps(meta)[:-1].encode("utf-8") + b', "data": ['

    def rows(self, batch: Batch, first_row: int) -> bytes:
        pieces = []
        for chunk in row_chunks(batch):
            parts: list[bytes | Cells] = [b",\n["]
            for number, column in enumerate(chunk.table.columns):
                if number:
                    parts.append(b",")
                cells = column_cells(column, chunk.values[number], chunk.missing[number],
                                     self.style, b",")
                parts.extend((b"[", cells, b"]") if column.axis is not None else (cells,))
            parts.append(b"]")
            pieces.append(join_rows(chunk.rows, parts))
        text = b"".join(pieces)
        return text[1:] if first_row == 0 else text

    def table_end(self, table: Table) -> bytes:
        return b"\n]}"

    def document_end(self) -> bytes:
        return b"\n]}\n"


def column_meta(column: Column) -> dict[str, Any]:
    """The metadata object of one column."""
    meta: dict[str, Any] = {"name": column.name, "type": _type_name(column),
                            "units": column.units, "title": column.title}
    if column.label:
        meta["label"] = column.label
    if column.axis is not None:
        meta["size"] = column.width
        meta["axis"] = column.axis.name
    if column.fill is not None and not (isinstance(column.fill, float) and math.isnan(column.fill)):
        meta["fill"] = column.fill
    if column.ucd:
        meta["ucd"] = column.ucd
    meta["role"] = column.role
    return meta


def axis_meta(axis: Axis) -> dict[str, Any]:
    """The metadata object of one axis (values, or component labels)."""
    meta: dict[str, Any] = {"units": axis.units, "title": axis.title}
    if axis.labels:
        meta["labels"] = list(axis.labels)
    else:
        meta["values"] = list(axis.values)
    return meta


def _type_name(column: Column) -> str:
    if column.kind is Kind.TIME:
        return "time"
    if column.kind is Kind.TEXT:
        return "string"
    return column.dtype.name


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
