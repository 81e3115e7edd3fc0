"""A das2 or das3 stream re-encoded as das3 with text (utf8) values (``das3_text``).

Binary reals become ``%.Ne`` text (6 significant digits for 4-byte values,
15 for 8-byte ones; ``-r N`` sets N), integers ``%Nd`` wide enough for their
type, times ISO-8601 UTC with ``-s N`` fractional digits (default 3), blobs
base64.  Headers are rewritten in das2C's layout with ``sourceId`` set.  A
das2 input is refused unless ``-3`` up-converts it to das3 first.

Fixed-size datasets are formatted a run of packets at a time into one byte
matrix (vectorised); ragged datasets one packet at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

import numpy as np

from dasflex_core.codecs import stream_version
from dasflex_core.codecs.das2 import Das2Reader, StreamHeader
from dasflex_core.codecs.das2to3 import (
    das3_records,
    map_das2_packet,
    stream_header_from_das2,
)
from dasflex_core.codecs.das3 import (
    Das3Reader,
    encode_comment,
    encode_exception,
    encode_header,
    encode_packet,
)
from dasflex_core.codecs.das3_fields import PacketField, packet_fields
from dasflex_core.codecs.das3_model import Dataset, PacketItems, Property3, StreamHeader3, Variable
from dasflex_core.codecs.das3_xml import dataset_xml, stream_header_xml
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.dastime import SECONDS_1970_TO_2000, format_time_fields, parse_us2000
from dasflex_core.errors import DasFlexError, QueryError, StreamError, das3_exception_type
from dasflex_core.textfmt import format_exp, format_fixed
from dasflex_core.tools.streamio import Output, read_chunks

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

#: A decoded record of a ragged dataset: each packet variable's (nested) value.
RaggedRecord: TypeAlias = "Mapping[str, ArrayLike]"
#: What an item formatter renders: a uint8 matrix of fixed-width rows, or one
#: bytes string per value.
Rendered: TypeAlias = "np.ndarray | list[bytes]"

#: The program whose output this is (the ``sourceId`` it adds).
PROGRAM = "das3_text"
TIME_FILL_TEXT = "0001-01-01T00:00:00.000000"
#: ``%Nd`` widths of binary integers by item size.
INTEGER_WIDTHS = {1: 4, 2: 6, 4: 11, 8: 20}
STORAGE_NAMES = {"i1": "byte", "u1": "ubyte", "i2": "short", "u2": "ushort", "i4": "int",
                 "u4": "uint", "i8": "long", "u8": "ulong", "f4": "float", "f8": "double"}


@dataclass(frozen=True, slots=True)
class Options:
    """What ``das3_text`` was asked to do."""

    digits: int | None = None
    time_decimals: int = 3
    drop_comments: bool = False
    numeric_times: bool = False
    flatten: bool = False
    upconvert: bool = False


def convert_file(options: Options, path: str | None = None, sink: BinaryIO | None = None) -> int:
    """Convert the stream in ``path`` (default: stdin) to ``sink`` (stdout); return 0."""
    source = open(path, "rb") if path else None  # noqa: SIM115
    output = Output(sink)
    converter = TextConverter(options, output.write)
    reader: Das2Reader | Das3Reader | None = None
    try:
        for chunk in read_chunks(source):
            if reader is None:
                version = stream_version(chunk)
                if version == "das2" and not options.upconvert:
                    raise QueryError("das2 input: use -3 to up-convert it to das3")
                reader = Das2Reader() if version == "das2" else Das3Reader()
            converter.handle(reader.feed(chunk))
        if reader is not None:
            converter.handle(reader.close())
    finally:
        if source is not None:
            source.close()
        output.flush()
    return 0


class TextConverter(EventStream[None]):
    """Turns das2/das3 events into the bytes of the text das3 stream, written through ``emit``."""

    def __init__(self, options: Options, emit: Callable[[bytes], object]) -> None:
        self.options = options
        self.emit = emit
        self._layouts: dict[int, TextLayout] = {}
        self._das2_stream: StreamHeader | StreamHeader3 | None = None

    def on_data(self, run: DataRun) -> None:
        self.emit(self._layouts[run.packet_id].format_run(run.records))

    def on_packet_header(self, event: HeaderDefined) -> None:
        sources = None
        header = event.header
        if not isinstance(header, Dataset):
            mapping = map_das2_packet(header, self._das2_stream)
            header, sources = mapping.dataset, mapping.sources
        layout = TextLayout(event.packet_id, header, self.options, sources)
        self._layouts[event.packet_id] = layout
        self.emit(encode_header(event.packet_id, dataset_xml(layout.dataset)))

    def on_stream_start(self, event: StreamStart) -> None:
        header = self._stream_header(event.header)
        self.emit(encode_packet("Sx", None, stream_header_xml(header)))

    def on_comment(self, event: Comment) -> None:
        if not self.options.drop_comments:
            self.emit(encode_comment(event.type, event.source, event.value))

    def on_exception(self, event: StreamException) -> None:
        if self.options.drop_comments:
            return
        kind = event.type
        if self._das2_stream is not None and not isinstance(self._das2_stream, StreamHeader3):
            kind = das3_exception_type(kind)
        self.emit(encode_exception(kind, event.message))

    def _stream_header(self, header: StreamHeader | StreamHeader3) -> StreamHeader3:
        self._das2_stream = header
        if not isinstance(header, StreamHeader3):
            header = stream_header_from_das2(header)
        if header.property("sourceId") is None:
            header = replace(header, properties=header.properties + (
                Property3("sourceId", "string", PROGRAM),))
        return header


class TextLayout:
    """How one dataset's records are printed: its text header and formatters."""

    def __init__(self, packet_id: int, dataset: Dataset, options: Options,
                 das2_sources: dict[str, tuple[str, int | None]] | None = None) -> None:
        self.packet_id = packet_id
        self.fields = packet_fields(dataset)
        self.das2_sources = das2_sources
        self.formatters: dict[str, ItemFormatter] = {}
        replacements: dict[int, Variable] = {}
        for field in list(self.fields):
            if field.items.mime and not options.flatten:
                raise StreamError(f"Variable {field.key} in dataset ID {packet_id:02d} is an "
                                  f"embedded '{field.items.mime}'; no codec is registered to "
                                  "decode it (use -f to pass it through as bytes)")
            original = id(field.variable)
            if field.items.mime:
                field = _flattened(field)
            formatter = item_formatter(field, options)
            if field.levels:
                last = field is self.fields[-1]
                formatter = _with_terminators(formatter, run_terminators(len(field.levels), last))
            self.formatters[field.key] = formatter
            replacements[original] = formatter.variable
        self.dataset = _replace_variables(dataset, replacements)
        self.fixed = all(field.is_fixed for field in self.fields)

    def format_run(self, records: np.ndarray | Sequence[RaggedRecord]) -> bytes:
        """The ``|Pd|`` packets of a run of decoded records."""
        if self.das2_sources is not None:
            assert isinstance(records, np.ndarray)  # das2 records are structured
            records = das3_records(self.fields, self.das2_sources, records)
        if self.fixed and isinstance(records, np.ndarray):
            return self._format_fixed(records)
        return b"".join(self._format_packet(record) for record in records)

    def _format_fixed(self, records: np.ndarray) -> bytes:
        count = len(records)
        if not count:
            return b""
        parts = [self.formatters[field.key].matrix(records[field.key], count)
                 for field in self.fields]
        body = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if body.shape[1] and body[0, -1] == ord(" "):
            body[:, -1] = ord("\n")
        else:
            body = np.concatenate([body, np.full((count, 1), ord("\n"), np.uint8)], axis=1)
        prefix = np.frombuffer(b"|Pd|%d|%d|" % (self.packet_id, body.shape[1]), np.uint8)
        out = np.empty((count, len(prefix) + body.shape[1]), dtype=np.uint8)
        out[:, :len(prefix)] = prefix
        out[:, len(prefix):] = body
        return out.tobytes()

    def _format_packet(self, record: RaggedRecord) -> bytes:
        payload = b"".join(self._field_bytes(field, record[field.key]) for field in self.fields)
        last = self.formatters[self.fields[-1].key]
        if payload.endswith(b"\n"):
            pass
        elif payload.endswith(b" "):
            payload = payload[:-1] + b"\n"
        elif not last.is_blob:
            payload += b"\n"
        return b"|Pd|%d|%d|" % (self.packet_id, len(payload)) + payload

    def _field_bytes(self, field: PacketField, value: ArrayLike, depth: int = 0) -> bytes:
        """One field of one packet; ragged runs end with their level's terminator."""
        formatter = self.formatters[field.key]
        if not field.levels:
            return formatter.packet_bytes(value, field)
        terms = formatter.variable.source.idx_terms  # type: ignore[union-attr]
        if depth == len(field.levels) - 1:
            body = formatter.packet_bytes(value, field)
        else:
            assert isinstance(value, list)  # an outer ragged level: its runs
            body = b"".join(self._field_bytes(field, child, depth + 1) for child in value)
        return body + (terms[depth] or b"")


