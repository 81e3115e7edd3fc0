"""NetCDF-4 (HDF5), CF conventions, through the netCDF4 library.

NetCDF-4 needs a seekable file: the tables are written to a temporary file
(rows appended in bounded chunks along an unlimited record dimension) and
the file is copied to the output when the stream ends, then removed.

Layout: the first table is in the root group, every further table in a
group named after it (the root's ``datasets`` attribute lists them all, so
``xarray.open_dataset(path, group=NAME)`` finds each).  In a group: the
record dimension and coordinate ``time`` (int64, ``units = "nanoseconds
since 1970-01-01T00:00:00Z"``, ``calendar = "standard"``, exact to the
nanosecond: xarray decodes it, cftime does not know nanoseconds); scalars
are 1-D variables, vectors and spectra 2-D along a dimension named after
their axis, whose coordinate variable holds the frequencies, offsets or
component names.  Values are stored uncompressed (deflate with ``-z``:
smaller files, about 30 MB/s).  Attributes: ``units``, ``long_name`` (the title),
``_FillValue`` (the stream's fill; missing values are written as it),
``label`` and ``ucd`` where known; global ``title``, ``Conventions`` and the
stream properties.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import netCDF4
import numpy as np

from dasflex_core.dastime import FILLED_TT2000
from dasflex_core.tools.table.model import Axis, Batch, Column, Kind, StreamInfo, Table, safe_name
from dasflex_core.tools.table.spool import copy_file

TIME_UNITS = "nanoseconds since 1970-01-01T00:00:00Z"
CONVENTIONS = "CF-1.8"
#: Bytes of rows buffered per table before they are written.
BUFFER_BYTES = 8 << 20
#: Target bytes of one HDF5 chunk (whole chunks are allocated: small keeps small files small).
CHUNK_BYTES = 64 << 10
#: Attribute names the writer sets itself (stream properties never replace them).
_RESERVED = frozenset({"title", "Conventions", "history", "datasets", "source"})


@dataclass
class _Group:
    """A table's group, its variables and the rows waiting to be written."""

    table: Table
    group: Any
    variables: list[Any]
    rows: int = 0
    pending: list[Batch] = field(default_factory=list)
    pending_bytes: int = 0


class NetcdfWriter:
    """Writes the NetCDF-4 file (see the module docstring)."""

    def __init__(self, emit: Callable[[bytes], object], *, tmpdir: str | None = None,
                 buffer_bytes: int = BUFFER_BYTES, deflate: int = 0) -> None:
        self.emit = emit
        self.deflate = deflate
        self.buffer_bytes = buffer_bytes
        self.workdir = tempfile.mkdtemp(prefix="das2_netcdf_", dir=tmpdir)
        self.path = os.path.join(self.workdir, "stream.nc")
        self.root = netCDF4.Dataset(self.path, "w", format="NETCDF4")
        self.root.set_auto_maskandscale(False)
        self._groups: dict[int, _Group] = {}

    def begin(self, info: StreamInfo) -> None:
        """Global attributes: title, conventions, the stream's properties."""
        self.root.setncattr("Conventions", CONVENTIONS)
        self.root.setncattr("title", info.title)
        self.root.setncattr("history", "written by das2_netcdf (dasflex) from a das stream")
        for name, value in info.properties.items():
            key = safe_name(name, "property")
            if key not in _RESERVED and not key.startswith("_") and value:
                self.root.setncattr(key, value)

    def define(self, table: Table) -> None:
        """Create the table's group, dimensions and variables."""
        group = self.root if not self._groups else self.root.createGroup(table.name)
        group.setncattr("dataset", table.name)
        if table.title:
            group.setncattr("dataset_title", table.title)
        record = table.columns[0].name
        group.createDimension(record, None)
        for axis in table.axes:
            _define_axis(group, axis)
        variables = [_define_column(group, column, record, self.deflate)
                     for column in table.columns]
        self._groups[id(table)] = _Group(table, group, variables)

    def write(self, batch: Batch) -> None:
        """Buffer rows; append them to the file once enough are waiting."""
        state = self._groups[id(batch.table)]
        state.pending.append(batch)
        state.pending_bytes += sum(values.nbytes for values in batch.values)
        if state.pending_bytes >= self.buffer_bytes:
            self._flush(state)

    def finish(self) -> None:
        """Write what is buffered, close the file, copy it out and remove it."""
        try:
            for state in self._groups.values():
                self._flush(state)
            names = [state.table.name for state in self._groups.values()]
            self.root.setncattr("datasets", " ".join(names))
            self.root.close()
            copy_file(self.path, self.emit)
        finally:
            self.close()

    def close(self) -> None:
        """Remove the temporary file (also after a failure)."""
        try:
            if self.root.isopen():
                self.root.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _flush(self, state: _Group) -> None:
        if not state.pending:
            return
        batches, state.pending, state.pending_bytes = state.pending, [], 0
        start = state.rows
        stop = start + sum(batch.rows for batch in batches)
        for number, (column, variable) in enumerate(zip(state.table.columns, state.variables,
                                                        strict=True)):
            values = np.concatenate([_stored(column, b.values[number], b.missing[number])
                                     for b in batches])
            variable[start:stop] = values
        state.rows = stop


