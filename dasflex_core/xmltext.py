"""XML in and out: safe parsing of received headers, and quoting of the text dasflex writes.

:func:`parse_root` is the one place received XML (das3 headers and packets) is
parsed: by lxml (loaded on first use), without entity expansion or network
access.  :func:`escape_text` and :func:`quote_attribute` write what
``xml.sax.saxutils`` writes without importing it: it imports ``urllib.request``
(and with it ``http.client`` and the e-mail package), which no front end
otherwise loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.etree import _Element

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_VALUE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def escape_text(text: str) -> str:
    """``text`` as XML character data (``&``, ``<``, ``>`` escaped).

    >>> escape_text("a < b & c")
    'a &lt; b &amp; c'
    """
    return text.translate(_TEXT_ESCAPES)


def quote_attribute(value: str) -> str:
    """``value`` as a quoted XML attribute value: double quotes, else single, else ``&quot;``.

    >>> quote_attribute('say "hi"')
    '\\'say "hi"\\''
    >>> quote_attribute("it's \\"x\\"")
    '"it\\'s &quot;x&quot;"'
    """
    text = value.translate(_VALUE_ESCAPES)
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"{}"'.format(text.replace('"', "&quot;"))


def parse_root(data: bytes, *, remove_comments: bool = False, large: bool = False) -> _Element:
    """The root element of the XML document ``data`` (NUL and blank padding stripped).

    Entities are not expanded and nothing is fetched; ``remove_comments``
    drops XML comments; ``large`` lifts lxml's limits on the size of one text
    node and the depth of the tree (a VOTable's BINARY2 stream is one text
    node).  Raises ValueError with lxml's reason for bad XML.
    """
    from lxml import etree

    parser = etree.XMLParser(remove_comments=remove_comments, resolve_entities=False,
                             no_network=True, huge_tree=large)
    try:
        return etree.fromstring(data.strip(b"\0 \t\r\n"), parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc)) from None