def _flattened(field: PacketField) -> PacketField:
    """A mime blob passed through as plain bytes (``-f``), described by properties."""
    var = field.variable
    props = (Property3("embeddedMime", "string", field.items.mime or ""),
             Property3("embeddedIndex", "string", ";".join(var.index)),
             Property3("embeddedSemantic", "string", var.semantic)) + var.properties
    flat = replace(var, semantic="blob", index=("*",) + ("-",) * (len(var.index) - 1),
                   properties=props, source=replace(field.items, mime=None))
    return replace(field, variable=flat, items=replace(field.items, mime=None))


def run_terminators(levels: int, last: bool) -> tuple[bytes, ...]:
    """das2C's ``idxTerm`` for ragged text runs, outermost first.

    ``!`` then ``$`` for nested levels; the last variable of a packet ends its
    outermost runs with a newline instead (``\n,!``).
    """
    marks = (b"!", b"$", b"%", b"&", b"@", b"^", b"~")
    return ((b"\n",) + marks[:levels - 1]) if last else marks[:levels]


def _with_terminators(formatter: ItemFormatter, terms: tuple[bytes, ...]) -> ItemFormatter:
    source = replace(formatter.variable.source, idx_terms=terms)  # type: ignore[arg-type]
    return replace(formatter, variable=replace(formatter.variable, source=source))


