"""Tests of the das2 <-> das3 converter tools (das2_to_das3, das3_to_das2)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs import das2, das3
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException
from dasflex_core.tools import das2_to_das3, das3_to_das2
from dasflex_core.tools.convert.to_das2 import AsDas2
from dasflex_core.tools.convert.to_das3 import Das2ToDas3
from tests.support.das2_streams import make_das2_stream
from tests.support.tools import run_main

BINARY_DAS2 = ("x_multi_y.d2s", "syn_epochs.d2s", "syn_waveform.d2s", "syn_binary_mixed.d2s",
               "cassini_rpws_wfrm_sample.d2s", "das2_bin_avgsec_input2.d2s", "syn_deflate.d2s")
TEXT_DAS2 = ("juno_waves_sample.d2t", "galileo_pws_sample.d2t", "syn_redefine_oob.d2t",
             "ex13_marsis_bmag.d2t")
CONVERTIBLE_DAS3 = ("ex24_isee_rapid_rank1.d3b", "ex25_isee_rapid_rank2.d3b",
                    "ex17_vector_noframe.d3b", "ex23_props.d3t", "das3_csv_unsigned_test.d3b",
                    "tag_test.dNt")

def data_runs(events: Sequence[object]) -> list[DataRun]:
    return [event for event in events if isinstance(event, DataRun)]


def das2_columns(events: Sequence[object]) -> dict[int, dict[str, np.ndarray]]:
    """Every das2 field's values, concatenated per packet id (float64)."""
    columns: dict[int, dict[str, list[np.ndarray]]] = {}
    for run in data_runs(events):
        per_id = columns.setdefault(run.packet_id, {})
        for name in run.header.fields:
            per_id.setdefault(name, []).append(np.asarray(run.records[name], dtype=np.float64))
    return {pid: {name: np.concatenate(parts) for name, parts in fields.items()}
            for pid, fields in columns.items()}


def conformance_file(conformance_dir: Path, name: str) -> Path:
    folder = "das3" if ".d3" in name or name.endswith(".dNt") else "das2"
    return conformance_dir / folder / name


# --------------------------------------------------------------------------
# das2_to_das3


