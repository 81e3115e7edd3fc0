"""das2_ascii: binary das2 streams to das2C-identical text streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Reader, PacketHeader, parse_encoding
from dasflex_core.tools.text.das2 import AsciiConverter, Options, text_encoding_name
from tests.support import das2_streams as streams
from tests.support.tools import run_tool


def _lines(output: bytes) -> list[bytes]:
    return [line for line in output.split(b"\n") if line.startswith(b":01:")]


def test_binary_stream_becomes_text_with_das2c_defaults() -> None:
    result = run_tool("das2_ascii", [], streams.simple_stream(3))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(b'[00]')
    assert b'<stream compression="none" version="2.2" >' in out
    assert b'sourceId="das2_ascii"' in out
    assert b'<x name="" type="time24" units="UTC">' in out
    assert b'<y name="amp" type="ascii14" units="V m**-1">' in out
    assert _lines(out) == [
        b":01:2013-03-01T00:00:00.000 -1.500000e+00",
        b":01:2013-03-01T00:00:01.000  0.000000e+00",
        b":01:2013-03-01T00:00:02.000  1.500000e+00",
    ]
    assert b'<comment type="log:info" source="test" value="halfway" />' in out


def test_digits_and_time_options_change_the_encodings() -> None:
    result = run_tool("das2_ascii", ["-r", "3", "-s", "6", "-c"], streams.simple_stream(3))
    assert result.returncode == 0, result.stderr
    assert b'type="time27"' in result.stdout and b'type="ascii10"' in result.stdout
    assert _lines(result.stdout)[0] == b":01:2013-03-01T00:00:00.000000 -1.50e+00"
    assert b"<comment" not in result.stdout


def test_zero_second_decimals_print_whole_seconds() -> None:
    """das2C aborts on ``-s 0``; we print ``time20`` with whole seconds."""
    result = run_tool("das2_ascii", ["-s", "0"], streams.simple_stream(2))
    assert result.returncode == 0, result.stderr
    assert b'type="time20"' in result.stdout
    assert _lines(result.stdout)[0] == b":01:2013-03-01T00:00:00 -1.500000e+00"


def test_deflate_input_is_decoded_and_written_uncompressed() -> None:
    plain = run_tool("das2_ascii", [], streams.simple_stream(4))
    packed = run_tool("das2_ascii", [], streams.deflated(streams.simple_stream(4)))
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout == plain.stdout


def test_many_records_are_formatted_in_batches_consistently() -> None:
    count = 5000
    times = streams.MARCH_2013_US2000 + np.arange(count) * 1234.5
    values = np.random.default_rng(3).standard_normal(count).astype(np.float32)
    data = streams.stream_header() + streams.xy_packet_header() + streams.xy_records(times, values)
    result = run_tool("das2_ascii", ["-r", "5"], data)
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    assert len(lines) == count
    assert all(line[-11:] == b"%11.4e" % float(v) for line, v in zip(lines, values, strict=True))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not a das2 stream", b"error"),
        (streams.simple_stream(3, with_comment=False)[:-3], b"error"),
        (streams.stream_header() + b":01:" + b"\0" * 12, b"error"),
    ],
)
def test_bad_input_gives_one_line_and_non_zero_exit(data: bytes, reason: bytes) -> None:
    result = run_tool("das2_ascii", [], data)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(b"das2_ascii: ") and reason in lines[0]


@pytest.mark.parametrize("args", [["-r", "1"], ["-r", "x"], ["-s", "10"], ["--bogus"]])
def test_bad_options_give_usage_error(args: list[str]) -> None:
    result = run_tool("das2_ascii", args, streams.simple_stream(1))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == b""


def test_encoding_choice_follows_das2c() -> None:
    header = _header_from(streams.xy_packet_header(units="t2000"))
    x_plane, y_plane = header.planes
    assert text_encoding_name(x_plane, Options()) == "time24"
    assert text_encoding_name(x_plane, Options(time_decimals=9)) == "time30"
    assert text_encoding_name(y_plane, Options()) == "ascii14"
    assert text_encoding_name(y_plane, Options(digits=12)) == "ascii19"
    narrow = type(y_plane)("y", parse_encoding("ascii6"), units="V")
    assert text_encoding_name(narrow, Options()) == "ascii14"


def _header_from(packet: bytes) -> PacketHeader:
    reader = Das2Reader()
    events = reader.feed(streams.stream_header() + packet)
    return events[-1].header


def test_converter_writes_headers_and_records_through_callback() -> None:
    chunks: list[bytes] = []
    converter = AsciiConverter(Options(drop_comments=True), chunks.append)
    reader = Das2Reader()
    converter.handle(reader.feed(streams.simple_stream(2)) + reader.close())
    text = b"".join(chunks)
    assert text.count(b":01:") == 2 and b"comment" not in text


def test_conformance_gold_file(conformance_dir: Path) -> None:
    """das2C's own gold file for ``das2_ascii -r 4 -s 3``."""
    folder = conformance_dir / "das2"
    data = (folder / "das2_ascii_input2.d2s").read_bytes()
    result = run_tool("das2_ascii", ["-r", "4", "-s", "3"], data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (folder / "das2_ascii_input2.d2s.ascii-r4-s3.expected").read_bytes()