def _replace_variables(dataset: Dataset, replacements: dict[int, Variable]) -> Dataset:
    dims = []
    for dim in dataset.dimensions:
        variables = tuple(replacements.get(id(var)) or _normalise(var, dataset)
                          for var in dim.variables)
        dims.append(replace(dim, variables=variables))
    if dataset.plot:
        props = (Property3("plot", "string", dataset.plot),) + dataset.properties
        dataset = replace(dataset, plot=None, properties=props)
    return replace(dataset, dimensions=tuple(dims))


def _normalise(var: Variable, dataset: Dataset) -> Variable:
    """das2C's view of a header-valued variable: default storage, no ``^``."""
    index = tuple(str(dataset.shape[pos]) if part == "^" and dataset.shape[pos] is not None
                  else part for pos, part in enumerate(var.index))
    storage = None if var.is_vector else (var.storage or "double")
    return replace(var, index=index, storage=storage)


# --------------------------------------------------------------------------
# Item formatters


@dataclass(frozen=True, slots=True)
class ItemFormatter:
    """Prints one packet variable: its text header and a value -> bytes function.

    ``render(values)`` returns a uint8 matrix, one row of ``width`` bytes per
    value (separator included) or, for variable-width items, a list of bytes.
    """

    variable: Variable
    render: Callable[[np.ndarray], Rendered]
    width: int | None
    is_blob: bool = False

    def matrix(self, column: np.ndarray, count: int) -> np.ndarray:
        """Rows of bytes for a fixed-size column of ``count`` records."""
        rows = self.render(column.reshape(-1))
        assert isinstance(rows, np.ndarray)  # fixed-size items render as a matrix
        return rows.reshape(count, -1)

    def packet_bytes(self, value: ArrayLike, field: PacketField) -> bytes:
        """The bytes of one packet's value (ragged values flattened)."""
        rendered = self.render(_flatten(value))
        if isinstance(rendered, list):
            return b"".join(rendered)
        return rendered.tobytes()


