"""HAPI 3.3 records (csv, binary, json) from a das2 stream, vectorised per packet run.

The columns are those :func:`~dasflex_core.protocols.hapi_info.parameters_from_header`
describes for ``/info``, so the two can never disagree: the first packet
type's ``<x>`` plane is the time (``YYYY-MM-DDTHH:MM:SS.sssZ``, 24 bytes),
each selected ``<y>``/``<z>`` plane a double, each ``<yscan>`` an array of
doubles.  Records are kept exactly when ``start <= time < stop``; das2 fill
values become NaN.  The first record at or after ``stop`` ends the output
(``done``), as in das2_hapi.  Every run of packets is encoded with numpy at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dasflex_core.codecs.das2 import PacketHeader, Plane, StreamHeader, fill_mask, plane_fill
from dasflex_core.codecs.events import (
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.dastime.vec import TIME_UNITS, convert_times
from dasflex_core.errors import NO_DATA_TYPES, ReaderError, StreamError
from dasflex_core.protocols.hapi_info import named_planes
from dasflex_core.textfmt import Exponential

#: Float64 values (times, one column's values).
Floats = npt.NDArray[np.float64]
#: Byte rows (encoded text).
Bytes = npt.NDArray[np.uint8]


#: Width of the encoded time column.
TIME_WIDTH = 24

_EPOCH_2000 = np.datetime64("2000-01-01T00:00:00", "us")


class HapiEncoder(EventStream[bytes]):
    """Feed das2 events, get HAPI record bytes; ``names`` selects the data columns."""

    def __init__(self, names: Sequence[str], output: str, start_us2000: float,
                 stop_us2000: float) -> None:
        self.names = list(names)
        self.output = output
        self.start = start_us2000
        self.stop = stop_us2000
        self.packet_id: int | None = None
        self.stream_header: StreamHeader | None = None
        self.rows_written = 0
        self.done = False

    def feed(self, events: Sequence[Event]) -> bytes:
        """Encode the records among ``events`` (other packet types are skipped)."""
        pieces = [self.dispatch(event) for event in events]
        return b"".join(piece for piece in pieces if piece is not None)

    def on_exception(self, event: StreamException) -> None:
        if event.type not in NO_DATA_TYPES:
            raise ReaderError(f"The data source reported an error ({event.type})")

    def on_stream_start(self, event: StreamStart) -> None:
        self.stream_header = event.header

    def on_packet_header(self, event: HeaderDefined) -> None:
        if self.packet_id is None:
            self.packet_id = event.packet_id

    def on_data(self, run: DataRun) -> bytes | None:
        if run.packet_id != self.packet_id:
            return None
        return self._encode(run.header, run.records)

    def _encode(self, header: PacketHeader, records: npt.NDArray[np.void]) -> bytes:
        times = _times_us2000(header, records)
        late = times >= self.stop
        if late.any():
            # As das2_hapi does: the first record at or after stop ends the output.
            self.done = True
            times = times[: int(np.argmax(late))]
            records = records[: len(times)]
        keep = times >= self.start
        if not keep.any():
            return b""
        stamps = _iso_stamps(times[keep])
        planes = self._planes(header)
        columns = [_column_values(header, plane, records[header.field(plane)][keep],
                                  self.stream_header) for plane in planes]
        styles = [(_precision(plane), plane.kind == "yscan") for plane in planes]
        encode = {"binary": _binary, "json": _json_rows}.get(self.output, _csv_rows)
        data = encode(stamps, columns, styles, self.rows_written)
        self.rows_written += int(keep.sum())
        return data

    def _planes(self, header: PacketHeader) -> list[Plane]:
        by_name = dict((name, plane) for plane, name in named_planes(header))
        missing = [name for name in self.names if name not in by_name]
        if missing:
            raise StreamError(f"the stream has no plane named {missing[0]!r}")
        return [by_name[name] for name in self.names]


def _times_us2000(header: PacketHeader, records: npt.NDArray[np.void]) -> Floats:
    plane = header.x_plane
    if plane is None:
        raise StreamError("the packets have no <x> (time) plane")
    values = np.asarray(records[header.field(plane)], dtype=np.float64)
    units = plane.value_units
    if units == "us2000":
        return values

    known = {name.lower(): name for name in TIME_UNITS}
    if units.lower() not in known:
        raise StreamError(f"the <x> plane is not a time (units {units!r})")
    return np.asarray(convert_times(values, known[units.lower()], "us2000"), dtype=np.float64)


def _iso_stamps(us2000: Floats) -> Bytes:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` byte rows (n, 24)."""
    moments = _EPOCH_2000 + np.floor(us2000).astype(np.int64).astype("timedelta64[us]")
    text = np.char.add(np.datetime_as_string(moments, unit="ms"), "Z").astype(f"S{TIME_WIDTH}")
    return text.view(np.uint8).reshape(-1, TIME_WIDTH)


