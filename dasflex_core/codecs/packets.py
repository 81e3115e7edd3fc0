"""Packet framing without numpy: the header, comment and exception packets of both versions.

The web front ends (an error after or instead of a stream), the runner (a
failed pipeline's exception packet) and the stream tools all frame these
packets here, exactly as das2C writes them; the numpy-backed codecs
(:mod:`~dasflex_core.codecs.das2_writer`, :mod:`~dasflex_core.codecs.das3`)
export the same functions under their codec names (``encode_header_packet``,
``encode_packet``, ``encode_comment``, ``encode_exception``).
"""

from __future__ import annotations

from dasflex_core.codecs.das2_props import escape_xml
from dasflex_core.errors import StreamError
from dasflex_core.xmltext import escape_text, quote_attribute

_ATTRIBUTE_UNSAFE = str.maketrans({char: "_" for char in "\"'<>&"})
#: das2C breaks a comment's ``value`` onto its own line above this many bytes.
_LONG_COMMENT_VALUE = 40
#: The shortest stream headers: what an error-only response starts with.
_DAS2_STREAM_XML = b'<stream version="2.2">\n</stream>\n'
_DAS3_STREAM_XML = b'<stream version="3.0" type="das-basic-stream"/>\n'

# -- das2 -------------------------------------------------------------------


def das2_header_packet(tag_id: int | str, xml: str | bytes) -> bytes:
    """``[NN]`` (or ``[xx]`` for tag_id 'xx') + 6-digit zero-padded length + xml."""
    body = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    if len(body) > 999_999:
        raise StreamError(f"header of {len(body)} bytes does not fit a das2 length field")
    tag = tag_id if isinstance(tag_id, str) else f"{tag_id:02d}"
    return b"[%s]%06d" % (tag.encode("ascii"), len(body)) + body


def das2_comment(type: str, source: str, value: str) -> bytes:  # noqa: A002
    """A ``[xx]<comment .../>`` packet exactly as das2C writes it."""
    kind = type.translate(_ATTRIBUTE_UNSAFE)
    origin = source.translate(_ATTRIBUTE_UNSAFE)
    escaped = escape_xml(value)
    if len(escaped.encode("utf-8")) > _LONG_COMMENT_VALUE:
        xml = f'<comment type="{kind}" source="{origin}"\n   value="{escaped}"\n/>\n'
    else:
        xml = f'<comment type="{kind}" source="{origin}" value="{escaped}" />\n'
    return das2_header_packet("xx", xml)


def das2_exception(type: str, message: str) -> bytes:  # noqa: A002
    """A ``[xx]<exception .../>`` packet exactly as das2C writes it."""
    kind = type.translate(_ATTRIBUTE_UNSAFE)
    return das2_header_packet("xx", f'<exception type="{kind}" message="{escape_xml(message)}" />\n')


def das2_stream_header() -> bytes:
    """A minimal das2 stream header packet (``[00]``)."""
    return das2_header_packet(0, _DAS2_STREAM_XML)


# -- das3 -------------------------------------------------------------------


def das3_packet(kind: str, packet_id: int | None, payload: bytes) -> bytes:
    """Frame one das3 packet: ``|kind|id|len|payload`` (empty id when None)."""
    ident = b"" if packet_id is None else str(packet_id).encode()
    return b"|%s|%s|%d|" % (kind.encode(), ident, len(payload)) + payload


def das3_comment(type: str, source: str, text: str) -> bytes:  # noqa: A002 - das3 name
    """A ``|Cx|`` comment packet."""
    payload = (f"<comment type={quote_attribute(type)} source={quote_attribute(source)}>"
               f"{escape_text(text)}</comment>\n")
    return das3_packet("Cx", None, payload.encode())


def das3_exception(type: str, message: str) -> bytes:  # noqa: A002 - das3 name
    """A ``|Ex|`` exception packet (types NoMatchingData, ServerError, QueryError)."""
    payload = f"<exception type={quote_attribute(type)}>{escape_text(message)}</exception>\n"
    return das3_packet("Ex", None, payload.encode())


def das3_stream_header() -> bytes:
    """A minimal das3 stream header packet (``|Sx|``)."""
    return das3_packet("Sx", None, _DAS3_STREAM_XML)


# -- either -----------------------------------------------------------------


def exception_packet(stream_format: str, exception_type: str, message: str) -> bytes:
    """An in-band exception packet for a ``"das3"`` stream, else for a das2 stream."""
    if stream_format == "das3":
        return das3_exception(exception_type, message)
    return das2_exception(exception_type, message)
