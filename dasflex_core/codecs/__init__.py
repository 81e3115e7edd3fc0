"""das2 and das3 stream codecs.

:func:`make_reader` picks the reader for a stream from its first bytes.  The
package root imports no codec module: the readers and writers load numpy,
and light modules (``events``, ``packets``, ``das2_props``) live here too.
"""

from __future__ import annotations

from ..errors import StreamError
from .events import EventReader

#: How many leading bytes :func:`make_reader` needs at most.
SNIFF_BYTES = 4


def stream_version(first_bytes: bytes) -> str:
    """``"das2"`` for ``[00]``, ``"das3"`` for ``|Sx|``; raise StreamError otherwise."""
    head = bytes(first_bytes[:SNIFF_BYTES])
    if head.startswith(b"[00]"):
        return "das2"
    if head.startswith(b"|Sx|"):
        return "das3"
    if head.lstrip()[:1] == b"<":
        raise StreamError("un-packetized XML documents are not supported; "
                          "expected a das2 or das3 stream", 0)
    raise StreamError(f"not a das2 or das3 stream: starts with {head!r}", 0)


def make_reader(first_bytes: bytes) -> EventReader:
    """A Das2Reader or a Das3Reader, chosen by sniffing ``[00]`` vs ``|Sx|``.

    The reader is new: feed it ``first_bytes`` (and what follows) as usual.
    """
    return new_reader(stream_version(first_bytes))


def new_reader(version: str) -> EventReader:
    """A new Das3Reader for ``"das3"``, else a new Das2Reader (their modules load numpy)."""
    if version == "das3":
        from .das3 import Das3Reader

        return Das3Reader()
    from .das2 import Das2Reader

    return Das2Reader()
