"""das2C-style re-serialisation of das2 stream and packet headers.

Every das2C tool that writes a das2 stream re-serialises the headers it read
in one fixed layout; tools that must match das2C byte for byte (das2_ascii,
the binners, das2_psd) write their headers through this module:

* properties one per line, the type prefix re-derived from the value
  (``String:`` dropped, ``Datum`` without units -> ``double``, a
  ``DatumRange`` in ``UTC`` -> ``TimeRange``, a ``Datum`` or ``Time`` whose
  "units" do not parse -> plain string), units canonicalised;
* ``<stream compression="none" version="2.2" >`` plus a ``sourceId`` naming
  the program when the input had none;
* planes with ``name=""`` always present, ``units="UTC"`` for time
  encodings, canonical units, and yTags re-printed with the printf format
  das2C derives from their input text (:func:`ytags_format`).

Public API: :func:`stream_header_xml`, :func:`packet_header_xml`,
:func:`properties_xml`, :func:`styled_property`, :func:`ytags_format`,
:func:`ytags_text`, :func:`canonical_units`, and the framed packets
:func:`stream_header_packet` / :func:`packet_header_packet`.
"""

from __future__ import annotations

import math
import re

import numpy as np

from dasflex_core.codecs.das2_headers import PacketHeader, Plane, StreamHeader
from dasflex_core.codecs.das2_props import Properties, Property, escape_xml
from dasflex_core.codecs.das2_writer import encode_header_packet

#: Spellings das2C maps onto its built-in unit names.
_UNIT_SYNONYMS = {
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "millisec": "ms",
    "microsec": "\u03bcs",
    "nanosec": "ns",
    "hertz": "Hz",
}
#: Unit names that are not split into components.
_ATOMIC_UNITS = frozenset(
    {"us2000", "mj1958", "t2000", "t1970", "ns1970", "UTC", "TT2000", "ET2000"}
)
#: Reduced forms das2C rewrites to an equivalent built-in unit.
_EQUIVALENT_UNITS = {"s**-1": "Hz", "Hz**-1": "s"}
_UNIT_COMPONENT = re.compile(r"([^\W\d_]+|%)(?:(?:\*\*|\^)([-+]?\d+(?:/\d+)?))?")
_TIME_UNIT_NAMES = frozenset({"utc", "us2000", "mj1958", "t2000", "t1970", "ns1970", "tt2000"})


def canonical_units(text: str) -> str | None:
    """das2C's canonical spelling of a units string, or None if it cannot parse it.

    ``V/m`` -> ``V m**-1``, ``V^2/m^2/Hz`` -> ``V**2 m**-2 Hz**-1``,
    ``sec`` -> ``s``, ``s**-1`` -> ``Hz``; ``1/s``, ``R_J`` -> None.
    """
    stripped = text.strip().replace("\u00b5", "\u03bc")
    if not stripped or stripped in _ATOMIC_UNITS:
        return stripped
    if stripped in _UNIT_SYNONYMS:
        return _UNIT_SYNONYMS[stripped]
    components: list[str] = []
    negate = False
    for word in re.split(r"\s+|(?=/)", stripped.replace("(", " ").replace(")", " ")):
        if not word:
            continue
        if word.startswith("/"):
            negate = True
            word = word[1:]
            if not word:
                continue
        component = _unit_component(word, negate)
        if component is None:
            return None
        components.append(component)
    reduced = " ".join(components)
    return _EQUIVALENT_UNITS.get(reduced, reduced)


def _unit_component(word: str, negate: bool) -> str | None:
    """``name**exp`` for one units component, or None when it does not parse."""
    match = _UNIT_COMPONENT.fullmatch(word)
    if match is None:
        return None
    name = _UNIT_SYNONYMS.get(match.group(1), match.group(1))
    exponent = match.group(2) or "1"
    if negate:
        exponent = exponent[1:] if exponent.startswith("-") else f"-{exponent}"
    return name if exponent == "1" else f"{name}**{exponent}"


def _is_time_unit(units: str) -> bool:
    return units.strip().lower() in _TIME_UNIT_NAMES


