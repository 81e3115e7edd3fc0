"""das2_bin_ratesec: counting, monotonic streaming, events and labels."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Writer, Properties, StreamHeader, parse_packet_header
from dasflex_core.codecs.das2_reader import read_all
from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamStart
from dasflex_core.tools.binning.rate import RateConfig, interval_text, rate_stdin

PACKET = """<packet>
  <x type="little_endian_real8" units="t2000"></x>
  <y name="v" type="little_endian_real4" units="V"></y>
</packet>"""


def _stream(times) -> bytes:
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    props = Properties()
    props.set("title", "Probe")
    props.set("yLabel", "Volts")
    writer.write_stream_header(StreamHeader(properties=props))
    header = parse_packet_header(PACKET.encode(), 1)
    header.raw_xml = None
    writer.write_packet_header(header)
    records = np.zeros(len(times), dtype=header.record_dtype)
    records["x0"] = times
    writer.write_records(header, records)
    return out.getvalue()


def _rate(data: bytes, **settings) -> list:
    sink = io.BytesIO()
    rate_stdin(RateConfig(**settings), io.BytesIO(data), sink)
    return read_all(sink.getvalue())


def _values(events):
    runs = [e.records for e in events if isinstance(e, DataRun)]
    return np.concatenate(runs) if runs else np.zeros(0)


TIMES = [0.0, 1.0, 2.0, 65.0, 200.0, 201.0]          # bins of 60 s: 3, 1, 0, 2


def test_counts_every_bin_from_first_to_last():
    records = _values(_rate(_stream(TIMES), width_us=60e6))
    assert list(records["y1"]) == [3.0, 1.0, 0.0, 2.0]
    assert list(records["x0"]) == [30e6, 90e6, 150e6, 210e6]


def test_monotonic_mode_streams_the_same_non_empty_bins():
    records = _values(_rate(_stream(TIMES), width_us=60e6, monotonic=True))
    assert list(records["y1"]) == [3.0, 1.0, 2.0]


def test_monotonic_mode_rejects_time_reversal():
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_bin_ratesec", "-m", "60"],
                            input=_stream([0.0, 120.0, 10.0]), capture_output=True, check=False)
    assert result.returncode == 1 and b"time reversal" in result.stderr


def test_events_mark_only_bins_with_data():
    records = _values(_rate(_stream(TIMES), width_us=60e6, events=True))
    assert list(records["y1"]) == [1.0, 1.0, 0.0, 1.0]     # das2C would write 1.0 for all


def test_volume_and_odd_widths_and_header():
    events = _rate(_stream(TIMES), width_us=30e6, volume_name="bytes", volume_bytes=1)
    header = next(e.header for e in events if isinstance(e, HeaderDefined))
    stream = next(e.header for e in events if isinstance(e, StreamStart))
    assert header.planes[1].units == "bytes"
    assert stream.properties.get("yLabel") == "Stream Volume (bytes/30 s)"
    assert stream.properties.get("title") == "Probe (coverage)"
    assert _values(events)["y1"][0] == 3 * 12.0            # 12-byte records


@pytest.mark.parametrize("width, text", [
    (60e6, ("minute", True)), (3600e6, ("hour", True)), (1e6, ("s", True)),
    (30e6, ("30 s", False)), (300e6, ("5 minutes", False)), (0.5e6, ("500 ms", False)),
])
def test_interval_text(width, text):
    assert interval_text(width) == text


def test_events_row_differs_from_das2c_only_in_empty_bins(conformance_dir):
    directory = conformance_dir / "das2"
    result = subprocess.run(
        [sys.executable, "-m", "dasflex_core.tools.das2_bin_ratesec", "-e", "-b", "2013-03-01", "3600"],
        input=(directory / "das2_ascii_input1.d2s").read_bytes(), capture_output=True, check=True,
    )
    expected = (directory / "das2_ascii_input1.d2s.rate3600-e-b.expected").read_bytes()
    ours_events, theirs_events = read_all(result.stdout), read_all(expected)
    assert ours_events[0].raw == theirs_events[0].raw and ours_events[1].raw == theirs_events[1].raw
    ours, theirs = _values(ours_events), _values(theirs_events)
    assert np.array_equal(ours["x0"], theirs["x0"]) and set(theirs["y1"]) == {1.0}
    counts = _values(read_all(subprocess.run(
        [sys.executable, "-m", "dasflex_core.tools.das2_bin_ratesec", "-b", "2013-03-01", "3600"],
        input=(directory / "das2_ascii_input1.d2s").read_bytes(), capture_output=True, check=True,
    ).stdout))
    assert list(ours["y1"]) == [1.0 if count > 0 else 0.0 for count in counts["y1"]]
