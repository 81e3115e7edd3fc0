"""das2 label text: the formatting codes of das2 labels and titles, for readers of other formats.

das2 labels carry IDL/Grandle-style formatting codes: ``!U``/``!D`` (up,
down), ``!N`` (normal), ``!E``/``!I`` (exponent, index), ``!A``/``!B``
(above, below), ``!R`` (restore), ``!!`` (a literal ``!``) and ``!C``
(new line).  This module is their one reader; :func:`plain_label` gives the
plain text that table formats, CSV headers and other plain-text readers
carry.  No numpy here: light callers (protocols, catalogs) may use it.

Examples
--------
>>> plain_label("Radius (R!dE!n)"), plain_label("E (V m!a-1!n)")
('Radius (RE)', 'E (V m-1)')
"""

from __future__ import annotations

import re

__all__ = ["plain_label"]

#: A formatting code: ``!`` and the one character after it.
_FORMAT_CODE = re.compile(r"!(.)")
#: The codes that stand for text in plain output; every other code is dropped.
_CODE_TEXT = {"!": "!", "c": " ", "C": " "}


def plain_label(text: str) -> str:
    """``text`` with its das2 formatting codes removed (``R!dE!n`` -> ``RE``, ``!!`` -> ``!``).

    Runs of white space (``!C`` line breaks included) become one space.

    Examples
    --------
    >>> plain_label("B!dx!n (nT) !! !Aup!n")
    'Bx (nT) ! up'
    """
    return " ".join(_FORMAT_CODE.sub(lambda m: _CODE_TEXT.get(m.group(1), ""), text).split())
