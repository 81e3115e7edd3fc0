"""das2_hapi: CSV rows, info header, selection and trimming."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np

from dasflex_core.codecs.das2 import Das2Writer, Properties, StreamHeader, parse_packet_header
from dasflex_core.tools.hapi.stream import HapiConfig, hapi_stdin

PACKET = """<packet>
  <x type="little_endian_real8" units="us2000"></x>
  <y type="little_endian_real4" units="nT"><properties yLabel="Bx"/></y>
  <yscan name="spec" type="little_endian_real8" zUnits="V/m" yUnits="Hz" nitems="2" yTags="10,20"/>
  <y name="mag" type="little_endian_real4" units="nT"/>
</packet>"""


def _stream() -> bytes:
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    props = Properties()
    props.set("title", "Probe data")
    writer.write_stream_header(StreamHeader(properties=props))
    header = parse_packet_header(PACKET.encode(), 2)
    header.raw_xml = None
    writer.write_packet_header(header)
    records = np.zeros(3, dtype=header.record_dtype)
    records["x0"] = [0.0, 1e6, 2e6]
    records["y1"] = [1.5, -1e31, 3.0]
    records["yscan2"] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    records["y3"] = [7.0, 8.0, 9.0]
    writer.write_records(header, records)
    return out.getvalue()


def _hapi(**settings) -> str:
    sink = io.BytesIO()
    hapi_stdin(HapiConfig(**settings), io.BytesIO(_stream()), sink)
    return sink.getvalue().decode()


def test_rows_write_every_plane_and_fill_as_nan():
    rows = _hapi().split("\r\n")
    assert rows[0] == "2000-01-01T00:00:00.000, 1.50000e+00, 1.000000000e+00, 2.000000000e+00, 7.00000e+00"
    assert rows[1].split(",")[1] == "NaN"
    assert rows[-1] == "" and len(rows) == 4


def test_parameter_selection_is_exact_and_time_trim_works():
    rows = _hapi(parameters=("mag",), begin=1e6, end=2e6).split("\r\n")
    assert rows == ["2000-01-01T00:00:01.000, 8.00000e+00", ""]
    assert _hapi(parameters=("ag",)).split("\r\n")[0] == "2000-01-01T00:00:00.000"


def test_info_header_is_json_and_prefixed_when_data_follow():
    header = _hapi(info=True, data=False)
    info = json.loads(header)
    assert [p["name"] for p in info["parameters"]] == ["time", "Y_1", "spec", "mag"]
    assert info["parameters"][2]["bins"][0]["centers"] == [10.0, 20.0]
    assert info["parameters"][2]["units"] == "V m**-1" and info["description"] == "Probe data"
    with_data = _hapi(info=True)
    assert with_data.startswith('# { "HAPI":"1.1",') and "\r\n" in with_data


def test_header_only_mode_succeeds_and_bad_options_fail():
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_hapi", "-i", "-n"],
                            input=_stream(), capture_output=True, check=False)
    assert result.returncode == 0 and json.loads(result.stdout)["HAPI"] == "1.1"
    bad = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_hapi", "-p", "0"],
                         input=b"", capture_output=True, check=False)
    assert bad.returncode == 2 and len(bad.stderr.decode().strip().splitlines()) == 1


def test_header_only_row_matches_das2c_but_succeeds(conformance_dir):
    """das2C exits 100 after ``-i -n``; we write the same header and exit 0."""
    directory = conformance_dir / "das2"
    result = subprocess.run([sys.executable, "-m", "dasflex_core.tools.das2_hapi", "-i", "-n"],
                            input=(directory / "das2_bin_avgsec_input2.d2s").read_bytes(),
                            capture_output=True, check=False)
    expected = (directory / "das2_bin_avgsec_input2.d2s.hapi-i-n.expected").read_bytes()
    assert result.returncode == 0 and result.stdout == expected
