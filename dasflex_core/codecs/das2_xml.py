"""A minimal XML reader for das2 headers (expat, no namespace processing).

das2 property attributes look like namespaced names (``Datum:xTagWidth``)
but are not, so a namespace-aware parser would reject them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

from dasflex_core.errors import StreamError


@dataclass(slots=True)
class XmlElement:
    """A parsed XML element: tag, ordered attributes, children and text."""

    tag: str
    attributes: list[tuple[str, str]]
    children: list[XmlElement] = field(default_factory=list)
    text: str = ""

    def attribute(self, name: str, default: str | None = None) -> str | None:
        """The value of attribute ``name`` or ``default``."""
        for key, value in self.attributes:
            if key == name:
                return value
        return default


def parse_xml(xml: bytes, offset: int = 0) -> XmlElement:
    """Parse header XML (blank-stripped, prolog tolerated) into an XmlElement.

    Raises StreamError with the absolute byte offset of the failure.
    """
    stripped = xml.lstrip()
    lead = len(xml) - len(stripped)
    stripped = stripped.rstrip()
    if not stripped:
        raise StreamError("empty header packet", offset)
    stack: list[XmlElement] = []
    roots: list[XmlElement] = []
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True

    def start(tag: str, attributes: list[str]) -> None:
        element = XmlElement(tag, list(zip(attributes[::2], attributes[1::2], strict=True)))
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(stripped, True)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code)
        raise StreamError(f"bad header XML: {reason}", offset + lead + parser.ErrorByteIndex) from None
    return roots[0]
