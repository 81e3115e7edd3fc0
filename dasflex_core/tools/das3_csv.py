"""``das3_csv`` (also ``das2_csv``): das2 or das3 streams to delimited text.

For each dataset (a das2 packet type is up-converted the way das2C does it):
three header rows unless ``-n`` (variable ids, ``(units)``, labels), then one
``values`` row per record.  Rows start with the dataset id (omitted with
``-i``) and ``"header"``/``"values"`` (omitted with ``-n``) and end with
CRLF.  Times print as ISO 8601 with ``-s`` fractional digits, reals as
``%.{-r}e``.  Comments are dropped; exceptions are reported on stderr.

Values rows are built a batch of records at a time in a byte matrix (one
slot per cell, padded to the widest value) and compacted with a keep mask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dasflex_core.dastime.core import SECONDS_1970_TO_2000, SECONDS_PER_EPOCH_UNIT
from dasflex_core.errors import das3_exception_type
from dasflex_core.tools._common import ToolParser, int_in_range, run_tool
from dasflex_core.units import SECONDS_PER_UNIT

if TYPE_CHECKING:
    import numpy as np

PROGRAM = "das3_csv"
DESCRIPTION = """\
Convert a das2 or das3 stream on stdin to delimited text (CSV) on stdout.

Each dataset gets three header rows (variable ids, units, labels) and one
row per record.  Rows start with the dataset id and a "header", "values"
or "property" cell."""

#: Cells formatted per batch (keeps the work set in the CPU caches).
CELLS_PER_BATCH = 65_536
#: yTag units (canonical) of a das2 ``<yscan>`` that become das3 time offsets.
_OFFSET_UNITS = frozenset({"s", "ms", "\u03bcs", "ns", "us"})


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """What ``das3_csv`` was asked to do."""

    delimiter: bytes = b";"
    digits: int = 7
    time_decimals: int = 3
    headers: bool = True
    ids: bool = True
    properties: bool = False


def build_parser(prog: str = PROGRAM) -> ToolParser:
    """The ``das3_csv`` command line."""
    parser = ToolParser(prog, DESCRIPTION)
    parser.add_argument("-d", dest="delimiter", default=";", metavar="DELIM",
                        help="cell delimiter, taken literally (default ';', at most 11 bytes)")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 18), default=7, metavar="N",
                        help="digits after the decimal point of reals (%%.Ne, 2-18, default 7)")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), default=3,
                        metavar="N", help="fractional seconds digits of times (0-9, default 3)")
    parser.add_argument("-n", "--no-headers", dest="headers", action="store_false",
                        help="no header rows and no row-type column")
    parser.add_argument("-i", "--no-ids", "--no-id", dest="ids", action="store_false",
                        help="no dataset id column")
    parser.add_argument("-p", "--props", dest="properties", action="store_true",
                        help="add property rows before the headers")
    parser.add_argument("-l", "--log", dest="log", default="info", metavar="LEVEL",
                        help="accepted for das2C compatibility")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das3_csv``; return the exit status."""
    prog = "das2_csv" if sys.argv and sys.argv[0].endswith("das2_csv") else PROGRAM
    return run_tool(build_parser(prog), argv, _convert_stdin)


def _options(args: argparse.Namespace) -> CsvOptions:
    from dasflex_core.tools._common import UsageError

    delimiter = args.delimiter.encode("utf-8")
    if not delimiter or len(delimiter) > 11:
        raise UsageError("the delimiter (-d) must be 1 to 11 bytes")
    return CsvOptions(delimiter, args.digits, args.time_decimals, args.headers, args.ids,
                      args.properties and args.headers)


def _convert_stdin(args: argparse.Namespace) -> int:
    from dasflex_core.tools._common import Output, read_chunks

    converter = CsvConverter(_options(args))
    output = Output()
    try:
        chunks = read_chunks()
        first = next(chunks, b"")
        reader = _reader_for(first)
        for chunk in _prepend(first, chunks):
            for event in reader.feed(chunk):
                converter.convert(event, output.write)
        for event in reader.close():
            converter.convert(event, output.write)
    finally:
        output.flush()
    return 0


