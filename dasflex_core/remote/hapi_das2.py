"""HAPI ``info`` to das2 headers, and HAPI records (binary or CSV) to das2 packets.

Every parameter das2 can hold goes into a packet; each HAPI record becomes
one packet of each type, in packet id order:

* the primary time becomes each packet's ``<x>`` plane, of encoding
  ``timeN`` (N is the HAPI ``length``), so the time text passes through;
* the scalar ``double`` and ``integer`` parameters become the ``<y>`` planes
  of packet ``:01:`` (``little_endian_real8``; integers are widened);
* each one-dimensional array (``size: [n]``) becomes the ``<yscan>`` of a
  packet of its own (``:02:``, ``:03:``...: das2 readers take a ``<y>`` next
  to a ``<yscan>`` for a reference and its offsets), ``n`` items, its yTags
  the static ``bins[0].centers`` (else the item indexes), ``yUnits`` the
  bins' units;
* ``units`` become plane units (``zUnits`` for a yscan), a numeric ``fill``
  becomes ``yFill``/``zFill``, ``label`` becomes ``yLabel``/``zLabel``;
  ``cadence`` becomes the stream's ``xTagWidth`` and ``description`` its
  ``title``.

``string`` and ``isotime`` parameters and arrays of two or more dimensions
have no das2 form: :mod:`dasflex_core.remote.hapi_columns` leaves them out
(their columns are still read, then dropped).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dasflex_core.codecs.das2 import (
    Encoding,
    PacketHeader,
    Plane,
    Properties,
    StreamHeader,
    encode_header_packet,
    parse_encoding,
)
from dasflex_core.errors import DasFlexError
from dasflex_core.remote.hapi_columns import (
    Column,
    ContentError,
    hapi_fill,
    hapi_units,
    static_bins,
)
from dasflex_core.remote.times import duration_seconds, parse_ns2000


def stream_header(info: Mapping[str, Any], dataset: str) -> StreamHeader:
    """The das2 stream header: ``title`` and, from ``cadence``, ``xTagWidth``."""
    properties = Properties()
    title = info.get("description") or info.get("x_title") or dataset
    properties.set("title", " ".join(str(title).split())[:300])
    cadence = info.get("cadence")
    seconds = duration_seconds(cadence) if isinstance(cadence, str) else None
    if seconds:
        properties.set("xTagWidth", float(seconds), "s")
    return StreamHeader(properties=properties)


def packet_headers(columns: Sequence[Column]) -> list[tuple[PacketHeader, list[int]]]:
    """The das2 packet headers of the kept columns, each with the column indexes it carries.

    The scalars share packet 1 (when there are any); each array has a packet of its own.
    """
    time = columns[0]
    real8 = parse_encoding("little_endian_real8")
    scalars = [index for index, column in enumerate(columns) if column.kept and not column.shape]
    arrays = [[index] for index, column in enumerate(columns) if column.kept and column.shape]
    groups = ([scalars] if scalars else []) + arrays
    headers = []
    for number, group in enumerate(groups, start=1):
        planes = [Plane("x", parse_encoding(f"time{time.length}"), name="time", units="UTC")]
        planes += [_plane(columns[index], real8) for index in group]
        headers.append((PacketHeader(number, tuple(planes)), group))
    return headers


def _plane(column: Column, encoding: Encoding) -> Plane:
    """The ``<y>`` (scalar) or ``<yscan>`` (array) plane of a kept column."""
    properties = Properties()
    fill = hapi_fill(column.info.get("fill"))
    label = column.info.get("label")
    axis = "z" if column.shape else "y"
    if fill is not None:
        properties.set(f"{axis}Fill", fill)
    if isinstance(label, str) and label.strip():
        properties.set(f"{axis}Label", " ".join(label.split()))
    units = hapi_units(column.info.get("units"))
    if not column.shape:
        return Plane("y", encoding, name=column.name, units=units, properties=properties)
    tags, tag_units = static_bins(column)
    return Plane("yscan", encoding, name=column.name, nitems=column.count,
                 ytags=np.asarray(tags, dtype=np.float64),
                 ytags_text=",".join(repr(float(tag)) for tag in tags),
                 yunits=tag_units, zunits=units, properties=properties)


class RecordConverter:
    """Turns HAPI records (binary bytes or CSV lines) into das2 data packets."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.groups = packet_headers(self.columns)
        self.headers = [header for header, _ in self.groups]
        self.hapi_dtype = np.dtype({"names": [f"p{i}" for i in range(len(self.columns))],
                                    "formats": [c.wire_format() for c in self.columns]})
        self.record_size = self.hapi_dtype.itemsize
        #: The packets of one record, side by side: ``tobytes`` interleaves them record by record.
        self.packets_dtype = np.dtype([(f"g{number}", header.dtype)
                                       for number, header in enumerate(self.headers)])
        self.csv_columns = sum(column.count for column in self.columns)
        self._held = b""

    def header_packets(self) -> bytes:
        """The encoded packet headers (``[01]``, ``[02]``...)."""
        return b"".join(encode_header_packet(header.packet_id, header.xml_bytes())
                        for header in self.headers)

    def same_layout(self, other: RecordConverter) -> bool:
        """True when ``other`` reads the same records into the same packets."""
        return self.hapi_dtype == other.hapi_dtype \
            and self.header_packets() == other.header_packets()

    def _packets(self, values: Mapping[int, np.ndarray], count: int) -> bytes:
        """das2 packets from decoded columns (index -> array of ``count`` rows)."""
        self._check_time(values[0][0])
        wire = np.empty(count, dtype=self.packets_dtype)
        for number, (header, group) in enumerate(self.groups):
            packets = wire[f"g{number}"]
            packets["tag"] = header.tag
            packets[header.fields[0]] = values[0]
            for name, index in zip(header.fields[1:], group, strict=True):
                data = values[index]
                packets[name] = data.reshape(count, -1) if self.columns[index].shape else data
        return wire.tobytes()

    def _check_time(self, first: bytes) -> None:
        """ContentError when a chunk's first time is not a time (garbage instead of records)."""
        try:
            parse_ns2000(bytes(first).rstrip(b"\0 ").decode("ascii"))
        except (DasFlexError, UnicodeDecodeError):
            raise ContentError(f"a record starts with {bytes(first)[:30]!r}, not a time") from None

    # -- binary ----------------------------------------------------------------

    def binary(self, data: bytes) -> bytes:
        """Packets for the whole records in ``data`` (a partial one is held for the next call)."""
        data = self._held + data if self._held else data
        count = len(data) // self.record_size
        used = count * self.record_size
        self._held = data[used:]
        if not count:
            return b""
        records = np.frombuffer(data, dtype=self.hapi_dtype, count=count)
        values = {index: records[f"p{index}"] for index, column in enumerate(self.columns)
                  if index == 0 or column.kept}
        return self._packets(values, count)

    def check_finished(self) -> None:
        """ContentError when the body ended inside a record."""
        if self._held:
            raise ContentError(f"its data end inside a record ({len(self._held)} bytes of "
                               f"{self.record_size} left over)")

    # -- CSV -------------------------------------------------------------------

    def csv(self, data: bytes, final: bool = False) -> bytes:
        """Packets for the whole lines in ``data`` (the last partial line is held)."""
        data = self._held + data if self._held else data
        cut = len(data) if final else data.rfind(b"\n") + 1
        self._held = data[cut:]
        lines = [line for line in data[:cut].replace(b"\r", b"").split(b"\n") if line.strip()]
        if not lines:
            return b""
        rows = _csv_rows(lines, self.csv_columns)
        return self._packets(self._csv_values(rows), len(lines))

    def _csv_values(self, rows: np.ndarray) -> dict[int, np.ndarray]:
        time = self.columns[0]
        times = rows[:, 0]
        if times.dtype.itemsize > time.length:
            raise ContentError(f"it sent a time longer than its length {time.length}")
        values: dict[int, np.ndarray] = {0: times}
        position = 1
        for index, column in enumerate(self.columns[1:], start=1):
            if column.kept:
                cells = rows[:, position:position + column.count]
                try:
                    numbers = cells.astype("<f8")
                except ValueError:
                    raise ContentError(f"it sent a {column.name} value that is not a number") \
                        from None
                values[index] = numbers if column.shape else numbers[:, 0]
            position += column.count
        return values


def _csv_rows(lines: list[bytes], width: int) -> np.ndarray:
    """CSV lines as a 2-D array of byte strings, ``width`` cells a row (quotes honoured)."""
    if any(b'"' in line for line in lines):
        parsed = [[cell.encode("utf-8") for cell in row]
                  for row in csv.reader(line.decode("utf-8", "replace") for line in lines)]
        if any(len(row) != width for row in parsed):
            raise ContentError(f"it sent a CSV line without {width} columns")
        return np.array(parsed, dtype=bytes).reshape(len(lines), width)
    cells = b",".join(lines).split(b",")
    if len(cells) != len(lines) * width or any(line.count(b",") != width - 1 for line in lines):
        raise ContentError(f"it sent a CSV line without {width} columns")
    return np.array(cells, dtype=bytes).reshape(len(lines), width)
