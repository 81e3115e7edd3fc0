"""The das2 <-> das3 mapping and the whole-stream converters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs import das2
from dasflex_core.codecs.das2to3 import (
    dataset_from_das2,
    dataset_to_das2,
    property_from_das2,
    property_to_das2,
)
from dasflex_core.codecs.das2to3_stream import convert_das2_to_das3, convert_das3_to_das2
from dasflex_core.codecs.das3 import read_all as read_das3
from dasflex_core.codecs.das3_model import PacketItems, Sequence, Values
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import StreamError

DAS2_STREAMS = [
    "cassini_rpws_wfrm_sample.d2s", "das2_ascii_input1.d2s", "das2_ascii_input2.d2s",
    "das2_bin_avgsec_input2.d2s", "das2_bin_avgsec_output2.d2t", "das2_histo_input2.d2t",
    "ex13_marsis_bmag.d2t", "galileo_pws_sample.d2t", "juno_waves_sample.d2t",
    "syn_binary_mixed.d2s", "syn_deflate.d2s", "syn_epochs.d2s", "syn_redefine_oob.d2t",
    "syn_waveform.d2s", "x_multi_y.d2s", "das2_bin_avgsec_input2.d2s.bin60r.expected",
]


@pytest.fixture(scope="module")
def das2_dir(conformance_dir: Path) -> Path:
    return conformance_dir / "das2"


def _runs(events: list) -> list[DataRun]:
    return [event for event in events if isinstance(event, DataRun)]


def _headers(events: list) -> list:
    return [event.header for event in events if isinstance(event, HeaderDefined)]


def _first_header(das2_dir: Path, name: str) -> tuple:
    events = das2.read_all((das2_dir / name).read_bytes())
    return _headers(events)[0], events[0].header


@pytest.mark.parametrize("name", DAS2_STREAMS)
def test_das2_to_das3_to_das2_keeps_values(das2_dir: Path, name: str) -> None:
    events = das2.read_all((das2_dir / name).read_bytes())
    as_das3 = read_das3(b"".join(convert_das2_to_das3(events)))
    back = das2.read_all(b"".join(convert_das3_to_das2(as_das3)))
    before, after = _runs(events), _runs(back)
    assert [run.count for run in before] == [run.count for run in after]
    assert [type(e) for e in events] == [type(e) for e in back]
    for old, new in zip(before, after, strict=True):
        old_planes, new_planes = _by_plane(old), _by_plane(new)
        assert old_planes.keys() == new_planes.keys()
        for plane, values in old_planes.items():
            np.testing.assert_allclose(new_planes[plane], values, rtol=1e-6,
                                       atol=1e-3 if plane[0] == "x" else 0.0,
                                       err_msg=f"{name} {plane}")


def _by_plane(run: DataRun) -> dict[tuple[str, str], np.ndarray]:
    """Values per (kind, name) plane: grouping min/max may reorder planes."""
    header = run.header
    return {(plane.kind, plane.name.replace(".", "_")):
            np.asarray(run.records[header.field(plane)], dtype=float)
            for plane in header.planes}


def test_text_time_series_maps_like_das2c(das2_dir: Path) -> None:
    packet, stream = _first_header(das2_dir, "das2_bin_avgsec_output2.d2t")
    dataset = dataset_from_das2(packet, stream)
    assert dataset.name == "unknown_4Y" and dataset.rank == 1 and dataset.shape == (None,)
    time = dataset.coords[0]
    assert (time.name, time.phys_dim, time.axis) == ("time", "time", "x")
    assert {prop.name: prop.text for prop in time.properties}["label"] == "SCET (UTC)"
    variable = time.variables[0]
    assert (variable.semantic, variable.units, variable.storage) == ("datetime", "UTC", "struct")
    assert variable.source == PacketItems(1, 25, "utf8", fill="0001-01-01T00:00:00.000000")
    assert [(dim.name, dim.phys_dim) for dim in dataset.data] == \
        [("x", "B"), ("y", "B"), ("z", "B"), ("mag", "B")]
    labels = {prop.name: prop.text for prop in dataset.data[0].properties}
    assert labels["label"] == "X!bSCSE!n (nT)"
    assert dataset.data[0].variables[0].source.item_bytes == 13


def test_spectrogram_gets_a_ytags_coordinate(das2_dir: Path) -> None:
    packet, stream = _first_header(das2_dir, "galileo_pws_sample.d2t")
    dataset = dataset_from_das2(packet, stream)
    assert dataset.name == "electric" and dataset.shape == (None, 152)
    frequency = dataset.coords[1]
    assert (frequency.name, frequency.phys_dim) == ("frequency", "frequency")
    tags = frequency.variables[0]
    assert tags.index == ("-", "152") and isinstance(tags.source, Values)
    assert tags.source.values[:3].tolist() == [5.62, 10.0, 17.8]
    spectrum = dataset.data[0].variables[0]
    assert spectrum.index == ("*", "152") and spectrum.source.num_items == 152
    assert dataset.coords[0].variables[0].index == ("*", "-")


def test_waveform_offsets_join_the_time_dimension(das2_dir: Path) -> None:
    packet, stream = _first_header(das2_dir, "syn_waveform.d2s")
    dataset = dataset_from_das2(packet, stream)
    time = dataset.coords[0]
    assert [var.use for var in time.variables] == ["reference", "offset"]
    offset = time.variables[1]
    assert isinstance(offset.source, Sequence) and offset.units == "s"
    assert offset.source.slopes[0][1] == pytest.approx(1e-4)
    assert len(dataset.coords) == 1
    back = dataset_to_das2(dataset, 1)
    assert back.properties.get("renderer") == "waveform"
    assert back.planes_of("yscan")[0].nitems == 256


def test_min_max_planes_share_a_dimension(das2_dir: Path) -> None:
    packet, stream = _first_header(das2_dir, "das2_bin_avgsec_input2.d2s.bin60r.expected")
    dataset = dataset_from_das2(packet, stream)
    x_dim = next(dim for dim in dataset.data if dim.name == "x")
    assert [var.use for var in x_dim.variables] == ["average", "min", "max"]
    assert len(dataset.data) == 4
    back = dataset_to_das2(dataset, 1)
    assert [plane.name for plane in back.planes[:4]] == ["", "x", "x.min", "x.max"]
    assert back.planes[2].properties.get("operation") == "BIN_MIN"


def test_scatter_packets_make_two_coordinates(das2_dir: Path) -> None:
    packet, stream = _first_header(das2_dir, "ex13_marsis_bmag.d2t")
    dataset = dataset_from_das2(packet, stream)
    assert [dim.name for dim in dataset.coords] == ["longitude", "latitude"]
    assert [dim.name for dim in dataset.data] == ["dens", "mag"]
    assert [plane.kind for plane in dataset_to_das2(dataset, 1).planes] == ["x", "y", "z", "z"]


def test_differing_yscan_lengths_have_no_das3_form() -> None:
    xml = (b'<packet><x type="little_endian_real8" units="us2000"/>'
           b'<yscan name="a" type="little_endian_real4" nitems="2" yTags="1,2" zUnits=""/>'
           b'<yscan name="b" type="little_endian_real4" nitems="3" yTags="1,2,3" zUnits=""/>'
           b"</packet>")
    with pytest.raises(StreamError, match="different lengths"):
        dataset_from_das2(das2.parse_packet_header(xml, 1), None)


@pytest.mark.parametrize("name", ["ex26_isee_rapid_rank3.d3b", "ex30_cassini_ragged_notlast.d3b",
                                  "ex35_strings_rank2.d3b", "ex27_epop_fai_mgf_blob.d3b"])
def test_das3_datasets_without_das2_form_are_refused(conformance_dir: Path, name: str) -> None:
    events = read_das3((conformance_dir / "das3" / name).read_bytes())
    with pytest.raises(StreamError, match="das2 form"):
        dataset_to_das2(_headers(events)[0], 1)


@pytest.mark.parametrize("name", ["ex24_isee_rapid_rank1.d3b", "ex25_isee_rapid_rank2.d3b",
                                  "ex17_vector_noframe.d3b", "ex24_isee_rapid_rank1.d3t"])
def test_das3_time_series_convert_to_das2(conformance_dir: Path, name: str) -> None:
    events = read_das3((conformance_dir / "das3" / name).read_bytes())
    back = das2.read_all(b"".join(convert_das3_to_das2(events)))
    assert sum(run.count for run in _runs(back)) == sum(run.count for run in _runs(events))
    das3_run, das2_run = _runs(events)[0], _runs(back)[0]
    data_key = das3_run.records.dtype.names[-1]
    values = np.asarray(das3_run.records[data_key], dtype=float)
    last = das2_run.records.dtype.names[-1]
    expected = values[..., -1] if values.ndim == 2 and values.shape[1] == 3 else values
    np.testing.assert_allclose(np.asarray(das2_run.records[last], dtype=float), expected,
                               rtol=1e-6)


def test_ex25_reference_and_offsets_become_a_waveform_yscan(conformance_dir: Path) -> None:
    events = read_das3((conformance_dir / "das3" / "ex25_isee_rapid_rank2.d3b").read_bytes())
    header = dataset_to_das2(_headers(events)[0], 1)
    yscan = header.planes_of("yscan")[0]
    assert yscan.nitems == 128 and header.properties.get("renderer") == "waveform"
    assert yscan.ytag_values()[1] == pytest.approx(0.125)
    assert header.x_plane is not None and header.x_plane.units == "t1970"


def test_comments_and_exceptions_convert_both_ways() -> None:
    stream = das2.encode_header_packet(0, '<stream version="2.2"></stream>\n')
    data = (stream + das2.encode_comment("log:info", "me", "hello")
            + das2.encode_exception("NoDataInInterval", "none here"))
    as_das3 = read_das3(b"".join(convert_das2_to_das3(das2.read_all(data))))
    assert isinstance(as_das3[0], StreamStart)
    assert isinstance(as_das3[1], Comment) and as_das3[1].value == "hello"
    assert isinstance(as_das3[2], StreamException) and as_das3[2].type == "NoMatchingData"
    back = das2.read_all(b"".join(convert_das3_to_das2(as_das3)))
    assert isinstance(back[2], StreamException) and back[2].type == "NoDataInInterval"


@pytest.mark.parametrize(("prop", "das3_type", "units"), [
    (das2.Property("w", "Datum", "60 s"), "real", "s"),
    (das2.Property("n", "int", "3"), "integer", None),
    (das2.Property("b", "boolean", "true"), "bool", None),
    (das2.Property("r", "DatumRange", "5 to 6000000 Hz"), "realRange", "Hz"),
    (das2.Property("t", "Time", "2001-01-01"), "datetime", None),
    (das2.Property("s", "", "plain text"), "string", None),
])
def test_properties_map_to_typed_das3_properties(prop: das2.Property, das3_type: str,
                                                 units: str | None) -> None:
    converted = property_from_das2(prop)
    assert (converted.type, converted.units) == (das3_type, units)
    again = property_to_das2(converted)
    assert again.value() == prop.value()
