"""Apache Parquet, written row group by row group as records arrive (pyarrow).

Columns: the time as ``timestamp[ns, UTC]``; reals and integers in their
own type; vectors and spectra as ``fixed_size_list`` columns.  Each field
carries its metadata as Arrow field metadata (``units``, ``title``,
``label``, ``fill_value``, ``ucd``, ``role`` and, for wide columns,
``axis``: a JSON object with the axis name, units and values or component
labels); the schema metadata holds the stream's ``title`` and a ``dasflex``
JSON object (tables, stream properties).  Missing values (fill) are nulls.

A Parquet file holds one table.  When a stream has several packet types,
the file holds their union: a ``dataset`` column names each row's table,
columns with the same name, type and metadata are shared (``time``),
others are prefixed with their table name (``spec_lfr.spec_dens``) and are
null in the other tables' rows.  The schema is fixed when the first row
group is written (after about :data:`ROW_GROUP_BYTES` of data, or at the
end); a packet type first defined after that, with columns the schema
lacks, is an error (NetCDF, VOTable and JSON hold any number of tables).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dasflex_core.errors import StreamError
from dasflex_core.tools.table.jsonout import axis_meta
from dasflex_core.tools.table.model import Batch, Column, Kind, StreamInfo, Table

#: Arrow bytes buffered before a row group is written (bounds the memory).
ROW_GROUP_BYTES = 16 << 20
#: Compression of the column chunks.
COMPRESSION = "zstd"
#: The column naming each row's table when a file holds several.
DATASET_COLUMN = "dataset"


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type of a column."""
    if column.kind is Kind.TIME:
        base = pa.timestamp("ns", tz="UTC")
    elif column.kind is Kind.TEXT:
        base = pa.string()
    else:
        base = pa.from_numpy_dtype(column.dtype.newbyteorder("="))
    return pa.list_(base, column.width) if column.axis is not None else base


def arrow_field(column: Column, name: str | None = None) -> pa.Field:
    """The Arrow field of a column, with its metadata."""
    meta = {"units": column.units, "title": column.title, "role": column.role}
    if column.label:
        meta["label"] = column.label
    if column.fill is not None:
        meta["fill_value"] = repr(column.fill)
    if column.ucd:
        meta["ucd"] = column.ucd
    if column.axis is not None:
        meta["axis"] = json.dumps({"name": column.axis.name, **axis_meta(column.axis)})
    return pa.field(name or column.name, arrow_type(column), nullable=True, metadata=meta)


def arrow_array(column: Column, values: np.ndarray, missing: np.ndarray | None) -> pa.Array:
    """One column of a batch as an Arrow array (missing values are nulls)."""
    if column.kind is Kind.TEXT:
        items = values.reshape(-1).astype(str)
        return pa.array(items, pa.string(), mask=None if missing is None else missing.reshape(-1))
    flat = np.ascontiguousarray(values.reshape(-1), dtype=column.dtype.newbyteorder("="))
    mask = None if missing is None else np.ascontiguousarray(missing.reshape(-1))
    base = arrow_type(column)
    if column.axis is not None:
        child = pa.array(flat, base.value_type, mask=mask)
        return pa.FixedSizeListArray.from_arrays(child, column.width)
    return pa.array(flat, base, mask=mask)


