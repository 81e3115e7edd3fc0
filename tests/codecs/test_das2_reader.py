"""das2 reader: conformance streams, chunking, accepted quirks and errors with offsets."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs.das2 import Das2Reader, read_all, read_events
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import StreamError

STREAM_XML = b'<stream version="2.2"><properties title="t"/></stream>'
XY_XML = (
    b'<packet><x type="little_endian_real8" units="us2000"/>'
    b'<y type="little_endian_real4" units="nT" name="b"/></packet>'
)


def header_packet(tag: str, xml: bytes, width: str = "%06d") -> bytes:
    return f"[{tag}]".encode() + (width % len(xml)).encode() + xml


def xy_record(packet_id: int, x: float, y: float) -> bytes:
    return b":%02d:" % packet_id + struct.pack("<df", x, y)


def xy_stream(records: int = 5, packet_id: int = 1) -> bytes:
    body = b"".join(xy_record(packet_id, i * 1e6, i / 2) for i in range(records))
    return header_packet("00", STREAM_XML) + header_packet(f"{packet_id:02d}", XY_XML) + body


def das2_streams(conformance_dir: Path) -> list[Path]:
    return sorted((conformance_dir / "das2").glob("*.d2[st]"))


def feed_in_chunks(data: bytes, size: int) -> list[Event]:
    reader = Das2Reader()
    events: list[Event] = []
    for start in range(0, len(data), size):
        events.extend(reader.feed(data[start:start + size]))
    events.extend(reader.close())
    return events


def signature(events: list[Event]) -> list[tuple]:
    """Comparable form of events: type, offset, raw bytes, decoded records."""
    result = []
    for event in events:
        records = event.records.tobytes() if isinstance(event, DataRun) else None
        result.append((type(event).__name__, event.offset, bytes(event.raw), records))
    return result


def error_of(data: bytes, chunk: int | None = None) -> StreamError:
    with pytest.raises(StreamError) as caught:
        feed_in_chunks(data, chunk or max(1, len(data)))
    return caught.value


# ------------------------------------------------------------- conformance


def test_every_conformance_stream_parses_and_passes_through(conformance_dir: Path) -> None:
    streams = das2_streams(conformance_dir)
    assert len(streams) >= 15
    for path in streams:
        data = path.read_bytes()
        events = read_all(data)
        assert isinstance(events[0], StreamStart), path.name
        assert sum(isinstance(event, DataRun) for event in events) > 0, path.name
        joined = b"".join(bytes(event.raw) for event in events)
        if events[0].header.compression == "deflate":
            head = len(events[0].raw)
            assert joined == data[:head] + zlib.decompress(data[head:]), path.name
        else:
            assert joined == data, path.name


def test_conformance_record_counts(conformance_dir: Path) -> None:
    expected = {
        "das2_ascii_input1.d2s": 1398,
        "das2_ascii_input2.d2s": 857,
        "juno_waves_sample.d2t": 1200,
        "syn_deflate.d2s": 100,
        "syn_redefine_oob.d2t": 22,
        "x_multi_y.d2s": 13836,
    }
    for name, count in expected.items():
        events = read_all((conformance_dir / "das2" / name).read_bytes())
        assert sum(event.count for event in events if isinstance(event, DataRun)) == count, name


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_chunking_gives_the_same_events(conformance_dir: Path, chunk: int) -> None:
    for path in das2_streams(conformance_dir):
        data = path.read_bytes()
        if chunk == 1 and len(data) > 120_000:
            data = data[:120_000]
            data = data[: data.rfind(b"\n[xx]") + 1] if b"\n[xx]" in data else data
            if not _is_complete(data):
                continue
        whole = signature(read_all(data))
        assert signature(feed_in_chunks(data, chunk)) == whole, path.name


def _is_complete(data: bytes) -> bool:
    try:
        read_all(data)
    except StreamError:
        return False
    return True


def test_binary_values_match_das2c_text_output(conformance_dir: Path) -> None:
    folder = conformance_dir / "das2"
    binary = read_all((folder / "das2_ascii_input1.d2s").read_bytes())
    text = read_all((folder / "das2_ascii_input1.d2s.ascii.expected").read_bytes())
    runs_binary = [event.records for event in binary if isinstance(event, DataRun)]
    runs_text = [event.records for event in text if isinstance(event, DataRun)]
    values_binary = np.concatenate([run["yscan1"] for run in runs_binary])
    values_text = np.concatenate([run["yscan1"] for run in runs_text])
    np.testing.assert_allclose(values_text, values_binary, rtol=1e-6)
    times_binary = np.concatenate([run["x0"] for run in runs_binary])
    times_text = np.concatenate([run["x0"] for run in runs_text])
    np.testing.assert_allclose(times_text, times_binary, atol=500.0)  # ms precision in text


def test_redefinition_exception_and_text_values(conformance_dir: Path) -> None:
    events = read_all((conformance_dir / "das2" / "syn_redefine_oob.d2t").read_bytes())
    kinds = [type(event).__name__ for event in events]
    assert kinds.count("HeaderDefined") == 3
    redefined = [event for event in events if isinstance(event, HeaderDefined) and event.packet_id == 1]
    assert [plane.kind for plane in redefined[1].header.planes] == ["x", "yscan"]
    exception = next(event for event in events if isinstance(event, StreamException))
    assert exception.type == "NoDataInInterval"
    assert exception.message == "synthetic: no more data <after> this"
    last_spec = [event for event in events if isinstance(event, DataRun) and event.header is redefined[1].header]
    assert last_spec[0].records["yscan1"][2].tolist() == pytest.approx([3e-10, 6e-10, -1e31])
    first = next(event for event in events if isinstance(event, DataRun))
    assert first.records["x0"][0] == pytest.approx(636335990.25e6)


def test_comments_and_blank_padded_lengths(conformance_dir: Path) -> None:
    events = read_all((conformance_dir / "das2" / "das2_ascii_input1.d2s").read_bytes())
    comments = [event for event in events if isinstance(event, Comment)]
    assert comments[0].type == "log:info"
    assert comments[0].source == "vgpw_sa_rdr"
    assert comments[0].value == "doing findFile"
    assert comments[0].raw.startswith(b"[xx]    72")


# ------------------------------------------------------------------ quirks


def test_accepted_framing_variants() -> None:
    prolog = b'<?xml version="1.0" encoding="UTF-8"?>\n' + STREAM_XML
    comment = b'<comment type="log:info" source="s" value="v" />'
    data = (
        header_packet("00", prolog, "%6d")
        + header_packet("XX", comment)
        + header_packet("Xx", b"<other/>")
        + header_packet("01", b"  \n" + XY_XML + b"\n\n", "%-6d")
        + xy_record(1, 1.0, 2.0)
    )
    events = read_all(data)
    assert [type(event).__name__ for event in events] == [
        "StreamStart", "Comment", "HeaderDefined", "DataRun",
    ]


def test_duplicate_layouts_under_two_ids_are_accepted() -> None:
    data = (
        header_packet("00", STREAM_XML)
        + header_packet("01", XY_XML)
        + header_packet("02", XY_XML)
        + xy_record(1, 1.0, 1.0)
        + xy_record(2, 2.0, 2.0)
        + xy_record(2, 3.0, 3.0)
    )
    runs = [event for event in read_all(data) if isinstance(event, DataRun)]
    assert [(run.packet_id, run.count) for run in runs] == [(1, 1), (2, 2)]
    assert runs[1].records["y1"].tolist() == [2.0, 3.0]


def test_redefinition_changes_the_layout() -> None:
    scan = b'<packet><x type="double" units="t2000"/><yscan type="float" nitems="2" zUnits="V"/></packet>'
    data = (
        xy_stream(2)
        + header_packet("01", scan)
        + b":01:" + struct.pack(">d2f", 5.0, 1.5, 2.5)
    )
    runs = [event for event in read_all(data) if isinstance(event, DataRun)]
    assert runs[1].records["yscan1"].tolist() == [[1.5, 2.5]]
    assert runs[1].records["x0"].tolist() == [5.0]


def test_runs_split_at_max_run_bytes_independently_of_chunking() -> None:
    data = xy_stream(25)
    reader = Das2Reader(max_run_bytes=10 * 16)
    events = reader.feed(data) + reader.close()
    assert [event.count for event in events if isinstance(event, DataRun)] == [10, 10, 5]
    chunked = Das2Reader(max_run_bytes=10 * 16)
    events_chunked: list[Event] = []
    for start in range(0, len(data), 3):
        events_chunked += chunked.feed(data[start:start + 3])
    events_chunked += chunked.close()
    assert signature(events_chunked) == signature(events)


def test_binary_records_are_wire_dtype_views() -> None:
    run = next(event for event in read_all(xy_stream(3)) if isinstance(event, DataRun))
    assert run.records.dtype["x0"] == np.dtype("<f8")
    assert run.records.dtype["y1"] == np.dtype("<f4")
    assert run.records["y1"].tolist() == [0.0, 0.5, 1.0]
    assert run.header.field(run.header.planes[1]) == "y1"
    assert bytes(run.raw) == xy_stream(3)[-3 * 16:]


def test_unparsable_ascii_value_is_fill_and_bad_time_is_an_error() -> None:
    text_xml = b'<packet><x type="time24" units="UTC"/><y type="ascii10" units="V"/></packet>'
    head = header_packet("00", STREAM_XML) + header_packet("01", text_xml)
    good = b":01:" + b"2020-01-01T00:00:00.000 " + b"garbage".rjust(9) + b"\n"
    run = next(event for event in read_all(head + good) if isinstance(event, DataRun))
    assert run.records["y1"].tolist() == [-1e31]
    assert run.records["x0"].tolist() == [631152000e6]
    value = b" 1.00e+00\n"
    bad = b":01:2020-01-01T00:00:00.000 " + value + b":01:" + b"not-a-time".ljust(24) + value
    error = error_of(head + bad)
    assert "bad time" in error.reason
    assert error.offset == len(head) + 38  # the second record


def test_deflate_stream_and_errors() -> None:
    body = xy_stream(4)[len(header_packet("00", STREAM_XML)):]
    deflate_xml = b'<stream version="2.2" compression="deflate"/>'
    head = header_packet("00", deflate_xml)
    data = head + zlib.compress(body)
    events = feed_in_chunks(data, 5)
    assert signature(events) == signature(read_all(data))
    assert sum(event.count for event in events if isinstance(event, DataRun)) == 4
    assert events[-1].offset == len(head) + len(header_packet("01", XY_XML))
    assert "truncated" in error_of(data[:-3]).reason
    assert "after the end" in error_of(data + b"junk").reason
    assert "corrupt" in error_of(head + b"not zlib at all").reason


def test_das2c_broken_deflate_output_is_rejected(conformance_dir: Path) -> None:
    """das2_bin_avgsec writes a deflate stream header but no body (quirk 21)."""
    data = (conformance_dir / "das2" / "syn_deflate.d2s.bin60.expected").read_bytes()
    error = error_of(data)
    assert "truncated" in error.reason
    assert error.offset == len(data)


def test_read_events_from_a_file_object() -> None:
    data = xy_stream(7)
    events = list(read_events(io.BytesIO(data), chunk_size=5))
    assert signature(events) == signature(read_all(data))


# ------------------------------------------------------------------ errors


def test_truncated_packet_reports_its_start() -> None:
    data = xy_stream(3)
    error = error_of(data[:-5])
    assert "ends inside a packet" in error.reason
    assert error.offset == len(data) - 16
    header_cut = header_packet("00", STREAM_XML)[:-4]
    assert error_of(header_cut).offset == 0


def test_mis_sized_packet_reports_the_bad_tag() -> None:
    head = header_packet("00", STREAM_XML) + header_packet("01", XY_XML)
    short = b":01:" + struct.pack("<d", 1.0)  # 4 bytes of y missing
    data = head + short + xy_record(1, 2.0, 3.0) + xy_record(1, 4.0, 5.0)
    error = error_of(data)
    assert "bad packet tag" in error.reason
    assert error.offset == len(head) + 16


def test_bad_length_field() -> None:
    data = header_packet("00", STREAM_XML) + b"[01]00a123" + XY_XML
    error = error_of(data)
    assert "bad length field" in error.reason
    assert error.offset == len(header_packet("00", STREAM_XML)) + 4


def test_bad_xml_offset_points_into_the_header() -> None:
    head = header_packet("00", STREAM_XML)
    data = head + header_packet("01", b"<packet><x type='double' units='s'></packet>")
    error = error_of(data)
    assert "bad header XML" in error.reason
    assert len(head) + 10 < error.offset < len(data)


def test_undefined_packet_id() -> None:
    data = xy_stream(2) + xy_record(3, 1.0, 1.0)
    error = error_of(data)
    assert "no packet header" in error.reason
    assert error.offset == len(xy_stream(2))


@pytest.mark.parametrize(
    ("data", "reason", "offset"),
    [
        (b"", "empty input", 0),
        (xy_record(1, 1.0, 1.0), "first packet must be [00]", 0),
        (header_packet("01", XY_XML), "first packet must be [00]", 0),
        (b"<stream version='2.2'/>", "un-packetized", 0),
        (b"hello world", "first packet must be [00]", 0),
        (header_packet("00", STREAM_XML) + b"[xx]000000", "zero-length", 54 + 10),
        (header_packet("00", STREAM_XML) + b"[01]300000", "exceeds", 64),
        (header_packet("00", STREAM_XML) * 2, "second stream header", 64),
        (header_packet("00", STREAM_XML) + b"[1x]000010", "bad packet tag", 64),
        (header_packet("00", STREAM_XML) + b":ab:", "bad packet tag", 64),
        (header_packet("00", STREAM_XML) + b"garbage!", "bad packet tag", 64),
        (header_packet("00", b"<stream><p name='x'>1</p></stream>"), "unexpected <p>", 10),
        (header_packet("00", STREAM_XML) + header_packet("01", b"<packet><x type='float' units='s'/><w/></packet>"),
         "unknown element <w>", 74),
        (header_packet("00", STREAM_XML) + header_packet("01", b"<packet><x type='little_endian_int2' units='s'/></packet>"),
         "integer encoding", 74),
        (header_packet("00", STREAM_XML)
         + header_packet("01", b"<packet><yscan type='float' nitems='70000' zUnits='V'/></packet>"),
         "limit", 74),
    ],
)
def test_invalid_streams(data: bytes, reason: str, offset: int) -> None:
    for chunk in (None, 1):
        error = error_of(data, chunk)
        assert reason in error.reason
        assert error.offset == offset


def test_reader_refuses_feed_after_close() -> None:
    reader = Das2Reader()
    reader.feed(xy_stream(1))
    reader.close()
    assert reader.close() == []
    with pytest.raises(StreamError, match="after close"):
        reader.feed(b"x")
