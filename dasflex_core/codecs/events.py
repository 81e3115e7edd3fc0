"""Events that the das2 and das3 stream readers yield.

A reader is fed bytes in chunks of any size and yields these events in stream
order.  ``raw`` always holds the exact bytes of the packet(s), framing
included, so that a pass-through writer reproduces the input byte for byte.
``offset`` is the byte offset of the event's first byte in the (decompressed)
stream.  ``header`` objects are codec specific (see ``das2.py``/``das3.py``).

:class:`EventStream` is the one event dispatch: a handler subclasses it and
overrides the ``on_*`` methods for the kinds of event it uses.  Importing
this module does not import numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
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

#: What the ``on_*`` methods of an :class:`EventStream` return.
Result = TypeVar("Result")


class EventReader(Protocol):
    """A das2 or das3 stream reader: bytes in, events out."""

    def feed(self, chunk: bytes) -> list[Event]:
        """Events of the bytes fed so far that are complete."""
        ...

    def close(self) -> list[Event]:
        """The last events; raise StreamError when the stream is incomplete."""
        ...


class EventStream(Generic[Result]):
    """Routes each stream event to the ``on_*`` method for its kind.

    :meth:`dispatch` handles one event and returns what its ``on_*`` method
    returns (``Result``: bytes for a converter, None for a handler that
    writes as it goes); the methods a subclass does not override do nothing
    and return None.  :meth:`handle` dispatches a batch in order and stops
    once ``done`` is set, so a reading loop can stop early too.
    """

    done: bool = False

    def handle(self, events: Iterable[Event]) -> None:
        """Dispatch a batch of events, in order, until ``done``."""
        for event in events:
            if self.done:
                return
            self.dispatch(event)

    def dispatch(self, event: Event) -> Result | None:
        """Call the ``on_*`` method for ``event``; return its result."""
        if isinstance(event, DataRun):
            return self.on_data(event)
        if isinstance(event, HeaderDefined):
            return self.on_packet_header(event)
        if isinstance(event, StreamStart):
            return self.on_stream_start(event)
        if isinstance(event, Comment):
            return self.on_comment(event)
        if isinstance(event, StreamException):
            return self.on_exception(event)
        return None

    def on_data(self, run: DataRun) -> Result | None:
        """A run of data records."""
        return None

    def on_packet_header(self, event: HeaderDefined) -> Result | None:
        """A packet header (das2) or dataset (das3) defined or redefined."""
        return None

    def on_stream_start(self, event: StreamStart) -> Result | None:
        """The stream header."""
        return None

    def on_comment(self, event: Comment) -> Result | None:
        """A comment packet."""
        return None

    def on_exception(self, event: StreamException) -> Result | None:
        """An exception packet."""
        return None
