"""das2 stream to HAPI CSV and HAPI 1.1 info JSON, as das2C's das2_hapi writes them.

One packet type is converted (the first seen, or ``packet_id``); rows are
formatted a whole data run at a time: the time through ``time24`` (or the
input's own ``timeN``), values through ``ascii13``/``ascii17`` (binary input)
or their own ``asciiN``, fill as ``NaN``, rows ending in CRLF.  Unlike
das2C, every selected plane is written (das2C stops after the first
``<yscan>``) and parameter names match exactly (das2C matches substrings).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader, plane_fill
from dasflex_core.codecs.das2_props import cascade
from dasflex_core.codecs.das2_style import canonical_units
from dasflex_core.codecs.das2_text import encode_ascii, encode_times
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.dastime import format_time_fields, parse_us2000, us2000_from_das2
from dasflex_core.errors import NO_DATA_TYPES, StreamError
from dasflex_core.tools.binning.core import is_fill
from dasflex_core.tools.streamio import ToolStream, run_stream

NO_HEADERS_JSON = (
    '{ "HAPI":"1.1",\n  "status":{\n    "code":1501,\n'
    '    "message":"Internal server error - upstream request error"\n'
    '    "x_reason":"No packet headers encounteder in input Das2 stream"\n  }\n}\n'
)


@dataclass(frozen=True, slots=True)
class HapiConfig:
    """das2_hapi's options."""

    info: bool = False
    data: bool = True
    packet_id: int | None = None
    begin: float | None = None          # us2000, inclusive
    end: float | None = None            # us2000, exclusive (and stops the output)
    parameters: tuple[str, ...] = ()
    dsdf: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Column:
    """One output plane: where it is and how its values are printed."""

    index: int
    plane: Plane
    name: str
    width: int
    fill: float | None


