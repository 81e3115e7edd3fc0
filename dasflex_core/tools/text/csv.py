"""das2 or das3 streams as delimited text (``das3_csv``, also ``das2_csv``).

For each dataset (a das2 packet type is up-converted the way das2C does it,
:mod:`.csv_columns`): three header rows unless ``-n`` (variable ids,
``(units)``, labels), then one ``values`` row per record.  Rows start with
the dataset id (omitted with ``-i``) and ``"header"``/``"values"`` (omitted
with ``-n``) and end with CRLF.  Times print as ISO 8601 with ``-s``
fractional digits, reals as ``%.{-r}e``.  Comments are dropped; exceptions
are reported on stderr.

Values rows are built a batch of records at a time in a byte matrix (one
slot per cell, padded to the widest value) and compacted with a keep mask.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from dasflex_core import textfmt
from dasflex_core.codecs.das2 import Das2Reader, PacketHeader, StreamHeader
from dasflex_core.codecs.events import (
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import das3_exception_type
from dasflex_core.tools.streamio import Output, read_chunks
from dasflex_core.tools.text.csv_columns import (
    Column,
    RaggedRecord,
    Records,
    StreamHeaders,
    das2_columns,
)

if TYPE_CHECKING:
    from dasflex_core.codecs.das3 import Das3Reader
    from dasflex_core.codecs.das3_model import Dataset, Property3

# The das3 side (the das3 codec, the das2 -> das3 mapping, das3 columns) is
# imported where a das3 stream or -p needs it: a das2 stream without -p, the
# usual case, starts without it.

#: Cells formatted per batch (keeps the work set in the CPU caches).
CELLS_PER_BATCH = 65_536


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """What ``das3_csv`` was asked to do."""

    delimiter: bytes = b";"
    digits: int = 7
    time_decimals: int = 3
    headers: bool = True
    ids: bool = True
    properties: bool = False


def convert_stdin(options: CsvOptions, source: BinaryIO | None = None,
                  sink: BinaryIO | None = None) -> int:
    """Convert the das2 or das3 stream on ``source`` (stdin) to CSV on ``sink`` (stdout)."""
    output = Output(sink)
    converter = CsvConverter(options, output.write)
    try:
        chunks = read_chunks(source)
        first = next(chunks, b"")
        reader = _reader_for(first)
        for chunk in _prepend(first, chunks):
            converter.handle(reader.feed(chunk))
        converter.handle(reader.close())
    finally:
        output.flush()
    return 0


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _reader_for(start: bytes) -> Das2Reader | Das3Reader:
    """A das2 or das3 reader, chosen from the first bytes of the stream."""
    if start.lstrip()[:1] == b"|":
        from dasflex_core.codecs.das3 import Das3Reader

        return Das3Reader()
    return Das2Reader()


@dataclass(frozen=True, slots=True)
class _Slots:
    """One column's cells in a batch: the text width of a cell and what to write."""

    column: Column
    width: int
    times: np.ndarray | None = None
    text: textfmt.Exponential | _TextCells | None = None


