"""das2 properties: raw prefixes kept, typed values, cascade, das2C serialisation."""

from __future__ import annotations

import pytest

from dasflex_core.codecs.das2_props import (
    Properties,
    Property,
    cascade,
    escape_xml,
    number_of,
    property_for,
)
from dasflex_core.errors import TimeError


def _props(**attributes: str) -> Properties:
    return Properties.from_attributes((name.replace("__", ":"), text) for name, text in attributes.items())


@pytest.mark.parametrize(
    ("attribute", "text", "expected"),
    [
        ("title", "Voyager", "Voyager"),
        ("String:summary", "explicit", "explicit"),
        ("boolean:flag", "true", True),
        ("boolean:flag", "TRUE", True),
        ("boolean:flag", "1", True),
        ("boolean:flag", "0", False),
        ("boolean:flag", "no", False),
        ("int:taskSize", " 100 ", 100),
        ("double:fill", "-1e31", -1e31),
        ("doubleArray:coeffs", "1.5,2.5,3.5", [1.5, 2.5, 3.5]),
        ("doubleArray:coeffs", "1 2 3", [1.0, 2.0, 3.0]),
        ("Datum:xTagWidth", "16.000000 s", (16.0, "s")),
        ("Datum:w", "5", (5.0, "")),
        ("Datum:yTagWidth", "1.4 log10Ratio", (1.4, "log10Ratio")),
        ("DatumRange:yRange", "0 to 100 V", (0.0, 100.0, "V")),
        ("DatumRange:f", "5 to 6000000 Hz", (5.0, 6e6, "Hz")),
        ("DatumRange:t", "2020-01-01 to 2020-01-02 UTC", ("2020-01-01", "2020-01-02", "UTC")),
        ("Time:start", "2020-02-29T23:59:50", "2020-02-29T23:59:50"),
        ("TimeRange:r", "2020-02-29 to 2020-03-01 UTC", ("2020-02-29", "2020-03-01")),
    ],
)
def test_typed_values(attribute: str, text: str, expected: object) -> None:
    props = Properties.from_attributes([(attribute, text)])
    name = attribute.rpartition(":")[2]
    assert props.get(name) == expected


def test_unparsable_typed_value_degrades_to_string() -> None:
    props = Properties.from_attributes([("int:n", "many"), ("DatumRange:q", "1 2")])
    assert props.get("n") == "many"
    assert props.get("q") == "1 2"


def test_raw_prefix_and_text_are_kept_verbatim() -> None:
    props = Properties.from_attributes([("String:summary", "a & b"), ("Datum:w", "16.0 s")])
    assert [item.attribute_name for item in props] == ["String:summary", "Datum:w"]
    assert props.raw("w") == Property("w", "Datum", "16.0 s")
    assert props.to_xml(2) == (
        "  <properties\n"
        '    String:summary="a &amp; b"\n'
        '    Datum:w="16.0 s"\n'
        "  />\n"
    )


def test_empty_properties_serialise_to_nothing() -> None:
    assert Properties().to_xml() == ""


def test_cascade_plane_then_packet_then_stream() -> None:
    plane = _props()
    packet = _props(double__fill="0")
    stream = _props(double__fill="-999", renderer="waveform")
    assert cascade("fill", plane, packet, stream) == Property("fill", "double", "0")
    assert cascade("renderer", plane, None, stream).value() == "waveform"
    assert cascade("missing", plane, packet, stream) is None


def test_number_of_accepts_numeric_types_only() -> None:
    props = _props(double__a="2.5", Datum__b="3 s", int__c="4", d="7", e="text", boolean__f="true")
    assert [number_of(props.raw(name)) for name in "abcdef"] == [2.5, 3.0, 4.0, 7.0, None, None]
    assert props.get_float("a") == 2.5
    assert number_of(None) is None


@pytest.mark.parametrize(
    ("value", "units", "expected"),
    [
        ("text", None, Property("p", "", "text")),
        (True, None, Property("p", "boolean", "true")),
        (3, None, Property("p", "int", "3")),
        (2.5, None, Property("p", "double", "2.5")),
        (60.0, "s", Property("p", "Datum", "60.0 s")),
        ([1.0, 2.5], None, Property("p", "doubleArray", "1.0,2.5")),
    ],
)
def test_property_for_chooses_prefix(value: object, units: str | None, expected: Property) -> None:
    assert property_for("p", value, units) == expected


def test_property_names_are_restricted() -> None:
    with pytest.raises(ValueError, match="letters"):
        property_for("bad name", "x")


def test_set_replaces_in_place_and_remove() -> None:
    props = _props(a="1", b="2")
    props.set("a", 5)
    props.set("c", "new")
    props.remove("b")
    assert [(item.name, item.text) for item in props] == [("a", "5"), ("c", "new")]
    assert props.copy() == props and props.copy() is not props
    assert "c" in props and len(props) == 2


def test_time_accessors() -> None:
    props = _props(Time__start="2000-01-01T00:00:01", TimeRange__r="2000-01-01 to 2000-01-02 UTC",
                   DatumRange__d="2000-01-02 to 2000-01-03 UTC", title="x")
    assert props.get_time("start") == 1e6
    assert props.get_time_range("r") == (0.0, 86400e6)
    assert props.get_time_range("d") == (86400e6, 2 * 86400e6)
    assert props.get_time("missing") is None and props.get_time_range("missing") is None
    with pytest.raises(TimeError):
        props.get_time("title")


def test_escape_xml() -> None:
    assert escape_xml("<a & 'b' \"c\">") == "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"