def _define_axis(group: Any, axis: Axis) -> None:
    group.createDimension(axis.name, axis.size)
    if axis.labels:
        variable = group.createVariable(axis.name, str, (axis.name,))
        variable[:] = np.array(axis.labels, dtype=object)
    else:
        variable = group.createVariable(axis.name, "f8", (axis.name,))
        variable[:] = np.asarray(axis.values, dtype=np.float64)
        if axis.units:
            variable.setncattr("units", axis.units)
    variable.setncattr("long_name", axis.title or axis.name)
    if axis.ucd:
        variable.setncattr("ucd", axis.ucd)


def _define_column(group: Any, column: Column, record: str, deflate: int = 0) -> Any:
    dims = (record, column.axis.name) if column.axis is not None else (record,)
    if column.kind is Kind.TEXT:
        variable = group.createVariable(column.name, str, dims)
    else:
        dtype = column.dtype.newbyteorder("=")
        fill = _fill_value(column, dtype)
        row_bytes = dtype.itemsize * column.width
        chunks = [max(1, CHUNK_BYTES // row_bytes)] + ([column.width] if column.axis else [])
        packing = {"compression": "zlib", "complevel": deflate, "shuffle": True} if deflate else {}
        variable = group.createVariable(column.name, dtype, dims, fill_value=fill,
                                        chunksizes=chunks, **packing)
    if column.kind is Kind.TIME:
        variable.setncatts({"units": TIME_UNITS, "calendar": "standard",
                            "standard_name": "time", "axis": "T", "long_name": column.title})
    else:
        if column.units:
            variable.setncattr("units", column.units)
        variable.setncattr("long_name", column.title or column.name)
    if column.label and column.label != column.title:
        variable.setncattr("label", column.label)
    if column.ucd:
        variable.setncattr("ucd", column.ucd)
    variable.setncattr("role", column.role)
    return variable


def _fill_value(column: Column, dtype: np.dtype) -> Any:
    if column.kind is Kind.TIME:
        return np.int64(FILLED_TT2000)
    if column.fill is None:
        return False  # netCDF4: no _FillValue attribute
    return dtype.type(column.fill)


def _stored(column: Column, values: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """Values as written: native byte order, missing ones set to the fill value."""
    if column.kind is Kind.TEXT:
        return np.asarray(values, dtype=object)
    dtype = column.dtype.newbyteorder("=")
    out = np.array(values, dtype=dtype, copy=True)
    if missing is not None:
        out[missing] = FILLED_TT2000 if column.kind is Kind.TIME else dtype.type(column.fill)
    return out
