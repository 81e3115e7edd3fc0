"""das2 headers: encodings, planes, record dtypes, fills and header errors."""

from __future__ import annotations

import numpy as np
import pytest

from dasflex_core.codecs.das2 import (
    PacketHeader,
    Plane,
    Properties,
    StreamHeader,
    fill_mask,
    parse_encoding,
    parse_packet_header,
    parse_stream_header,
    plane_fill,
)
from dasflex_core.errors import StreamError


@pytest.mark.parametrize(
    ("name", "width", "dtype", "kind"),
    [
        ("sun_real8", 8, ">f8", "real"),
        ("double", 8, ">f8", "real"),
        ("little_endian_real8", 8, "<f8", "real"),
        ("sun_real4", 4, ">f4", "real"),
        ("float", 4, ">f4", "real"),
        ("little_endian_real4", 4, "<f4", "real"),
        ("ascii11", 11, "S11", "ascii"),
        ("ascii2", 2, "S2", "ascii"),
        ("time24", 24, "S24", "time"),
        ("time127", 127, "S127", "time"),
    ],
)
def test_encodings(name: str, width: int, dtype: str, kind: str) -> None:
    encoding = parse_encoding(name)
    assert (encoding.width, encoding.wire_dtype, encoding.kind) == (width, dtype, kind)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("little_endian_int2", "integer"),
        ("big_endian_uint4", "integer"),
        ("ascii1", "2..127"),
        ("time128", "2..127"),
        ("real8", "unknown"),
    ],
)
def test_bad_encodings(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_encoding(name)


def test_packet_dtype_fields_and_decoded_dtype() -> None:
    header = parse_packet_header(
        b'<packet><x type="time24" units="UTC"/><y type="sun_real4" units="nT"/>'
        b'<yscan type="ascii10" nitems="3" zUnits="V" yTags="1,2,3"/>'
        b'<z type="little_endian_real8" units="V"/></packet>',
        7,
    )
    assert header.fields == ("x0", "y1", "yscan2", "z3")
    assert header.record_size == 24 + 4 + 30 + 8
    assert header.dtype.itemsize == header.record_size + 4
    assert header.dtype.names == ("tag", "x0", "y1", "yscan2", "z3")
    assert header.dtype["yscan2"] == np.dtype(("S10", (3,)))
    assert header.record_dtype["x0"] == np.float64
    assert header.record_dtype["y1"] == np.dtype(">f4")
    assert header.record_dtype["yscan2"] == np.dtype((np.float64, (3,)))
    assert header.tag == b":07:"
    assert not header.is_binary
    assert header.field(header.planes[2]) == "yscan2" and header.field(3) == "z3"
    assert header.x_plane is header.planes[0]
    assert header.planes[0].value_units == "us2000" and header.planes[0].is_time


def test_binary_record_dtype_is_a_view_of_the_wire_layout() -> None:
    header = parse_packet_header(
        b'<packet><x type="little_endian_real8" units="us2000"/>'
        b'<y type="little_endian_real4" units="nT"/></packet>',
        1,
    )
    assert header.is_binary
    assert header.record_dtype.itemsize == 16
    assert header.record_dtype.fields["x0"][1] == 4
    assert header.record_dtype.fields["y1"][1] == 12


def test_ytag_forms() -> None:
    header = parse_packet_header(
        b'<packet><x type="double" units="t2000"/>'
        b'<yscan type="float" nitems="3" zUnits="V" yTags="10.0, 17.8, 31.1"/>'
        b'<yscan type="float" nitems="3" zUnits="V" yTagInterval="0.5" yTagMin="1"/>'
        b'<yscan type="float" nitems="3" zUnits="V" yTagInterval="2" yTagMax="10"/>'
        b'<yscan type="float" nitems="3" zUnits="V" yTagInterval="2"/>'
        b'<yscan type="float" nitems="3" zUnits="V"/></packet>',
        1,
    )
    tags = [plane.ytag_values().tolist() for plane in header.planes[1:]]
    assert tags == [[10.0, 17.8, 31.1], [1.0, 1.5, 2.0], [6.0, 8.0, 10.0], [0.0, 2.0, 4.0], [0.0, 1.0, 2.0]]


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (b"<packet></packet>", "no planes"),
        (b"<packet><w type='float' units=''/></packet>", "unknown element <w>"),
        (b"<packet><x units='s'/></packet>", "no type"),
        (b"<packet><x type='little_endian_int4' units='s'/></packet>", "integer"),
        (b"<packet><x type='float' units='UTC'/></packet>", "time encoding"),
        (b"<packet><yscan type='float' nitems='0'/></packet>", "nitems=0"),
        (b"<packet><yscan type='float' nitems='250000'/></packet>", "nitems=250000"),
        (b"<packet><yscan type='float' nitems='x'/></packet>", "not an integer"),
        (b"<packet><yscan type='float' nitems='2' yTags='1,2,3'/></packet>", "3 yTags"),
        (b"<packet><yscan type='float' nitems='2' yTags='1,a'/></packet>", "numbers"),
        (b"<packet><yscan type='float' nitems='2' yTagInterval='0'/></packet>", "> 0"),
        (b"<packet><yscan type='float' nitems='70000'/></packet>", "limit"),
        (b"<packet><x type='float' units='s'><q/></x></packet>", "unknown element <q>"),
        (b"<stream/>", "expected <packet>"),
        (b"<packet><x type='float'", "bad header XML"),
        (b"   ", "empty header"),
    ],
)
def test_bad_packet_headers(xml: bytes, reason: str) -> None:
    with pytest.raises(StreamError, match=reason):
        parse_packet_header(xml, 3, offset=100)


