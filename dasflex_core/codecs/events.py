"""Events that the das2 and das3 stream readers yield.

A reader is fed bytes in chunks of any size and yields these events in stream
order.  ``raw`` always holds the exact bytes of the packet(s), framing
included, so that a pass-through writer reproduces the input byte for byte.
``offset`` is the byte offset of the event's first byte in the (decompressed)
stream.  ``header`` objects are codec specific (see ``das2.py``/``das3.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class StreamStart:
    """The stream header packet (das2 ``[00]``, das3 ``|Sx|``)."""

    version: str
    header: Any
    raw: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class HeaderDefined:
    """A packet (das2) or dataset (das3) header; it may redefine an id."""

    packet_id: int
    header: Any
    raw: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class DataRun:
    """One or more consecutive data packets with the same id, decoded at once.

    ``records`` holds one row per packet (a numpy structured array, or a
    codec-specific object for ragged das3 data); ``raw`` the packets' bytes.
    """

    packet_id: int
    header: Any
    records: np.ndarray | Any
    raw: bytes | memoryview
    offset: int

    @property
    def count(self) -> int:
        """Number of data packets (records) in the run."""
        return len(self.records)


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment packet (das2 ``[xx]<comment>``, das3 ``|Cx|``)."""

    type: str
    source: str
    value: str
    raw: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class StreamException:
    """An exception packet (das2 ``[xx]<exception>``, das3 ``|Ex|``)."""

    type: str
    message: str
    raw: bytes
    offset: int


Event = StreamStart | HeaderDefined | DataRun | Comment | StreamException
