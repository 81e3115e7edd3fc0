"""das2_cache_rdr: read pre-binned das2 cache blocks for a time range.

``das2_cache_rdr [-p SECONDS] [-l KEY] DEFINITION CACHE_DIR PARAMSET RES BEGIN END``
picks the definition's coarsest cache level whose parameters match PARAMSET
and whose bin size is at most RES seconds (or the level KEY), then streams
the cache blocks that cover [BEGIN, END) as one das2 stream
(``research/das2c.md`` §4.9).  DEFINITION is a DSDF (``cacheLevel_NN``) or a
JSON definition (``cacheLevels``).  The block layout is
:mod:`dasflex_core.cache.layout` (``docs/cache.md``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasflex_core.cache.layout import (
    block_path,
    block_start,
    blocks_between,
    level_subdir,
    next_block,
    normalise_params,
    paramset_name,
)
from dasflex_core.errors import QueryError
from dasflex_core.tools._common import Output, ToolParser, run_tool

if TYPE_CHECKING:
    from dasflex_core.codecs.events import Event

__all__ = [
    "block_path", "block_start", "blocks_between", "level_subdir", "main", "next_block",
    "normalise_params", "paramset_name", "read_cache",
]

PROG = "das2_cache_rdr"

DESCRIPTION = """\
Write the das2 cache blocks of PARAMSET that cover BEGIN to END as one das2
stream: the first block's stream header, each packet header once (again only
when it changes), then the data packets with BEGIN-pad <= x < END+pad in time
order.  The level read is the coarsest cacheLevel_NN of DSDF whose params
normalise to PARAMSET and whose bin size is at most RES seconds (0 or
'intrinsic' selects full resolution).  Missing blocks are skipped; when no
block has data in range, a NoDataInInterval exception is written.  The old
order DSDF CACHE_DIR PARAMSET BEGIN END RES is also accepted.  With -l KEY the
level cacheLevel_KEY is read whatever RES says (dasflex's planner names the
level it found built); DSDF may also be a JSON definition (cacheLevels)."""

_PLAIN_NUMBER = re.compile(r"\s*[0-9.]+(?:[eE][+-]?\d+)?\s*")


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """What to read: the chosen level's directory and the time range (us2000)."""

    level_dir: Path
    subdir: str
    period: str
    begin: float
    end: float
    pad: float
    resolution: float
    begin_text: str
    end_text: str


def _parse_time(text: str) -> float:
    from dasflex_core.dastime import parse_us2000

    return float(parse_us2000(text.strip().rstrip("Zz")))


def _parse_resolution(text: str) -> float:
    if text.strip().lower() == "intrinsic":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise QueryError(f"resolution '{text}' is not a number of seconds") from None
    if not 0.0 <= value < float("inf"):
        raise QueryError(f"resolution {text} must be a finite number >= 0")
    return value


def _ordered(args: argparse.Namespace) -> tuple[str, str, str]:
    """(RES, BEGIN, END), accepting the predecessor's BEGIN END RES order too."""
    if not _PLAIN_NUMBER.fullmatch(args.third) and _PLAIN_NUMBER.fullmatch(args.fifth):
        return args.fifth, args.third, args.fourth
    return args.third, args.fourth, args.fifth


def definition_levels(definition: Path) -> list[Any]:
    """The cache levels of a DSDF (``cacheLevel_NN``) or JSON definition (``cacheLevels``)."""
    try:
        text = definition.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        kind = "JSON definition" if _is_json(definition) else "DSDF"
        raise QueryError(f"cannot read {kind} {definition}: {exc.strerror or exc}") from None
    entries = _json_level_entries(definition, text) if _is_json(definition) \
        else _dsdf_level_entries(definition, text)
    from dasflex_core.sources.common import parse_cache_level

    levels = []
    for key, name, value in entries:
        try:
            levels.append(parse_cache_level(key, value))
        except ValueError as exc:
            raise QueryError(f"{definition}: bad {name}: {exc}") from None
    return levels