def _head_length(text: str, words: int) -> int:
    """Index just past the first ``words`` blank-separated words of ``text``."""
    position = 0
    for _ in range(words):
        while position < len(text) and text[position].isspace():
            position += 1
        while position < len(text) and not text[position].isspace():
            position += 1
    return position


def styled_property(item: Property) -> Property:
    """``item`` with the type prefix (and units spelling) das2C would write."""
    kind = item.kind
    text = item.text
    if kind == "string":
        return Property(item.name, "", text)
    if kind in ("datum", "time"):
        return _styled_single(item.name, kind, text)
    if kind in ("datumrange", "timerange"):
        return _styled_range(item.name, kind, text)
    prefix = {"boolean": "boolean", "int": "int", "double": "double"}.get(kind, "doubleArray")
    return Property(item.name, prefix, text)


def _styled_single(name: str, kind: str, text: str) -> Property:
    """A ``Datum`` or ``Time`` property: units after the first word."""
    head, units = text[: _head_length(text, 1)], text[_head_length(text, 1) :].strip()
    if not units:
        return Property(name, "Time" if kind == "time" else "double", text)
    if kind == "time":
        return Property(name, "Time" if _is_time_unit(units) else "", text)
    canonical = canonical_units(units)
    if canonical is None:
        return Property(name, "", text)
    if _is_time_unit(canonical):
        return Property(name, "Time", text)
    return Property(name, "Datum", f"{head} {canonical}")


def _styled_range(name: str, kind: str, text: str) -> Property:
    """A ``DatumRange`` or ``TimeRange`` property: units after the third word."""
    split = _head_length(text, 3)
    head, units = text[:split], text[split:].strip()
    if kind == "timerange":
        return Property(name, "TimeRange", text)
    if not units:
        return Property(name, "double", text)
    canonical = canonical_units(units)
    if canonical is None:
        return Property(name, "", text)
    if _is_time_unit(canonical):
        return Property(name, "TimeRange", text)
    return Property(name, "DatumRange", f"{head} {canonical}")


def properties_xml(properties: Properties, indent: int) -> str:
    """A das2C ``<properties`` block (one property per line), or '' when empty."""
    if not len(properties):
        return ""
    pad = " " * indent
    lines = [f"{pad}<properties"]
    for item in properties:
        styled = styled_property(item)
        lines.append(f"{pad}  {styled.attribute_name}=\"{escape_xml(styled.text)}\"")
    lines.append(f"{pad}/>\n")
    return "\n".join(lines)


def stream_header_xml(header: StreamHeader, program: str | None = None) -> str:
    """The stream header as das2C writes it; adds ``sourceId=program`` when missing."""
    properties = header.properties
    if program and "sourceId" not in properties:
        properties = properties.copy()
        properties.add(Property("sourceId", "", program))
    return (
        '<stream compression="none" version="2.2" >\n'
        f"{properties_xml(properties, 2)}</stream>\n"
    )


def stream_header_packet(header: StreamHeader, program: str | None = None) -> bytes:
    """``[00]`` + length + :func:`stream_header_xml`."""
    return encode_header_packet(0, stream_header_xml(header, program))


def packet_header_xml(header: PacketHeader) -> str:
    """The packet header as das2C writes it."""
    group = f' group="{escape_xml(header.group)}"' if header.group else ""
    body = properties_xml(header.properties, 2)
    body += "".join(plane_xml(plane) for plane in header.planes)
    return f"<packet{group}>\n{body}</packet>\n"


def packet_header_packet(header: PacketHeader) -> bytes:
    """``[NN]`` + length + :func:`packet_header_xml`."""
    return encode_header_packet(header.packet_id, packet_header_xml(header))


def _units_text(units: str) -> str:
    """Canonical units for a header attribute (kept verbatim when they do not parse)."""
    canonical = canonical_units(units)
    return escape_xml(units.strip() if canonical is None else canonical)


def plane_xml(plane: Plane) -> str:
    """One plane element as das2C writes it (two-blank indent)."""
    name = escape_xml(plane.name)
    head = f'  <{plane.kind} name="{name}" type="{plane.encoding.name}"'
    if plane.kind == "yscan":
        head += (
            f' zUnits="{_value_units(plane, plane.zunits)}" yUnits="{_units_text(plane.yunits)}"'
            f' nitems="{plane.nitems}" {_ytags_attributes(plane)}>\n'
        )
    else:
        head += f' units="{_value_units(plane, plane.units)}">\n'
    return f"{head}{properties_xml(plane.properties, 4)}  </{plane.kind}>\n"


