"""das2 writer: das2C-exact OOB packets and headers, pass-through and re-encoding."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.codecs.das2 import (
    Das2Writer,
    PacketHeader,
    StreamHeader,
    encode_comment,
    encode_exception,
    encode_header_packet,
    encode_records,
    parse_packet_header,
    read_all,
)
from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)
from dasflex_core.errors import StreamError


def das2c_outputs(conformance_dir: Path) -> list[Path]:
    """das2 streams written by das2C itself (complete ones)."""
    found = []
    for path in sorted((conformance_dir / "das2").glob("*.expected")):
        data = path.read_bytes()
        if data.startswith(b"[00]") and b'compression="deflate"' not in data[:200]:
            found.append(path)
    return found


def reencode(events: list[Event], compression: str = "none") -> bytes:
    """Headers and OOB passed through, data re-encoded from the decoded records."""
    out = io.BytesIO()
    writer = Das2Writer(out.write, compression=compression)
    for event in events:
        if isinstance(event, DataRun):
            writer.write_run(event)
        else:
            writer.write_event(event)
    writer.close()
    return out.getvalue()


def test_encode_header_packet() -> None:
    assert encode_header_packet(1, "<packet/>") == b"[01]000009<packet/>"
    assert encode_header_packet("xx", b"<a/>") == b"[xx]000004<a/>"
    with pytest.raises(StreamError, match="length field"):
        encode_header_packet(2, "x" * 1_000_000)


def test_encode_comment_short_long_and_escaped() -> None:
    assert encode_comment("taskProgress", "rdr", "32") == (
        b'[xx]000056<comment type="taskProgress" source="rdr" value="32" />\n'
    )
    long_value = "x" * 41
    assert encode_comment("log:info", "r", long_value) == encode_header_packet(
        "xx", f'<comment type="log:info" source="r"\n   value="{long_value}"\n/>\n'
    )
    assert b'type="a_b_" source="_s_" value="&lt;v&amp;&gt;"' in encode_comment('a"b>', "<s'", "<v&>")


def test_encode_exception() -> None:
    assert encode_exception("NoDataInInterval", "none <here>") == encode_header_packet(
        "xx", '<exception type="NoDataInInterval" message="none &lt;here&gt;" />\n'
    )


def test_oob_packets_and_headers_match_das2c_bytes(conformance_dir: Path) -> None:
    """Every header, comment and exception das2C wrote is reproduced byte for byte."""
    checked = 0
    for path in das2c_outputs(conformance_dir):
        events = read_all(path.read_bytes())
        _SameBytes(path.name).handle(events)
        checked += len(events)
    assert checked > 1000


class _SameBytes(EventStream[None]):
    """Asserts that every header, comment and exception re-encodes to its own bytes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def on_comment(self, event: Comment) -> None:
        assert encode_comment(event.type, event.source, event.value) == event.raw, self.name

    def on_exception(self, event: StreamException) -> None:
        assert encode_exception(event.type, event.message) == event.raw, self.name

    def on_stream_start(self, event: StreamStart) -> None:
        self._check_header(0, event.header, event.raw)

    def on_packet_header(self, event: HeaderDefined) -> None:
        self._check_header(event.packet_id, event.header, event.raw)

    def _check_header(self, tag: int, header: StreamHeader | PacketHeader, raw: bytes) -> None:
        raw_xml, header.raw_xml = header.raw_xml, None
        assert encode_header_packet(tag, header.to_xml()) == raw, self.name
        header.raw_xml = raw_xml


def test_reencoding_binary_conformance_streams_is_identical(conformance_dir: Path) -> None:
    for path in sorted((conformance_dir / "das2").glob("*.d2s")):
        data = path.read_bytes()
        events = read_all(data)
        if events[0].header.compression == "deflate" or path.name == "das2_bin_avgsec_input2.d2s":
            continue  # deflate output is uncompressed; text times there are not das2C-formatted
        assert reencode(events) == data, path.name


def test_reencoding_das2c_text_output_is_identical(conformance_dir: Path) -> None:
    outputs = das2c_outputs(conformance_dir)
    assert len(outputs) > 20
    for path in outputs:
        data = path.read_bytes()
        assert reencode(read_all(data)) == data, path.name


def test_deflate_input_is_written_uncompressed(conformance_dir: Path) -> None:
    data = (conformance_dir / "das2" / "syn_deflate.d2s").read_bytes()
    events = read_all(data)
    plain = reencode(events)
    assert b'compression="none"' in plain[:200]
    again = read_all(plain)
    assert [run.records.tobytes() for run in again if isinstance(run, DataRun)] == [
        run.records.tobytes() for run in events if isinstance(run, DataRun)
    ]


def test_deflate_output_round_trips(conformance_dir: Path) -> None:
    data = (conformance_dir / "das2" / "x_multi_y.d2s").read_bytes()
    events = read_all(data)
    packed = reencode(events, compression="deflate")
    assert len(packed) < len(data)
    unpacked = read_all(packed)
    assert unpacked[0].header.compression == "deflate"
    body_start = len(unpacked[0].raw)
    assert zlib.decompress(packed[body_start:]) == data[len(events[0].raw):]


def test_write_records_from_a_plain_packed_array() -> None:
    header = parse_packet_header(
        b'<packet><x type="time24" units="UTC"/><y type="sun_real4" units="nT"/>'
        b'<yscan type="ascii10" nitems="2" zUnits="V"/></packet>',
        4,
    )
    records = np.zeros(2, dtype=[("x0", "f8"), ("y1", "f8"), ("yscan2", "f8", (2,))])
    records["x0"] = [0.0, 1.5e6]
    records["y1"] = [1.0, -2.0]
    records["yscan2"] = [[1.0, 2.0], [3.0, -1e31]]
    data = encode_records(header, records)
    assert data[:4] == b":04:" and len(data) == 2 * header.dtype.itemsize
    assert data[4:28] == b"2000-01-01T00:00:00.000 "
    assert data[32:52] == b" 1.00e+00  2.00e+00\n"
    assert encode_records(header, records[:0]) == b""


def test_text_value_too_wide_is_an_error() -> None:
    header = parse_packet_header(b'<packet><y type="ascii6" units="V"/></packet>', 1)
    records = np.array([(-1.5,)], dtype=[("y0", "f8")])
    with pytest.raises(StreamError, match="does not fit"):
        encode_records(header, records)


def test_writer_builds_a_stream_from_objects() -> None:
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    stream = StreamHeader()
    stream.properties.set("title", "built")
    header = parse_packet_header(
        b'<packet><x type="little_endian_real8" units="us2000"/>'
        b'<y type="little_endian_real4" units="V"/></packet>',
        2,
    )
    header = PacketHeader(2, header.planes)
    writer.write_stream_header(stream)
    writer.write_comment("log:info", "test", "hello")
    writer.write_packet_header(header)
    writer.write_records(header, np.array([(1.0, 2.0)], dtype=[("x0", "f8"), ("y1", "f4")]))
    writer.write_exception("ServerError", "boom")
    events = read_all(out.getvalue())
    assert [type(event).__name__ for event in events] == [
        "StreamStart", "Comment", "HeaderDefined", "DataRun", "StreamException",
    ]
    assert events[0].header.properties.get("title") == "built"
    assert events[3].records["y1"].tolist() == [2.0]
    assert out.getvalue()[10:].startswith(b'<stream compression="none" version="2.2" >\n')
