"""The table model and its five writers (das2_parquet, das2_netcdf, das2_votable, das2_json,
das2_plaincsv) on hand-made das2 and das3 streams: layouts, fill, several packet types,
redefinitions, no-data streams, errors and streaming."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs import das2
from dasflex_core.codecs import das3 as d3
from dasflex_core.codecs.das2_labels import plain_label
from dasflex_core.errors import StreamError
from dasflex_core.tools import das2_json, das2_netcdf, das2_parquet, das2_plaincsv, das2_votable
from dasflex_core.tools.readback import READERS
from dasflex_core.tools.table import parquet
from dasflex_core.tools.table.model import Kind, das2_layout, das3_layout, unique_name

US2000_2020 = 631_152_000e6
NS_2020 = 1_577_836_800 * 10**9
STREAM_XML = '<stream version="2.2"><properties title="Test!cstream" zFill="-1e31"/></stream>'
SPECTRUM_XML = (
    '<packet><x type="little_endian_real8" units="us2000"/>'
    '<y type="sun_real4" name="density" units="cm**-3"><properties yLabel="n!de!n" yFill="-999"/></y>'
    '<yscan type="little_endian_real4" name="power" nitems="3" yUnits="Hz" zUnits="V**2 Hz**-1" '
    'yTags="10,100,1000"><properties zLabel="Power"/></yscan></packet>')
WAVE_XML = ('<packet><x type="little_endian_real8" units="us2000"/>'
            '<yscan type="little_endian_real4" name="wave" nitems="4" yUnits="ms" zUnits="V/m" '
            'yTagInterval="0.5" yTagMin="0"/></packet>')
TOOLS: dict[str, Callable[[Sequence[str]], int]] = {
    "parquet": das2_parquet.main, "netcdf": das2_netcdf.main, "votable": das2_votable.main,
    "json": das2_json.main, "csv": das2_plaincsv.main,
}


def header(xml: str, packet_id: int = 1) -> das2.PacketHeader:
    return das2.parse_packet_header(xml.encode(), packet_id)


def records(xml: str, count: int, start: int = 0, packet_id: int = 1) -> bytes:
    """``count`` records of the packet ``xml``: times a second apart from 2020-01-01."""
    parsed = header(xml, packet_id)
    rows = np.zeros(count, dtype=parsed.record_dtype)
    steps = np.arange(start, start + count)
    for name, plane in zip(parsed.fields, parsed.planes, strict=True):
        if plane.kind == "x":
            rows[name] = US2000_2020 + steps * 1e6
        elif plane.kind == "yscan":
            rows[name] = steps[:, None] * 10.0 + np.arange(plane.nitems)
        else:
            rows[name] = steps * 0.5
    return das2.encode_records(parsed, rows)


def stream(*parts: bytes) -> bytes:
    return das2.encode_header_packet(0, STREAM_XML) + b"".join(parts)


def run(tool: str, data: bytes, monkeypatch: pytest.MonkeyPatch,
        argv: Sequence[str] = ()) -> tuple[int, bytes, str]:
    stdin = io.TextIOWrapper(io.BytesIO(data))
    stdout = io.TextIOWrapper(io.BytesIO())
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    status = TOOLS[tool](list(argv))
    stdout.flush()
    return status, stdout.buffer.getvalue(), stderr.getvalue()  # type: ignore[attr-defined]


def converted(tool: str, data: bytes, monkeypatch: pytest.MonkeyPatch,
              argv: Sequence[str] = ()) -> bytes:
    status, output, error = run(tool, data, monkeypatch, argv)
    assert status == 0, error
    return output


# ----------------------------------------------------------------------------- the model


def test_das2_packet_layout() -> None:
    stream_header = das2.parse_stream_header(STREAM_XML.encode())
    layout = das2_layout(header(SPECTRUM_XML), stream_header, "spectrum")
    time_column, density, power = layout.table.columns
    assert (time_column.name, time_column.kind, time_column.units) == ("time", Kind.TIME, "UTC")
    assert (density.units, density.label, density.fill, density.width) == \
        ("cm**-3", "ne", -999.0, 1)
    assert (power.units, power.label, power.fill) == ("V**2 Hz**-1", "Power", -1e31)
    assert power.axis is not None and power.axis.name == "frequency"
    assert power.axis.values == (10.0, 100.0, 1000.0) and power.axis.units == "Hz"
    assert layout.table.title == "Test stream"


def test_fill_values_are_missing_within_das2c_tolerance() -> None:
    parsed = header(SPECTRUM_XML)
    rows = np.zeros(3, dtype=parsed.record_dtype)
    rows["x0"] = US2000_2020 + np.arange(3)
    rows["y1"] = [-999.0, -999.0 * (1 + 5e-6), -999.0 * 1.01]
    rows["yscan2"] = [[1, -1e31, 2], [3, 4, 5], [-1e31, -1e31, -1e31]]
    batch = das2_layout(parsed, None, "t").batch(rows)
    np.testing.assert_array_equal(batch.missing[1], [True, True, False])
    np.testing.assert_array_equal(batch.missing[2], [[False, True, False], [False] * 3, [True] * 3])
    np.testing.assert_array_equal(batch.values[0], NS_2020 + np.arange(3) * 1000)


def test_waveform_offsets_are_an_axis_of_time_offsets() -> None:
    layout = das2_layout(header(WAVE_XML), None, "wave")
    wave = layout.table.columns[1]
    assert wave.axis is not None and wave.axis.name == "time_offset"
    assert wave.axis.values == (0.0, 0.5, 1.0, 1.5) and wave.axis.units == "ms"


@pytest.mark.parametrize(("units", "axis"), [("kHz", "frequency"), ("s", "time_offset"),
                                             ("keV", "energy"), ("channel #", "ytags"),
                                             ("", "ytags")])
def test_axes_are_named_from_the_ytag_units(units: str, axis: str) -> None:
    xml = WAVE_XML.replace('yUnits="ms"', f'yUnits="{units}"')
    wave = das2_layout(header(xml), None, "wave").table.columns[1]
    assert wave.axis is not None and wave.axis.name == axis


def test_z_planes_make_y_a_coordinate() -> None:
    xml = ('<packet><x type="little_endian_real8" units="t2000"/>'
           '<y type="little_endian_real8" name="energy" units="eV"/>'
           '<z type="little_endian_real4" name="flux" units="counts"/></packet>')
    columns = das2_layout(header(xml), None, "flux").table.columns
    assert [(c.name, c.role) for c in columns] == [("time", "coord"), ("energy", "coord"),
                                                   ("flux", "data")]


DAS3_WAVE = b"""<dataset name="burst" rank="2" index="*;4">
  <coord physDim="time" axis="t">
    <scalar use="reference" semantic="datetime" units="us2000" index="*;-">
      <packet numItems="1" itemBytes="8" encoding="LEreal"/>
    </scalar>
    <scalar use="offset" semantic="real" units="s" index="-;*">
      <sequence minval="0" interval="0.25"/>
    </scalar>
  </coord>
  <data physDim="E" name="efield">
    <scalar use="center" semantic="real" units="V/m" index="*;*">
      <packet numItems="4" itemBytes="4" encoding="LEreal" fill="-1e31"/>
    </scalar>
  </data>
