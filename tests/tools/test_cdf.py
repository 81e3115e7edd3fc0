"""Tests of das2_cdf and its chunked CDF writer: files are read back with cdflib."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cdflib
import numpy as np
import pytest

from dasflex_core.codecs import das2
from dasflex_core.dastime import parse_time, to_tt2000
from dasflex_core.tools import das2_cdf
from dasflex_core.tools.cdf.write import (
    CDF_DOUBLE,
    CDF_FLOAT,
    CDF_TIME_TT2000,
    VXR_ENTRIES,
    ChunkedCdf,
)
from tests.support.das2_streams import make_das2_stream
from tests.support.tools import run_main

ISTP_GLOBALS = ("Project", "Source_name", "Discipline", "Data_type", "Descriptor",
                "Data_version", "Logical_source", "Logical_file_id",
                "Logical_source_description", "PI_name", "PI_affiliation", "TEXT",
                "Instrument_type", "Mission_group")
ISTP_DATA_ATTRIBUTES = ("CATDESC", "FIELDNAM", "UNITS", "FILLVAL", "VALIDMIN", "VALIDMAX",
                        "DISPLAY_TYPE", "DEPEND_0", "VAR_TYPE", "LABLAXIS", "FORMAT")


def to_cdf(data: bytes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
           argv: tuple[str, ...] = ()) -> cdflib.CDF:
    status, output, error = run_main(das2_cdf.main, list(argv), data, monkeypatch)
    assert status == 0, error
    path = tmp_path / "out.cdf"
    path.write_bytes(output)
    return cdflib.CDF(str(path))


def test_values_units_and_attributes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = make_das2_stream(30, title="Test!cstream")
    cdf = to_cdf(data, monkeypatch, tmp_path)
    run = next(event for event in das2.read_all(data) if hasattr(event, "records"))
    names = cdf.cdf_info().zVariables
    assert set(names) == {"Epoch", "bx", "spec", "spec_frequency"}
    epoch = cdf.varget("Epoch")
    assert cdf.varinq("Epoch").Data_Type == CDF_TIME_TT2000
    expected = [to_tt2000(parse_time("2000-01-01T00:00:00")) + int(value * 1000)
                for value in run.records["x0"]]
    np.testing.assert_array_equal(epoch, expected)
    np.testing.assert_array_equal(cdf.varget("bx"), run.records["y1"])
    assert cdf.varinq("bx").Data_Type == CDF_FLOAT
    np.testing.assert_array_equal(cdf.varget("spec"), run.records["yscan2"])
    np.testing.assert_array_equal(cdf.varget("spec_frequency"), [10.0, 100.0, 1000.0])
    bx = cdf.varattsget("bx")
    for name in ISTP_DATA_ATTRIBUTES:
        assert name in bx, name
    assert bx["UNITS"] == "nT" and bx["DEPEND_0"] == "Epoch" and bx["VAR_TYPE"] == "data"
    assert bx["DISPLAY_TYPE"] == "time_series"
    assert bx["VALIDMIN"] == pytest.approx(-5.0) and bx["VALIDMAX"] == pytest.approx(5.0)
    assert bx["FILLVAL"] == pytest.approx(-1e31, rel=1e-6)
    spec = cdf.varattsget("spec")
    assert spec["DEPEND_1"] == "spec_frequency" and spec["DISPLAY_TYPE"] == "spectrogram"
    assert spec["UNITS"] == "V**2 m**-2 Hz**-1"
    assert spec["VALIDMIN"] == pytest.approx(1.0) and spec["VALIDMAX"] == pytest.approx(90.0)
    assert cdf.varattsget("spec_frequency")["UNITS"] == "Hz"
    assert cdf.varattsget("Epoch")["VAR_TYPE"] == "support_data"
    assert cdf.varattsget("Epoch")["VALIDMIN"] == epoch[0]
    globals_ = cdf.globalattsget()
    for name in ISTP_GLOBALS:
        assert name in globals_ and globals_[name][0].strip(), name
    assert globals_["TEXT"] == ["Test stream"]
    assert globals_["Logical_file_id"][0].endswith("_20000101_v01")


def test_leap_seconds_in_tt2000(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    header = das2.parse_packet_header(
        b'<packet><x type="little_endian_real8" units="t2000"></x>'
        b'<y name="v" type="little_endian_real8" units="V"></y></packet>', 1)
    records = np.zeros(2, dtype=header.record_dtype)
    start = (np.datetime64("2016-12-31T23:59:59") - np.datetime64("2000-01-01T00:00:00"))
    records["x0"] = [start / np.timedelta64(1, "s"), start / np.timedelta64(1, "s") + 1.0]
    data = (das2.encode_header_packet(0, das2.StreamHeader().to_xml())
            + das2.encode_header_packet(1, header.to_xml()) + das2.encode_records(header, records))
    epoch = to_cdf(data, monkeypatch, tmp_path).varget("Epoch")
    assert epoch[1] - epoch[0] == 2_000_000_000  # 23:59:60 lies between them
    assert cdflib.cdfepoch.encode_tt2000(int(epoch[1])).startswith("2017-01-01T00:00:00")


def test_fill_values_become_fillval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    header = das2.parse_packet_header(
        b'<packet><x type="little_endian_real8" units="us2000"></x>'
        b'<y name="n" type="little_endian_real4" units="cm**-3">'
        b'<properties double:yFill="-9999"/></y></packet>', 1)
    records = np.zeros(4, dtype=header.record_dtype)
    records["x0"] = np.arange(4) * 1e6
    records["y1"] = [1.0, -9999.0, -9999.01, 3.0]
    data = (das2.encode_header_packet(0, das2.StreamHeader().to_xml())
            + das2.encode_header_packet(1, header.to_xml()) + das2.encode_records(header, records))
    cdf = to_cdf(data, monkeypatch, tmp_path)
    np.testing.assert_array_equal(cdf.varget("n"), np.float32([1.0, -9999.0, -9999.0, 3.0]))
    attributes = cdf.varattsget("n")
    assert attributes["FILLVAL"] == -9999.0
    assert (attributes["VALIDMIN"], attributes["VALIDMAX"]) == (1.0, 3.0)


def test_conformance_spectra(conformance_dir: Path, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    data = (conformance_dir / "das2" / "juno_waves_sample.d2t").read_bytes()
    cdf = to_cdf(data, monkeypatch, tmp_path, ("-g", "Project=Juno", "--global", "PI_name=W. K."))
    events = das2.read_all(data)
    runs = [event for event in events if hasattr(event, "records")]
    first_id = runs[0].packet_id
    expected = np.concatenate([run.records["yscan1"] for run in runs
                               if run.packet_id == first_id])
    np.testing.assert_allclose(cdf.varget("spec_dens"), expected)
    attributes = cdf.varattsget("spec_dens")
    assert attributes["SCALETYP"] == "log" and attributes["CATDESC"].startswith("Amplitudes")
    assert cdf.varattsget("spec_dens_frequency")["LABLAXIS"] == "Freq. (Hz)"
    globals_ = cdf.globalattsget()
    assert globals_["Project"] == ["Juno"] and globals_["PI_name"] == ["W. K."]
    assert globals_["TEXT"] == ["Juno Waves - Electric Field Spectral Density"]
    assert len(cdf.cdf_info().zVariables) == 3 * len({run.packet_id for run in runs})


def test_das3_input(conformance_dir: Path, monkeypatch: pytest.MonkeyPatch,
                    tmp_path: Path) -> None:
    data = (conformance_dir / "das3" / "ex25_isee_rapid_rank2.d3b").read_bytes()
    cdf = to_cdf(data, monkeypatch, tmp_path)
    assert cdf.globalattsget()["Data_type"] == ["das3>das3 stream"]
    spectra = [name for name in cdf.cdf_info().zVariables
               if cdf.varattsget(name).get("DISPLAY_TYPE") == "spectrogram"]
    assert spectra
    assert cdf.varget(spectra[0]).ndim == 2


def test_redefined_packets(conformance_dir: Path, monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:
    data = (conformance_dir / "das2" / "syn_redefine_oob.d2t").read_bytes()
    cdf = to_cdf(data, monkeypatch, tmp_path)
    records = sum(event.count for event in das2.read_all(data) if hasattr(event, "records"))
    epochs = [name for name in cdf.cdf_info().zVariables if name.startswith("Epoch")]
    assert sum(len(cdf.varget(name)) for name in epochs) == records


def test_no_data_exception_gives_empty_cdf(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    data = make_das2_stream(0, das2.encode_exception("NoDataInInterval", "nothing"))
    cdf = to_cdf(data, monkeypatch, tmp_path)
    assert cdf.varinq("Epoch").Last_Rec == -1
    assert "VALIDMIN" in cdf.varattsget("bx")


@pytest.mark.parametrize("data, words", [
    (b"", "empty input"),
    (b"<stream>", "un-packetized"),
    (make_das2_stream(3, das2.encode_exception("ServerError", "disk on fire")), "disk on fire"),
    (das2.encode_header_packet(0, das2.StreamHeader().to_xml()) + das2.encode_header_packet(
        4, '<packet><y type="ascii10" units=""></y></packet>'), "no <x> plane"),
])
def test_errors_are_one_line(data: bytes, words: str, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    status, output, error = run_main(das2_cdf.main, ["-T", str(tmp_path)], data, monkeypatch)
    assert status == 1 and output == b""
    assert error.startswith("das2_cdf: error:") and error.count("\n") == 1 and words in error
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone


def test_bad_global_option(monkeypatch: pytest.MonkeyPatch) -> None:
    status, _, error = run_main(das2_cdf.main, ["-g", "novalue"], b"", monkeypatch)
    assert status == 2 and "NAME=VALUE" in error


def test_chunked_writer_chains_index_records(tmp_path: Path) -> None:
    path = tmp_path / "chunks.cdf"
    writer = ChunkedCdf(path, chunk_bytes=64)
    writer.define("t", CDF_TIME_TT2000, (), {"UNITS": "ns"})
    writer.define("v", CDF_DOUBLE, (2,), {"UNITS": "V"})
    writer.define_constant("tags", CDF_DOUBLE, np.array([1.0, 2.0]), {"UNITS": "Hz"})
    times, values = [], []
    rng = np.random.default_rng(7)
    for block in range(3 * VXR_ENTRIES):
        count = int(rng.integers(1, 12))
        times.append(np.arange(count, dtype=np.int64) + 100 * block)
        values.append(rng.standard_normal((count, 2)))
        writer.append("t", times[-1])
        writer.append("v", values[-1])
    assert writer.records("v") == sum(len(part) for part in values)
    writer.write_variable_attributes({"v": {"VALIDMIN": [-9.0, "CDF_DOUBLE"]}})
    writer.write_global_attributes({"Project": "chunks"})
    writer.close()
    cdf = cdflib.CDF(str(path))
    np.testing.assert_array_equal(cdf.varget("t"), np.concatenate(times))
    np.testing.assert_array_equal(cdf.varget("v"), np.concatenate(values))
    np.testing.assert_array_equal(cdf.varget("tags"), [1.0, 2.0])
    assert cdf.varattsget("v")["VALIDMIN"] == -9.0
    assert cdf.globalattsget()["Project"] == ["chunks"]


def test_chunked_writer_rejects_wrong_shape(tmp_path: Path) -> None:
    writer = ChunkedCdf(tmp_path / "shape.cdf")
    writer.define("v", CDF_DOUBLE, (3,), {})
    with pytest.raises(ValueError, match="shape"):
        writer.append("v", np.zeros((2, 4)))
    writer.close()


def _peak_memory(source: Path) -> tuple[int, bytes]:
    """Peak resident bytes (VmHWM) of das2_cdf converting ``source``, and its output."""
    # VmHWM, not ru_maxrss: the latter inherits the (large) parent's peak across exec
    script = ("import sys\nfrom dasflex_core.tools.das2_cdf import main\ncode = main([])\n"
              "peak = [line.split()[1] for line in open('/proc/self/status')\n"
              "        if line.startswith('VmHWM')][0]\n"
              "sys.stderr.write('PEAK %s\\n' % peak)\nsys.exit(code)")
    with source.open("rb") as stdin:
        result = subprocess.run([sys.executable, "-c", script], stdin=stdin,
                                capture_output=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stderr.decode().split("PEAK ")[-1]) * 1024, result.stdout


def test_memory_stays_bounded(tmp_path: Path) -> None:
    """Converting 60 MB needs little more memory than converting 40 kB."""
    from bench.streams import write_yscan_stream

    small, big = tmp_path / "small.d2s", tmp_path / "big.d2s"
    write_yscan_stream(small, 0.04)
    size = write_yscan_stream(big, 60)
    baseline, _ = _peak_memory(small)
    peak, output = _peak_memory(big)
    assert peak - baseline < min(size / 2, 32e6)
    out = tmp_path / "big.cdf"
    out.write_bytes(output)
    cdf = cdflib.CDF(str(out))
    assert cdf.varinq("Epoch").Last_Rec + 1 == cdf.varinq("wave").Last_Rec + 1 > 10_000
