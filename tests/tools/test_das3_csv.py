"""das3_csv: das2/das3 streams to delimited text, as das2C writes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import das2_streams as streams
from tests.support.tools import run_tool


def test_das2_stream_becomes_three_header_rows_and_values() -> None:
    result = run_tool("das3_csv", [], streams.simple_stream(3))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(b"\r\n") == [
        b'1;"header";"coord:time";"data:amp"',
        b'1;"header";"(us2000)";"(V m**-1)"',
        b'1;"header";;',
        b'1;"values";2013-03-01T00:00:00.000;-1.5000000e+00',
        b'1;"values";2013-03-01T00:00:01.000;0.0000000e+00',
        b'1;"values";2013-03-01T00:00:02.000;1.5000000e+00',
        b"",
    ]


def test_options_change_delimiter_precision_and_columns() -> None:
    result = run_tool("das3_csv", ["-d", "\t", "-r", "2", "-s", "0", "-n", "-i"],
                              streams.simple_stream(2))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"2013-03-01T00:00:00\t-1.50e+00\r\n2013-03-01T00:00:01\t1.50e+00\r\n"


def test_multi_character_delimiter_and_labels() -> None:
    data = streams.stream_header('xLabel="Time &amp; date" yLabel="Amplitude"')
    data += streams.xy_packet_header() + streams.xy_records(np.array([0.0]), np.array([2.0]))
    result = run_tool("das3_csv", ["-d", "::"], data)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.split(b"\r\n")
    assert rows[2] == b'1::"header"::"Time & date"::"Amplitude"'
    assert rows[3] == b'1::"values"::2000-01-01T00:00:00.000::2.0000000e+00'


def test_exceptions_go_to_stderr_and_comments_are_dropped() -> None:
    data = streams.simple_stream(2) + streams.exception("nothing more")
    result = run_tool("das3_csv", [], data)
    assert result.returncode == 0
    assert result.stderr == b"Stream Exception: NoMatchingData, nothing more\n"
    assert b"halfway" not in result.stdout


def test_epoch_units_print_the_same_times() -> None:
    t2000 = streams.xy_packet_header(2, "t2000") + streams.xy_records(
        np.array([415_411_200.5]), np.array([1.0]), 2
    )
    result = run_tool("das3_csv", ["-n", "-i", "-s", "1"], streams.stream_header() + t2000)
    assert result.stdout == b"2013-03-01T00:00:00.5;1.0000000e+00\r\n"


def test_large_runs_print_every_record_once() -> None:
    count = 20_000
    times = streams.MARCH_2013_US2000 + np.arange(count) * 1e3
    values = np.arange(count, dtype=np.float32)
    data = streams.stream_header() + streams.xy_packet_header() + streams.xy_records(times, values)
    result = run_tool("das3_csv", ["-n", "-i"], data)
    rows = result.stdout.split(b"\r\n")[:-1]
    assert len(rows) == count
    assert rows[-1].endswith(b";%.7e" % (count - 1))


@pytest.mark.parametrize("args", [["-d", ""], ["-r", "1"], ["-s", "-1"], ["-x"]])
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = run_tool("das3_csv", args, streams.simple_stream(1))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_stream_is_one_line_error() -> None:
    result = run_tool("das3_csv", [], streams.simple_stream(3)[:-5])
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1


def test_deflate_input_is_read(conformance_dir: Path) -> None:
    folder = conformance_dir / "das2"
    result = run_tool("das3_csv", [], (folder / "syn_deflate.d2s").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout == (folder / "syn_deflate.d2s.csv.expected").read_bytes()


def test_das2_headers_in_das3_framing(conformance_dir: Path) -> None:
    folder = conformance_dir / "das3"
    result = run_tool("das3_csv", [], (folder / "tag_test.dNt").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout == (folder / "tag_test.dNt.csv.expected").read_bytes()


def test_props_on_das2_input_are_typed_property_rows(conformance_dir: Path) -> None:
    folder = conformance_dir / "das2"
    data = (folder / "galileo_pws_sample.d2t").read_bytes()
    result = run_tool("das3_csv", ["-p"], data)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.split(b"\r\n")
    assert rows[0] == b'0;"property";"global";"title";"string";;"Galileo PWS - LRS Electric"'
    assert b'0;"property";"global";"xTagWidth";"real";"s";"80"' in rows
    assert b'10;"property";"electric:time";"tagWidth";"real";"s";"80"' in rows
    plain = run_tool("das3_csv", [], data).stdout
    assert result.stdout.endswith(plain)
    assert not any(b'"property"' in row for row in plain.split(b"\r\n"))


def test_fixed_width_strings_keep_their_padding(conformance_dir: Path) -> None:
    folder = conformance_dir / "das3"
    result = run_tool("das3_csv", [], (folder / "ex34_ragged_fixstr.d3b").read_bytes())
    assert result.returncode == 0, result.stderr
    assert b";NOMINAL  ;WARNING  ;DROPOUT  ;" in result.stdout
    assert result.stdout == (folder / "ex34_ragged_fixstr.d3b.csv.expected").read_bytes()


def _waveform_stream(reference_us2000: float) -> bytes:
    header = (b'<stream version="2.2">\n  <properties renderer="waveform" />\n</stream>\n')
    packet = (
        b"<packet>\n"
        b'  <x type="little_endian_real8" units="us2000"></x>\n'
        b'  <yscan type="little_endian_real4" name="Ex" zUnits="V m**-1" yUnits="s"'
        b' nitems="256" yTagInterval="1.0e-4" yTagMin="0" />\n'
        b"</packet>\n"
    )
    record = np.zeros(1, dtype=[("x", "<f8"), ("y", "<f4", (256,))])
    record["x"] = reference_us2000
    return (b"[00]%06d" % len(header) + header + b"[01]%06d" % len(packet) + packet
            + b":01:" + record.tobytes())


def test_waveform_centers_on_half_millisecond_ties_round_as_das2c() -> None:
    """Reference + offset exactly on a half millisecond: das2C's arithmetic
    (float32 yTags, us2000 sum, seconds-since-1970 split) decides each tie;
    the expected digits are those of das2C (syn_waveform.d2s.csv.expected)."""
    result = run_tool("das3_csv", ["-n", "-i"], _waveform_stream(631_152_000_000_000.0))
    assert result.returncode == 0, result.stderr
    cells = result.stdout.split(b"\r\n")[0].split(b";")
    centers = [cell.decode()[-3:] for cell in cells[1:257]]
    das2c = {5: "000", 15: "002", 25: "003", 35: "003", 85: "009", 115: "011", 155: "016",
             215: "022", 225: "023", 245: "024", 255: "025"}
    assert {index: centers[index] for index in das2c} == das2c