def _is_json(definition: Path) -> bool:
    return definition.suffix.lower() == ".json"


def _dsdf_level_entries(definition: Path, text: str) -> list[tuple[str, str, str]]:
    from dasflex_core.sources.dsdf import parse_dsdf_text

    document = parse_dsdf_text(text, str(definition))
    return [(entry.index or "", entry.key, entry.value) for entry in document.items("cacheLevel")]


def _json_level_entries(definition: Path, text: str) -> list[tuple[str, str, str]]:
    import json

    try:
        document = json.loads(text)
    except ValueError as exc:
        raise QueryError(f"{definition}: invalid JSON: {exc}") from None
    levels = document.get("cacheLevels", []) if isinstance(document, dict) else []
    if not isinstance(levels, list) or not all(isinstance(item, str) for item in levels):
        raise QueryError(f"{definition}: cacheLevels must be a list of strings")
    return [(f"{index:02d}", f"cacheLevels.{index}", value) for index, value in enumerate(levels)]


def _choose_level(definition: Path, paramset: str, resolution: float,
                  level_key: str | None = None) -> Any:
    """The level to read: the one keyed ``level_key``, else the coarsest fitting one.

    A level fits when its params normalise to ``paramset`` and its bin size
    is at most ``resolution``.
    """
    wanted = paramset_name(paramset)
    levels = definition_levels(definition)
    if level_key is not None:
        return _keyed_level(definition, levels, level_key, wanted)
    candidates = [(level.resolution or 0.0, level) for level in levels
                  if normalise_params(level.params) == wanted
                  and (level.resolution or 0.0) <= resolution]
    if not candidates:
        raise QueryError(
            f"{definition} has no cache level for params '{wanted}' at {resolution:g} s "
            "resolution or finer"
        )
    return max(candidates, key=lambda pair: pair[0])[1]


def _keyed_level(definition: Path, levels: list[Any], key: str, wanted: str) -> Any:
    """The level whose key (``NN`` of ``cacheLevel_NN``) is ``key``, for ``wanted`` params."""
    found = next((level for level in levels if level.key == key), None)
    if found is None:
        known = ", ".join(level.key for level in levels) or "none"
        raise QueryError(f"{definition} has no cache level '{key}' (levels: {known})")
    if normalise_params(found.params) != wanted:
        raise QueryError(f"cache level '{key}' of {definition} is for params "
                         f"'{normalise_params(found.params)}', not '{wanted}'")
    return found


def build_request(args: argparse.Namespace) -> CacheRequest:
    """Check the arguments and pick the cache level to read."""
    res_text, begin_text, end_text = _ordered(args)
    resolution = _parse_resolution(res_text)
    begin, end = _parse_time(begin_text), _parse_time(end_text)
    if not end > begin:
        raise QueryError(f"END ({end_text}) must be after BEGIN ({begin_text})")
    level = _choose_level(Path(args.dsdf), args.paramset, resolution, args.level)
    subdir = level_subdir(level.resolution_text)
    return CacheRequest(
        level_dir=Path(args.cache_dir) / paramset_name(args.paramset) / subdir,
        subdir=subdir,
        period=level.block,
        begin=begin,
        end=end,
        pad=args.pad * 1.0e6,
        resolution=resolution,
        begin_text=begin_text.strip(),
        end_text=end_text.strip(),
    )