def _prepend(first: bytes, rest: Any) -> Any:
    if first:
        yield first
    yield from rest


def _reader_for(start: bytes) -> Any:
    """A das2 or das3 reader, chosen from the first bytes of the stream."""
    if start.lstrip()[:1] == b"|":
        from dasflex_core.codecs.das3 import Das3Reader

        return Das3Reader()
    from dasflex_core.codecs.das2 import Das2Reader

    return Das2Reader()


@dataclass(slots=True)
class Column:
    """One variable of a dataset as das3_csv lays it out.

    ``header_cells`` cells in header rows 1 and 2, one cell in row 3 and, if
    ``values`` is set, ``width`` cells per values row from ``values(records)``
    (an array of shape ``(records, width)``; times as us2000).
    """

    category: str
    dimension: str
    role: str
    units: str
    label: str
    header_cells: int
    width: int = 1
    is_time: bool = False
    values: Callable[[Any], np.ndarray] | None = None
    time_units: str = "us2000"
    text_kind: str = "real"
    fill: Callable[[Any], np.ndarray] | None = None

    @property
    def id_text(self) -> str:
        """Header row 1 cell: ``coord:time`` or ``coord:time:offset``."""
        if self.role == "center":
            return f"{self.category}:{self.dimension}"
        return f"{self.category}:{self.dimension}:{self.role}"


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

    def value_rows(self, records: Any) -> bytes:
        """The ``values`` rows of ``records``."""
        import numpy as np

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
            pieces.append(self._format_batch(batch, printed, np))
        return b"".join(pieces)

    def _ragged_rows(self, records: list[Any], printed: list[Column]) -> bytes:
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

    def _record_cells(self, column: Column, record: Any) -> list[bytes]:
        import numpy as np

        from dasflex_core import textfmt

        values = column.values([record]).reshape(-1)  # type: ignore[misc]
        if column.is_time:
            decimals = self.options.time_decimals
            text = np.empty((values.size, 19 + (decimals + 1 if decimals else 0)), dtype=np.uint8)
            textfmt.write_time(text, values, decimals, None, column.time_units)
            return [bytes(row) for row in text]
        if column.text_kind == "real":
            digits = self.options.digits
            return [textfmt.c_exp(float(value), digits).encode() for value in values.tolist()]
        return [_plain_text(value).encode("utf-8") for value in values.tolist()]

    def _format_batch(self, records: Any, printed: list[Column], np: Any) -> bytes:
        """Rows for some records: cells written into slots of one byte matrix,
        padding dropped with a keep mask."""
        from dasflex_core import textfmt

        count = len(records)
        separator = np.frombuffer(self.options.delimiter, dtype=np.uint8)
        prefix = np.frombuffer(self._prefix(b"values"), dtype=np.uint8)
        cells: list[tuple[Column, Any, int, Any]] = []
        for column in printed:
            values = column.values(records)  # type: ignore[misc]
            if column.is_time:
                decimals = self.options.time_decimals
                width = 19 + (decimals + 1 if decimals else 0)
                cells.append((column, values, width, None))
            else:
                layout = (textfmt.Exponential(values, self.options.digits)
                          if column.text_kind == "real" else _TextCells(values))
                lengths = layout.lengths()
                cells.append((column, layout, max(int(lengths.max(initial=1)), layout.body_length),
                              lengths))
        total = prefix.size + sum((c[2] + separator.size) * c[0].width for c in cells) + 2
        rows = np.empty((count, total), dtype=np.uint8)
        rows[:, : prefix.size] = prefix
        offset = prefix.size
        for column, source, width, lengths in cells:
            slot = width + separator.size
            shape = (count, column.width, slot)
            text = np.lib.stride_tricks.as_strided(rows[:, offset:], shape, (total, slot, 1), writeable=True)
            if lengths is None:
                fill = column.fill(records) if column.fill is not None else None
                textfmt.write_time(text[..., :width], source, self.options.time_decimals, fill,
                                   column.time_units)
            else:
                source.write(text[..., :width], pad=0)
            text[..., width:] = separator
            offset += column.width * slot
        rows[:, offset - separator.size : offset] = 0
        rows[:, -2:] = np.frombuffer(b"\r\n", dtype=np.uint8)
        return rows.tobytes().replace(b"\0", b"")


