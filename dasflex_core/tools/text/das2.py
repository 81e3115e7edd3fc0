"""A das2 stream re-encoded as a text das2 stream (``das2_ascii``, das2C compatible).

Every binary plane gets a text encoding: time planes (binary values in
``us2000``, ``t2000``, ``t1970``, ``mj1958`` or ``ns1970``) become ``time24``
(``-s N``: N fractional digits), 4-byte reals ``ascii14`` and 8-byte reals
``ascii17`` (``-r N``: N significant digits, ``ascii(N+7)``).  Text planes
keep their encoding and are re-printed through it.  Headers are re-written
das2C style; comments and exceptions pass through unless ``-c``.

Records are formatted a run of packets at a time, straight into a byte
matrix, with the vectorised printf-exact formatters of :mod:`textfmt`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

import numpy as np

from dasflex_core import textfmt
from dasflex_core.codecs import das2_style
from dasflex_core.codecs.das2 import Das2Reader, PacketHeader, Plane, parse_encoding
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.errors import StreamError
from dasflex_core.textfmt import FieldOverflowError
from dasflex_core.tools.streamio import Output, ToolStream, read_chunks

#: The program whose output this is (named in the stream header).
PROGRAM = "das2_ascii"
#: Units whose binary values are printed as calendar times.
TIME_UNITS = frozenset({"us2000", "t2000", "t1970", "mj1958", "ns1970"})
#: Values written per formatting call (keeps the work set in the CPU caches).
VALUES_PER_BATCH = 32_768
#: Narrowest ``asciiN`` das2C can re-print (``%{N-1}.{N-8}e``).
NARROWEST_ASCII = 9


@dataclass(frozen=True, slots=True)
class Options:
    """What ``das2_ascii`` was asked to do."""

    digits: int | None = None
    time_decimals: int | None = None
    drop_comments: bool = False


def convert_stdin(options: Options, source: BinaryIO | None = None,
                  sink: BinaryIO | None = None) -> int:
    """Convert the das2 stream on ``source`` (stdin) to text on ``sink`` (stdout); return 0."""
    output = Output(sink)
    converter = AsciiConverter(options, output.write)
    reader = Das2Reader()
    try:
        for chunk in read_chunks(source):
            converter.handle(reader.feed(chunk))
        converter.handle(reader.close())
    finally:
        output.flush()  # like das2C, what was converted before an error is written
    return 0


def text_encoding_name(plane: Plane, options: Options) -> str:
    """The encoding ``das2_ascii`` writes for ``plane``."""
    encoding = plane.encoding
    if encoding.kind == "time":
        return encoding.name
    if encoding.kind == "ascii" and encoding.width >= NARROWEST_ASCII:
        return encoding.name
    if encoding.kind == "real" and plane.units.strip() in TIME_UNITS:
        decimals = 3 if options.time_decimals is None else options.time_decimals
        return f"time{20 if decimals == 0 else 21 + decimals}"
    if options.digits is not None:
        return f"ascii{options.digits + 7}"
    return "ascii17" if encoding.width == 8 else "ascii14"


class AsciiConverter(ToolStream):
    """Turns das2 events into the bytes of the text stream, written through ``emit``."""

    emit: Callable[[bytes | memoryview], object]

    def __init__(self, options: Options, emit: Callable[[bytes | memoryview], object]) -> None:
        self.options = options
        self.emit = emit
        self._layouts: dict[int, _TextLayout] = {}

    def on_data(self, run: DataRun) -> None:
        self._layouts[run.packet_id].write_run(run, self.emit)

    def on_packet_header(self, event: HeaderDefined) -> None:
        layout = _TextLayout(event.header, self.options)
        self._layouts[event.packet_id] = layout
        self.emit(das2_style.packet_header_packet(layout.header))

    def on_stream_start(self, event: StreamStart) -> None:
        self.emit(das2_style.stream_header_packet(event.header, PROGRAM))

    def on_comment(self, event: Comment) -> None:
        if not self.options.drop_comments:
            super().on_comment(event)

    def on_exception(self, event: StreamException) -> None:
        if not self.options.drop_comments:
            super().on_exception(event)


@dataclass(frozen=True, slots=True)
class _Block:
    """Adjacent planes written with one formatter call: same output encoding and kind."""

    offset: int
    fields: tuple[str, ...]
    sources: tuple[Plane, ...]
    target: Plane
    items: int


class _TextLayout:
    """The text packet layout for one input packet header, and its record formatter."""

    def __init__(self, source: PacketHeader, options: Options) -> None:
        self.source = source
        self.options = options
        planes = []
        for plane in source.planes:
            encoding = parse_encoding(text_encoding_name(plane, options))
            planes.append(replace(plane, encoding=encoding))
        self.header = PacketHeader(source.packet_id, tuple(planes), source.properties, source.group)
        self.row_bytes = 4 + self.header.record_size
        self.blocks = self._blocks()

    def _blocks(self) -> list[_Block]:
        """Group adjacent single-value planes that share an output encoding."""
        blocks: list[_Block] = []
        offset = 4
        for name, source, target in zip(self.source.fields, self.source.planes, self.header.planes, strict=True):
            previous = blocks[-1] if blocks else None
            joinable = (
                previous is not None
                and target.nitems == 1
                and previous.target.nitems == 1
                and target.encoding == previous.target.encoding
                and target.encoding.kind != "time"
            )
            if joinable and previous is not None:
                blocks[-1] = _Block(previous.offset, (*previous.fields, name),
                                    (*previous.sources, source), previous.target, previous.items + 1)
            else:
                blocks.append(_Block(offset, (name,), (source,), target, target.nitems))
            offset += target.size
        return blocks

    def write_run(self, run: DataRun, write: Callable[[bytes | memoryview], object]) -> None:
        """Format the records of ``run`` and write them."""
        write(self.format_records(run.records).data.cast("B"))

    def format_records(self, records: np.ndarray) -> np.ndarray:
        """The ``(records, row bytes)`` text matrix of some records."""
        count = len(records)
        matrix = np.empty((count, self.row_bytes), dtype=np.uint8)
        matrix[:, :4] = np.frombuffer(self.header.tag, dtype=np.uint8)
        for block in self.blocks:
            width = block.target.encoding.width
            fields = np.lib.stride_tricks.as_strided(
                matrix[:, block.offset :],
                shape=(count, block.items, width),
                strides=(self.row_bytes, width, 1),
                writeable=True,
            )
            step = max(1, VALUES_PER_BATCH // block.items)
            try:
                for start in range(0, count, step):
                    values = self._block_values(block, records[start : start + step])
                    self._format_block(fields[start : start + step], values, block)
            except FieldOverflowError as exc:
                raise StreamError(
                    f"packet {self.header.packet_id:02d}, plane '{block.target.name}': {exc}"
                ) from None
            fields[..., width - 1] = ord(" ")
        matrix[:, -1] = ord("\n")
        return matrix

    @staticmethod
    def _block_values(block: _Block, records: np.ndarray) -> np.ndarray:
        if len(block.fields) == 1:
            return np.asarray(records[block.fields[0]]).reshape(len(records), block.items)
        return np.stack([np.asarray(records[name], dtype=np.float64) for name in block.fields], axis=1)

    def _format_block(self, fields: np.ndarray, values: np.ndarray, block: _Block) -> None:
        target = block.target
        source = block.sources[0]
        text_width = target.encoding.width - 1
        if target.encoding.kind == "time":
            raw = np.asarray(values, dtype=np.float64)
            units = "us2000" if source.encoding.kind == "time" else source.units.strip()
            decimals = None
            if source.encoding.kind != "time":
                chosen = self.options.time_decimals
                decimals = 3 if chosen is None else chosen
            textfmt.write_time(fields[..., :text_width], raw, decimals, raw == -1e31, units)
        else:
            textfmt.write_exp(fields[..., :text_width], values, target.encoding.width - 8)