class _Sink:
    """The write end pyarrow needs, forwarding bytes to ``emit``."""

    def __init__(self, emit: Callable[[bytes], object]) -> None:
        self.emit = emit
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.emit(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Nothing is held here."""

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class ParquetWriter:
    """Writes the Parquet file (see the module docstring)."""

    def __init__(self, emit: Callable[[bytes], object], *,
                 row_group_bytes: int | None = None, compression: str = COMPRESSION) -> None:
        self.sink = _Sink(emit)
        self.row_group_bytes = row_group_bytes or ROW_GROUP_BYTES
        self.compression = compression
        self.info = StreamInfo()
        self._tables: list[Table] = []
        self._pending: list[tuple[Table, list[pa.Array]]] = []
        self._pending_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._positions: dict[int, list[int]] = {}
        self._multi = False

    def begin(self, info: StreamInfo) -> None:
        """Remember the stream's title and properties for the schema metadata."""
        self.info = info

    def define(self, table: Table) -> None:
        """A new table; after the schema is fixed it must fit in it."""
        self._tables.append(table)
        if self._schema is not None:
            self._positions[id(table)] = self._fit(table)

    def write(self, batch: Batch) -> None:
        """Buffer a batch; write a row group once enough is buffered."""
        arrays = [arrow_array(column, values, missing) for column, values, missing
                  in zip(batch.table.columns, batch.values, batch.missing, strict=True)]
        size = sum(array.nbytes for array in arrays)
        step = max(1, batch.rows * self.row_group_bytes // max(size, 1))
        for start in range(0, batch.rows, step):
            part = [array.slice(start, step) for array in arrays]
            self._pending.append((batch.table, part))
            self._pending_bytes += size * len(part[0]) // max(batch.rows, 1)
            if self._pending_bytes >= self.row_group_bytes:
                self._flush()

    def finish(self) -> None:
        """Write what is buffered and the footer."""
        self._flush()
        assert self._writer is not None
        self._writer.close()

    # -- schema ----------------------------------------------------------------

    def _open(self) -> None:
        tables = self._tables or [_EMPTY]
        self._multi = len(tables) > 1
        fields: list[pa.Field] = []
        if self._multi:
            fields.append(pa.field(DATASET_COLUMN, pa.string(), nullable=False,
                                   metadata={"title": "Table (packet type) of the row"}))
        for table in tables:
            positions = []
            for column in table.columns:
                wanted = arrow_field(column)
                found = next((i for i, f in enumerate(fields) if f.equals(wanted, True)), None)
                if found is None:
                    taken = {f.name for f in fields}
                    name = column.name if column.name not in taken else f"{table.name}.{column.name}"
                    fields.append(arrow_field(column, name))
                    found = len(fields) - 1
                positions.append(found)
            self._positions[id(table)] = positions
        metadata = {"title": self.info.title,
                    "dasflex": json.dumps({"tables": [t.name for t in tables],
                                           "properties": dict(self.info.properties)})}
        self._schema = pa.schema(fields, metadata=metadata)
        self._writer = pq.ParquetWriter(pa.PythonFile(self.sink, mode="w"), self._schema,
                                        compression=self.compression,
                                        use_dictionary=[DATASET_COLUMN])

    def _fit(self, table: Table) -> list[int]:
        """Positions of a late table's columns in the fixed schema, or StreamError."""
        assert self._schema is not None
        positions = []
        for column in table.columns:
            wanted = arrow_field(column)
            found = next((i for i, f in enumerate(self._schema) if f.equals(wanted, True)), None)
            if found is None:
                raise StreamError(
                    f"packet type {table.name!r} was defined after the Parquet schema was fixed "
                    f"and its column {column.name!r} is not in it; a Parquet file holds one "
                    "table: ask for netcdf, votable or json to get every packet type")
            positions.append(found)
        return positions

    def _flush(self) -> None:
        if self._writer is None:
            self._open()
        if not self._pending:
            return
        batches = [self._union_batch(table, arrays) for table, arrays in self._pending]
        self._pending, self._pending_bytes = [], 0
        self._write_batches(batches)

    def _write_batches(self, batches: list[pa.RecordBatch]) -> None:
        assert self._writer is not None and self._schema is not None
        if not batches:
            return
        table = pa.Table.from_batches(batches, self._schema)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def _union_batch(self, table: Table, arrays: list[pa.Array]) -> pa.RecordBatch:
        assert self._schema is not None
        rows = len(arrays[0]) if arrays else 0
        columns: list[pa.Array | None] = [None] * len(self._schema)
        for position, array in zip(self._positions[id(table)], arrays, strict=True):
            columns[position] = array
        if self._multi:
            columns[0] = pa.array([table.name] * rows, pa.string())
        full = [array if array is not None else pa.nulls(rows, field.type)
                for array, field in zip(columns, self._schema, strict=True)]
        return pa.RecordBatch.from_arrays(full, schema=self._schema)


#: The table of a stream that defines none (no data): just a time column.
_EMPTY = Table("empty", "", (Column("time", Kind.TIME, np.dtype(np.int64), "UTC", "Time",
                                    role="coord"),))
