"""das2_cache_rdr: merge cache blocks built from das2_bin_avgsec output."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs.das2 import read_all
from dasflex_core.codecs.events import (
    DataRun,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.dastime import parse_us2000
from dasflex_core.tools import das2_cache_rdr as cache_rdr

SOURCE = "das2/das2_ascii_input1.d2s"
DSDF_TEXT = """\
description = 'cache reader test'
cacheLevel_00 = 'intrinsic | daily'
cacheLevel_01 = '60 s | hourly'
cacheLevel_02 = '600 s | daily | -lfdr -x'
"""


def run_tool(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "dasflex_core.tools.das2_cache_rdr", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)


def bin_avgsec(stream: bytes, seconds: str) -> bytes:
    command = [sys.executable, "-m", "dasflex_core.tools.das2_bin_avgsec", seconds]
    done = subprocess.run(command, input=stream, capture_output=True, timeout=60, check=True)
    return done.stdout


class _BlockSplitter(EventStream[None]):
    """The packets of a stream grouped by cache block, each block with its headers."""

    def __init__(self, period: str) -> None:
        self.period = period
        self.blocks: dict[datetime, list[bytes]] = {}
        self.stream_header = b""
        self.packet_headers: dict[int, bytes] = {}

    def on_stream_start(self, event: StreamStart) -> None:
        self.stream_header = bytes(event.raw)

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.packet_headers[event.packet_id] = bytes(event.raw)

    def on_data(self, run: DataRun) -> None:
        rows = np.frombuffer(bytes(run.raw), np.uint8).reshape(run.count, -1)
        for x_value, row in zip(run.records["x0"], rows, strict=True):
            start = cache_rdr.block_start(datetime(2000, 1, 1) + _delta(x_value), self.period)
            headers = [self.stream_header, self.packet_headers[run.packet_id]]
            self.blocks.setdefault(start, headers).append(row.tobytes())


def split_into_blocks(binned: bytes, level_dir: Path, subdir: str, period: str,
                      skip_hours: frozenset[int] = frozenset()) -> int:
    """Write ``binned`` as ``period`` block files (records by block), skipping some hours."""
    splitter = _BlockSplitter(period)
    splitter.handle(read_all(binned))
    written = 0
    for start, parts in splitter.blocks.items():
        if start.hour in skip_hours:
            continue
        path = cache_rdr.block_path(level_dir, subdir, period, start)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(parts))
        written += 1
    return written


def _delta(us2000: float):  # noqa: ANN202 - a timedelta
    from datetime import timedelta

    return timedelta(microseconds=float(us2000))


def data_records(stream: bytes) -> np.ndarray:
    runs = [event.records for event in read_all(stream) if isinstance(event, DataRun)]
    return np.concatenate(runs) if runs else np.empty(0)


def restricted(records: np.ndarray, begin: str, end: str,
               skip_hours: frozenset[int] = frozenset()) -> np.ndarray:
    x = records["x0"]
    hours = ((x // 3_600_000_000) % 24).astype(int)
    keep = (x >= parse_us2000(begin)) & (x < parse_us2000(end)) & ~np.isin(hours, list(skip_hours))
    return records[keep]


@pytest.fixture(scope="module")
def binned(conformance_dir: Path) -> bytes:
    return bin_avgsec((conformance_dir / SOURCE).read_bytes(), "60")


@pytest.fixture()
def cache(tmp_path: Path, binned: bytes) -> Path:
    (tmp_path / "src.dsdf").write_text(DSDF_TEXT)
    level_dir = tmp_path / "cache" / "_noparam" / "bin-60s"
    assert split_into_blocks(binned, level_dir, "bin-60s", "hourly", frozenset({12})) > 5
    return tmp_path


def test_output_equals_binned_stream_in_range_across_blocks(cache: Path, binned: bytes) -> None:
    begin, end = "2013-03-01T08:30", "2013-03-01T17:10"
    done = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "_noparam", "60", begin, end)
    assert done.returncode == 0, done.stderr
    got = data_records(done.stdout)
    want = restricted(data_records(binned), begin, end, frozenset({12}))
    assert len(got) == len(want) > 60
    np.testing.assert_array_equal(got["x0"], want["x0"])
    for name in want.dtype.names:
        np.testing.assert_array_equal(got[name], want[name])
    assert np.all(np.diff(got["x0"]) > 0)


def test_headers_are_written_once(cache: Path) -> None:
    done = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "_noparam", "120",
                    "2013-03-01", "2013-03-02")
    events = read_all(done.stdout)
    assert sum(isinstance(e, StreamStart) for e in events) == 1
    assert sum(isinstance(e, HeaderDefined) for e in events) == 1
    assert not any(isinstance(e, StreamException) for e in events)


def test_predecessor_argument_order_is_accepted(cache: Path) -> None:
    base = [str(cache / "src.dsdf"), str(cache / "cache"), "_noparam"]
    das2c_order = run_tool(*base, "60", "2013-03-01T08:00", "2013-03-01T10:00")
    old_order = run_tool(*base, "2013-03-01T08:00", "2013-03-01T10:00", "60")
    assert das2c_order.returncode == old_order.returncode == 0
    assert das2c_order.stdout == old_order.stdout
    assert len(data_records(das2c_order.stdout)) > 0


def test_missing_blocks_give_no_data_exception(cache: Path) -> None:
    done = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "_noparam", "60",
                    "2013-03-01T12:00", "2013-03-01T13:00")
    assert done.returncode == 0, done.stderr
    events = read_all(done.stdout)
    assert isinstance(events[0], StreamStart)
    exceptions = [e for e in events if isinstance(e, StreamException)]
    assert [e.type for e in exceptions] == ["NoDataInInterval"]
    assert not any(isinstance(e, DataRun) for e in events)


def test_finer_resolution_selects_intrinsic_level(cache: Path) -> None:
    done = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "_noparam", "30",
                    "2013-03-01T08:00", "2013-03-01T10:00")
    assert done.returncode == 0
    assert [type(e) for e in read_all(done.stdout)] == [StreamStart, StreamException]


@pytest.mark.parametrize("args, message", [
    (("60", "2013-03-01T10", "2013-03-01T09"), "must be after"),
    (("60", "yesterday-ish", "2013-03-01T09"), "yesterday-ish"),
    (("-5", "2013-03-01T08", "2013-03-01T09"), "resolution"),
    (("60", "2013-03-01T08"), "required"),
])
def test_bad_arguments_give_one_line(cache: Path, args: tuple[str, ...], message: str) -> None:
    done = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "_noparam", *args)
    assert done.returncode != 0
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert done.stdout == b""


def test_missing_dsdf_and_unknown_paramset(cache: Path) -> None:
    missing = run_tool(str(cache / "nope.dsdf"), str(cache / "cache"), "_noparam", "60",
                       "2013-03-01T08", "2013-03-01T09")
    assert missing.returncode == 1 and b"cannot read DSDF" in missing.stderr
    unknown = run_tool(str(cache / "src.dsdf"), str(cache / "cache"), "-zzz", "60",
                       "2013-03-01T08", "2013-03-01T09")
    assert unknown.returncode == 1 and b"no cache level" in unknown.stderr


def test_normalise_params() -> None:
    assert cache_rdr.normalise_params("") == "_noparam"
    assert cache_rdr.normalise_params("-x -lfdr") == "-lfdr_-x"
    assert cache_rdr.normalise_params("-b 5 alpha") == "-b_5_alpha"
    assert cache_rdr.paramset_name("-x -lfdr") == "-lfdr_-x"


def test_blocks_between_crosses_month_and_year() -> None:
    begin = parse_us2000("2019-12-31T23:30")
    end = parse_us2000("2020-02-01T00:00")
    starts = list(cache_rdr.blocks_between(begin, end, "monthly"))
    assert starts == [datetime(2019, 12, 1), datetime(2020, 1, 1)]
    hours = list(cache_rdr.blocks_between(begin, parse_us2000("2020-01-01T01:00:01"), "hourly"))
    assert hours == [datetime(2019, 12, 31, 23), datetime(2020, 1, 1), datetime(2020, 1, 1, 1)]


def test_generated_t2000_stream_with_pad(tmp_path: Path) -> None:
    """Binary t2000 x values, daily blocks, a pad that reaches into the next day."""
    from dasflex_core.codecs.das2 import Das2Writer, parse_packet_header, parse_stream_header

    stream_xml = '<stream version="2.2"><properties title="gen"/></stream>'
    packet_xml = ('<packet><x type="little_endian_real8" units="t2000"></x>'
                  '<y type="little_endian_real4" units="V" name="v"></y></packet>')
    header = parse_packet_header(packet_xml.encode(), 1)
    level_dir = tmp_path / "cache" / "-lfdr_-x" / "bin-600s"
    day = 86_400.0
    for index in range(3):
        if index == 1:
            continue  # a missing block
        records = np.zeros(144, dtype=header.dtype)
        records[header.fields[0]] = day * (7300 + index) + 600.0 * np.arange(144)
        records[header.fields[1]] = np.arange(144) + 1000 * index
        sink = io.BytesIO()
        writer = Das2Writer(sink.write)
        writer.write_stream_header(parse_stream_header(stream_xml.encode()))
        writer.write_packet_header(header)
        writer.write_records(header, records)
        start = datetime(2019, 12, 27 + index)
        path = cache_rdr.block_path(level_dir, "bin-600s", "daily", start)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sink.getvalue())
    (tmp_path / "src.dsdf").write_text(DSDF_TEXT)
    done = run_tool("-p", "1200", str(tmp_path / "src.dsdf"), str(tmp_path / "cache"), "-x -lfdr",
                    "900", "2019-12-27T23:00", "2019-12-29T00:30")
    assert done.returncode == 0, done.stderr
    got = data_records(done.stdout)
    want_x = np.concatenate([day * 7300 + 600.0 * np.arange(136, 144),
                             day * 7302 + 600.0 * np.arange(0, 5)])
    np.testing.assert_array_equal(got[got.dtype.names[0]], want_x)
    np.testing.assert_array_equal(got[got.dtype.names[1]],
                                  np.r_[np.arange(136, 144), 2000 + np.arange(5)])


def test_guard_positionals_lets_paramset_start_with_dash() -> None:
    guarded = cache_rdr.guard_positionals(["-p", "5", "-v", "a.dsdf", "dir", "-x", "0", "b", "e"])
    assert guarded == ["-p", "5", "-v", "--", "a.dsdf", "dir", "-x", "0", "b", "e"]
    assert cache_rdr.guard_positionals(["--pad=3", "--", "d"]) == ["--pad=3", "--", "d"]


def test_level_option_reads_the_named_level(cache: Path, binned: bytes) -> None:
    args = [str(cache / "cache"), "_noparam", "3600", "2013-03-01T08:00", "2013-03-01T10:00"]
    chosen = run_tool("-l", "01", str(cache / "src.dsdf"), *args)
    assert chosen.returncode == 0, chosen.stderr
    by_resolution = run_tool(str(cache / "src.dsdf"), *args)
    assert chosen.stdout == by_resolution.stdout
    want = restricted(data_records(binned), "2013-03-01T08:00", "2013-03-01T10:00")
    assert len(data_records(chosen.stdout)) == len(want) > 60
    intrinsic = run_tool("--level", "00", str(cache / "src.dsdf"), *args)
    assert intrinsic.returncode == 0
    assert not any(isinstance(e, DataRun) for e in read_all(intrinsic.stdout))


@pytest.mark.parametrize("key, paramset, message", [
    ("07", "_noparam", "no cache level '07'"),
    ("02", "_noparam", "is for params '-lfdr_-x'"),
])
def test_level_option_errors(cache: Path, key: str, paramset: str, message: str) -> None:
    done = run_tool("-l", key, str(cache / "src.dsdf"), str(cache / "cache"), paramset, "60",
                    "2013-03-01T08", "2013-03-01T09")
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_json_definition_levels(cache: Path) -> None:
    import json

    definition = cache / "src.json"
    definition.write_text(json.dumps({"cacheLevels": ["intrinsic | daily", "60 s | hourly"]}))
    args = [str(cache / "cache"), "_noparam", "60", "2013-03-01T08:00", "2013-03-01T10:00"]
    from_json = run_tool(str(definition), *args)
    from_dsdf = run_tool(str(cache / "src.dsdf"), *args)
    assert from_json.returncode == 0, from_json.stderr
    assert from_json.stdout == from_dsdf.stdout
    assert run_tool("-l", "01", str(definition), *args).stdout == from_dsdf.stdout
    definition.write_text('{"cacheLevels": "60 s | hourly"}')
    bad = run_tool(str(definition), *args)
    assert bad.returncode == 1 and b"cacheLevels must be a list" in bad.stderr


def test_guard_positionals_skips_the_level_option() -> None:
    guarded = cache_rdr.guard_positionals(["-l", "01", "a.dsdf", "dir", "-lfdr", "0", "b", "e"])
    assert guarded == ["-l", "01", "--", "a.dsdf", "dir", "-lfdr", "0", "b", "e"]
    assert cache_rdr.guard_positionals(["--level=01", "d"]) == ["--level=01", "--", "d"]