def test_xml_error_offset_is_absolute() -> None:
    xml = b"  <packet><x type='float' units='s'></packet>"
    with pytest.raises(StreamError) as caught:
        parse_packet_header(xml, 1, offset=1000)
    assert caught.value.offset == 1000 + xml.index(b"</packet>") + 2  # expat: the bad name


def test_stream_header_attributes() -> None:
    header = parse_stream_header(
        b'<?xml version="1.0"?>\n<stream version="2.2" compression="zlib">'
        b'<properties Datum:xTagWidth="16 s" title="t"/></stream>'
    )
    assert (header.version, header.compression) == ("2.2", "deflate")
    assert header.properties.get("xTagWidth") == (16.0, "s")
    assert parse_stream_header(b"<stream/>").version == "2.2"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (b"<stream compression='gzip'/>", "compression"),
        (b"<stream><p name='a'>1</p></stream>", "unexpected <p>"),
        (b"<packet/>", "expected <stream>"),
    ],
)
def test_bad_stream_headers(xml: bytes, reason: str) -> None:
    with pytest.raises(StreamError, match=reason):
        parse_stream_header(xml)


def _fill_packet(packet_props: str = "", plane_props: str = "") -> PacketHeader:
    return parse_packet_header(
        f"<packet><properties {packet_props}/><x type='double' units='t2000'/>"
        f"<y type='float' units='V'><properties {plane_props}/></y>"
        f"<yscan type='float' nitems='2' zUnits='V'><properties {plane_props}/></yscan>"
        f"<z type='float' units='V'/></packet>".encode(),
        1,
    )


def _stream(props: str = "") -> StreamHeader:
    return parse_stream_header(f"<stream><properties {props}/></stream>".encode())


def test_fill_defaults_and_cascade() -> None:
    packet = _fill_packet()
    x, y, yscan, z = packet.planes
    assert plane_fill(x, packet, None) is None
    assert plane_fill(y, packet, None) == -1e31
    stream = _stream('double:fill="-5" double:zFill="7"')
    assert plane_fill(y, packet, stream) == -5.0
    assert plane_fill(yscan, packet, stream) == 7.0
    assert plane_fill(z, packet, stream) == 7.0
    packet = _fill_packet(packet_props='double:yFill="1"', plane_props='double:fill="0"')
    assert plane_fill(packet.planes[1], packet, stream) == 1.0  # cascaded yFill beats fill
    assert plane_fill(packet.planes[2], packet, stream) == 7.0  # cascaded zFill beats fill
    assert plane_fill(packet.planes[2], packet, None) == 0.0


def test_fill_mask() -> None:
    values = np.array([-1e31, -1.000001e31, 0.0, np.nan, 5.0])
    assert fill_mask(values, -1e31).tolist() == [True, True, False, False, False]
    assert fill_mask(values, 0.0).tolist() == [False, False, True, False, False]
    assert not fill_mask(values, None).any()


def test_generated_header_xml_matches_das2c_layout() -> None:
    props = Properties()
    props.set("fill", 0.0)
    planes = (
        Plane("x", parse_encoding("time24"), units="us2000"),
        Plane("yscan", parse_encoding("little_endian_real4"), name="spec", nitems=4,
              ytag_interval=0.5, ytag_min=1.0, yunits="kHz", zunits="nT", properties=props),
    )
    xml = PacketHeader(5, planes).to_xml()
    assert xml == (
        "<packet>\n"
        '  <x name="" type="time24" units="UTC">\n  </x>\n'
        '  <yscan name="spec" type="little_endian_real4" zUnits="nT" yUnits="kHz" nitems="4" '
        'yTagInterval="5.000000e-01" yTagMin="1.000000e+00"  >\n'
        '    <properties\n      double:fill="0.0"\n    />\n'
        "  </yscan>\n"
        "</packet>\n"
    )
    assert parse_packet_header(xml.encode(), 5).record_size == 24 + 16
