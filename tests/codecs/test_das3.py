"""The das3 reader and writer against the das2C conformance vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs import make_reader, stream_version
from dasflex_core.codecs.das2 import Das2Reader
from dasflex_core.codecs.das3 import (
    Das3Reader,
    Das3Writer,
    Dataset,
    StreamHeader3,
    encode_comment,
    encode_exception,
    encode_packet,
    parse_dataset,
    read_all,
)
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import StreamError
from tests.support.das3_columns import columns, flatten

HEAD = encode_packet("Sx", None, b'<stream type="das-basic-stream" version="3.0"/>')
ACCEPTED = [
    "das3_csv_unsigned_test.d3b", "ex12_sounder_xyz.d3t", "ex14_var_len_item.d3t",
    "ex15_vector_frame.d3t", "ex17_vector_noframe.d3b", "ex19_cassini_ragged_wfrm.d3t",
    "ex21_tracers_cdpu_status.d3b", "ex22_mag_grid_vec.d3b", "ex22_mag_grid_vec.d3t",
    "ex23_props.d3t", "ex24_isee_rapid_rank1.d3b", "ex24_isee_rapid_rank1.d3t",
    "ex25_isee_rapid_rank2.d3b", "ex25_isee_rapid_rank2.d3t", "ex26_isee_rapid_rank3.d3b",
    "ex26_isee_rapid_rank3.d3t", "ex27_epop_fai_mgf_blob.d3b", "ex27_epop_fai_mgf_blob.d3t",
    "ex28_epop_fai_mgf_img.d3b", "ex28_epop_fai_mgf_img.d3t", "ex29_ext_contract.d3t",
    "ex29_ext_contract_flat.d3t", "ex30_cassini_ragged_notlast.d3b",
    "ex30_cassini_ragged_notlast.d3t", "ex31_efi_ragged_vec.d3b", "ex31_efi_ragged_vec.d3t",
    "ex32_marsis_2d_ragged.d3b", "ex32_marsis_2d_ragged.d3t", "ex33_cassini_ragged_utf8.d3b",
    "ex33_cassini_ragged_utf8.d3t", "ex34_ragged_fixstr.d3b", "ex34_ragged_fixstr.d3t",
    "ex35_strings_rank2.d3b", "ex35_strings_rank2.d3t", "ex36_events_rank3.d3b",
    "ex36_events_rank3.d3t", "ex37_wide_fixed_utf8.d3b", "ex37_wide_fixed_utf8.d3t",
    "ex38_wbr_wfrm_tags.d3b", "ex38_wbr_wfrm_tags.d3t", "ex39_sandwich.d3b",
    "ex39_sandwich.d3t", "notimp_zero_subrun.d3b", "tag_test.dNt",
]
REJECTED = {
    "reject_rank3_noterm.d3t": "cannot be delimited",
    "reject_sandwich_noterm.d3t": "cannot be delimited",
    "reject_sandwich_partial.d3t": "partial run",
}
PAIRS = ["ex22_mag_grid_vec", "ex24_isee_rapid_rank1", "ex25_isee_rapid_rank2",
         "ex26_isee_rapid_rank3", "ex27_epop_fai_mgf_blob", "ex28_epop_fai_mgf_img",
         "ex30_cassini_ragged_notlast", "ex31_efi_ragged_vec", "ex32_marsis_2d_ragged",
         "ex33_cassini_ragged_utf8", "ex34_ragged_fixstr", "ex35_strings_rank2",
         "ex36_events_rank3", "ex37_wide_fixed_utf8", "ex38_wbr_wfrm_tags", "ex39_sandwich"]


@pytest.fixture(scope="module")
def das3_dir(conformance_dir: Path) -> Path:
    return conformance_dir / "das3"


def _read(das3_dir: Path, name: str, chunk_size: int | None = None) -> list:
    return read_all((das3_dir / name).read_bytes(), chunk_size)


def _run_count(events: list) -> int:
    return sum(event.count for event in events if isinstance(event, DataRun))


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_streams_read_completely(das3_dir: Path, name: str) -> None:
    data = (das3_dir / name).read_bytes()
    events = read_all(data)
    assert isinstance(events[0], StreamStart)
    assert b"".join(bytes(event.raw) for event in events) == data
    assert _run_count(events) == data.count(b"|Pd|")


@pytest.mark.parametrize(("name", "reason"), sorted(REJECTED.items()))
def test_invalid_streams_are_rejected(das3_dir: Path, name: str, reason: str) -> None:
    with pytest.raises(StreamError, match=reason) as caught:
        _read(das3_dir, name)
    assert caught.value.offset is not None


@pytest.mark.parametrize("stem", PAIRS)
def test_binary_and_text_pairs_decode_to_equal_values(das3_dir: Path, stem: str) -> None:
    binary = columns((das3_dir / f"{stem}.d3b").read_bytes())
    text = columns((das3_dir / f"{stem}.d3t").read_bytes())
    assert binary.keys() == text.keys()
    for key, values in binary.items():
        assert len(values) == len(text[key]), key
        if values and isinstance(values[0], (bytes, str)):
            assert values == text[key], key
        else:
            tolerance = 1e3 if "time" in key else 0.0  # text times carry milliseconds
            np.testing.assert_allclose(values, text[key], rtol=6e-4, atol=tolerance,
                                       err_msg=key)


def _structure(value: object) -> object:
    if isinstance(value, list):
        return [_structure(item) for item in value]
    return np.shape(value)


@pytest.mark.parametrize("stem", ["ex30_cassini_ragged_notlast", "ex32_marsis_2d_ragged",
                                  "ex36_events_rank3", "ex39_sandwich", "ex31_efi_ragged_vec"])
def test_ragged_pairs_have_the_same_nesting(das3_dir: Path, stem: str) -> None:
    runs = {}
    for suffix in ("d3b", "d3t"):
        run = next(e for e in _read(das3_dir, f"{stem}.{suffix}") if isinstance(e, DataRun))
        runs[suffix] = [{key: _structure(value) for key, value in record.items()}
                        for record in run.records]
    assert runs["d3b"] == runs["d3t"]


def test_ragged_values_follow_terminators(das3_dir: Path) -> None:
    run = next(e for e in _read(das3_dir, "ex36_events_rank3.d3b") if isinstance(e, DataRun))
    messages = [[list(inner) for inner in record["msgs:center"]] for record in run.records]
    assert messages[:3] == [[["NOMINAL", "LOW PWR"], ["SAFE"]],
                            [["RECOVER"], ["WARM UP", "OK"]], [["IDLE"]]]
    strings = next(e for e in _read(das3_dir, "ex35_strings_rank2.d3b")
                   if isinstance(e, DataRun))
    assert list(strings.records[1]["status:center"]) == ["RECOVER", "LOW RATE", ""]


def test_zero_length_subruns_are_accepted(das3_dir: Path) -> None:
    run = next(e for e in _read(das3_dir, "notimp_zero_subrun.d3b") if isinstance(e, DataRun))
    assert run.records[2]["ais:center"] == []
    assert run.records[2]["mode:center"].tolist() == 1.0


@pytest.mark.parametrize("name", ["ex17_vector_noframe.d3b", "ex24_isee_rapid_rank1.d3t",
                                  "ex39_sandwich.d3b", "ex27_epop_fai_mgf_blob.d3b",
                                  "tag_test.dNt", "ex21_tracers_cdpu_status.d3b"])
@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_chunking_gives_the_same_events(das3_dir: Path, name: str, chunk_size: int) -> None:
    data = (das3_dir / name).read_bytes()
    if chunk_size == 1 and len(data) > 20000:
        data = data[:20000] + b""
        data = data[:data.rindex(b"|Pd|")]
    whole = read_all(data)
    pieces = read_all(data, chunk_size)
    assert [type(e) for e in whole if not isinstance(e, DataRun)] == \
        [type(e) for e in pieces if not isinstance(e, DataRun)]
    assert _run_count(whole) == _run_count(pieces)
    assert columns(data) == columns(data, chunk_size)


def test_fixed_binary_runs_are_structured_views(das3_dir: Path) -> None:
    events = _read(das3_dir, "ex17_vector_noframe.d3b")
    run = next(e for e in events if isinstance(e, DataRun))
    assert run.count == 2441
    assert run.records.dtype["b_tscs:center"] == np.dtype(("<f8", (3,)))
    assert run.records.dtype["time:center"] == np.dtype("<i8")
    assert not run.records.flags.writeable


def test_signed_bytes_stay_signed(das3_dir: Path) -> None:
    run = next(e for e in _read(das3_dir, "das3_csv_unsigned_test.d3b")
               if isinstance(e, DataRun))
    values = run.records["mag_id:center"]
    assert values.dtype == np.dtype("i1") and values.min() < 0


@pytest.mark.parametrize("name", ["ex17_vector_noframe.d3b", "ex22_mag_grid_vec.d3b",
                                  "ex26_isee_rapid_rank3.d3b", "das3_csv_unsigned_test.d3b",
                                  "ex30_cassini_ragged_notlast.d3b", "ex32_marsis_2d_ragged.d3b",
                                  "ex38_wbr_wfrm_tags.d3b", "ex27_epop_fai_mgf_blob.d3b"])
def test_binary_records_reencode_byte_for_byte(das3_dir: Path, name: str) -> None:
    data = (das3_dir / name).read_bytes()
    out: list[bytes] = []
    writer = Das3Writer(out.append)
    for event in read_all(data):
        if isinstance(event, DataRun):
            writer.write_records(event.packet_id, event.records)
        else:
            writer.write_event(event)
    assert b"".join(out) == data


@pytest.mark.parametrize("name", ["ex24_isee_rapid_rank1.d3t", "ex36_events_rank3.d3t",
                                  "ex32_marsis_2d_ragged.d3t", "ex14_var_len_item.d3t",
                                  "ex27_epop_fai_mgf_blob.d3t", "ex39_sandwich.d3t"])
def test_text_records_reencode_to_equal_values(das3_dir: Path, name: str) -> None:
    data = (das3_dir / name).read_bytes()
    out: list[bytes] = []
    writer = Das3Writer(out.append)
    for event in read_all(data):
        if isinstance(event, DataRun):
            writer.write_records(event.packet_id, event.records)
        else:
            writer.write_event(event)
    again, first = columns(b"".join(out)), columns(data)
    assert again.keys() == first.keys()
    for key, values in first.items():
        if values and isinstance(values[0], (str, bytes)):
            assert again[key] == values
        else:
            np.testing.assert_allclose(again[key], values, rtol=1e-3, atol=1e3)


def _rewrite_headers(events: list) -> bytes:
    out: list[bytes] = []
    writer = Das3Writer(out.append)
    writer.write_stream_header(events[0].header)
    for event in events:
        if isinstance(event, HeaderDefined):
            writer.write_dataset(event.packet_id, event.header)
    return b"".join(out)


@pytest.mark.parametrize("name", ["ex22_mag_grid_vec.d3b", "ex26_isee_rapid_rank3.d3b",
                                  "ex36_events_rank3.d3b", "ex23_props.d3t",
                                  "ex28_epop_fai_mgf_img.d3b", "ex12_sounder_xyz.d3t"])
def test_headers_reserialise_stably(das3_dir: Path, name: str) -> None:
    events = _read(das3_dir, name)
    once = _rewrite_headers(events)
    again = read_all(once)
    assert _rewrite_headers(again) == once
    before = [e.header for e in events if isinstance(e, HeaderDefined)]
    after = [e.header for e in again if isinstance(e, HeaderDefined)]
    for old, new in zip(before, after, strict=True):
        assert [key for key, _, _ in old.packet_variables()] == \
            [key for key, _, _ in new.packet_variables()]
        assert (old.shape, old.name, len(old.dimensions)) == (new.shape, new.name,
                                                              len(new.dimensions))


def test_das2c_header_layout(das3_dir: Path) -> None:
    data = (das3_dir / "ex23_props.d3t").read_bytes()  # a das2C-written header
    assert _rewrite_headers(read_all(data)) == data


def test_stream_header_and_properties(das3_dir: Path) -> None:
    header = _read(das3_dir, "ex23_props.d3t")[0].header
    assert isinstance(header, StreamHeader3)
    assert header.version == "3.0"
    assert [frame.name for frame in header.frames]
    dataset = _read(das3_dir, "ex23_props.d3t")[1].header
    assert isinstance(dataset, Dataset)
    props = {prop.name: prop for prop in dataset.properties}
    assert props["cdfVersion"].value() == 3


def test_model_of_a_rank3_dataset(das3_dir: Path) -> None:
    dataset = _read(das3_dir, "ex22_mag_grid_vec.d3b")[1].header
    assert dataset.rank == 3 and dataset.shape == (None, 2, 2)
    space = dataset.coords[1]
    assert space.phys_dim == "space" and space.axis == "y;x"
    vector = space.variables[0]
    assert vector.components == 2 and vector.source.slopes == ((None, 1.0, 0.0),
                                                              (None, 0.0, 1.0))
    calibrated = dataset.data[0].variables[0]
    assert calibrated.source.num_items == 12 and calibrated.source.encoding == "LEreal"


def test_comments_and_exceptions_round_trip() -> None:
    data = HEAD + encode_comment("log:info", "tests", "a <b> & c") + \
        encode_exception("NoMatchingData", "nothing \"here\"")
    events = read_all(data)
    assert isinstance(events[1], Comment)
    assert (events[1].type, events[1].source, events[1].value) == ("log:info", "tests",
                                                                   "a <b> & c")
    assert isinstance(events[2], StreamException)
    assert (events[2].type, events[2].message) == ("NoMatchingData", "nothing \"here\"")
    assert encode_exception("ServerError", "x") == \
        b'|Ex||44|<exception type="ServerError">x</exception>\n'


DATASET = (b'<dataset name="d" rank="1" index="*"><coord physDim="time">'
           b'<scalar semantic="real" units="s" index="*">'
           b'<packet numItems="1" itemBytes="4" encoding="LEreal"/></scalar></coord></dataset>')


@pytest.mark.parametrize(("data", "reason"), [
    (b"|Sj||2|{}", "type 'Sj' are not supported"),
    (HEAD + b"|Hj|1|2|{}", "type 'Hj' are not supported"),
    (HEAD + b"|XX|1|2|ab", "type 'XX' are not supported"),
    (b"[00]000042<stream/>", "das2 stream"),
    (b"<stream version='3.0'/>" + b" " * 30, "un-packetized"),
    (HEAD + b"|Pd|1|4|abcd", "undefined id 1"),
    (HEAD + b"|Hx|1|%d|" % len(DATASET) + DATASET + b"|Pd|1|3|abc", "records are 4 bytes"),
    (HEAD + b"|Hx|1|%d|" % len(DATASET) + DATASET + b"|Pd|1|4|ab", "ends inside a packet"),
    (HEAD + b"|Hx|0|%d|" % len(DATASET) + DATASET, "reserved"),
    (HEAD + b"|Hx|1|5|<oops", "invalid XML"),
    (HEAD + HEAD, "second"),
    (HEAD + b"|Pd|x|4|abcd", "framing"),
    (b"", "empty stream"),
])
def test_bad_streams_raise_clear_errors(data: bytes, reason: str) -> None:
    with pytest.raises(StreamError, match=reason):
        read_all(data)


RAGGED = (b'<dataset name="r" rank="2" index="*;*"><coord physDim="time">'
          b'<scalar semantic="real" units="s" index="*;-">'
          b'<packet numItems="1" itemBytes="4" encoding="LEreal"/></scalar></coord>'
          b'<data physDim="E"><scalar semantic="real" units="V" index="*;*">'
          b'<packet numItems="*" itemBytes="4" encoding="LEreal"/></scalar></data>'
          b'<data physDim="q"><scalar semantic="real" units="" index="*;-">'
          b'<packet numItems="1" itemBytes="4" encoding="LEreal"/></scalar></data></dataset>')


def test_binary_runs_need_count_tags_unless_last() -> None:
    head = HEAD + encode_packet("Hx", 2, RAGGED)
    values = np.arange(4, dtype="<f4").tobytes()
    good = read_all(head + encode_packet("Pd", 2, values[:4] + b"[j|2]" + values[4:12]
                                         + values[:4]))
    run = next(e for e in good if isinstance(e, DataRun))
    assert run.records[0]["E:center"].tolist() == [1.0, 2.0]
    with pytest.raises(StreamError, match="cannot find the end of ragged run"):
        read_all(head + encode_packet("Pd", 2, values))


def test_events_before_a_bad_packet_are_delivered() -> None:
    reader = Das3Reader()
    data = HEAD + encode_packet("Hx", 1, DATASET) + encode_packet("Pd", 1, b"abcd")
    events = reader.feed(data + encode_packet("Pd", 1, b"abc"))
    assert [type(event) for event in events] == [StreamStart, HeaderDefined, DataRun]
    with pytest.raises(StreamError, match="records are 4 bytes"):
        reader.close()


def test_redefinition_replaces_the_dataset() -> None:
    other = DATASET.replace(b'itemBytes="4" encoding="LEreal"', b'itemBytes="8" encoding="BEreal"')
    data = (HEAD + b"|Hx|1|%d|" % len(DATASET) + DATASET + b"|Pd|1|4|" +
            np.float32(1.5).tobytes() + b"|Hx|01|%d|" % len(other) + other + b"|Pd|1|8|" +
            np.array([2.5], ">f8").tobytes())
    runs = [e for e in read_all(data) if isinstance(e, DataRun)]
    assert [run.records["time:center"].tolist() for run in runs] == [[1.5], [2.5]]
    assert runs[1].records.dtype["time:center"] == np.dtype(">f8")


def test_make_reader_sniffs_the_version() -> None:
    assert isinstance(make_reader(b"|Sx||12|"), Das3Reader)
    assert isinstance(make_reader(b"[00]000123<stream"), Das2Reader)
    assert stream_version(b"|Sx|") == "das3"
    with pytest.raises(StreamError, match="not a das2 or das3 stream"):
        make_reader(b"hello")


def test_parse_dataset_rejects_bad_headers() -> None:
    with pytest.raises(StreamError, match="exactly one"):
        parse_dataset(DATASET.replace(b"<packet", b"<values>1</values><packet"))
    with pytest.raises(StreamError, match="rank"):
        parse_dataset(DATASET.replace(b'rank="1"', b'rank="2"'))
    with pytest.raises(StreamError, match="encoding"):
        parse_dataset(DATASET.replace(b"LEreal", b"LEfloat"))
    with pytest.raises(StreamError, match="no <coord>"):
        parse_dataset(DATASET.replace(b"coord", b"data"))


def test_flatten_helper_walks_nested_lists() -> None:
    assert flatten([np.array([1.0, 2.0]), [np.array([3.0])]]) == [1.0, 2.0, 3.0]


def test_typed_property_values(das3_dir: Path) -> None:
    header = _read(das3_dir, "ex23_props.d3t")[0].header
    values = {prop.name: prop.value() for prop in header.properties}
    assert values["orbit"] == 42 and values["public"] is True
    assert values["sample_rate"] == 25.0
    assert values["channels"] == (1, 16) and values["freqBand"] == (1.0, 1000.0)
    assert values["keywords"] == ["solar wind", "magnetosphere", "cusp"]
    assert values["authors"] == ["Alice", "Bob", "Carol"]
    assert values["gains"] == [10, 20, 30] and values["cal_coeffs"] == [1.5, 2.5, 3.5]
    assert values["notes"] == ["first line", "second line", "third line"]
    assert header.property("creation").type == "datetime"


def test_das2_property_spellings_are_normalised(das3_dir: Path) -> None:
    header = _read(das3_dir, "tag_test.dNt")[0].header
    width = header.property("xTagWidth")
    assert (width.type, width.units, width.value()) == ("real", "s", 60.0)
