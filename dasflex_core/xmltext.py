"""XML text and attribute values as ``xml.sax.saxutils`` writes them, without importing it.

``xml.sax.saxutils`` imports ``urllib.request`` (and with it ``http.client`` and
the e-mail package), which no front end otherwise loads; the catalog writer and
the das3 packet framing quote with these two functions instead.
"""

from __future__ import annotations

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