@dataclass(slots=True)
class CsvTable:
    """The columns of one dataset and how to print its rows."""

    dataset_id: int
    columns: list[Column]
    options: CsvOptions
    property_rows: list[bytes] = field(default_factory=list)

    def _prefix(self, kind: bytes) -> bytes:
        parts = []
        if self.options.ids:
            parts.append(b"%d" % self.dataset_id)
        if self.options.headers:
            parts.append(b'"' + kind + b'"')
        return b"".join(part + self.options.delimiter for part in parts)

    def header_rows(self) -> bytes:
        """The property rows (``-p``) and three header rows."""
        if not self.options.headers:
            return b""
        separator = self.options.delimiter
        prefix = self._prefix(b"header")
        ids = separator.join(
            _quoted(column.id_text) + separator * (column.header_cells - 1) for column in self.columns
        )
        units = separator.join(
            _quoted(f"({column.units})" if column.units else "") + separator * (column.header_cells - 1)
            for column in self.columns
        )
        labels = separator.join(
            _quoted(column.label) if column.label else b"" for column in self.columns
        )
        rows = [prefix + ids, prefix + units, prefix + labels]
        return b"".join(self.property_rows) + b"".join(row + b"\r\n" for row in rows)

    def value_rows(self, records: Records) -> bytes:
        """The ``values`` rows of ``records``."""
        printed = [column for column in self.columns if column.values is not None]
        count = len(records)
        if count == 0 or not printed:
            return b""
        if not isinstance(records, np.ndarray):
            return self._ragged_rows(records, printed)
        cells_per_row = sum(column.width for column in printed)
        step = max(1, CELLS_PER_BATCH // max(1, cells_per_row))
        pieces = []
        for start in range(0, count, step):
            batch = records[start : start + step]
            pieces.append(self._format_batch(batch, printed))
        return b"".join(pieces)

    def _ragged_rows(self, records: Iterable[RaggedRecord], printed: list[Column]) -> bytes:
        """Rows of records with ragged or variable-width items, one record at a time."""
        prefix = self._prefix(b"values")
        separator = self.options.delimiter
        rows = []
        for record in records:
            cells: list[bytes] = []
            for column in printed:
                cells.extend(self._record_cells(column, record))
            rows.append(prefix + separator.join(cells) + b"\r\n")
        return b"".join(rows)

    def _record_cells(self, column: Column, record: RaggedRecord) -> list[bytes]:
        assert column.values is not None
        values = column.values([record]).reshape(-1)
        if column.is_time:
            decimals = self.options.time_decimals
            text = np.empty((values.size, 19 + (decimals + 1 if decimals else 0)), dtype=np.uint8)
            textfmt.write_time(text, values, decimals, None, column.time_units)
            return [bytes(row) for row in text]
        if column.text_kind == "real":
            digits = self.options.digits
            return [textfmt.c_exp(float(value), digits).encode() for value in values.tolist()]
        return [_plain_text(value).encode("utf-8") for value in values.tolist()]

    def _slots(self, column: Column, records: np.ndarray) -> _Slots:
        """How one column's cells of ``records`` are written, and their width."""
        assert column.values is not None
        values = column.values(records)
        if column.is_time:
            decimals = self.options.time_decimals
            return _Slots(column, 19 + (decimals + 1 if decimals else 0), times=values)
        text = (textfmt.Exponential(values, self.options.digits)
                if column.text_kind == "real" else _TextCells(values))
        width = max(int(text.lengths().max(initial=1)), text.body_length)
        return _Slots(column, width, text=text)

    def _format_batch(self, records: np.ndarray, printed: list[Column]) -> bytes:
        """Rows for some records: cells written into slots of one byte matrix,
        padding dropped with a keep mask."""
        count = len(records)
        separator = np.frombuffer(self.options.delimiter, dtype=np.uint8)
        prefix = np.frombuffer(self._prefix(b"values"), dtype=np.uint8)
        slots = [self._slots(column, records) for column in printed]
        total = prefix.size + sum((s.width + separator.size) * s.column.width for s in slots) + 2
        rows = np.empty((count, total), dtype=np.uint8)
        rows[:, : prefix.size] = prefix
        offset = prefix.size
        for cells in slots:
            column, width = cells.column, cells.width
            slot = width + separator.size
            shape = (count, column.width, slot)
            text = np.lib.stride_tricks.as_strided(rows[:, offset:], shape, (total, slot, 1), writeable=True)
            if cells.times is not None:
                fill = column.fill(records) if column.fill is not None else None
                textfmt.write_time(text[..., :width], cells.times, self.options.time_decimals, fill,
                                   column.time_units)
            elif cells.text is not None:
                cells.text.write(text[..., :width], pad=0)
            text[..., width:] = separator
            offset += column.width * slot
        rows[:, offset - separator.size : offset] = 0
        rows[:, -2:] = np.frombuffer(b"\r\n", dtype=np.uint8)
        return rows.tobytes().replace(b"\0", b"")


class _TextCells:
    """Integers, strings and other non-real values printed as plain text."""

    def __init__(self, values: np.ndarray) -> None:
        flat = np.asarray(values).reshape(-1)
        self.shape = np.shape(values)
        self.texts = [_plain_text(item) for item in flat.tolist()]
        self.body_length = 1

    def lengths(self) -> np.ndarray:
        lengths = [len(text.encode("utf-8")) for text in self.texts]
        return np.array(lengths, dtype=np.int64).reshape(self.shape)

    def write(self, out: np.ndarray, pad: int = 0) -> None:
        width = out.shape[-1]
        encoded = b"".join(text.encode("utf-8").rjust(width, bytes([pad])) for text in self.texts)
        out[...] = np.frombuffer(encoded, dtype=np.uint8).reshape(out.shape)


def _plain_text(item: object) -> str:
    if isinstance(item, bytes):
        return item[:1].hex().upper()  # das2C prints the first byte of a blob
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)


def _quoted(text: str) -> bytes:
    return b'"' + text.encode("utf-8") + b'"'


