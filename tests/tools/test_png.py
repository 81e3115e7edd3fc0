"""Tests of das2_png and its pixel-column binning."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.codecs import das2
from dasflex_core.tools import das2_png
from dasflex_core.tools.convert.to_das2 import AsDas2
from dasflex_core.tools.png.bins import ColumnGrid, LineBins, MeanBins
from dasflex_core.tools.png.builder import PlotBuilder
from dasflex_core.tools.png.plot import gap_sources
from dasflex_core.tools.streamio import stream_events
from tests.support.das2_streams import make_das2_stream
from tests.support.tools import run_main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (checking signature and CRC)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert crc == zlib.crc32(kind + body)
    width, height = struct.unpack(">II", body[:8])
    return width, height


def pixels(data: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def distinct_colours(data: bytes) -> int:
    image = (pixels(data)[..., :3] * 255).astype(np.uint8)
    return len(np.unique(image.reshape(-1, 3), axis=0))


def draw(data: bytes, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> bytes:
    status, output, error = run_main(das2_png.main, argv, data, monkeypatch)
    assert status == 0, error
    return output


@pytest.mark.parametrize("argv, size", [
    ([], (800, 600)),
    (["-w", "640", "-h", "480"], (640, 480)),
    (["--width", "333", "-H", "222"], (333, 222)),
    (["-w", "1201", "--height", "97"], (1201, 97)),
])
def test_png_has_the_requested_size(argv: list[str], size: tuple[int, int],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert png_size(draw(make_das2_stream(50), argv, monkeypatch)) == size


def test_spectrogram_with_colour_bar(conformance_dir: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das2" / "das2_ascii_input1.d2s").read_bytes()
    image = draw(data, ["-w", "500", "-h", "300"], monkeypatch)
    assert png_size(image) == (500, 300)
    assert distinct_colours(image) > 60  # a colour map, not just lines and text
    plot = _builder_for(data, 500).plot()
    assert plot.x_is_time and plot.title == "Voyager 1 PWS SA"
    spectrum = plot.panels[0]
    assert spectrum.log_colour is None and "V m^-1" in spectrum.colour_label
    assert "Hz" in spectrum.label


def test_line_plot(conformance_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das2" / "das2_bin_avgsec_input2.d2s").read_bytes()
    image = draw(data, ["-w", "400", "-h", "300"], monkeypatch)
    assert png_size(image) == (400, 300)
    plot = _builder_for(data, 400).plot()
    assert len(plot.panels) == 1 and len(plot.panels[0].series) == 4
    assert plot.panels[0].units == "nT"
    rgb = (pixels(image)[..., :3] * 255).round().astype(int).reshape(-1, 3)
    for colour in ((31, 119, 180), (214, 39, 40)):  # the first and fourth line colours
        assert (np.abs(rgb - colour).sum(axis=1) <= 6).sum() > 200


def test_line_bins_hold_the_extremes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_das2_stream(1000)
    builder = _builder_for(data, 100)
    line_panel = next(panel for panel in builder.plot().panels if hasattr(panel, "series"))
    bins = line_panel.series[0][1]
    assert bins.low[bins.filled()].min() == pytest.approx(-5.0)
    assert bins.high[bins.filled()].max() == pytest.approx(5.0)
    assert bins.filled().sum() <= 100


def test_empty_stream_gives_a_no_data_image(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = make_das2_stream(0, das2.encode_exception("NoDataInInterval", "no data here"))
    image = draw(stream, ["-w", "300", "-h", "200"], monkeypatch)
    assert png_size(image) == (300, 200)
    plot = _builder_for(stream, 300).plot()
    assert plot.notes == ["NoDataInInterval: no data here"]
    header_only = das2.encode_header_packet(0, das2.StreamHeader().to_xml())
    assert png_size(draw(header_only, [], monkeypatch)) == (800, 600)


@pytest.mark.parametrize("data, argv, status, words", [
    (b"", [], 1, "empty input"),
    (b"nonsense", [], 1, "not a das2 or das3 stream"),
    (das2.encode_header_packet(0, das2.StreamHeader().to_xml()) + das2.encode_header_packet(
        4, '<packet><y type="ascii10" units=""></y></packet>'), [], 1, "no <x> plane"),
    (b"", ["-w", "10"], 2, "out of range"),
    (b"", ["-h", "x"], 2, "not an integer"),
])
def test_errors_are_one_line(data: bytes, argv: list[str], status: int, words: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, output, error = run_main(das2_png.main, argv, data, monkeypatch)
    assert code == status and output == b""
    assert error.startswith("das2_png: error:") and error.count("\n") == 1 and words in error


def test_das3_input(conformance_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das3" / "ex25_isee_rapid_rank2.d3b").read_bytes()
    assert png_size(draw(data, ["-w", "300", "-h", "300"], monkeypatch)) == (300, 300)


def _builder_for(data: bytes, columns: int) -> PlotBuilder:
    builder = PlotBuilder(columns)
    builder.handle(AsDas2().events(stream_events(io.BytesIO(data))))
    return builder


# --------------------------------------------------------------------------
# Binning


def _brute_force_extremes(grid: ColumnGrid, x: np.ndarray, values: np.ndarray
                          ) -> dict[int, tuple[float, float]]:
    columns = np.floor(x / grid.width).astype(np.int64) - grid.start
    return {int(column): (float(values[columns == column].min()),
                          float(values[columns == column].max()))
            for column in np.unique(columns)}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
       st.integers(2, 50), st.integers(1, 40))
def test_line_bins_match_brute_force(xs: list[float], columns: int, chunk: int) -> None:
    x = np.array(xs)
    values = np.sin(x) * 10
    bins = LineBins(columns)
    for start in range(0, len(x), chunk):
        part = slice(start, start + chunk)
        bins.add(x[part], values[part], np.ones(len(x[part]), dtype=bool))
    assert bins.low.shape == (columns,)
    expected = _brute_force_extremes(bins.grid, x, values)
    assert set(np.flatnonzero(bins.filled())) == set(expected)
    for column, (low, high) in expected.items():
        assert 0 <= column < columns
        assert bins.low[column] == low and bins.high[column] == high


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=200),
       st.integers(2, 30))
def test_mean_bins_match_brute_force(xs: list[float], columns: int) -> None:
    x = np.array(xs)
    values = np.column_stack((x, -x, np.full(x.size, 2.0)))
    valid = np.ones(values.shape, dtype=bool)
    valid[::3, 1] = False
    bins = MeanBins(columns, 3)
    for start in range(0, len(x), 17):
        bins.add(x[start:start + 17], values[start:start + 17], valid[start:start + 17])
    index = np.floor(x / bins.grid.width).astype(np.int64) - bins.grid.start
    means = bins.means()
    for column in np.unique(index):
        rows = index == column
        for item in range(3):
            chosen = values[rows & valid[:, item], item]
            if chosen.size:
                assert means[column, item] == pytest.approx(chosen.mean())
            else:
                assert np.isnan(means[column, item])


def test_bins_ignore_invalid_values_and_stay_bounded() -> None:
    bins = LineBins(64)
    rng = np.random.default_rng(3)
    for block in range(50):
        x = block * 1e6 + np.arange(20_000, dtype=np.float64)
        values = rng.standard_normal(x.size)
        valid = np.ones(x.size, dtype=bool)
        valid[::2] = False
        values[::2] = 1e9
        bins.add(x, values, valid)
    assert bins.low.shape == bins.high.shape == (64,)
    assert bins.high[bins.filled()].max() < 100
    assert bins.grid.edges()[0] <= 0 and bins.grid.edges()[-1] >= 49e6 + 20_000


def test_gap_sources_bridge_small_gaps_only() -> None:
    filled = np.zeros(20, dtype=bool)
    filled[[0, 2, 4, 6, 15, 17]] = True
    sources = gap_sources(filled)
    assert list(sources[:8]) == [0, 0, 2, 2, 4, 4, 6, -1]
    assert all(sources[7:15] == -1)
    assert list(sources[15:]) == [15, 15, 17, -1, -1]