class _TextCells:
    """Integers, strings and other non-real values printed as plain text."""

    def __init__(self, values: np.ndarray) -> None:
        import numpy as np

        flat = np.asarray(values).reshape(-1)
        self.shape = np.shape(values)
        self.texts = [_plain_text(item) for item in flat.tolist()]
        self.body_length = 1

    def lengths(self) -> np.ndarray:
        import numpy as np

        lengths = [len(text.encode("utf-8")) for text in self.texts]
        return np.array(lengths, dtype=np.int64).reshape(self.shape)

    def write(self, out: np.ndarray, pad: int = 0) -> None:
        import numpy as np

        width = out.shape[-1]
        encoded = b"".join(text.encode("utf-8").rjust(width, bytes([pad])) for text in self.texts)
        out[...] = np.frombuffer(encoded, dtype=np.uint8).reshape(out.shape)


def _plain_text(item: Any) -> str:
    if isinstance(item, bytes):
        return item[:1].hex().upper()  # das2C prints the first byte of a blob
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    return str(item)


def _quoted(text: str) -> bytes:
    return b'"' + text.encode("utf-8") + b'"'


class CsvConverter:
    """Turns stream events into CSV bytes."""

    def __init__(self, options: CsvOptions) -> None:
        self.options = options
        self._tables: dict[int, CsvTable] = {}
        self._stream_header: Any = None

    def convert(self, event: Any, write: Callable[[bytes], Any]) -> None:
        """Write the CSV output for one stream event."""
        from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamException, StreamStart

        if isinstance(event, DataRun):
            table = self._tables.get(event.packet_id)
            if table is not None:
                write(table.value_rows(event.records))
        elif isinstance(event, HeaderDefined):
            table = self._table_for(event.packet_id, event.header)
            self._tables[event.packet_id] = table
            write(table.header_rows())
        elif isinstance(event, StreamStart):
            self._stream_header = event.header
            write(self._stream_property_rows(event.header))
        elif isinstance(event, StreamException):
            kind = das3_exception_type(event.type, default=event.type)
            sys.stderr.write(f"Stream Exception: {kind}, {event.message}\n")

    def _table_for(self, packet_id: int, header: Any) -> CsvTable:
        from dasflex_core.codecs.das2 import PacketHeader

        if isinstance(header, PacketHeader):
            table = CsvTable(packet_id, das2_columns(header, self._stream_header), self.options)
            if self.options.properties:
                table.property_rows = [das2_dataset_property_rows(packet_id, header,
                                                                  self._stream_header, self.options)]
            return table
        return das3_table(packet_id, header, self.options, self._stream_header)

    def _stream_property_rows(self, header: Any) -> bytes:
        if not self.options.properties:
            return b""
        return stream_property_rows(header, self.options)


# das2 packets, up-converted the way das2C does it ---------------------------


def _canonical(units: str) -> str:
    from dasflex_core.codecs.das2_style import canonical_units

    canonical = canonical_units(units)
    return units.strip() if canonical is None else canonical


def _label(name: str, plane: Any, header: Any, stream: Any) -> str:
    from dasflex_core.codecs.das2 import cascade

    item = cascade(name, plane.properties, header.properties, _das2_properties(stream))
    return "" if item is None else item.text


