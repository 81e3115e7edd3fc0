"""The HAPI encoder on a hand-made das2 stream: exact range, fill, csv/binary/json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Reader
from dasflex_core.errors import ReaderError
from dasflex_core.protocols.hapi_encode import JSON_TAIL, HapiEncoder
from dasflex_core.protocols.hapi_info import parameters_from_header
from tests.support.das2_streams import header_packet

HEADER = (b'<packet><x type="little_endian_real8" units="t2000"/>'
          b'<y type="little_endian_real4" name="amp" units="V"><properties yFill="-1e31"/></y>'
          b'<yscan type="little_endian_real8" nitems="2" yTags="10,20" yUnits="Hz" zUnits="W"/>'
          b"</packet>\n")


def stream(seconds: list[float], amps: list[float]) -> bytes:
    records = np.zeros(len(seconds), dtype=[("tag", "S4"), ("x", "<f8"), ("y", "<f4"),
                                            ("s", "<f8", (2,))])
    records["tag"] = b":01:"
    records["x"] = seconds
    records["y"] = amps
    records["s"] = [[i, i + 0.5] for i in range(len(seconds))]
    return (header_packet("00", '<stream version="2.2"></stream>\n')
            + header_packet("01", HEADER.decode())
            + records.tobytes())


def encode(data: bytes, output: str, names: list[str], start: float, stop: float) -> bytes:
    reader = Das2Reader()
    encoder = HapiEncoder(names, output, start * 1e6, stop * 1e6)
    middle = len(data) // 2
    return (encoder.feed(reader.feed(data[:middle])) + encoder.feed(reader.feed(data[middle:]))
            + encoder.feed(reader.close()))


DATA = stream([0.0, 1.0, 2.0, 3.0], [1.5, -1e31, 2.5, 3.5])


def test_info_parameters_from_the_header() -> None:
    reader = Das2Reader()
    header = next(e.header for e in reader.feed(DATA) if type(e).__name__ == "HeaderDefined")
    amp, scan = parameters_from_header(header)
    assert amp == {"name": "amp", "type": "double", "units": "V", "fill": None}
    assert scan["name"] == "YSCAN_0" and scan["size"] == [2] and scan["units"] == "W"
    assert scan["bins"] == [{"name": "frequency", "units": "Hz", "centers": [10.0, 20.0]}]


def test_csv_is_exact_and_fill_is_nan() -> None:
    text = encode(DATA, "csv", ["amp", "YSCAN_0"], 1.0, 3.0).decode()
    assert text == ("2000-01-01T00:00:01.000Z,NaN,1.000000000e+00,1.500000000e+00\n"
                    "2000-01-01T00:00:02.000Z,2.500000e+00,2.000000000e+00,2.500000000e+00\n")


def test_binary_layout() -> None:
    raw = encode(DATA, "binary", ["YSCAN_0"], 0.0, 10.0)
    records = np.frombuffer(raw, dtype=[("t", "S24"), ("s", "<f8", (2,))])
    assert records["t"][3] == b"2000-01-01T00:00:03.000Z"
    assert records["s"][2].tolist() == [2.0, 2.5]


def test_json_rows_make_a_valid_document() -> None:
    rows = encode(DATA, "json", ["amp", "YSCAN_0"], 0.0, 10.0)
    document = json.loads(b'{"data": [' + rows + JSON_TAIL)
    assert document["data"][1] == ["2000-01-01T00:00:01.000Z", None, [1.0, 1.5]]
    assert len(document["data"]) == 4


def test_only_time_and_unknown_planes() -> None:
    assert encode(DATA, "csv", [], 2.0, 3.0) == b"2000-01-01T00:00:02.000Z\n"
    from dasflex_core.errors import StreamError

    with pytest.raises(StreamError):
        encode(DATA, "csv", ["nope"], 0.0, 10.0)


def test_an_exception_packet_aborts() -> None:
    bad = DATA + header_packet("xx", '<exception type="ServerError" message="disk" />\n')
    with pytest.raises(ReaderError):
        encode(bad, "csv", ["amp"], 0.0, 10.0)
    fine = DATA + header_packet("xx", '<exception type="NoDataInInterval" message="x" />\n')
    assert encode(fine, "csv", ["amp"], 0.0, 10.0).count(b"\n") == 4


def test_first_record_at_stop_ends_the_output() -> None:
    reader = Das2Reader()
    encoder = HapiEncoder(["amp"], "csv", 0.0, 1.5e6)
    text = encoder.feed(reader.feed(DATA)) + encoder.feed(reader.close())
    assert encoder.done
    assert text.count(b"\n") == 2