class HapiStream(ToolStream):
    """das2 events in, HAPI CSV (and/or info) out through ``emit``."""

    def __init__(self, config: HapiConfig, emit: Callable[[bytes], object]) -> None:
        self.config = config
        self.emit = emit
        self.packet_id = config.packet_id
        self.stream: StreamHeader | None = None
        self.header: PacketHeader | None = None
        self.columns: list[_Column] = []
        self.time_width = 24
        self.done = False
        self.any_output = False
        self.warned: set[int] = set()

    def on_stream_start(self, event: StreamStart) -> None:
        self.stream = event.header

    def on_comment(self, event: Comment) -> None:
        """Ignored."""

    def finish(self) -> None:
        """das2C's answer when no packet header was seen in header-only mode."""
        if not self.any_output and not self.config.data:
            self.emit(NO_HEADERS_JSON.encode())

    def on_exception(self, event: StreamException) -> None:
        if event.type in NO_DATA_TYPES:
            self.done = True
            return
        raise StreamError(f"stream exception {event.type}: {event.message}", event.offset)

    def on_packet_header(self, event: HeaderDefined) -> None:
        if self.packet_id is None:
            self.packet_id = event.packet_id
        if event.packet_id != self.packet_id:
            if event.packet_id not in self.warned:
                self.warned.add(event.packet_id)
                sys.stderr.write(f"das2_hapi: warning: skipping packets of type {event.packet_id}\n")
            return
        header: PacketHeader = event.header
        self.header = header
        self._layout(header, event.offset)
        if self.config.info:
            self.any_output = True
            self.emit(self._info_json(header).encode())
        if not self.config.data:
            self.done = True

    def _layout(self, header: PacketHeader, offset: int) -> None:
        x_plane = header.x_plane
        if x_plane is None or not (x_plane.encoding.kind == "time" or _is_time(x_plane.units)):
            raise StreamError("<x> plane data is not convertible to UTC", offset)
        encoding = x_plane.encoding
        self.time_width = encoding.width if encoding.kind == "time" and encoding.width != 22 else 24
        wanted = set(self.config.parameters)
        self.columns = []
        for index, plane, name in _named_planes(header):
            if wanted and name not in wanted:
                continue
            if plane.encoding.kind == "ascii":
                width = plane.encoding.width
            else:
                width = 13 if plane.encoding.width == 4 else 17
            fill = plane_fill(plane, header, self.stream)
            self.columns.append(_Column(index, plane, name, width, fill))

    def on_data(self, run: DataRun) -> None:
        if run.packet_id != self.packet_id or not self.config.data:
            return
        header = self.header
        assert header is not None
        x_plane = header.x_plane
        assert x_plane is not None
        times = np.asarray(run.records[header.field(x_plane)], dtype=np.float64)
        if x_plane.encoding.kind != "time":
            times = us2000_from_das2(times, x_plane.units)
        keep = np.ones(len(times), dtype=bool)
        if self.config.end is not None:
            late = np.flatnonzero(times >= self.config.end)
            if len(late):
                keep[late[0]:] = False
                self.done = True
        if self.config.begin is not None:
            keep &= times >= self.config.begin
        if not keep.any():
            return
        self.any_output = True
        self.emit(self._rows(run.records[keep], times[keep]))

    def _rows(self, records: np.ndarray, times: np.ndarray) -> bytes:
        """CSV rows for ``records``: fixed-width cells, NaN rows patched separately."""
        count = len(records)
        header = self.header
        assert header is not None
        pieces = [encode_times(times, self.time_width)[:, : self.time_width - 1]]
        nan_cells: list[tuple[int, np.ndarray]] = []
        for column in self.columns:
            values = np.asarray(records[header.fields[column.index]], dtype=np.float64).reshape(count, -1)
            cells = encode_ascii(values, column.width)[..., : column.width - 1]
            comma = np.full(values.shape + (1,), ord(","), dtype=np.uint8)
            pieces.append(np.concatenate((comma, cells), axis=-1).reshape(count, -1))
            if column.fill is not None:
                nan_cells.append((len(pieces) - 1, is_fill(values, column.fill)))
        pieces.append(np.tile(np.frombuffer(b"\r\n", dtype=np.uint8), (count, 1)))
        matrix = np.concatenate(pieces, axis=1)
        bad_rows = np.zeros(count, dtype=bool)
        for _, mask in nan_cells:
            bad_rows |= mask.any(axis=1)
        if not bad_rows.any():
            return matrix.tobytes()
        lines = [row.tobytes() for row in matrix]
        for row in np.flatnonzero(bad_rows):
            lines[row] = self._row_with_nans(pieces, nan_cells, int(row))
        return b"".join(lines)

    def _row_with_nans(self, pieces: list[np.ndarray], nan_cells: list, row: int) -> bytes:
        masks = dict(nan_cells)
        parts = [pieces[0][row].tobytes()]
        for number, column in enumerate(self.columns, start=1):
            cell_width = column.width
            cells = pieces[number][row].reshape(-1, cell_width)
            mask = masks.get(number)
            for item, cell in enumerate(cells):
                parts.append(b",NaN" if mask is not None and mask[row, item] else cell.tobytes())
        parts.append(b"\r\n")
        return b"".join(parts)

    def _info_json(self, header: PacketHeader) -> str:
        prefix = "# " if self.config.data else ""
        lines = ['{ "HAPI":"1.1",', '  "status":{"code":1200, "message":"OK"},', '  "format":"csv",']
        description = self.config.dsdf.get("description")
        lines += _dsdf_lines(self.config.dsdf)
        if description is None and self.stream is not None:
            title = self.stream.properties.raw("title")
            description = title.text if title is not None else None
        if description is not None:
            lines.append(f'  "description":"{description}",')
        lines.append('  "parameters":[')
        x_plane = header.x_plane
        assert x_plane is not None
        lines += [f'    {{"name":"{x_plane.name or "time"}",', '     "type":"isotime",',
                  '     "units":"UTC",', '     "fill":null}']
        for column in self.columns:
            lines += self._parameter_lines(header, column)
        text = "".join(
            (line[len(_UNPREFIXED):] + "\n") if line.startswith(_UNPREFIXED) else f"{prefix}{line}\n"
            for line in lines
        )
        return text + f"{prefix}  ]\n{prefix}}}\n"

    def _parameter_lines(self, header: PacketHeader, column: _Column) -> list[str]:
        plane = column.plane
        levels = (plane.properties, header.properties, self.stream.properties if self.stream else None)
        lines = [f'    ,{{"name":"{column.name}",', '     "type":"double",', '     "fill":null,']
        label = cascade("zLabel" if plane.kind == "yscan" else "yLabel", *levels)
        if label is not None:
            lines.append(f'     "description":"{label.text}",')
        value_units = plane.zunits if plane.kind == "yscan" else plane.units
        if plane.kind != "yscan":
            return lines + [f'     "units":"{_units_text(value_units)}"}}']
        lines += [f'     "units":"{_units_text(value_units)}",', f'     "size":[{plane.nitems}],',
                  '     "bins":[{', '       "name":"yTags",', f'       "units":"{_units_text(plane.yunits)}",']
        y_label = cascade("yLabel", *levels)
        if y_label is not None:
            lines.append(f'     "description":"{y_label.text}",')
        centers = ",".join(f"{tag:.4e}" for tag in plane.ytag_values().tolist())
        lines += [f'       "centers":[{centers}]', "     }]", _UNPREFIXED + "    }"]
        return lines