def _das2_properties(stream: Any) -> Any:
    """The stream properties as das2 :class:`Properties` (das3 headers are converted)."""
    from dasflex_core.codecs.das2 import Properties, Property

    properties = getattr(stream, "properties", None)
    if properties is None or isinstance(properties, Properties):
        return properties
    return Properties(Property(item.name, "", item.text) for item in properties)


def _is_time_plane(plane: Any) -> bool:
    return plane.encoding.kind == "time" or plane.units.strip() in SECONDS_PER_EPOCH_UNIT


def _field_getter(field_name: str) -> Callable[[Any], np.ndarray]:
    def values(records: Any) -> np.ndarray:
        import numpy as np

        column = np.asarray(records[field_name])
        return column.reshape(len(column), -1)

    return values


def _time_getter(field_name: str) -> Callable[[Any], np.ndarray]:
    """Raw epoch values of a time plane (text times arrive as us2000)."""

    def values(records: Any) -> np.ndarray:
        import numpy as np

        raw = np.asarray(records[field_name], dtype=np.float64)
        return raw.reshape(len(raw), -1)

    return values


def _time_units(plane: Any) -> str:
    return "us2000" if plane.encoding.kind == "time" else plane.units.strip()


def _real_getter(field_name: str, plane: Any) -> Callable[[Any], np.ndarray]:
    """Values as das2C stores them: asciiN <= 12 as float32, other text as float64."""
    narrow_text = plane.encoding.kind == "ascii" and plane.encoding.width <= 12

    def values(records: Any) -> np.ndarray:
        import numpy as np

        column = np.asarray(records[field_name])
        if narrow_text:
            column = column.astype(np.float32)
        return column.reshape(len(column), -1)

    return values


def _coordinate_name(plane: Any, fallback: str) -> str:
    if plane.name:
        return plane.name.replace(".", "_")
    return "time" if _is_time_plane(plane) else fallback


def _x_column(header: Any, stream: Any) -> Column:
    plane = header.planes[0]
    field_name = header.fields[0]
    is_time = _is_time_plane(plane)
    units = "UTC" if plane.encoding.kind == "time" else _canonical(plane.units)
    getter = _time_getter(field_name) if is_time else _real_getter(field_name, plane)
    label = _label("xLabel", plane, header, stream)
    time_units = _time_units(plane) if is_time else "us2000"
    return Column("coord", _coordinate_name(plane, "X"), "center", units, label, 1, 1, is_time,
                  getter, time_units)


def _tag_dimension(units: str) -> str:
    from dasflex_core.codecs.das2_style import canonical_units

    canonical = canonical_units(units) or ""
    if canonical.endswith("Hz"):
        return "frequency"
    if canonical in _OFFSET_UNITS:
        return "offset"
    if canonical.endswith("eV"):
        return "energy"
    return "ytags"


def _waveform_columns(header: Any, stream: Any, index: int) -> list[Column]:
    """A waveform yscan: offsets, reference and center times of the time coordinate."""
    import numpy as np

    plane = header.planes[index]
    reference = _x_column(header, stream)
    x_units = _time_units(header.planes[0])
    centers = _waveform_centers(header.fields[0], plane, x_units)
    label = reference.label
    units = reference.units
    count = plane.nitems
    return [
        Column("coord", "time", "offset", _canonical(plane.yunits), "", count),
        Column("coord", "time", "reference", units, label, 1, 1, True, reference.values, x_units),
        Column("coord", "time", "center", units, label, count, count, True, centers, "t1970"),
        _data_column(header, stream, index, "zLabel", np),
    ]