</dataset>"""


def test_das3_waveform_layout() -> None:
    dataset = d3.parse_dataset(DAS3_WAVE)
    table = das3_layout(dataset, None, "burst").table
    time_column, efield = table.columns
    assert time_column.kind is Kind.TIME and time_column.name == "time"
    assert efield.axis is not None and efield.axis.name == "time_offset"
    assert efield.axis.values == (0.0, 0.25, 0.5, 0.75) and efield.axis.units == "s"
    assert efield.fill == -1e31 and efield.ucd == "phys.elecField"


def test_das3_datasets_without_a_table_form_are_refused() -> None:
    rank3 = DAS3_WAVE.replace(b'rank="2" index="*;4"', b'rank="3" index="*;4;2"')
    with pytest.raises(StreamError, match="rank 3"):
        das3_layout(d3.parse_dataset(rank3.replace(b'index="*;-"', b'index="*;-;-"')
                                     .replace(b'index="-;*"', b'index="-;*;-"')
                                     .replace(b'index="*;*"', b'index="*;*;*"')), None, "x")
    ragged = DAS3_WAVE.replace(b'index="*;4"', b'index="*;*"').replace(b'numItems="4"',
                                                                        b'numItems="*"')
    with pytest.raises(StreamError, match="no table form"):
        das3_layout(d3.parse_dataset(ragged), None, "x")


def test_labels_and_names() -> None:
    assert plain_label("B!dx!n (nT) !! !Aup!n") == "Bx (nT) ! up"
    taken: set[str] = set()
    assert [unique_name("a", taken) for _ in range(3)] == ["a", "a_2", "a_3"]


# ----------------------------------------------------------------------------- the writers


def two_packet_types() -> bytes:
    """Interleaved records of two packet types (ids 1 and 2), then a re-sent header 1."""
    return stream(das2.encode_header_packet(1, SPECTRUM_XML), records(SPECTRUM_XML, 3),
                  das2.encode_header_packet(2, WAVE_XML), records(WAVE_XML, 2, 0, 2),
                  records(SPECTRUM_XML, 2, 3), records(WAVE_XML, 1, 2, 2),
                  das2.encode_header_packet(1, SPECTRUM_XML), records(SPECTRUM_XML, 1, 5))


def test_json_holds_every_packet_type_as_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    document = json.loads(converted("json", two_packet_types(), monkeypatch))
    first, second = document["tables"]
    assert (first["name"], len(first["data"])) == ("packet_01", 6)
    assert (second["name"], len(second["data"])) == ("wave", 3)
    assert [row[0] for row in second["data"]] == [
        "2020-01-01T00:00:00.000000000Z", "2020-01-01T00:00:01.000000000Z",
        "2020-01-01T00:00:02.000000000Z"]
    assert first["data"][4][2] == [40.0, 41.0, 42.0]
    assert second["axes"]["time_offset"]["values"] == [0.0, 0.5, 1.0, 1.5]
    assert document["title"] == "Test stream"


def test_votable_and_csv_hold_every_packet_type(monkeypatch: pytest.MonkeyPatch) -> None:
    from astropy.io.votable import parse

    data = two_packet_types()
    for argv in ((), ("-b",)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = list(parse(io.BytesIO(converted("votable", data, monkeypatch,
                                                     argv))).iter_tables())
        assert [len(t.array) for t in tables] == [6, 3]
        assert tables[0].array["power"][4].tolist() == [40.0, 41.0, 42.0]
    text = converted("csv", data, monkeypatch).decode()
    blocks = text.split("\r\n\r\n")
    assert len(blocks) == 2 and blocks[1].startswith("time (UTC),wave_0 (V/m),")
    assert len(blocks[0].strip().splitlines()) == 7


def test_parquet_holds_the_union_of_packet_types(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(converted("parquet", two_packet_types(), monkeypatch)))
    assert table.column_names == ["dataset", "time", "density", "power", "wave"]
    assert table.column("dataset").to_pylist() == ["packet_01"] * 3 + ["wave"] * 2 + \
        ["packet_01"] * 2 + ["wave"] + ["packet_01"]
    assert table.column("wave").null_count == 6 and table.column("power").null_count == 3


def test_netcdf_puts_further_packet_types_in_groups(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    import xarray as xr

    path = tmp_path / "two.nc"
    path.write_bytes(converted("netcdf", two_packet_types(), monkeypatch))
    with xr.open_dataset(path) as root, xr.open_dataset(path, group="wave") as wave:
        assert root.attrs["datasets"] == "packet_01 wave"
        assert root["power"].shape == (6, 3) and wave["wave"].shape == (3, 4)
        assert root["density"].attrs["long_name"] == "ne"
        assert list(wave["time_offset"].values) == [0.0, 0.5, 1.0, 1.5]


def test_fill_is_missing_in_every_format(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    import xarray as xr

    parsed = header(SPECTRUM_XML)
    rows = np.zeros(2, dtype=parsed.record_dtype)
    rows["x0"] = US2000_2020 + np.arange(2) * 1e6
    rows["y1"] = [-999.0, 1.5]
    rows["yscan2"] = [[1, -1e31, 2], [3, 4, 5]]
    data = stream(das2.encode_header_packet(1, SPECTRUM_XML), das2.encode_records(parsed, rows))
    document = json.loads(converted("json", data, monkeypatch))
    assert document["tables"][0]["data"][0][1:] == [None, [1.0, None, 2.0]]
    table = pq.read_table(io.BytesIO(converted("parquet", data, monkeypatch)))
    assert table.column("density").to_pylist() == [None, 1.5]
    assert table.column("power").to_pylist()[0] == [1.0, None, 2.0]
    path = tmp_path / "fill.nc"
    path.write_bytes(converted("netcdf", data, monkeypatch))
    with xr.open_dataset(path) as dataset:
        assert np.isnan(dataset["density"].values[0]) and dataset["density"].values[1] == 1.5
        assert dataset["density"].encoding["_FillValue"] == np.float32(-999.0)
    csv_rows = converted("csv", data, monkeypatch).decode().splitlines()
    assert csv_rows[1].split(",")[1:] == ["", "1.0", "", "2.0"]


def test_no_data_gives_an_empty_document(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    data = stream(das2.encode_exception("NoDataInInterval", "nothing here"))
    assert json.loads(converted("json", data, monkeypatch))["tables"] == []
    assert pq.read_table(io.BytesIO(converted("parquet", data, monkeypatch))).num_rows == 0
    assert b"<RESOURCE" in converted("votable", data, monkeypatch)
    assert converted("netcdf", data, monkeypatch)[:4] == b"\x89HDF"
    with_header = stream(das2.encode_header_packet(1, WAVE_XML),
                         das2.encode_exception("NoDataInInterval", "nothing"))
    table = json.loads(converted("json", with_header, monkeypatch))["tables"][0]
    assert table["name"] == "wave" and table["data"] == []


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_other_exceptions_fail_with_one_line(tool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = stream(das2.encode_header_packet(1, WAVE_XML), records(WAVE_XML, 2),
                  das2.encode_exception("ServerError", "disk gone"))
    status, _, error = run(tool, data, monkeypatch)
    assert status == 1 and "disk gone" in error and len(error.strip().splitlines()) == 1


def test_a_late_packet_type_with_new_columns_fails_parquet_clearly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", 64)
    data = stream(das2.encode_header_packet(1, WAVE_XML), records(WAVE_XML, 5),
                  das2.encode_header_packet(2, SPECTRUM_XML), records(SPECTRUM_XML, 1, 0, 2))
    status, _, error = run("parquet", data, monkeypatch)
    assert status == 1 and "ask for netcdf, votable or json" in error


def test_parquet_writes_row_groups_as_data_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", 1000)
    data = stream(das2.encode_header_packet(1, WAVE_XML), records(WAVE_XML, 300))
    output = converted("parquet", data, monkeypatch)
    reader = pq.ParquetFile(io.BytesIO(output))
    assert reader.metadata.num_rows == 300 and reader.metadata.num_row_groups > 1


def test_das3_input_and_big_endian_values(monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = d3.parse_dataset(DAS3_WAVE)
    rows = np.zeros(2, dtype=[("time:reference", "<f8"), ("efield:center", "<f4", (4,))])
    rows["time:reference"] = [US2000_2020, US2000_2020 + 0.5]
    rows["efield:center"] = [[1, 2, 3, -1e31], [5, 6, 7, 8]]
    data = (d3.encode_packet("Sx", None, b'<stream type="das-basic-stream" version="3.0"/>')
            + d3.encode_header(1, DAS3_WAVE) + d3.encode_records(1, dataset, rows))
    table = json.loads(converted("json", data, monkeypatch))["tables"][0]
    assert table["name"] == "burst"
    assert table["data"][1] == ["2020-01-01T00:00:00.000000500Z", [5.0, 6.0, 7.0, 8.0]]
    assert table["data"][0][1][3] is None
    big = stream(das2.encode_header_packet(1, SPECTRUM_XML), records(SPECTRUM_XML, 2))
    assert json.loads(converted("json", big, monkeypatch))["tables"][0]["data"][1][1] == 0.5


def test_text_options_set_the_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    data = stream(das2.encode_header_packet(1, SPECTRUM_XML), records(SPECTRUM_XML, 2))
    rows = converted("csv", data, monkeypatch, ["-s", "3", "-r", "3"]).decode().splitlines()
    assert rows[2].startswith("2020-01-01T00:00:01.000Z,5.00e-01,")


# ----------------------------------------------------------------------------- streaming


def yscan_records(count: int, start: int) -> bytes:
    """Records of 1024 random floats (incompressible, so Parquet output is as big as its input)."""
    parsed = header(WAVE_XML.replace('nitems="4"', 'nitems="1024"'))
    rows = np.zeros(count, dtype=parsed.record_dtype)
    rows["x0"] = US2000_2020 + np.arange(start, start + count) * 1e6
    rows["yscan1"] = np.random.default_rng(start).standard_normal((count, 1024))
    return das2.encode_records(parsed, rows)


@pytest.mark.parametrize("program", ["das2_json", "das2_votable", "das2_plaincsv",
                                     "das2_parquet"])
def test_rows_stream_out_before_the_input_ends(program: str) -> None:
    """About 24 MB of records in, output appears while stdin is still open."""
    wave = WAVE_XML.replace('nitems="4"', 'nitems="1024"')
    process = subprocess.Popen([sys.executable, "-m", f"dasflex_core.tools.{program}"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    assert process.stdin is not None and process.stdout is not None
    output = process.stdout
    first_bytes = threading.Event()

    def drain() -> None:
        while output.read1(1 << 16):
            first_bytes.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process.stdin.write(stream(das2.encode_header_packet(1, wave)))
        for block in range(24):
            process.stdin.write(yscan_records(256, block * 256))
        process.stdin.flush()
        assert first_bytes.wait(60), f"{program} wrote nothing before its input ended"
    finally:
        process.kill()
        process.wait()
        reader.join(10)
        process.stdin.close()
        output.close()


# ----------------------------------------------------------------------------- missing modules


BLOCKED = "import sys; sys.modules['pyarrow'] = None; sys.modules['netCDF4'] = None\n"


def python_without_heavy_formats(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKED + code], capture_output=True, text=True,
                          timeout=120)


def test_tools_without_their_library_say_how_to_install_it() -> None:
    done = python_without_heavy_formats(
        "from dasflex_core.tools import das2_parquet, das2_netcdf\n"
        "print(das2_parquet.main([]), das2_netcdf.main([]))\n")
    assert done.stdout.split() == ["2", "2"]
    assert "pip install 'dasflex[parquet]'" in done.stderr
    assert "pip install 'dasflex[netcdf]'" in done.stderr


def test_a_server_without_the_libraries_does_not_offer_the_formats() -> None:
    done = python_without_heavy_formats(
        "from dasflex_core.planner import default_planner, plan\n"
        "from dasflex_core.errors import NoPipelineError\n"
        "from dasflex_core.model import CommandDef, CommandRole, SourceDef, DAS2_BINARY\n"
        "reader = CommandDef('r', CommandRole.READER, ('rdr', '#[read.time.min]'), DAS2_BINARY)\n"
        "source = SourceDef('A/B', 'B', '/x/B.dsdf', commands=(reader,))\n"
        "print(sorted(o.type for o in default_planner().output_formats(source)))\n"
        "query = {'read.time.min': '2001-01-01', 'read.time.max': '2001-01-02'}\n"
        "for kind in ('parquet', 'netcdf', 'json'):\n"
        "    try:\n"
        "        print(kind, plan(source, {**query, 'format.type': kind}).stages[-1])\n"
        "    except NoPipelineError as error:\n"
        "        print(kind, 'refused', error)\n")
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert "parquet" not in lines[0] and "netcdf" not in lines[0] and "json" in lines[0]
    assert lines[1].startswith("parquet refused") and lines[2].startswith("netcdf refused")
    assert lines[3] == "json ('das2_json',)"


# ----------------------------------------------------------------------------- dasflex verify


def test_readback_counts_rows_of_every_format(monkeypatch: pytest.MonkeyPatch) -> None:
    data = two_packet_types()
    tools = {"csv-plain": ("csv", ()), "parquet": ("parquet", ()), "netcdf": ("netcdf", ()),
             "votable": ("votable", ()), "votable-binary": ("votable", ("-b",)),
             "json": ("json", ())}
    for output, (tool, argv) in tools.items():
        assert READERS[output](converted(tool, data, monkeypatch, argv)) == 9, output


#: Reads one NetCDF file back on four threads at once, many times (dasflex verify's pool).
CONCURRENT_NETCDF = """
import sys, threading
from dasflex_core.tools import readback
data = open(sys.argv[1], "rb").read()
read = getattr(readback, sys.argv[2])
def work():
    for _ in range(40):
        assert read(data) == 9
threads = [threading.Thread(target=work) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("ok")
"""


def test_netcdf_read_back_is_safe_on_several_threads(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """netCDF4 crashes when two threads read at once: the read-back takes one file at a time."""
    path = tmp_path / "two.nc"
    path.write_bytes(converted("netcdf", two_packet_types(), monkeypatch))
    done = subprocess.run([sys.executable, "-c", CONCURRENT_NETCDF, str(path), "netcdf_rows"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]


@pytest.mark.parametrize(("output", "body", "words"), [
    ("json", b'{"tables": [{"columns": [1, 2], "data": [[1]]}]}', "1 items, not 2"),
    ("json", b'{"tables": []}', "no data row"),
    ("parquet", b"PAR1 not really", "does not read back"),
    ("netcdf", b"\x89HDF garbage", "does not read back"),
    ("votable", b"<VOTABLE", "not well-formed"),
    ("csv-plain", b"time (UTC),v\r\n2020-01-01T00:00:00Z,1,2\r\n", "3 cells, the header 2"),
])
def test_readback_rejects_broken_documents(output: str, body: bytes, words: str) -> None:
    with pytest.raises(StreamError, match=words):
        READERS[output](body)
