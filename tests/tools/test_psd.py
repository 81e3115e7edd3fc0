"""das2_psd: the spectral core against the definition, and the stream tool."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Writer, Properties, StreamHeader, parse_packet_header
from dasflex_core.codecs.das2_reader import read_all
from dasflex_core.codecs.events import DataRun, HeaderDefined, StreamException
from dasflex_core.tools.psd.core import PsdCalculator, hann_window, jitter_breaks, sliding_windows
from dasflex_core.tools.psd.stream import PsdConfig, _x_schedule, psd_stdin


def _definition(x: np.ndarray, keep_dc: bool) -> np.ndarray:
    """das2C's PSD written out with an explicit DFT sum."""
    n = len(x)
    w = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (n - 1)))
    data = x if keep_dc else x - x.mean()
    k = np.arange(n)[:, None]
    dft = (data * w * np.exp(-2j * np.pi * k * np.arange(n) / n)).sum(axis=1)
    s = n * np.sum(w * w)
    power = np.abs(dft) ** 2 / s
    out = np.empty(n // 2 + 1)
    out[0], out[-1] = power[0], power[n // 2]
    out[1:-1] = power[1 : n // 2] + power[n - 1 : n // 2 : -1]
    return out


@pytest.mark.parametrize("keep_dc", [False, True])
def test_psd_matches_the_definition(keep_dc):
    rng = np.random.default_rng(3)
    windows = rng.standard_normal((5, 64)) + 3.0
    ours = PsdCalculator(64, keep_dc=keep_dc).compute(windows)
    for row, window in zip(ours, windows, strict=True):
        assert np.allclose(row, _definition(window, keep_dc), rtol=1e-10, atol=1e-12)


def test_sine_peaks_at_its_frequency_and_window_is_hann():
    n, cycles = 256, 20
    signal = np.sin(2 * np.pi * cycles * np.arange(n) / n)
    power = PsdCalculator(n).compute(signal[None, :])[0]
    assert int(np.argmax(power)) == cycles
    window = hann_window(n)
    assert window[0] == 0.0 and window[-1] == pytest.approx(0.0) and window.max() <= 1.0


def test_sliding_windows_and_jitter():
    offsets, windows = sliding_windows(np.arange(10.0), 4, 3)
    assert list(offsets) == [0, 3, 6] and windows[2].tolist() == [6.0, 7.0, 8.0, 9.0]
    times = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    assert list(jitter_breaks(times, 0.01)) == [4, 5]


def test_x_schedule_replays_the_accumulator():
    config = PsdConfig(length=4, slide=2)
    times = np.array([0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24], dtype=float)
    events, keep = _x_schedule(times, config, 0)
    assert events == [("spectrum", 0), ("spectrum", 2), ("break", 6), ("break", 7), ("spectrum", 6)]
    assert keep == 8


WAVE = """<packet>
  <x type="little_endian_real8" units="t2000"></x>
  <yscan name="e" type="little_endian_real4" zUnits="V m**-1" yUnits="s" nitems="64"
         yTagInterval="0.001" yTagMin="0"/>
</packet>"""

SERIES = """<packet>
  <x type="little_endian_real8" units="t2000"></x>
  <y name="b" type="little_endian_real8" units="nT"></y>
</packet>"""


def _psd(xml: str, fill: dict, config: PsdConfig) -> list:
    source = io.BytesIO()
    writer = Das2Writer(source.write)
    props = Properties()
    props.set("title", "Test")
    writer.write_stream_header(StreamHeader(properties=props))
    header = parse_packet_header(xml.encode(), 3)
    header.raw_xml = None
    writer.write_packet_header(header)
    records = np.zeros(len(fill["x0"]), dtype=header.record_dtype)
    for name, values in fill.items():
        records[name] = values
    writer.write_records(header, records)
    sink = io.BytesIO()
    psd_stdin(config, io.BytesIO(source.getvalue()), sink)
    return read_all(sink.getvalue())


def test_waveform_packets_are_transformed_in_y():
    rng = np.random.default_rng(5)
    waves = rng.standard_normal((3, 64)).astype(np.float32)
    waves[1, 10] = -1e31                                  # fill: this window is skipped
    events = _psd(WAVE, {"x0": [10.0, 20.0, 30.0], "yscan1": waves}, PsdConfig(32, 2))
    header = next(e.header for e in events if isinstance(e, HeaderDefined))
    assert header.packet_id == 1
    scan = header.planes[1]
    assert scan.nitems == 17 and scan.yunits == "Hz"
    assert scan.ytag_interval == pytest.approx(1 / (32 * 0.001))
    records = np.concatenate([e.records for e in events if isinstance(e, DataRun)])
    assert len(records) == 3 * 3 - 1                      # offsets 0, 16, 32; one holds the fill
    assert records["x0"][0] == pytest.approx(10.0 + 16 * 0.001)
    expected = PsdCalculator(32).compute(waves[:1, :32].astype(float))[0] * 32 * 0.001
    assert np.allclose(records["yscan1"][0], expected, rtol=1e-6)


def test_time_series_accumulate_and_every_spectrum_is_scaled():
    t = 100.0 + 0.5 * np.arange(64)
    b = np.sin(np.arange(64))
    events = _psd(SERIES, {"x0": t, "y1": b}, PsdConfig(16, 1))
    records = np.concatenate([e.records for e in events if isinstance(e, DataRun)])
    assert len(records) == 4
    tau = (t[15] - t[0]) / 16                            # das2C's estimate of the cadence
    for index, start in enumerate(range(0, 64, 16)):
        expected = PsdCalculator(16).compute(b[None, start : start + 16])[0] * 16 * tau
        assert np.allclose(records["yscan1"][index], expected, rtol=1e-12)


def test_nothing_transformable_gives_a_no_data_exception():
    events = _psd(SERIES, {"x0": [1.0, 2.0], "y1": [1.0, 2.0]}, PsdConfig(16, 1))
    assert any(isinstance(e, StreamException) and e.type == "NoDataInInterval" for e in events)


@pytest.mark.parametrize("argv", [["15", "1"], ["16", "16"], ["16"], ["-x", "16", "2"]])
def test_bad_options_fail_with_one_line(argv):
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_psd", *argv],
                            input=b"", capture_output=True, check=False)
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_time_series_rows_differ_from_das2c_only_in_first_spectrum(conformance_dir):
    """das2C leaves the first spectrum after each header unscaled; we scale it."""
    directory = conformance_dir / "das2"
    psd = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_psd", "16", "1"],
                         input=(directory / "syn_epochs.d2s").read_bytes(), capture_output=True, check=True)
    ours = [e for e in read_all(psd.stdout) if isinstance(e, DataRun)]
    expected = (directory / "syn_epochs.d2s.psd16-1-ascii-r6.expected").read_text().splitlines()
    rows = [line for line in expected if line.startswith(":0")]
    assert len(ours) == len(rows) == 4
    n_tau = 16 * 6.5625                                   # 16 points, tau = 105 s / 16
    for run, row in zip(ours, rows, strict=True):
        theirs = [float(v) for v in re.split(r"\s+", row.strip())[1:]]
        for mine, reference in zip(run.records["yscan1"][0], theirs, strict=True):
            assert math.isclose(mine, reference * n_tau, rel_tol=2e-5, abs_tol=1e-25)


def test_threaded_batches_give_identical_results():
    windows = np.random.default_rng(11).standard_normal((700, 64)).astype(np.float32)
    single = PsdCalculator(64, threads=1).compute(windows)
    assert np.array_equal(single, PsdCalculator(64, threads=3).compute(windows))


def test_jittery_series_row_differs_from_das2c_only_in_first_spectrum(conformance_dir):
    """psd64-2 row: every spectrum matches das2C except the first, which das2C leaves unscaled."""
    directory = conformance_dir / "das2"
    psd = subprocess.run(
        [sys.executable, "-m", "dasflex_core.tools.das2_psd", "-d", "-j", "0.05", "64", "2"],
        input=(directory / "das2_bin_avgsec_input2.d2s").read_bytes(), capture_output=True, check=True,
    )
    runs = [e for e in read_all(psd.stdout) if isinstance(e, DataRun)]
    header = next(e.header for e in read_all(psd.stdout) if isinstance(e, HeaderDefined))
    tau = 1.0 / (64 * header.planes[1].ytag_interval)      # seconds
    ours = np.concatenate([run.records for run in runs])
    expected = (directory / "das2_bin_avgsec_input2.d2s.psd64-2-d-j0.05-ascii-r6.expected").read_text()
    rows = [line.split()[1:] for line in expected.splitlines() if line.startswith(":01:")]
    assert len(rows) == len(ours) == 149
    for index, row in enumerate(rows):
        theirs = np.array([float(v) for v in row]).reshape(4, 33)
        mine = np.stack([ours[field][index] for field in ("yscan1", "yscan2", "yscan3", "yscan4")])
        scale = 64 * tau if index == 0 else 1.0
        assert np.allclose(mine, theirs * scale, rtol=2e-5, atol=1e-30)
