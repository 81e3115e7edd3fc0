"""Plain CSV for people: one header row, ISO 8601 times with ``Z``, one row per record.

``pandas.read_csv(url, parse_dates=[0])`` and spreadsheets open it directly:
the header names each column and its units (``time (UTC)``,
``radius (Re)``), vectors and spectra spread over columns ``name_0`` ..
``name_N-1``, numbers are the shortest text that reads back to the value
sent (``11.26``), the delimiter is a comma, rows end with CRLF (RFC 4180) and
missing values (fill) are empty cells.  A stream with several packet types
gives one such block per type, separated by an empty line.
"""

from __future__ import annotations

from collections.abc import Callable

from dasflex_core.tools.table.model import Batch, Column, StreamInfo, Table
from dasflex_core.tools.table.spool import SequentialWriter
from dasflex_core.tools.table.text import Cells, TextStyle, column_cells, join_rows, row_chunks

DELIMITER = b","
NEWLINE = b"\r\n"


def _csv_text(value: str) -> bytes:
    return quoted(value).encode("utf-8")


def quoted(text: str) -> str:
    """``text`` as one CSV cell (quoted when it holds a delimiter, quote or line break)."""
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def header_names(column: Column) -> list[str]:
    """The header cells of one column: ``name (units)``, or ``name_0 (units)``... when wide."""
    units = f" ({column.units})" if column.units else ""
    if column.axis is None:
        return [f"{column.name}{units}"]
    return [f"{column.name}_{index}{units}" for index in range(column.width)]


class PlainCsvWriter(SequentialWriter):
    """Writes plain CSV (see the module docstring)."""

    def __init__(self, emit: Callable[[bytes], object], *, digits: int | None = None,
                 time_digits: int | None = None, tmpdir: str | None = None) -> None:
        super().__init__(emit, tmpdir)
        self.style = TextStyle(missing=b"", shortest=True, digits=digits,
                               time_digits=time_digits, text=_csv_text)

    def document_start(self, info: StreamInfo) -> bytes:
        return b""

    def table_start(self, table: Table, index: int) -> bytes:
        cells = [quoted(name) for column in table.columns for name in header_names(column)]
        return (NEWLINE if index else b"") + ",".join(cells).encode("utf-8") + NEWLINE

    def rows(self, batch: Batch, first_row: int) -> bytes:
        pieces = []
        for chunk in row_chunks(batch):
            parts: list[bytes | Cells] = []
            for number, column in enumerate(chunk.table.columns):
                if number:
                    parts.append(DELIMITER)
                parts.append(column_cells(column, chunk.values[number], chunk.missing[number],
                                          self.style, DELIMITER))
            parts.append(NEWLINE)
            pieces.append(join_rows(chunk.rows, parts))
        return b"".join(pieces)

    def table_end(self, table: Table) -> bytes:
        return b""

    def document_end(self) -> bytes:
        return b""