def _column_values(header: PacketHeader, plane: Plane, values: npt.ArrayLike,
                   stream: StreamHeader | None) -> Floats:
    data = np.array(values, dtype=np.float64)
    data[fill_mask(data, plane_fill(plane, header, stream))] = np.nan
    return data.reshape(len(data), -1)


def _precision(plane: Plane) -> int:
    """Digits after the point: 6 for 4-byte (and smaller) binary values, else 9."""
    return 6 if not plane.encoding.is_text and plane.width <= 4 else 9


def _binary(stamps: Bytes, columns: list[Floats], _styles: list[tuple[int, bool]],
            _written: int) -> bytes:
    fields: list[tuple[str, str, tuple[int]]] = [("t", "u1", (TIME_WIDTH,))]
    fields += [(f"c{i}", "<f8", (column.shape[1],)) for i, column in enumerate(columns)]
    out = np.empty(len(stamps), dtype=fields)
    out["t"] = stamps
    for index, column in enumerate(columns):
        out[f"c{index}"] = column
    return out.tobytes()


def _number_matrix(values: Floats, precision: int, separator: bytes, opening: bytes = b"",
                   closing: bytes = b"") -> Bytes:
    """(n, k) doubles as NUL-padded ``%.{precision}e`` texts joined by ``separator``."""
    rows, items = values.shape
    layout = Exponential(values, precision)
    width = max(int(layout.lengths().max(initial=0)), layout.body_length + 1)
    cells = np.zeros((rows, items, width + 1), dtype=np.uint8)
    layout.write(cells[:, :, :width], pad=0)
    cells[:, :, width] = ord(separator)
    flat = cells.reshape(rows, -1)[:, :-1]
    return _join([_constant(opening, rows), flat, _constant(closing, rows)])


def _constant(text: bytes, rows: int) -> Bytes:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (rows, len(text)))


def _join(parts: list[Bytes]) -> Bytes:
    return np.concatenate([part for part in parts if part.shape[1]], axis=1)


def _csv_rows(stamps: Bytes, columns: list[Floats], styles: list[tuple[int, bool]],
              _written: int) -> bytes:
    rows = len(stamps)
    parts = [stamps]
    for column, (precision, _array) in zip(columns, styles, strict=True):
        parts += [_constant(b",", rows), _number_matrix(column, precision, b",")]
    parts.append(_constant(b"\n", rows))
    text = _join(parts).tobytes().replace(b"\0", b"")
    return text.replace(b"-nan", b"NaN").replace(b"nan", b"NaN")


def _json_rows(stamps: Bytes, columns: list[Floats], styles: list[tuple[int, bool]],
               written: int) -> bytes:
    """Rows ``,\n["time",v,[a,b]]``; the document's very first row has no comma."""
    rows = len(stamps)
    parts = [_constant(b',\n["', rows), stamps, _constant(b'"', rows)]
    for column, (precision, array) in zip(columns, styles, strict=True):
        parts += [_constant(b",", rows), _number_matrix(
            column, precision, b",", b"[" if array else b"", b"]" if array else b"")]
    parts.append(_constant(b"]", rows))
    text = _join(parts).tobytes().replace(b"\0", b"")
    for special in (b"-nan", b"nan", b"-inf", b"inf"):
        text = text.replace(special, b"null")
    return text[1:] if written == 0 else text


#: What ends a JSON document after its last row.
JSON_TAIL = b"\n]}\n"