def _value_units(plane: Plane, units: str) -> str:
    return "UTC" if plane.encoding.kind == "time" else _units_text(units)


def _ytags_attributes(plane: Plane) -> str:
    """The yTags / yTagInterval attributes of a yscan (ending just before ``>``)."""
    if plane.ytags is not None or plane.ytag_interval is None:
        return f'\n         yTags="{ytags_text(plane)}"'
    text = f'yTagInterval="{plane.ytag_interval:.6e}" '
    if plane.ytag_min is not None:
        low = plane.ytag_min
        return text + ('yTagMin="0"  ' if low == 0.0 else f'yTagMin="{low:.6e}"  ')
    if plane.ytag_max is not None:
        return text + f'yTagMax="{plane.ytag_max:.6e}"  '
    return text + 'yTagMin="0"  '


def ytags_text(plane: Plane) -> str:
    """The yTags of a yscan re-printed with das2C's derived format, joined by commas."""
    tags = plane.ytag_values()
    if plane.ytags is None or plane.ytags_text is None:
        width = int(math.ceil(math.log10(plane.nitems + 1))) + 1
        return ",".join(f"{tag:{width}.0f}" for tag in tags.tolist())
    template = ytags_format(plane.ytags_text, tags)
    return ",".join(template % tag for tag in tags.tolist())


def _clean_tag_text(item: str) -> str:
    """One yTag's text as das2C normalises it before counting digits."""
    text = "".join(item.split())
    while len(text) > 1 and text[0] == "0":
        text = text[1:]
    if text.startswith("."):
        text = "0" + text
    if "." not in text:
        return text
    parts = re.split(r"([eE])", text, maxsplit=1)
    if len(parts) == 3:
        mantissa, marker, exponent = parts
        point = mantissa.index(".") if "." in mantissa else len(mantissa)
        head, tail = mantissa[: point + 1], mantissa[point + 1 :].rstrip("0")
        return f"{head}{tail}{marker}{exponent}"
    return text.rstrip("0")


def _c_int_ceil_log10(value: float) -> int:
    """``(int)ceil(log10(value))`` as x86 C computes it (NaN and -inf give INT_MIN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.ceil(np.log10(np.float64(value)))
    if not np.isfinite(result):
        return -(2**31)
    return int(result)


def _wrapped_int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def ytags_format(text: str, tags: np.ndarray) -> str:
    """The printf format das2C derives from a ``yTags`` attribute.

    It counts the digits before and after the decimal point (after trimming
    zeros), notes signs and exponents, switches to ``%e`` when the tags span
    more than five decades or need too many digits, and right-justifies all
    values to a common width (``%7.1f``, ``%10.4e``...).
    """
    most_before = most_after = 0
    exponential = False
    sign_space = 0
    for item in text.split(","):
        cleaned = _clean_tag_text(item)
        mantissa = re.split(r"[eE]", cleaned, maxsplit=1)[0]
        exponential = exponential or len(mantissa) != len(cleaned)
        sign_space = 1 if "-" in cleaned else sign_space
        before, _, after = mantissa.partition(".")
        most_before = max(most_before, sum(char.isdigit() for char in before))
        most_after = max(most_after, sum(char.isdigit() for char in after))
    significant = (most_before + most_after) or 1
    span = _wrapped_int32(_c_int_ceil_log10(tags[-1]) - _c_int_ceil_log10(tags[0]))
    if not exponential and span > 5:
        exponential = True
        most_after += most_before - 1
        most_before = 1
    if (exponential and significant > 5) or (not exponential and significant > 9):
        exponential = True
        removed = significant - 5
        most_after = 0 if most_after < removed else most_after - removed
        significant = most_after + most_before
    if exponential:
        return f"%{significant + sign_space + 5}.{significant - 1}e"
    width = significant + sign_space + (1 if most_after > 0 else 0)
    return f"%{width}.{most_after}f"
