"""Input and threading for the binning and spectral tools.

:func:`read_batched` is :func:`~dasflex_core.tools._common.read_views`
under its former name (pipes widened, waiting input gathered into chunks of
up to ``target`` bytes, read straight into write-once buffers that a
``Das2Reader`` parses without copying); :class:`EventPipeline` overlaps
parsing with the tool's numpy work; :class:`EventStream` is the event
dispatch the tools' stream handlers share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from dasflex_core.codecs.das2_writer import encode_comment, encode_exception
from dasflex_core.codecs.events import Comment, DataRun, HeaderDefined, StreamException, StreamStart
from dasflex_core.tools._common import Output, read_views

#: Bytes gathered per chunk when input is flowing.
TARGET_CHUNK_BYTES = 1 << 20


def read_batched(source: BinaryIO | None = None, target: int = TARGET_CHUNK_BYTES) -> Iterator[memoryview]:
    """Yield the bytes of ``source`` (default: stdin) as read-only views of up to ``target`` bytes.

    Feed them to a ``Das2Reader`` (see :func:`~dasflex_core.tools._common.read_views`).
    """
    return read_views(source, target)


class EventStream:
    """Base of the tools' stream handlers: :meth:`handle` routes each reader
    event to an ``on_*`` method.

    By default headers and data are ignored and comments and exceptions are
    passed on through ``emit``; subclasses override what they use.  Setting
    ``done`` ends the handling (and :func:`run_stream` stops reading).
    """

    emit: Callable[[bytes], object]
    done: bool = False

    def handle(self, events: Iterable[object]) -> None:
        """Process a batch of reader events, in order, until ``done``."""
        for event in events:
            if self.done:
                return
            if isinstance(event, DataRun):
                self.on_data(event)
            elif isinstance(event, HeaderDefined):
                self.on_packet_header(event)
            elif isinstance(event, StreamStart):
                self.on_stream_start(event)
            elif isinstance(event, Comment):
                self.on_comment(event)
            elif isinstance(event, StreamException):
                self.on_exception(event)

    def on_data(self, run: DataRun) -> None:
        """A run of data records."""

    def on_packet_header(self, event: HeaderDefined) -> None:
        """A packet header (re)defined."""

    def on_stream_start(self, event: StreamStart) -> None:
        """The stream header."""

    def on_comment(self, event: Comment) -> None:
        """A comment packet: passed on."""
        self.emit(encode_comment(event.type, event.source, event.value))

    def on_exception(self, event: StreamException) -> None:
        """An exception packet: passed on."""
        self.emit(encode_exception(event.type, event.message))


def run_stream(make_stream: Callable[[Callable[[bytes], Any]], Any],
               source: BinaryIO | None = None, sink: BinaryIO | None = None,
               threaded: bool = False) -> int:
    """Feed the das2 stream on ``source`` (stdin) to a tool's event handler; return 0.

    ``make_stream(write)`` builds the handler: an object with ``handle(events)``
    and ``finish()`` (an :class:`EventStream`), writing its output through
    ``write`` to ``sink`` (stdout).  A handler whose ``done`` attribute
    becomes true stops the reading early.  ``threaded``: input is parsed on
    this thread while the handler works on another (:class:`EventPipeline`).
    """
    from dasflex_core.codecs.das2 import Das2Reader

    output = Output(sink)
    stream = make_stream(output.write)
    reader = Das2Reader()
    pipeline = EventPipeline(stream.handle) if threaded else None
    put = pipeline.put if pipeline is not None else stream.handle
    try:
        try:
            for chunk in read_batched(source):
                put(reader.feed(chunk))
                if getattr(stream, "done", False):
                    break
            else:
                put(reader.close())
        finally:
            if pipeline is not None:
                pipeline.close()
        stream.finish()
    finally:
        output.flush()
    return 0


def run_pipelined(make_stream: Callable[[Callable[[bytes], Any]], Any],
                  source: BinaryIO | None = None, sink: BinaryIO | None = None) -> int:
    """:func:`run_stream` with parsing and handling on two threads; return 0."""
    return run_stream(make_stream, source, sink, threaded=True)


class EventPipeline:
    """Parse input on the calling thread while ``handle`` runs on a worker thread.

    The numpy work of the tools releases the GIL, so reading and parsing the
    next chunk overlaps with binning or transforming the previous one on a
    second core.  Event batches are handed over in order through a bounded
    queue (``depth`` batches), so memory stays bounded; an exception raised
    by ``handle`` is re-raised on the calling thread.
    """

    def __init__(self, handle: Callable[[list], None], depth: int = 4) -> None:
        import queue
        import threading

        self._handle = handle
        self._queue: queue.Queue[list | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="das2-events", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        """True once ``handle`` raised (the caller should stop feeding)."""
        return self._error is not None

    def put(self, events: list) -> None:
        """Queue a batch of events (re-raises a worker failure)."""
        self._raise_error()
        if events:
            self._queue.put(events)

    def close(self) -> None:
        """Wait until every queued batch is handled; re-raise a worker failure."""
        self._queue.put(None)
        self._thread.join()
        self._raise_error()

    def _work(self) -> None:
        while True:
            events = self._queue.get()
            if events is None:
                return
            if self._error is not None:
                continue
            try:
                self._handle(events)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