@pytest.mark.parametrize("name", BINARY_DAS2 + TEXT_DAS2)
def test_das2_to_das3_round_trip_keeps_values(conformance_dir: Path, name: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = conformance_file(conformance_dir, name).read_bytes()
    status, das3_bytes, error = run_main(das2_to_das3.main, [], data, monkeypatch)
    assert status == 0, error
    assert das3_bytes.startswith(b"|Sx|")
    back = b"".join(bytes(event.raw) for event in
                    AsDas2().events(das3.read_all(das3_bytes, 4096)))
    original = das2_columns(das2.read_all(data))
    converted = das2_columns(das2.read_all(back))
    assert original.keys() == converted.keys()
    for packet_id, fields in original.items():
        for name_, values in fields.items():
            got = converted[packet_id][name_]
            if name in BINARY_DAS2:
                np.testing.assert_array_equal(got, values)
            else:  # text: das2C widens asciiN by two digits; times keep their text
                np.testing.assert_allclose(got, values, rtol=1e-6, atol=1e-3)


def test_das2_to_das3_fast_path_matches_field_by_field(conformance_dir: Path) -> None:
    data = (conformance_dir / "das2" / "syn_binary_mixed.d2s").read_bytes()
    events = das2.read_all(data)
    fast = Das2ToDas3()
    fast_bytes = b"".join(bytes(fast.convert(event)) for event in events)
    assert all(layout.fast for layout in fast._layouts.values())
    slow = Das2ToDas3()
    pieces = []
    for event in events:
        if isinstance(event, DataRun):
            slow._layouts[event.packet_id].fast = False
        pieces.append(bytes(slow.convert(event)))
    assert b"".join(pieces) == fast_bytes


def test_das2_to_das3_matches_the_codec_mapping(conformance_dir: Path) -> None:
    from dasflex_core.codecs.das2to3_stream import convert_das2_to_das3

    for name in ("syn_epochs.d2s", "juno_waves_sample.d2t", "syn_redefine_oob.d2t"):
        events = das2.read_all(conformance_file(conformance_dir, name).read_bytes())
        converter = Das2ToDas3()
        mine = b"".join(bytes(converter.convert(event)) for event in events)
        assert mine == b"".join(convert_das2_to_das3(events)), name


def test_das2_to_das3_carries_comments_and_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = (das2.encode_comment("taskProgress", "reader", "50")
             + das2.encode_exception("NoDataInInterval", "nothing after 2001")
             + das2.encode_exception("IllegalArgument", "bad parameter")
             + das2.encode_exception("Oddity", "strange"))
    status, output, _ = run_main(das2_to_das3.main, [], make_das2_stream(5, extra), monkeypatch)
    assert status == 0
    events = das3.read_all(output)
    comments = [event for event in events if isinstance(event, Comment)]
    exceptions = [event for event in events if isinstance(event, StreamException)]
    assert [(c.type, c.source, c.value) for c in comments] == [("taskProgress", "reader", "50")]
    assert [(e.type, e.message) for e in exceptions] == [
        ("NoMatchingData", "nothing after 2001"), ("QueryError", "bad parameter"),
        ("ServerError", "strange")]
    assert sum(run.count for run in data_runs(events)) == 5


def test_das2_to_das3_passes_das3_through(conformance_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das3" / "ex25_isee_rapid_rank2.d3b").read_bytes()
    status, output, _ = run_main(das2_to_das3.main, [], data, monkeypatch)
    assert status == 0
    assert output == data


def test_das2_to_das3_text_option(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_das2_stream(8)
    status, output, error = run_main(das2_to_das3.main, ["-t", "-r", "6"], data, monkeypatch)
    assert status == 0, error
    events = das3.read_all(output)
    header = next(event.header for event in events if isinstance(event, HeaderDefined))
    assert any(variable.source.encoding == "utf8" for dim in header.dimensions
               for variable in dim.variables if hasattr(variable.source, "encoding"))
    back = das2_columns(AsDas2().events(events))
    original = das2_columns(das2.read_all(data))
    np.testing.assert_allclose(back[1]["y1"], original[1]["y1"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(back[1]["x0"], original[1]["x0"], atol=1e3)


@pytest.mark.parametrize("data, words", [
    (b"", "empty input"),
    (b"hello world", "not a das2 or das3 stream"),
    (b"[00]000010<stream/>", "stream"),
])
def test_das2_to_das3_bad_input_is_one_line(data: bytes, words: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    status, _, error = run_main(das2_to_das3.main, [], data, monkeypatch)
    assert status == 1
    assert error.count("\n") == 1 and error.startswith("das2_to_das3: error:")
    assert words in error


def test_das2_to_das3_truncated_stream_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_das2_stream(10)
    status, _, error = run_main(das2_to_das3.main, [], data[:-7], monkeypatch)
    assert status == 1
    assert error.startswith("das2_to_das3: error:") and error.count("\n") == 1


def test_das2_to_das3_streams_in_bounded_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long stream converts run by run: every output run is bounded in size."""
    data = make_das2_stream(60_000)
    converter = Das2ToDas3()
    reader = das2.Das2Reader()
    largest = 0
    for start in range(0, len(data), 65_536):
        for event in reader.feed(data[start:start + 65_536]):
            largest = max(largest, len(converter.convert(event)))
    assert 0 < largest <= 2 * das2.DEFAULT_MAX_RUN_BYTES


# --------------------------------------------------------------------------
# das3_to_das2


@pytest.mark.parametrize("name", CONVERTIBLE_DAS3)
def test_das3_to_das2_keeps_values(conformance_dir: Path, name: str,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = conformance_file(conformance_dir, name).read_bytes()
    status, output, error = run_main(das3_to_das2.main, [], data, monkeypatch)
    assert status == 0, error
    assert output.startswith(b"[00]")
    events3 = das3.read_all(data)
    events2 = das2.read_all(output)
    runs3, runs2 = data_runs(events3), data_runs(events2)
    assert sum(run.count for run in runs3) == sum(run.count for run in runs2)
    from dasflex_core.codecs.das2to3 import map_das3_dataset

    for packet_id, fields in das2_columns(events2).items():
        header = next(event.header for event in events3
                      if isinstance(event, HeaderDefined) and event.packet_id == packet_id)
        if isinstance(header, das2.PacketHeader):
            continue
        sources = map_das3_dataset(header, packet_id).sources
        for field, values in fields.items():
            key, component = sources[field]
            column = np.concatenate([np.asarray(run.records[key], dtype=np.float64)
                                     for run in runs3 if run.packet_id == packet_id])
            expected = column if component is None else column[..., component]
            np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_das3_to_das2_fast_path_used_for_binary(conformance_dir: Path) -> None:
    data = (conformance_dir / "das3" / "ex25_isee_rapid_rank2.d3b").read_bytes()
    converter = AsDas2()
    output = b"".join(bytes(event.raw) for event in converter.events(das3.read_all(data)))
    assert all(layout.fast for layout in converter._layouts.values())
    from dasflex_core.codecs.das2to3_stream import convert_das3_to_das2

    assert output == b"".join(convert_das3_to_das2(das3.read_all(data)))


@pytest.mark.parametrize("name, words", [
    ("ex19_cassini_ragged_wfrm.d3t", "Ex_varlen"),
    ("ex26_isee_rapid_rank3.d3b", "sa_rapid"),
    ("ex27_epop_fai_mgf_blob.d3b", "auroral_arcs"),
    ("ex37_wide_fixed_utf8.d3b", "wide_col"),
])
def test_das3_to_das2_refuses_datasets_without_das2_form(
        conformance_dir: Path, name: str, words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das3" / name).read_bytes()
    status, _, error = run_main(das3_to_das2.main, [], data, monkeypatch)
    assert status == 1
    assert error.startswith("das3_to_das2: error:") and error.count("\n") == 1
    assert words in error and "das2 form" in error


def test_das3_to_das2_maps_exceptions_and_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    converter = Das2ToDas3()
    das3_bytes = b"".join(converter.convert(event) for event in das2.read_all(
        make_das2_stream(4)))
    das3_bytes += (das3.encode_comment("log:info", "me", "hello")
                   + das3.encode_exception("NoMatchingData", "none here")
                   + das3.encode_exception("QueryError", "bad"))
    status, output, _ = run_main(das3_to_das2.main, [], das3_bytes, monkeypatch)
    assert status == 0
    events = das2.read_all(output)
    assert [(e.type, e.source, e.value) for e in events if isinstance(e, Comment)] == [
        ("log:info", "me", "hello")]
    assert [(e.type, e.message) for e in events if isinstance(e, StreamException)] == [
        ("NoDataInInterval", "none here"), ("IllegalArgument", "bad")]


def test_das3_to_das2_passes_das2_through(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_das2_stream(6)
    status, output, _ = run_main(das3_to_das2.main, [], data, monkeypatch)
    assert status == 0 and output == data


def test_das3_to_das2_text_option(conformance_dir: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das3" / "ex24_isee_rapid_rank1.d3b").read_bytes()
    status, binary, _ = run_main(das3_to_das2.main, [], data, monkeypatch)
    status_text, text, error = run_main(das3_to_das2.main, ["-t", "-s", "6"], data, monkeypatch)
    assert status == status_text == 0, error
    from dasflex_core.dastime import convert_times

    binary_events = das2.read_all(binary)
    binary_columns = das2_columns(binary_events)
    units = {(run.packet_id, name): plane.units for run in data_runs(binary_events)
             for name, plane in zip(run.header.fields, run.header.planes, strict=True)}
    text_events = das2.read_all(text)
    assert all(not run.header.is_binary for run in data_runs(text_events))
    for packet_id, fields in das2_columns(text_events).items():
        for name, values in fields.items():
            expected = binary_columns[packet_id][name]
            if das2.is_time_units(units[packet_id, name]):  # printed as UTC, read as us2000
                expected = convert_times(expected, units[packet_id, name], "us2000")
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1.0)


def test_das3_das2_das3_round_trip_is_stable(conformance_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = (conformance_dir / "das2" / "x_multi_y.d2s").read_bytes()
    _, first, _ = run_main(das2_to_das3.main, [], data, monkeypatch)
    _, back, _ = run_main(das3_to_das2.main, [], first, monkeypatch)
    _, second, _ = run_main(das2_to_das3.main, [], back, monkeypatch)
    assert das2_columns(das2.read_all(back)) .keys() == das2_columns(das2.read_all(data)).keys()
    assert data_runs(das3.read_all(first))[0].records.tobytes() == \
        data_runs(das3.read_all(second))[0].records.tobytes()


def test_converters_run_as_programs(tmp_path: Path) -> None:
    data = make_das2_stream(100)
    forward = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_to_das3"],
                             input=data, capture_output=True, check=False, timeout=60)
    assert forward.returncode == 0, forward.stderr
    backward = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das3_to_das2"],
                              input=forward.stdout, capture_output=True, check=False, timeout=60)
    assert backward.returncode == 0, backward.stderr
    assert backward.stdout.startswith(b"[00]")
    np.testing.assert_array_equal(das2_columns(das2.read_all(backward.stdout))[1]["yscan2"],
                                  das2_columns(das2.read_all(data))[1]["yscan2"])
    bad = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das3_to_das2", "-r", "99"],
                         input=b"", capture_output=True, check=False, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1
