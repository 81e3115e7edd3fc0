"""Streaming documents that hold their tables one after the other (JSON, VOTable, CSV).

A stream may interleave the records of several packet types, but a JSON
array, a VOTable ``<TABLE>`` or a CSV block must hold one table's rows
together.  :class:`SequentialWriter` streams the rows of the first table
that receives data as they come, and spools the rows of every other table,
already formatted, to a temporary file; at the end it closes the streamed
table and copies each spooled one after it (tables without rows are written
empty, in definition order).  A stream with one table (the usual case) is
never spooled, and memory stays bounded either way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from dasflex_core.tools.table.model import Batch, StreamInfo, Table

#: Bytes copied per write when a spooled table is emitted.
COPY_BYTES = 1 << 20


@dataclass
class _TableState:
    """A defined table: how many rows it has and where spooled rows wait."""

    table: Table
    index: int
    rows: int = 0
    spool: IO[bytes] | None = field(default=None, repr=False)


class SequentialWriter:
    """Base of the text table writers; subclasses format, this class orders.

    Subclasses implement :meth:`document_start`, :meth:`table_start`,
    :meth:`rows`, :meth:`table_end` and :meth:`document_end`, each returning
    bytes.  ``tmpdir`` is where spool files go (default: ``$TMPDIR``).
    """

    def __init__(self, emit: Callable[[bytes], object], tmpdir: str | None = None) -> None:
        self.emit = emit
        self.tmpdir = tmpdir
        self._tables: dict[int, _TableState] = {}
        self._current: _TableState | None = None

    # -- what subclasses write ---------------------------------------------

    def document_start(self, info: StreamInfo) -> bytes:
        """Bytes before the first table."""
        raise NotImplementedError

    def table_start(self, table: Table, index: int) -> bytes:
        """Bytes opening table number ``index`` (0 for the first written)."""
        raise NotImplementedError

    def rows(self, batch: Batch, first_row: int) -> bytes:
        """The rows of ``batch``; ``first_row`` is how many rows the table already has."""
        raise NotImplementedError

    def table_end(self, table: Table) -> bytes:
        """Bytes closing a table."""
        raise NotImplementedError

    def document_end(self) -> bytes:
        """Bytes after the last table."""
        raise NotImplementedError

    # -- the TableWriter protocol ------------------------------------------

    def begin(self, info: StreamInfo) -> None:
        """Start the document."""
        self.emit(self.document_start(info))

    def define(self, table: Table) -> None:
        """Remember a new table."""
        self._tables[id(table)] = _TableState(table, len(self._tables))

    def write(self, batch: Batch) -> None:
        """Stream the rows of the current table, spool those of the others."""
        state = self._tables[id(batch.table)]
        if self._current is None:
            self._current = state
            self.emit(self.table_start(state.table, 0))
        text = self.rows(batch, state.rows)
        state.rows += batch.rows
        if state is self._current:
            self.emit(text)
            return
        if state.spool is None:
            state.spool = tempfile.TemporaryFile(dir=self.tmpdir, prefix="dasflex_table_")
        state.spool.write(text)

    def finish(self) -> None:
        """Close the streamed table, then write every other table; end the document."""
        written = 0
        if self._current is not None:
            self.emit(self.table_end(self._current.table))
            written = 1
        for state in sorted(self._tables.values(), key=lambda s: s.index):
            if state is self._current:
                continue
            self.emit(self.table_start(state.table, written))
            written += 1
            if state.spool is not None:
                self._copy(state.spool)
            self.emit(self.table_end(state.table))
        self.emit(self.document_end())

    def _copy(self, spool: IO[bytes]) -> None:
        spool.seek(0)
        while True:
            chunk = spool.read(COPY_BYTES)
            if not chunk:
                break
            self.emit(chunk)
        spool.close()


def copy_file(path: str, emit: Callable[[bytes], object]) -> None:
    """Emit the bytes of the file at ``path`` in bounded chunks."""
    with open(path, "rb") as source:
        while True:
            chunk = source.read(COPY_BYTES)
            if not chunk:
                return
            emit(chunk)