class CacheMerger:
    """Writes the records of successive cache blocks as one das2 stream."""

    def __init__(self, request: CacheRequest, output: Output) -> None:
        from dasflex_core.codecs.das2 import Das2Writer

        self._request = request
        self._output = output
        self._writer = Das2Writer(output.write)
        self._stream_started = False
        self._defined: dict[int, Any] = {}
        self._emitted: dict[int, bytes] = {}
        self._bounds: dict[int, tuple[float, float]] = {}
        self.records_written = 0

    def read_block(self, path: Path) -> None:
        """Stream the in-range records of one block file."""
        from dasflex_core.codecs.das2 import Das2Reader
        from dasflex_core.errors import StreamError

        self._defined.clear()
        reader = Das2Reader()
        try:
            with path.open("rb") as block:
                for chunk in iter(lambda: block.read(1 << 20), b""):
                    self._handle(reader.feed(chunk))
            self._handle(reader.close())
        except StreamError as exc:
            raise StreamError(f"cache block {path}: {exc}") from None

    def _handle(self, events: list[Event]) -> None:
        from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamStart

        for event in events:
            if isinstance(event, DataRun):
                self._write_run(event)
            elif isinstance(event, HeaderDefined):
                self._defined[event.packet_id] = event
            elif isinstance(event, StreamStart) and not self._stream_started:
                self._writer.write_event(event)
                self._stream_started = True

    def _write_run(self, run: Any) -> None:
        import numpy as np

        begin, end = self._x_bounds(run.header)
        x = run.records[run.records.dtype.names[0]]
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

    def _x_bounds(self, header: Any) -> tuple[float, float]:
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
    from dasflex_core.dastime import from_us2000, to_epoch
    from dasflex_core.errors import TimeError

    try:
        return float(to_epoch(from_us2000(value), units))
    except (TimeError, ValueError, KeyError):
        return value


def report_info(message: str) -> None:
    """Write ``das2_cache_rdr: MESSAGE`` as one line to stderr."""
    sys.stderr.write(f"{PROG}: {message}\n")
    sys.stderr.flush()


def _empty_stream_header() -> bytes:
    from dasflex_core.codecs.das2 import StreamHeader, encode_header_packet

    return encode_header_packet(0, StreamHeader().xml_bytes())


def read_cache(request: CacheRequest, output: Output, verbose: bool = False) -> int:
    """Stream every existing block of ``request``; return how many blocks were read."""
    merger = CacheMerger(request, output)
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


def build_parser() -> ToolParser:
    """The command line of das2_cache_rdr."""
    parser = ToolParser(PROG, DESCRIPTION)
    parser.add_argument("-p", "--pad", type=float, default=0.0, metavar="SECONDS",
                        help="also output records up to SECONDS outside the range")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="name each block file read on stderr")
    parser.add_argument("-l", "--level", metavar="KEY", default=None,
                        help="read the level cacheLevel_KEY (JSON: index in cacheLevels) "
                             "instead of choosing one by RES")
    parser.add_argument("dsdf", metavar="DSDF",
                        help="the data source definition file (DSDF, or a JSON definition)")
    parser.add_argument("cache_dir", metavar="CACHE_DIR", help="root of the cache")
    parser.add_argument("paramset", metavar="PARAMSET",
                        help="normalised reader parameters ('_noparam' for none)")
    parser.add_argument("third", metavar="RES", help="resolution in seconds (0: intrinsic)")
    parser.add_argument("fourth", metavar="BEGIN", help="start of the time range")
    parser.add_argument("fifth", metavar="END", help="end of the time range (exclusive)")
    return parser


def _run(args: argparse.Namespace) -> int:
    if not args.pad >= 0.0 or args.pad == float("inf"):
        raise QueryError(f"pad {args.pad} must be a finite number >= 0")
    request = build_request(args)
    read_cache(request, Output(), args.verbose)
    return 0


def guard_positionals(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--`` after the leading options, so PARAMSET may start with ``-``."""
    arguments = list(argv)
    index = 0
    while index < len(arguments) and arguments[index] != "--":
        word = arguments[index]
        if word in ("-p", "--pad", "-l", "--level"):
            index += 2
        elif word.startswith(("-p", "--pad=", "--level=", "-v", "--verbose", "-h", "--help")):
            index += 1
        else:
            return [*arguments[:index], "--", *arguments[index:]]
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_cache_rdr; return the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    return run_tool(build_parser(), guard_positionals(arguments), _run)


if __name__ == "__main__":
    raise SystemExit(main())