def _waveform_centers(x_field: str, plane: Any, x_units: str) -> Callable[[Any], np.ndarray]:
    """Reference + offset times as seconds since 1970, by das2C's arithmetic.

    das2C keeps yTags as float32, scales them to the reference's units, adds
    in double there, converts the sum to seconds since 2000 and splits off the
    time of day on the seconds-since-1970 scale.  Repeating each rounding step
    makes centers on a half-millisecond tie print the same digits.
    """
    import numpy as np

    from dasflex_core.textfmt import t2000_seconds

    scale = float(SECONDS_PER_UNIT[_canonical(plane.yunits)]) / SECONDS_PER_EPOCH_UNIT[x_units]
    tags = plane.ytag_values().astype(np.float32).astype(np.float64)
    offsets = tags if scale == 1.0 else scale * tags
    x_times = _time_getter(x_field)

    def centers(records: Any) -> np.ndarray:
        summed = x_times(records) + offsets[None, :]
        if x_units == "t1970":
            return summed
        return t2000_seconds(summed, x_units) + float(SECONDS_1970_TO_2000)

    return centers


def _data_column(header: Any, stream: Any, index: int, label_name: str, np: Any = None) -> Column:
    plane = header.planes[index]
    units = plane.zunits if plane.kind == "yscan" else plane.units
    name = plane.name.replace(".", "_") if plane.name else f"{plane.kind.upper()}_{index}"
    label = _label(label_name, plane, header, stream)
    getter = _real_getter(header.fields[index], plane)
    return Column("data", name, "center", _canonical(units), label, plane.nitems, plane.nitems,
                  False, getter)


def das2_columns(header: Any, stream: Any) -> list[Column]:
    """The das3_csv columns of a das2 packet type (das2C's das2 -> das3 mapping)."""
    from dasflex_core.codecs.das2 import cascade
    from dasflex_core.errors import StreamError

    kinds = [plane.kind for plane in header.planes]
    if not kinds or kinds[0] != "x":
        raise StreamError(f"packet {header.packet_id:02d} does not start with an <x> plane")
    if "yscan" in kinds and "y" in kinds:
        y_plane = header.planes[kinds.index("y")]
        scan = header.planes[kinds.index("yscan")]
        raise StreamError(
            f"packet {header.packet_id:02d}: das3 reads a <y> plus <yscan> packet as a "
            f"reference plus yTag offsets, and units '{_canonical(scan.yunits)}' cannot be "
            f"added to units '{_canonical(y_plane.units)}'"
        )
    columns = [_x_column(header, stream)]
    if "yscan" in kinds:
        scan_columns = _yscan_columns(header, stream, cascade)
        is_waveform = scan_columns[0].role == "offset"
        return scan_columns if is_waveform else columns + scan_columns
    if "z" in kinds:
        for index, kind in enumerate(kinds):
            if kind == "y":
                plane = header.planes[index]
                getter = _real_getter(header.fields[index], plane)
                columns.append(Column("coord", _coordinate_name(plane, "Y"), "center",
                                      _canonical(plane.units),
                                      _label("yLabel", plane, header, stream), 1, 1, False, getter))
        return columns + [
            _data_column(header, stream, index, "zLabel")
            for index, kind in enumerate(kinds) if kind == "z"
        ]
    return columns + [
        _data_column(header, stream, index, "yLabel") for index, kind in enumerate(kinds) if kind == "y"
    ]


def _yscan_columns(header: Any, stream: Any, cascade: Any) -> list[Column]:
    columns: list[Column] = []
    for index, plane in enumerate(header.planes):
        if plane.kind != "yscan":
            continue
        renderer = cascade("renderer", plane.properties, header.properties,
                           _das2_properties(stream))
        dimension = _tag_dimension(plane.yunits)
        if renderer is not None and renderer.text == "waveform" and dimension == "offset":
            return _waveform_columns(header, stream, index)
        columns.append(Column("coord", dimension, "center", _canonical(plane.yunits), "",
                              plane.nitems))
        columns.append(_data_column(header, stream, index, "zLabel"))
    coords = [column for column in columns if column.category == "coord"]
    return coords + [column for column in columns if column.category == "data"]


# das3 datasets --------------------------------------------------------------

_COMPONENT_AXES = ("x", "y", "z")


def _das3_label(dimension: Any, dataset: Any, stream: Any) -> str:
    """The ``label`` property of a dimension, cascading to the dataset and stream."""
    for level in (dimension.properties, dataset.properties, getattr(stream, "properties", ())):
        for item in level or ():
            if getattr(item, "name", None) == "label":
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


