"""das2_bin_avgsec, das2_bin_peakavgsec and das2_bin_avg on hand-made streams."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Writer, Properties, StreamHeader, parse_packet_header
from dasflex_core.codecs.das2_reader import read_all
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined
from dasflex_core.tools.binning.core import BinOptions
from dasflex_core.tools.binning.props import SlotProperties
from dasflex_core.tools.binning.stream import BinnerConfig, bin_stdin, resolution_info

Y_PACKET = """<packet>
  <x type="little_endian_real8" units="{units}"></x>
  <y name="a" type="little_endian_real4" units="V"><properties double:yFill="-999"/></y>
  <y name="b" type="little_endian_real8" units="V"></y>
</packet>"""

WAVE_PACKET = """<packet>
  <x type="little_endian_real8" units="us2000"></x>
  <yscan name="w" type="little_endian_real4" zUnits="V" yUnits="s" nitems="8"
         yTagInterval="0.001" yTagMin="0"/>
</packet>"""


def _stream(packets, properties=None, comments=()) -> bytes:
    """A das2 stream: [(packet_id, xml, records-builder)] in order."""
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    props = Properties()
    for name, value in (properties or {}).items():
        props.set(name, value)
    writer.write_stream_header(StreamHeader(properties=props))
    for comment in comments:
        writer.write_comment(*comment)
    for packet_id, xml, fill in packets:
        header = parse_packet_header(xml.encode(), packet_id)
        header.raw_xml = None
        writer.write_packet_header(header)
        records = np.zeros(len(fill["x0"]), dtype=header.record_dtype)
        for name, values in fill.items():
            records[name] = values
        writer.write_records(header, records)
    return out.getvalue()


def _bin(data: bytes, **config: Any) -> list:
    sink = io.BytesIO()
    settings: dict[str, Any] = {"program": "das2_bin_avgsec", "width": 10e6}
    settings.update(config)
    bin_stdin(BinnerConfig(**settings), io.BytesIO(data), sink)
    return read_all(sink.getvalue())


def _records(events, packet_id=1):
    runs = [e.records for e in events if isinstance(e, DataRun) and e.packet_id == packet_id]
    return np.concatenate(runs) if runs else None


def test_means_skip_fill_and_x_is_bin_centre():
    x = np.arange(30) * 1e6                      # 1 s cadence, 3 bins of 10 s
    a = np.arange(30, dtype=float)
    a[5] = -999.0                                # fill: skipped
    data = _stream([(1, Y_PACKET.format(units="us2000"), {"x0": x, "y1": a, "y2": a * 2})])
    records = _records(_bin(data))
    assert list(records["x0"]) == [5e6, 15e6, 25e6]
    expected_a = [float(np.mean([v for v in range(10) if v != 5])), 14.5, 24.5]
    assert np.allclose(records["y1"], expected_a)
    # plane b has no fill property: -999 is not fill there, the 2 x -999 counts
    expected_b = (sum(2.0 * v for v in range(10) if v != 5) - 1998.0) / 10
    assert list(records["y2"]) == [expected_b, 29.0, 49.0]


def test_begin_option_aligns_bins_and_t2000_is_converted():
    x = 100.0 + np.arange(20, dtype=float)           # t2000 seconds 100..119
    data = _stream([(1, Y_PACKET.format(units="t2000"), {"x0": x, "y1": np.ones(20), "y2": np.ones(20)})])
    records = _records(_bin(data, origin=95e6))      # bins [95,105) [105,115) [115,125)
    assert list(records["x0"]) == [100e6, 110e6, 120e6]
    assert list(records["y1"]) == [1.0, 1.0, 1.0]


def test_redefinition_flushes_the_open_bin_first():
    first = {"x0": np.array([0.0, 1e6]), "y1": np.array([1.0, 3.0]), "y2": np.zeros(2)}
    second = {"x0": np.array([2e6]), "y1": np.array([10.0]), "y2": np.zeros(1)}
    xml = Y_PACKET.format(units="us2000")
    events = _bin(_stream([(1, xml, first), (1, xml, second)]))
    kinds = [type(e).__name__ for e in events if isinstance(e, HeaderDefined | DataRun)]
    assert kinds == ["HeaderDefined", "DataRun", "HeaderDefined", "DataRun"]
    runs = [e.records for e in events if isinstance(e, DataRun)]
    assert runs[0]["y1"][0] == 2.0 and runs[1]["y1"][0] == 10.0


def test_waveform_collapses_only_when_it_fits_in_a_bin():
    x = np.arange(4) * 1e6
    wave = np.arange(32, dtype=np.float32).reshape(4, 8)
    data = _stream([(1, WAVE_PACKET, {"x0": x, "yscan1": wave})], {"renderer": "waveform"})
    collapsed = _bin(data, width=10e6)
    header = next(e.header for e in collapsed if isinstance(e, HeaderDefined))
    assert [p.kind for p in header.planes] == ["x", "y"]
    assert _records(collapsed)["y1"][0] == pytest.approx(wave.mean())
    kept = _bin(data, width=1e3)                 # 1 ms bins < 7 ms of offsets
    header = next(e.header for e in kept if isinstance(e, HeaderDefined))
    assert [p.kind for p in header.planes] == ["x", "yscan"]


def test_minmax_stddev_and_peak_planes():
    x = np.arange(4) * 1e6
    a = np.array([-4.0, -2.0, -3.0, -1.0])
    data = _stream([(1, Y_PACKET.format(units="us2000"), {"x0": x, "y1": a, "y2": a})])
    events = _bin(data, options=BinOptions(minmax=True, stddev=True))
    header = next(e.header for e in events if isinstance(e, HeaderDefined))
    assert [p.name for p in header.planes] == ["", "a", "b", "a.min", "a.max", "a.stddev", "b.min", "b.max", "b.stddev"]
    assert header.planes[3].properties.get("operation") == "BIN_MIN"
    records = _records(events)
    assert records["y3"][0] == -4.0 and records["y4"][0] == -1.0
    assert records["y5"][0] == pytest.approx(np.std(a, ddof=1))
    peaks = _bin(data, options=BinOptions(peak=True))
    assert _records(peaks)["y3"][0] == 0.0          # das2C: peak starts at 0
    true_peaks = _bin(data, options=BinOptions(peak=True, peak_from_zero=False))
    assert _records(true_peaks)["y3"][0] == -1.0


def test_progress_comments_dropped_with_p_and_others_kept():
    comments = [("taskProgress", "rdr", "5"), ("log:info", "rdr", "hello")]
    data = _stream([(1, Y_PACKET.format(units="us2000"), {"x0": [0.0], "y1": [1.0], "y2": [1.0]})],
                   comments=comments)
    kept = [e.type for e in _bin(data) if isinstance(e, Comment)]
    dropped = [e.type for e in _bin(data, drop_progress=True) if isinstance(e, Comment)]
    assert kept == ["taskProgress", "log:info"] and dropped == ["log:info"]


def test_raw_x_units_for_das2_bin_avg():
    x = np.arange(10, dtype=float)                    # not times at all
    data = _stream([(1, Y_PACKET.format(units="degrees"), {"x0": x, "y1": x, "y2": x})])
    events = _bin(data, program="das2_bin_avg", width=5.0, raw_x=True, pass_oob=False,
                  edit_stream_header=False)
    records = _records(events)
    assert list(records["x0"]) == [2.5, 7.5] and list(records["y1"]) == [2.0, 7.0]


def test_das2c_property_slots():
    props = Properties.from_attributes([("Datum:xTagWidth", "16.000000 s"), ("title", "T"), ("yLabel", "long label")])
    slots = SlotProperties(props)
    slots.remove("yLabel")
    slots.set("title", "a much longer title")        # does not fit: moves to the end
    slots.set("yLabel", "short")                     # fits the removed slot: back in place
    slots.set_datum("xTagWidth", 60.0, "s")           # '60.000000' fits '16.000000 s'
    assert [p.name for p in slots.to_properties()] == ["xTagWidth", "yLabel", "title"]
    assert resolution_info(0.5) == " (500 ms Averages)"
    assert resolution_info(90) == " (1.5 minute Averages)"
    assert resolution_info(86400 * 2) == " (2 day Averages)"


@pytest.mark.parametrize("argv, message", [
    (["0"], "must be a finite number greater than 0"),
    (["abc"], "is not a number"),
    (["-b", "not-a-time", "60"], "cannot parse time"),
])
def test_bad_options_give_one_line_and_exit_status(argv, message):
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_bin_avgsec", *argv],
                            input=b"", capture_output=True, check=False)
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and message in lines[0]


def test_bad_stream_gives_one_line():
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_bin_peakavgsec", "60"],
                            input=b"[00]000010<bad", capture_output=True, check=False)
    assert result.returncode == 1
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_event_pipeline_keeps_order_and_reraises_worker_errors():
    from dasflex_core.errors import StreamError
    from dasflex_core.tools.streamio import EventPipeline

    seen: list[int] = []
    pipeline = EventPipeline(seen.extend, depth=2)
    for batch in range(50):
        pipeline.put([batch])
    pipeline.close()
    assert seen == list(range(50))

    def explode(events: list) -> None:
        raise StreamError("bad packet", 7)

    failing = EventPipeline(explode)
    failing.put([1])
    with pytest.raises(StreamError, match="bad packet"):
        for _ in range(100):
            failing.put([2])
        failing.close()


def test_read_views_gathers_pipe_chunks():
    import os
    import threading

    from dasflex_core.tools.streamio import read_views

    payload = bytes(range(256)) * 4096                 # 1 MiB
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(payload)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_end, "rb") as source:
        chunks = list(read_views(source, 256 * 1024))
    writer.join()
    assert b"".join(chunks) == payload
    assert all(len(chunk) <= 256 * 1024 for chunk in chunks)