def _flatten(value: ArrayLike) -> np.ndarray:
    if isinstance(value, list):
        parts = [_flatten(item) for item in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(value).reshape(-1)


def item_formatter(field: PacketField, options: Options) -> ItemFormatter:
    """The formatter for ``field`` under ``options``."""
    semantic = field.variable.semantic
    if semantic == "datetime" and not options.numeric_times:
        return _time_formatter(field, options)
    if semantic == "real" or (semantic == "datetime" and field.value_dtype.kind == "f"):
        return _real_formatter(field, options)
    if semantic in ("integer", "datetime") and field.value_dtype.kind in "iu":
        return _integer_formatter(field)
    if semantic == "bool" and field.items.encoding != "utf8":
        return _bool_formatter(field)
    if field.items.encoding in ("blob", "base64"):
        return _blob_formatter(field)
    return _text_formatter(field)


def _text_items(field: PacketField, width: int | None, fill: str, storage: str | None,
                num_items: int | None = None) -> Variable:
    items = replace(field.items, num_items=field.items.num_items if num_items is None
                    else num_items, item_bytes=width, encoding="utf8", fill=fill)
    if items.encoding == "utf8" and field.items.encoding != "utf8":
        items = replace(items, val_term=None)
    assert isinstance(items, PacketItems)
    return replace(field.variable, source=items, storage=storage)


def _time_formatter(field: PacketField, options: Options) -> ItemFormatter:
    decimals = options.time_decimals
    text_length = 19 + (decimals + 1 if decimals else 0)
    width = field.items.item_bytes if field.items.encoding == "utf8" else text_length + 1
    assert width is not None
    das2_width = width
    units = field.value_units

    def render(values: np.ndarray) -> np.ndarray:
        if field.items.encoding == "utf8":
            text = format_time_fields(values, das2_width, units)
        else:
            text = _printf_times(values, units, decimals)
        return _pad_rows(np.frombuffer(text.tobytes(), np.uint8).reshape(len(values), -1),
                         width)

    fill = TIME_FILL_TEXT
    if field.items.encoding == "utf8" and field.items.fill:
        fill = _time_fill_text(field.items.fill)
    variable = _text_items(field, width, fill, "struct")
    return ItemFormatter(replace(variable, units="UTC"), render, width)


def _printf_times(values: np.ndarray, units: str, decimals: int) -> np.ndarray:
    """ISO times with seconds rounded as das2C prints them (``S<19 + decimals>`` rows).

    dastime gives the exact nanosecond text; integer epochs (TT2000) are then
    rounded half up, float epochs by printf from the nearest double (so exact
    ties round like C).  All column arithmetic on a byte matrix.
    """
    text = format_time_fields(values, 30, units)
    exact = _exact_ns1970(values, units)
    if exact is not None:
        good, nanos = exact
        text[good] = format_time_fields(nanos[good], 30, "ns1970")
    matrix = np.frombuffer(text.tobytes(), np.uint8).reshape(len(text), -1).astype(np.int64)
    whole = (matrix[:, 17] - 48) * 10 + matrix[:, 18] - 48
    fraction = ((matrix[:, 20:29] - 48) * 10 ** np.arange(8, -1, -1)).sum(axis=1)
    seconds_width = 3 + decimals if decimals else 2
    if units in ("TT2000", "ns1970"):
        seconds = _half_up_seconds(whole, fraction, decimals, seconds_width)
    else:
        exact_seconds = (whole * 1_000_000_000 + fraction) / 1e9
        seconds = format_fixed(exact_seconds, decimals, seconds_width, zero_pad=True)
    out = np.empty((len(text), 17 + seconds.shape[1]), dtype=np.uint8)
    out[:, :17] = matrix[:, :17]
    out[:, 17:] = seconds
    return out.view(f"S{out.shape[1]}").ravel()


def _half_up_seconds(whole: np.ndarray, fraction: np.ndarray, decimals: int,
                     width: int) -> np.ndarray:
    """``SS.fff`` bytes from whole seconds and nanoseconds, rounded half up."""
    step = 10 ** (9 - decimals)
    units = (fraction + step // 2) // step
    carry = units >= 10**decimals
    whole = whole + carry
    units = np.where(carry, 0, units)
    out = np.empty((len(whole), width), dtype=np.uint8)
    out[:, 0] = 48 + whole // 10
    out[:, 1] = 48 + whole % 10
    if decimals:
        out[:, 2] = ord(".")
        for position in range(decimals):
            out[:, 3 + position] = 48 + units // 10 ** (decimals - 1 - position) % 10
    return out


#: Seconds from each float epoch to 1970-01-01, for exact nanosecond splitting.
_EPOCH_OFFSETS_S = {"t1970": 0, "t2000": SECONDS_1970_TO_2000}


def _exact_ns1970(values: np.ndarray, units: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Float epoch seconds as int64 ns1970, split so that no precision is lost.

    ``t1970 * 1e9`` rounds before the fraction is seen; splitting whole and
    fractional seconds first prints e.g. 44.452499986 s as ``44.452`` like
    das2C.  Returns (valid rows, nanoseconds) or None for other units.
    """
    offset = _EPOCH_OFFSETS_S.get(units)
    if offset is None or values.dtype.kind != "f":
        return None
    good = np.isfinite(values) & (np.abs(values) < 9e9)
    safe = np.where(good, values, 0.0)
    whole = np.floor(safe)
    nanos = (whole.astype(np.int64) + offset) * 1_000_000_000 + np.round(
        (safe - whole) * 1e9).astype(np.int64)
    return good, nanos


def _time_fill_text(text: str) -> str:
    """A fill time as das2C prints it (microseconds)."""
    try:
        value = parse_us2000(text)
    except DasFlexError:
        return text
    return format_time_fields(np.array([value]), 27, "us2000")[0].decode()


def _pad_rows(rows: np.ndarray, width: int) -> np.ndarray:
    out = np.full((len(rows), width), ord(" "), dtype=np.uint8)
    keep = min(width - 1, rows.shape[1])
    out[:, :keep] = rows[:, :keep]
    return out


def _real_formatter(field: PacketField, options: Options) -> ItemFormatter:
    if field.items.item_bytes is None:
        return _variable_real_formatter(field, options)
    double = field.value_dtype.itemsize == 8 and field.items.encoding != "utf8"
    if field.items.encoding == "utf8":
        double = field.variable.storage == "double"
    digits = options.digits or (15 if double else 6)
    width = digits + 7
    fill = _fill_text(field)

    def render(values: np.ndarray) -> np.ndarray:
        return _pad_rows(format_exp(values.astype("f8"), digits - 1, width - 1), width)

    variable = _text_items(field, width, fill, "double" if double else "float")
    return ItemFormatter(variable, render, width)


def _variable_real_formatter(field: PacketField, options: Options) -> ItemFormatter:
    """Variable-width text reals: das2C prints ``%.8e`` then the valTerm (or a blank)."""
    precision = (options.digits or 9) - 1

    separator = field.items.val_term or b" "

    def render(values: np.ndarray) -> list[bytes]:
        return [b"%.*e%s" % (precision, value, separator)
                for value in values.astype("f8").tolist()]

    variable = _text_items(field, None, _fill_text(field), "double")
    return ItemFormatter(variable, render, None)


def _fill_text(field: PacketField) -> str:
    fill = field.fill_value
    try:
        number = float(fill)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(fill)
    return "%e" % number  # noqa: UP031 - printf spelling (nan, -1.000000e+31)


def _integer_formatter(field: PacketField) -> ItemFormatter:
    digits = INTEGER_WIDTHS.get(field.value_dtype.itemsize, 20)
    width = digits + 1
    storage = STORAGE_NAMES.get(field.value_dtype.str[1:], "long")

    def render(values: np.ndarray) -> np.ndarray:
        text = np.char.mod(f"%{digits}d ", values.astype(np.int64))
        return np.frombuffer(np.char.encode(text).astype(f"S{width}").tobytes(),
                             np.uint8).reshape(len(values), width)

    fill = str(int(field.fill_value))  # type: ignore[call-overload]
    variable = _text_items(field, width, fill, storage)
    return ItemFormatter(variable, render, width)


def _bool_formatter(field: PacketField) -> ItemFormatter:
    fill = field.fill_value

    def render(values: np.ndarray) -> np.ndarray:
        text = np.where(values == fill, b"* ", np.where(values != 0, b"T ", b"F "))
        return np.frombuffer(text.astype("S2").tobytes(), np.uint8).reshape(len(values), 2)

    storage = STORAGE_NAMES.get(field.value_dtype.str[1:], "ubyte")
    variable = _text_items(field, 2, "*", storage)
    return ItemFormatter(variable, render, 2)


def _blob_formatter(field: PacketField) -> ItemFormatter:
    def render(values: np.ndarray) -> list[bytes]:
        out = []
        for value in values.tolist():
            text = base64.b64encode(bytes(value))
            out.append(b"{%d}" % len(text) + text)
        return out

    variable = _text_items(field, None, "", None)
    items = variable.source
    assert isinstance(items, PacketItems)
    variable = replace(variable, source=replace(items, encoding="base64"))
    return ItemFormatter(variable, render, None, is_blob=True)


_BOOL_TEXT = {1: b"T", 0: b"F"}


def _text_formatter(field: PacketField) -> ItemFormatter:
    width = field.items.item_bytes
    term = field.items.val_term or b""
    fill = field.items.fill if field.items.fill is not None else ""

    def render(values: np.ndarray) -> Rendered:
        if field.variable.semantic == "bool":
            texts = [_BOOL_TEXT.get(int(value), fill.encode()) for value in values.tolist()]
        else:
            texts = [str(value).encode() for value in values.tolist()]
        if width is None:
            return [text + term for text in texts]
        rows = np.array(texts, dtype=f"S{width}")
        return np.frombuffer(np.char.ljust(rows, width).tobytes(), np.uint8).reshape(
            len(values), width)

    storage = {"bool": "byte", "string": None}.get(field.variable.semantic,
                                                    field.variable.storage)
    variable = _text_items(field, width, fill, storage)
    return ItemFormatter(variable, render, width)
