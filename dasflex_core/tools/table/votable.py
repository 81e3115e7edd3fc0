"""VOTable 1.4: TABLEDATA streamed as rows arrive, or BINARY2 (base64) on request.

One ``<RESOURCE>`` holds one ``<TABLE>`` per packet type or dataset.  The
metadata elements (``FIELD``, ``PARAM``, ``DESCRIPTION``, ``INFO``) are
built and serialised with lxml; rows are formatted in bulk (see
:mod:`.text`).  Times are ``char`` fields with ``xtype="timestamp"`` (ISO
8601 with ``Z``, exact to the nanosecond by default); reals keep their
type (``float``/``double``) with ``unit`` and, where known, ``ucd``;
vectors and spectra are fixed ``arraysize`` fields and each axis
(frequencies, time offsets, component names) is a ``PARAM`` of the table.
Missing reals are ``NaN``, missing times empty.  In BINARY2 every row
starts with its null flags, as the standard says.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from lxml import etree

from dasflex_core.tools.table.model import Axis, Batch, Column, Kind, StreamInfo, Table
from dasflex_core.tools.table.spool import SequentialWriter
from dasflex_core.tools.table.text import (
    Cells,
    TextStyle,
    column_cells,
    join_rows,
    row_chunks,
    time_text,
)

NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"
VERSION = "1.4"
#: VOTable datatypes of numpy kinds and sizes (unsigned types widen to the next signed one).
_DATATYPES = {("f", 4): "float", ("f", 8): "double", ("i", 1): "short", ("i", 2): "short",
              ("i", 4): "int", ("i", 8): "long", ("u", 1): "unsignedByte", ("u", 2): "int",
              ("u", 4): "long", ("u", 8): "long"}
_BINARY_TYPES = {"float": ">f4", "double": ">f8", "short": ">i2", "int": ">i4", "long": ">i8",
                 "unsignedByte": "u1"}
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Bytes of binary rows turned into one base64 line (a multiple of 3: no padding inside).
BASE64_BLOCK = 57 * 1024


def _xml_text(value: str) -> bytes:
    return escape(xml_safe(value)).encode("utf-8")


def xml_safe(text: str) -> str:
    """``text`` without the control characters XML 1.0 cannot hold."""
    return _XML_UNSAFE.sub("", text)


def datatype(column: Column) -> str:
    """The VOTable datatype of a column."""
    if column.kind is Kind.TIME or column.kind is Kind.TEXT:
        return "char"
    return _DATATYPES.get((column.dtype.kind, column.dtype.itemsize), "double")


class VOTableWriter(SequentialWriter):
    """Writes a VOTable document; ``binary`` selects BINARY2 serialisation."""

    def __init__(self, emit: Callable[[bytes], object], *, binary: bool = False,
                 digits: int | None = None, time_digits: int | None = None,
                 tmpdir: str | None = None) -> None:
        super().__init__(emit, tmpdir)
        self.binary = binary
        self.real_style = TextStyle(missing=b"NaN", digits=digits, time_digits=time_digits,
                                    text=_xml_text)
        self.other_style = TextStyle(missing=b"", digits=digits, time_digits=time_digits,
                                     text=_xml_text)
        self._carry: dict[int, bytes] = {}
        self._time_width = len(time_text(np.zeros(1, np.int64), None, self.other_style)[0])

    # -- document and tables ---------------------------------------------------

    def document_start(self, info: StreamInfo) -> bytes:
        head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<VOTABLE version="{VERSION}" xmlns="{NAMESPACE}">\n').encode()
        parts = [head]
        if info.title:
            parts.append(_element("DESCRIPTION", {}, info.title))
        parts.append(b'<RESOURCE type="results">\n')
        for name, value in info.properties.items():
            parts.append(_element("INFO", {"name": _info_name(name), "value": value}))
        return b"".join(parts)

    def table_start(self, table: Table, index: int) -> bytes:
        parts = [f"<TABLE name={quoteattr(table.name)}>\n".encode()]
        description = table.title or table.description
        if description:
            parts.append(_element("DESCRIPTION", {}, description))
        for axis in table.axes:
            parts.append(_axis_param(axis))
        for column in table.columns:
            parts.append(self._field(column))
        parts.append(b"<DATA><BINARY2><STREAM encoding=\"base64\">\n" if self.binary
                     else b"<DATA><TABLEDATA>\n")
        return b"".join(parts)

    def rows(self, batch: Batch, first_row: int) -> bytes:
        if self.binary:
            return self._binary_rows(batch)
        return b"".join(self._text_rows(chunk) for chunk in row_chunks(batch))

    def table_end(self, table: Table) -> bytes:
        if not self.binary:
            return b"</TABLEDATA></DATA>\n</TABLE>\n"
        rest = self._carry.pop(id(table), b"")
        tail = base64.b64encode(rest) + b"\n" if rest else b""
        return tail + b"</STREAM></BINARY2></DATA>\n</TABLE>\n"

    def document_end(self) -> bytes:
        return b"</RESOURCE>\n</VOTABLE>\n"

    # -- metadata ------------------------------------------------------------

    def _field(self, column: Column) -> bytes:
        attributes: dict[str, str] = {"name": column.name, "datatype": datatype(column)}
        size = self._char_size(column)
        if size is not None:
            attributes["arraysize"] = str(size)
        elif column.axis is not None:
            attributes["arraysize"] = str(column.width)
        if column.kind is Kind.TIME:
            attributes["xtype"] = "timestamp"
        elif column.units:
            attributes["unit"] = column.units
        if column.ucd:
            attributes["ucd"] = column.ucd
        description = column.title or column.label
        if column.kind is Kind.TIME:
            description = f"{description} (UTC, ISO 8601)"
        if column.axis is not None:
            description += f"; along {column.axis.name}"
        null = column.fill if column.kind is Kind.INTEGER and column.fill is not None else None
        return _element("FIELD", attributes, description, null)

    def _char_size(self, column: Column) -> int | None:
        if column.kind is Kind.TIME:
            return self._time_width
        if column.kind is Kind.TEXT:
            return max(1, column.dtype.itemsize // 4) if column.dtype.kind == "U" else None
        return None

    # -- TABLEDATA -----------------------------------------------------------

    def _text_rows(self, batch: Batch) -> bytes:
        parts: list[bytes | Cells] = [b"<TR><TD>"]
        for number, column in enumerate(batch.table.columns):
            if number:
                parts.append(b"</TD><TD>")
            style = self.real_style if column.kind is Kind.REAL else self.other_style
            missing = None if column.kind is Kind.INTEGER else batch.missing[number]
            parts.append(column_cells(column, batch.values[number], missing, style, b" "))
        parts.append(b"</TD></TR>\n")
        return join_rows(batch.rows, parts)

    # -- BINARY2 -------------------------------------------------------------

    def _binary_rows(self, batch: Batch) -> bytes:
        columns = batch.table.columns
        flag_bytes = (len(columns) + 7) // 8
        spec: list[tuple[str, str, tuple[int, ...]]] = [("flags", "u1", (flag_bytes,))]
        for number, column in enumerate(columns):
            spec.append((f"c{number}", *self._binary_type(column)))
        rows = np.zeros(batch.rows, dtype=np.dtype(spec))
        for number, column in enumerate(columns):
            self._put_binary(rows, number, column, batch.values[number], batch.missing[number])
        carry = self._carry.get(id(batch.table), b"")
        data = carry + rows.tobytes()
        cut = len(data) - len(data) % 3
        self._carry[id(batch.table)] = data[cut:]
        lines = [base64.b64encode(data[start:min(start + BASE64_BLOCK, cut)])
                 for start in range(0, cut, BASE64_BLOCK)]
        return b"".join(line + b"\n" for line in lines)

    def _binary_type(self, column: Column) -> tuple[str, tuple[int, ...]]:
        size = self._char_size(column)
        if size is not None:
            return f"S{size}", ()
        shape = (column.width,) if column.axis is not None else ()
        return _BINARY_TYPES[datatype(column)], shape

    def _put_binary(self, rows: np.ndarray, number: int, column: Column, values: np.ndarray,
                    missing: np.ndarray | None) -> None:
        name = f"c{number}"
        if column.kind is Kind.TIME:
            text = time_text(values.reshape(-1), missing, self.other_style)
            rows[name] = text.view(f"S{text.shape[1]}").reshape(-1)
        elif column.kind is Kind.TEXT:
            rows[name] = np.char.encode(values.astype(str), "ascii", "replace")
        else:
            rows[name] = values.reshape(rows[name].shape)
            if missing is not None and column.kind is Kind.REAL:
                rows[name][missing.reshape(rows[name].shape)] = np.nan
        if missing is not None and column.kind is not Kind.INTEGER:
            null = missing.reshape(len(rows), -1).all(axis=1)
            rows["flags"][null, number // 8] |= 0x80 >> (number % 8)


def _axis_param(axis: Axis) -> bytes:
    """A PARAM holding an axis: its values (double array) or component names (char)."""
    if axis.labels:
        value = " ".join(axis.labels)
        return _element("PARAM", {"name": axis.name, "datatype": "char",
                                  "arraysize": str(len(value)), "value": value}, axis.title)
    values = " ".join(repr(float(v)) for v in axis.values)
    attributes: dict[str, str] = {"name": axis.name, "datatype": "double",
                                  "arraysize": str(axis.size), "value": values}
    if axis.units:
        attributes["unit"] = axis.units
    if axis.ucd:
        attributes["ucd"] = axis.ucd
    return _element("PARAM", attributes, axis.title)


def _info_name(name: str) -> str:
    """INFO names are XML ``NMTOKEN``-like: keep letters, digits, ``_.-:``."""
    cleaned = "".join(char if char.isalnum() or char in "_.-:" else "_" for char in name)
    return cleaned or "property"


def _element(tag: str, attributes: dict[str, str], text: str = "",
             values_null: float | int | None = None) -> bytes:
    """One metadata element serialised by lxml (with a DESCRIPTION child for FIELD/PARAM)."""
    element = etree.Element(tag)
    for key, value in attributes.items():
        element.set(key, xml_safe(value))
    if tag in ("FIELD", "PARAM") and text:
        etree.SubElement(element, "DESCRIPTION").text = xml_safe(text)
    elif text:
        element.text = xml_safe(text)
    if values_null is not None:
        etree.SubElement(element, "VALUES").set("null", str(values_null))
    return bytes(etree.tostring(element, encoding="utf-8")) + b"\n"