class CsvConverter(EventStream[None]):
    """Turns stream events into CSV bytes, written through ``emit``."""

    def __init__(self, options: CsvOptions, emit: Callable[[bytes], object]) -> None:
        self.options = options
        self.emit = emit
        self._tables: dict[int, CsvTable] = {}
        self._stream_header: StreamHeaders | None = None

    def on_data(self, run: DataRun) -> None:
        table = self._tables.get(run.packet_id)
        if table is not None:
            self.emit(table.value_rows(run.records))

    def on_packet_header(self, event: HeaderDefined) -> None:
        table = self._table_for(event.packet_id, event.header)
        self._tables[event.packet_id] = table
        self.emit(table.header_rows())

    def on_stream_start(self, event: StreamStart) -> None:
        self._stream_header = event.header
        if self.options.properties:
            self.emit(stream_property_rows(event.header, self.options))

    def on_exception(self, event: StreamException) -> None:
        kind = das3_exception_type(event.type, default=event.type)
        sys.stderr.write(f"Stream Exception: {kind}, {event.message}\n")

    def _table_for(self, packet_id: int, header: PacketHeader | Dataset) -> CsvTable:
        if isinstance(header, PacketHeader):
            table = CsvTable(packet_id, das2_columns(header, self._stream_header), self.options)
            if self.options.properties:
                table.property_rows = [das2_dataset_property_rows(packet_id, header,
                                                                  self._stream_header, self.options)]
            return table
        return das3_table(packet_id, header, self.options, self._stream_header)


def das3_table(packet_id: int, dataset: Dataset, options: CsvOptions,
               stream: StreamHeaders | None = None) -> CsvTable:
    """The CSV table of a das3 dataset."""
    from dasflex_core.tools.text.csv_das3 import das3_columns  # the das3 side, for das3 input

    table = CsvTable(packet_id, das3_columns(packet_id, dataset, stream), options)
    if options.properties:
        table.property_rows = [dataset_property_rows(packet_id, dataset, options)]
    return table


# property rows (-p) ---------------------------------------------------------

_TERM_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\0": "\0"}


def _property_items(item: Property3) -> list[str]:
    """The value cells of a das3 property: array items split and whitespace-collapsed."""
    if not str(item.type).endswith("Array"):
        return [" ".join(str(item.text).split())]
    term = _TERM_ESCAPES.get(item.term, item.term) if item.term else None
    pieces = item.text.split(term) if term else item.text.split()
    return [" ".join(piece.split()) for piece in pieces if piece.strip()]


def _property_rows(properties: Iterable[Property3], dataset_id: int, scope: str,
                   options: CsvOptions) -> bytes:
    separator = options.delimiter
    rows = []
    for item in properties:
        cells = [_quoted("property"), _quoted(scope), _quoted(item.name), _quoted(item.type)]
        cells.append(_quoted(item.units) if item.units else b"")
        cells.extend(_quoted(text) for text in _property_items(item))
        prefix = b"%d" % dataset_id + separator if options.ids else b""
        rows.append(prefix + separator.join(cells) + b"\r\n")
    return b"".join(rows)


def stream_property_rows(header: StreamHeaders, options: CsvOptions) -> bytes:
    """``property`` rows of a stream header (``-p``); das2 properties are typed
    the way das2C up-converts them (``Datum`` "60 s" -> real 60 with units s)."""
    from dasflex_core.codecs.das2to3 import stream_header_from_das2  # only with -p

    das3_header = stream_header_from_das2(header) if isinstance(header, StreamHeader) else header
    return _property_rows(das3_header.properties, 0, "global", options)


def das2_dataset_property_rows(packet_id: int, header: PacketHeader,
                               stream: StreamHeaders | None, options: CsvOptions) -> bytes:
    """``property`` rows of the das3 dataset das2C builds for a das2 packet (``-p``)."""
    from dasflex_core.codecs.das2to3 import map_das2_packet  # only with -p

    return dataset_property_rows(packet_id, map_das2_packet(header, stream).dataset, options)


def dataset_property_rows(packet_id: int, dataset: Dataset, options: CsvOptions) -> bytes:
    """``property`` rows of a das3 dataset and of its dimensions (``-p``)."""
    rows = [_property_rows(dataset.properties, packet_id, dataset.name, options)]
    for dimension in (*dataset.coords, *dataset.data):
        scope = f"{dataset.name}:{dimension.label}"
        rows.append(_property_rows(dimension.properties, packet_id, scope, options))
    return b"".join(rows)

