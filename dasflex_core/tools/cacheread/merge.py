"""The cache blocks of a request streamed as one das2 stream (``das2_cache_rdr``).

The first block's stream header, each packet header once (again only when
it changes), then the data packets with ``BEGIN - pad <= x < END + pad`` in
time order.  Missing blocks are skipped; when no block has data in range, a
``NoDataInInterval`` exception is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from dasflex_core.cache.layout import block_path, blocks_between
from dasflex_core.codecs.das2 import (
    Das2Reader,
    Das2Writer,
    PacketHeader,
    StreamHeader,
    encode_header_packet,
)
from dasflex_core.codecs.events import DataRun, EventStream, HeaderDefined, StreamStart
from dasflex_core.dastime import from_us2000, to_epoch
from dasflex_core.errors import StreamError, TimeError
from dasflex_core.tools.cacheread.levels import CacheRequest
from dasflex_core.tools.streamio import Output

#: The program whose messages these are.
PROGRAM = "das2_cache_rdr"


class CacheMerger(EventStream[None]):
    """Writes the records of successive cache blocks as one das2 stream."""

    def __init__(self, request: CacheRequest, output: Output) -> None:
        self._request = request
        self._output = output
        self._writer = Das2Writer(output.write)
        self._stream_started = False
        self._defined: dict[int, HeaderDefined] = {}
        self._emitted: dict[int, bytes] = {}
        self._bounds: dict[int, tuple[float, float]] = {}
        self.records_written = 0

    def read_block(self, path: Path) -> None:
        """Stream the in-range records of one block file."""
        self._defined.clear()
        reader = Das2Reader()
        try:
            with path.open("rb") as block:
                for chunk in iter(lambda: block.read(1 << 20), b""):
                    self.handle(reader.feed(chunk))
            self.handle(reader.close())
        except StreamError as exc:
            raise StreamError(f"cache block {path}: {exc}") from None

    def on_stream_start(self, event: StreamStart) -> None:
        if not self._stream_started:
            self._writer.write_event(event)
            self._stream_started = True

    def on_packet_header(self, event: HeaderDefined) -> None:
        self._defined[event.packet_id] = event

    def on_data(self, run: DataRun) -> None:
        begin, end = self._x_bounds(run.header)
        names = run.records.dtype.names
        assert names is not None  # das2 records are structured
        x = run.records[names[0]]
        keep = (x >= begin) & (x < end)
        if not keep.any():
            return
        self._emit_header(run.packet_id)
        raw = memoryview(run.raw).cast("B")
        if keep.all():
            self._writer.write_event(run)
        else:
            rows = np.frombuffer(raw, dtype=np.uint8).reshape(run.count, -1)
            self._output.write(rows[keep].tobytes())
        self.records_written += int(np.count_nonzero(keep))

    def _emit_header(self, packet_id: int) -> None:
        header_event = self._defined[packet_id]
        raw = bytes(header_event.raw)
        if self._emitted.get(packet_id) != raw:
            self._writer.write_event(header_event)
            self._emitted[packet_id] = raw
            self._bounds.pop(packet_id, None)

    def _x_bounds(self, header: PacketHeader) -> tuple[float, float]:
        """[BEGIN-pad, END+pad) in the units of ``header``'s x values."""
        key = header.packet_id
        cached = self._bounds.get(key)
        if cached is not None and self._emitted.get(key) == bytes(self._defined[key].raw):
            return cached
        plane = header.planes[0]
        low = self._request.begin - self._request.pad
        high = self._request.end + self._request.pad
        if not plane.encoding.is_text and plane.units and plane.units != "us2000":
            low, high = _convert_us2000(low, plane.units), _convert_us2000(high, plane.units)
        self._bounds[key] = (low, high)
        return low, high

    def finish(self) -> None:
        """Write the NoDataInInterval exception if nothing was written, then flush."""
        if self.records_written == 0:
            if not self._stream_started:
                self._output.write(_empty_stream_header())
            request = self._request
            self._writer.write_exception(
                "NoDataInInterval",
                f"No data in the interval {request.begin_text} to {request.end_text} "
                f"at {request.resolution:g} s resolution",
            )
        self._writer.close()
        self._output.flush()


def _convert_us2000(value: float, units: str) -> float:
    try:
        return float(to_epoch(from_us2000(value), units))
    except (TimeError, ValueError, KeyError):
        return value


def report_info(message: str) -> None:
    """Write ``das2_cache_rdr: MESSAGE`` as one line to stderr."""
    sys.stderr.write(f"{PROGRAM}: {message}\n")
    sys.stderr.flush()


def _empty_stream_header() -> bytes:
    return encode_header_packet(0, StreamHeader().xml_bytes())


def read_cache(request: CacheRequest, output: Output | None = None, verbose: bool = False) -> int:
    """Stream every existing block of ``request`` to ``output`` (stdout); return how
    many blocks were read."""
    merger = CacheMerger(request, output if output is not None else Output())
    low = request.begin - request.pad
    high = request.end + request.pad
    blocks_read = 0
    for start in blocks_between(low, high, request.period):
        path = block_path(request.level_dir, request.subdir, request.period, start)
        if not path.is_file():
            continue
        if verbose:
            report_info(f"reading {path}")
        merger.read_block(path)
        blocks_read += 1
    merger.finish()
    return blocks_read