def _component_labels(dimension: Any, variable: Any) -> list[str]:
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


def _variable_cells(variable: Any, dataset: Any) -> int:
    """Columns a variable takes in the header rows (fixed extents x components)."""
    cells = 1
    for entry, extent in zip(variable.index[1:], dataset.shape[1:], strict=False):
        if entry == "^" and extent:
            cells *= int(extent)
        elif entry not in ("-", "*", "^"):
            cells *= int(entry)
    return cells * max(1, variable.components)


def das3_table(packet_id: int, dataset: Any, options: CsvOptions, stream: Any = None) -> CsvTable:
    """The CSV table of a das3 dataset."""
    keys = {id(variable): key for key, _, variable in dataset.packet_variables()}
    _reject_embedded_media(packet_id, dataset)
    columns: list[Column] = []
    for dimension in (*dataset.coords, *dataset.data):
        for variable in dimension.variables:
            key = keys.get(id(variable))
            columns.append(_das3_column(dimension, variable, dataset, stream, key))
    table = CsvTable(packet_id, columns, options)
    if options.properties:
        table.property_rows = [dataset_property_rows(packet_id, dataset, options)]
    return table


def _reject_embedded_media(packet_id: int, dataset: Any) -> None:
    """Reject what das2C rejects at header time: embedded images (``mime``),
    which no CSV cell can hold, and text items ragged in two or more indexes
    without ``idxTerm`` (their runs cannot be delimited)."""
    from dasflex_core.errors import StreamError

    for dimension in dataset.dimensions:
        for variable in dimension.variables:
            source = variable.source
            depth = sum(1 for entry in variable.index[1:] if entry == "*")
            if getattr(source, "encoding", "") == "utf8" and depth >= 2 and not source.idx_terms:
                raise StreamError(
                    f"{dimension.label}:{variable.use} in dataset {packet_id} is utf8 with a "
                    f"variable-count run structure {depth} indexes deep but declares no idxTerm"
                )
            mime = getattr(variable.source, "mime", None)
            if mime:
                raise StreamError(
                    f"variable {dimension.label}:{variable.use} in dataset {packet_id} is an "
                    f"embedded '{mime}' that cannot be written as text"
                )


def _das3_column(dimension: Any, variable: Any, dataset: Any, stream: Any, key: str | None) -> Column:
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
    column = Column(category, dimension.label, variable.use, _canonical(units) if units else "",
                    label, cells, cells)
    if record_varying and key is not None:
        _attach_das3_values(column, variable, key)
    return column


def _attach_das3_values(column: Column, variable: Any, key: str) -> None:
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
    is_text = getattr(source, "encoding", "") == "utf8"
    if variable.semantic == "real":
        column.values = _das3_getter(key, _real_storage(variable, is_text))
    elif variable.semantic == "bool" and is_text:
        column.values = _text_bool_getter(key)
        column.text_kind = "text"
    else:
        column.values = _das3_getter(key, None)
        column.text_kind = "text"


def _real_storage(variable: Any, is_text: bool) -> str | None:
    """The dtype das2C keeps real values in: the ``storage`` attribute, else for
    text values float32 up to 12-byte items (float64 otherwise), else the wire type."""
    if variable.storage in ("float", "double"):
        return "float32" if variable.storage == "float" else "float64"
    if is_text:
        width = getattr(variable.source, "item_bytes", None)
        return "float32" if width is not None and width <= 12 else "float64"
    return None


def _das3_getter(key: str, dtype: Any) -> Callable[[Any], np.ndarray]:
    def values(records: Any) -> np.ndarray:
        import numpy as np

        if isinstance(records, np.ndarray):
            column = np.asarray(records[key])
        elif len(records) == 1:
            column = _flattened(records[0][key]).reshape(1, -1)
        else:
            column = np.array([np.asarray(record[key]).reshape(-1) for record in records])
        if dtype is not None:
            column = column.astype(dtype)
        return column.reshape(len(column), -1)

    return values


