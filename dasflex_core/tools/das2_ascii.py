"""``das2_ascii``: convert a das2 stream to a text das2 stream (das2C compatible).

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

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dasflex_core.tools._common import ToolParser, int_in_range, run_tool

if TYPE_CHECKING:
    import numpy as np

    from dasflex_core.codecs.das2 import PacketHeader, Plane
    from dasflex_core.codecs.events import DataRun, Event

PROGRAM = "das2_ascii"
DESCRIPTION = """\
Convert a das2 stream on stdin to a text das2 stream on stdout.

Binary time values become ISO times with millisecond resolution (time24),
4-byte reals become %13.6e (ascii14) and 8-byte reals %16.9e (ascii17).
Text values are re-printed through their own encoding."""

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


def build_parser() -> ToolParser:
    """The ``das2_ascii`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument(
        "-r",
        dest="digits",
        type=int_in_range(2, 18),
        metavar="N",
        help="significant digits for binary reals (2-18; default 7 for 4-byte, 10 for 8-byte)",
    )
    parser.add_argument(
        "-s",
        dest="time_decimals",
        type=int_in_range(0, 9),
        metavar="N",
        help="fractional seconds digits for binary times (0-9, default 3)",
    )
    parser.add_argument(
        "-c", dest="drop_comments", action="store_true", help="drop comments and exceptions"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_ascii``; return the exit status."""
    return run_tool(build_parser(), argv, _convert_stdin)


def _convert_stdin(args: argparse.Namespace) -> int:
    from dasflex_core.codecs.das2 import Das2Reader
    from dasflex_core.tools._common import Output, read_chunks

    converter = AsciiConverter(Options(args.digits, args.time_decimals, args.drop_comments))
    output = Output()
    reader = Das2Reader()
    try:
        for chunk in read_chunks():
            for event in reader.feed(chunk):
                converter.convert(event, output.write)
        for event in reader.close():
            converter.convert(event, output.write)
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


class AsciiConverter:
    """Turns das2 events into the bytes of the text stream (one call per event)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._layouts: dict[int, _TextLayout] = {}

    def convert(self, event: Event, write: Callable[[bytes | memoryview], object]) -> None:
        """Write the output for ``event`` through ``write(bytes)``."""
        from dasflex_core.codecs import das2_style
        from dasflex_core.codecs.das2 import encode_comment, encode_exception
        from dasflex_core.codecs.events import (
            Comment,
            DataRun,
            HeaderDefined,
            StreamException,
            StreamStart,
        )

        emit = write
        if isinstance(event, DataRun):
            self._layouts[event.packet_id].write_run(event, emit)
        elif isinstance(event, HeaderDefined):
            layout = _TextLayout(event.header, self.options)
            self._layouts[event.packet_id] = layout
            emit(das2_style.packet_header_packet(layout.header))
        elif isinstance(event, StreamStart):
            emit(das2_style.stream_header_packet(event.header, PROGRAM))
        elif isinstance(event, Comment) and not self.options.drop_comments:
            emit(encode_comment(event.type, event.source, event.value))
        elif isinstance(event, StreamException) and not self.options.drop_comments:
            emit(encode_exception(event.type, event.message))


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
        from dasflex_core.codecs.das2 import PacketHeader, parse_encoding

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
        import numpy as np

        from dasflex_core.errors import StreamError
        from dasflex_core.textfmt import FieldOverflowError

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
        import numpy as np

        if len(block.fields) == 1:
            return np.asarray(records[block.fields[0]]).reshape(len(records), block.items)
        return np.stack([np.asarray(records[name], dtype=np.float64) for name in block.fields], axis=1)

    def _format_block(self, fields: np.ndarray, values: np.ndarray, block: _Block) -> None:
        import numpy as np

        from dasflex_core import textfmt

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


if __name__ == "__main__":
    import sys

    sys.exit(main())
