"""Read each table format back and count its records (``dasflex verify``).

Every function takes the bytes a pipeline produced and returns the number
of data rows, raising :class:`~dasflex_core.errors.StreamError` when the
document does not parse, holds no row, or is inconsistent (rows of
different widths, a BINARY2 stream that is not a whole number of rows).
Parquet and NetCDF are read with the libraries that wrote them (imported
here only when called, so that this module stays light and a server
without them still verifies the rest); VOTable with lxml
(:func:`~dasflex_core.xmltext.parse_root`), JSON and CSV with the standard
library.  It stands beside the programs, outside the table family, as
a light module ``dasflex verify`` imports.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from dasflex_core.errors import StreamError
from dasflex_core.xmltext import parse_root

if TYPE_CHECKING:  # lxml loads with the first VOTable read back
    from lxml.etree import _Element

#: Bytes per value of the fixed-size VOTable datatypes.
_VOTABLE_SIZES = {"boolean": 1, "unsignedByte": 1, "short": 2, "int": 4, "long": 8, "char": 1,
                  "unicodeChar": 2, "float": 4, "double": 8, "floatComplex": 8,
                  "doubleComplex": 16}
_VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
#: Held while netCDF4 reads: its C libraries (netCDF, HDF5) crash when two threads use them.
_NETCDF_LOCK = threading.Lock()


def _nonempty(rows: int, what: str) -> int:
    if rows < 1:
        raise StreamError(f"the {what} holds no data row")
    return rows


def parquet_rows(data: bytes) -> int:
    """Rows of a Parquet file; a ``time`` column must be ``timestamp[ns, UTC]``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise StreamError(f"the Parquet file does not read back: {exc}") from None
    if "time" in table.column_names and table.schema.field("time").type != pa.timestamp("ns", "UTC"):
        raise StreamError(f"the Parquet time column is {table.schema.field('time').type}")
    return _nonempty(table.num_rows, "Parquet file")


def netcdf_rows(data: bytes) -> int:
    """Records of every group of a NetCDF-4 file (each has a ``time``-like record dimension).

    One file at a time (:data:`_NETCDF_LOCK`): ``dasflex verify`` reads back
    on several threads, and the netCDF/HDF5 C libraries are not thread-safe.
    """
    with _NETCDF_LOCK:
        return _netcdf_rows(data)


def _netcdf_rows(data: bytes) -> int:
    import netCDF4

    try:
        root = netCDF4.Dataset("verify.nc", mode="r", memory=data)
    except OSError as exc:
        raise StreamError(f"the NetCDF file does not read back: {exc}") from None
    try:
        groups = [root, *root.groups.values()]
        rows = sum(len(dim) for group in groups for dim in group.dimensions.values()
                   if dim.isunlimited())
        if "time" in root.variables and root.variables["time"].getncattr("units").find(
                "since") < 0:
            raise StreamError("the NetCDF time variable has no 'units since' epoch")
    finally:
        root.close()
    return _nonempty(rows, "NetCDF file")


def votable_rows(data: bytes) -> int:
    """Rows of every TABLE of a VOTable (TABLEDATA or BINARY2)."""
    try:
        root = parse_root(data, large=True)
    except ValueError as exc:
        raise StreamError(f"the VOTable is not well-formed XML: {exc}") from None
    rows = 0
    for table in root.iter(f"{_VOTABLE_NS}TABLE"):
        fields = table.findall(f"{_VOTABLE_NS}FIELD")
        cells = len(fields)
        tabledata = table.find(f".//{_VOTABLE_NS}TABLEDATA")
        if tabledata is not None:
            for row in tabledata:
                if len(row) != cells:
                    raise StreamError(f"a VOTable row has {len(row)} cells, not {cells}")
                rows += 1
            continue
        stream = table.find(f".//{_VOTABLE_NS}BINARY2/{_VOTABLE_NS}STREAM")
        if stream is not None:
            rows += _binary2_rows(stream.text or "", fields)
    return _nonempty(rows, "VOTable")


def _binary2_rows(text: str, fields: list[_Element]) -> int:
    size = (len(fields) + 7) // 8
    for field in fields:
        count = field.get("arraysize", "1")
        if not count.isdigit():
            raise StreamError("variable-size BINARY2 fields are not checked")
        size += _VOTABLE_SIZES[field.get("datatype", "char")] * int(count)
    raw = base64.b64decode("".join(text.split()))
    if len(raw) % size:
        raise StreamError(f"the BINARY2 stream ({len(raw)} bytes) is not whole {size}-byte rows")
    return len(raw) // size


def json_rows(data: bytes) -> int:
    """Rows of every table of a JSON document; each row has one item per column."""
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise StreamError(f"the JSON does not parse: {exc}") from None
    rows = 0
    for table in document.get("tables", ()):
        width = len(table["columns"])
        for row in table["data"]:
            if len(row) != width:
                raise StreamError(f"a JSON row has {len(row)} items, not {width}")
            rows += 1
    return _nonempty(rows, "JSON document")


def plain_csv_rows(data: bytes) -> int:
    """Data rows of plain CSV: blocks of a header row and rows of as many cells."""
    rows = 0
    width: int | None = None
    timed = False
    for cells in csv.reader(io.StringIO(data.decode("utf-8"))):
        if not cells:
            width = None
            continue
        if width is None:
            width, timed = len(cells), cells[0].startswith("time")
            continue
        if len(cells) != width:
            raise StreamError(f"a CSV row has {len(cells)} cells, the header {width}")
        if timed and not cells[0].endswith("Z"):
            raise StreamError(f"CSV time {cells[0]!r} is not ISO 8601 UTC (ending in Z)")
        rows += 1
    return _nonempty(rows, "CSV")


#: Row counters by ``dasflex verify`` output name.
READERS: Mapping[str, Callable[[bytes], int]] = {
    "csv-plain": plain_csv_rows,
    "parquet": parquet_rows,
    "netcdf": netcdf_rows,
    "votable": votable_rows,
    "votable-binary": votable_rows,
    "json": json_rows,
}