def _text_bool_getter(key: str) -> Callable[[Any], np.ndarray]:
    """Booleans read from text: das2C stores them as signed bytes, so fill is -128."""
    raw = _das3_getter(key, None)

    def values(records: Any) -> np.ndarray:
        import numpy as np

        flags = np.asarray(raw(records)).astype(np.int16)
        return np.where(flags > 1, -128, flags)

    return values


def _flattened(value: Any) -> np.ndarray:
    """The items of a (possibly nested, ragged) record value as one flat array."""
    import numpy as np

    if isinstance(value, list | tuple):
        parts = [_flattened(part) for part in value]
        return np.concatenate(parts) if parts else np.empty(0)
    return np.asarray(value).reshape(-1)


def _tt2000_getter(key: str) -> Callable[[Any], np.ndarray]:
    """TT2000 nanoseconds as UTC seconds since 2000 (leap seconds removed)."""
    raw = _das3_getter(key, None)

    def values(records: Any) -> np.ndarray:
        import numpy as np

        from dasflex_core.dastime.leap import tt2000_to_ns2000

        ns2000, _ = tt2000_to_ns2000(np.asarray(raw(records), dtype=np.int64))
        return np.asarray(ns2000, dtype=np.float64) * 1e-9

    return values


_TERM_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\0": "\0"}


def _property_items(item: Any) -> list[str]:
    """The value cells of a das3 property: array items split and whitespace-collapsed."""
    if not str(item.type).endswith("Array"):
        return [" ".join(str(item.text).split())]
    term = _TERM_ESCAPES.get(item.term, item.term) if item.term else None
    pieces = item.text.split(term) if term else item.text.split()
    return [" ".join(piece.split()) for piece in pieces if piece.strip()]


def _property_rows(properties: Any, dataset_id: int, scope: str, options: CsvOptions) -> bytes:
    separator = options.delimiter
    rows = []
    for item in properties:
        cells = [_quoted("property"), _quoted(scope), _quoted(item.name), _quoted(item.type)]
        cells.append(_quoted(item.units) if item.units else b"")
        cells.extend(_quoted(text) for text in _property_items(item))
        prefix = b"%d" % dataset_id + separator if options.ids else b""
        rows.append(prefix + separator.join(cells) + b"\r\n")
    return b"".join(rows)


def stream_property_rows(header: Any, options: CsvOptions) -> bytes:
    """``property`` rows of a stream header (``-p``); das2 properties are typed
    the way das2C up-converts them (``Datum`` "60 s" -> real 60 with units s)."""
    if _is_das2(header):
        from dasflex_core.codecs.das2to3 import stream_header_from_das2

        header = stream_header_from_das2(header)
    return _property_rows(getattr(header, "properties", ()), 0, "global", options)


def das2_dataset_property_rows(packet_id: int, header: Any, stream: Any, options: CsvOptions) -> bytes:
    """``property`` rows of the das3 dataset das2C builds for a das2 packet (``-p``)."""
    from dasflex_core.codecs.das2to3 import dataset_from_das2

    return dataset_property_rows(packet_id, dataset_from_das2(header, stream), options)


def dataset_property_rows(packet_id: int, dataset: Any, options: CsvOptions) -> bytes:
    """``property`` rows of a das3 dataset and of its dimensions (``-p``)."""
    rows = [_property_rows(dataset.properties, packet_id, dataset.name, options)]
    for dimension in (*dataset.coords, *dataset.data):
        scope = f"{dataset.name}:{dimension.label}"
        rows.append(_property_rows(dimension.properties, packet_id, scope, options))
    return b"".join(rows)


def _is_das2(header: Any) -> bool:
    from dasflex_core.codecs.das2 import Properties

    return isinstance(getattr(header, "properties", None), Properties)


if __name__ == "__main__":
    sys.exit(main())