#: Marks the line das2C writes without the "# " prefix (the one closing a yscan).
_UNPREFIXED = "\x00"


def _units_text(units: str) -> str:
    if not units.strip():
        return "null"
    canonical = canonical_units(units)
    return units.strip() if canonical is None else canonical


def _is_time(units: str) -> bool:
    try:
        us2000_from_das2(np.zeros(1), units)
    except ValueError:
        return False
    return units.strip() != ""


def _named_planes(header: PacketHeader) -> list[tuple[int, Plane, str]]:
    """Data planes with their HAPI names (unnamed ones: Y_n, YSCAN_n)."""
    named = []
    counts = {"y": 0, "yscan": 0}
    for index, plane in enumerate(header.planes):
        if plane.kind not in counts:
            continue
        counts[plane.kind] += 1
        name = plane.name or f"{plane.kind.upper()}_{counts[plane.kind]}"
        named.append((index, plane, name))
    return named


def _dsdf_lines(dsdf: dict[str, str]) -> list[str]:
    """startDate/stopDate/sampleStartDate/sampleStopDate/contact lines from a DSDF."""
    def iso(text: str) -> str | None:
        try:
            value = parse_us2000(text)
        except Exception:  # noqa: BLE001 - a bad DSDF date is just left out
            return None
        return format_time_fields(np.array([value]), 20)[0].decode().strip()

    lines = []
    for key, names in (("validRange", ("startDate", "stopDate")),
                       ("exampleRange", ("sampleStartDate", "sampleStopDate")),
                       ("exampleRange_00", ("sampleStartDate", "sampleStopDate"))):
        if key not in dsdf or (key == "exampleRange_00" and "exampleRange" in dsdf):
            continue
        parts = re.split(r"\s+to\s+", dsdf[key].split("|")[0].strip())
        for name, text in zip(names, parts, strict=False):
            value = iso(text)
            if value is not None:
                lines.append(f'  "{name}":"{value}",')
    if "techContact" in dsdf:
        lines.append(f'  "contact":"{dsdf["techContact"]}",')
    return lines


def read_dsdf(path: str) -> dict[str, str]:
    """The ``key = 'value'`` entries of a DSDF file (comments after ';' dropped)."""
    entries: dict[str, str] = {}
    try:
        text = open(path, encoding="utf-8", errors="replace").read()  # noqa: SIM115
    except OSError as exc:
        raise StreamError(f"cannot read DSDF {path}: {exc.strerror}") from None
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z_][\w]*)\s*=\s*(.*)$", line)
        if not match:
            continue
        value = match.group(2).strip()
        if value[:1] in "'\"":
            end = value.find(value[0], 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split(";")[0].strip()
        entries.setdefault(match.group(1), value)
    return entries


def hapi_stdin(config: HapiConfig, source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """Convert the das2 stream on ``source`` (stdin) to ``sink`` (stdout); return 0."""
    return run_stream(lambda write: HapiStream(config, write), source, sink)
