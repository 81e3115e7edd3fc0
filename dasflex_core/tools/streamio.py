"""Input, output and run loops of the stream tools.

Input is read in bounded chunks from binary stdin (:func:`read_chunks`, or
:func:`read_views` straight into write-once buffers that a ``Das2Reader``
parses without copying); output is collected in a bounded buffer and written
to binary stdout (:class:`Output`).  :func:`stream_events` gives the events
of a das2 or das3 stream.  A tool's event handler is a :class:`ToolStream`
(an :class:`~dasflex_core.codecs.events.EventStream` writing through
``emit``), which :func:`run_stream` feeds from stdin, optionally on two
threads (:func:`run_pipelined`, :class:`EventPipeline`).
"""

from __future__ import annotations

import os
import queue
import select
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Protocol

from dasflex_core.codecs import make_reader
from dasflex_core.codecs.das2 import Das2Reader
from dasflex_core.codecs.das2_reader import write_once_view
from dasflex_core.codecs.das2_writer import encode_comment, encode_exception
from dasflex_core.codecs.events import Comment, Event, EventStream, StreamException
from dasflex_core.errors import StreamError

try:
    import fcntl
except ImportError:  # not on this platform: pipes keep their size
    fcntl = None  # type: ignore[assignment]

#: Bytes read from stdin per chunk.
READ_CHUNK_BYTES = 1 << 20
#: Output is flushed to stdout once this many bytes are pending.
WRITE_FLUSH_BYTES = 1 << 20
#: Size of each write-once buffer :func:`read_views` reads into.
VIEW_BUFFER_BYTES = 8 << 20
#: Capacity asked for the input pipe (Linux caps it at /proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


def binary_stdin() -> BinaryIO:
    """The binary stdin stream."""
    return sys.stdin.buffer


def binary_stdout() -> BinaryIO:
    """The binary stdout stream."""
    return sys.stdout.buffer


def read_chunks(
    source: BinaryIO | None = None, chunk_bytes: int = READ_CHUNK_BYTES
) -> Iterator[bytes]:
    """Yield the bytes of ``source`` (default: stdin) in chunks of at most ``chunk_bytes``.

    Each chunk is what has already arrived: after a short read, more is
    gathered only while ``select`` reports it waiting, so a slow upstream
    never delays output.  A pipe is first widened (:func:`widen_pipe`), so
    that one read usually returns a whole chunk.
    """
    stream = source if source is not None else binary_stdin()
    read = getattr(stream, "read1", stream.read)
    descriptor = _descriptor(stream)
    if descriptor is not None:
        widen_pipe(descriptor)
    while True:
        chunk = read(chunk_bytes)
        if not chunk:
            return
        if descriptor is None or len(chunk) >= chunk_bytes:
            yield chunk
            continue
        yield _gather(read, descriptor, chunk, chunk_bytes)


def read_views(
    source: BinaryIO | None = None,
    chunk_bytes: int = READ_CHUNK_BYTES,
    buffer_bytes: int = VIEW_BUFFER_BYTES,
) -> Iterator[memoryview]:
    """Like :func:`read_chunks`, but read straight into large write-once buffers.

    Yields read-only views that lie back to back in a
    :class:`~dasflex_core.codecs.das2_reader.WriteOnceBuffer`, so a
    ``Das2Reader`` fed them keeps data runs that cross chunks as views: the
    input is copied once, by the kernel.  For consumers that only feed a
    ``Das2Reader`` (other code may want :func:`read_chunks`' ``bytes``).
    """
    stream = source if source is not None else binary_stdin()
    readinto = getattr(stream, "readinto1", None) or getattr(stream, "readinto", None)
    if readinto is None:
        yield from (memoryview(chunk) for chunk in read_chunks(stream, chunk_bytes))
        return
    descriptor = _descriptor(stream)
    if descriptor is not None:
        widen_pipe(descriptor)
    size = max(buffer_bytes, chunk_bytes)
    view = write_once_view(size)
    filled = 0
    while True:
        if size - filled < chunk_bytes:
            view = write_once_view(size)
            filled = 0
        start = filled
        stop = start + chunk_bytes
        count = readinto(view[start:stop])
        if not count:
            return
        filled += count
        while descriptor is not None and filled < stop and _ready(descriptor):
            count = readinto(view[filled:stop])
            if not count:
                break
            filled += count
        yield view[start:filled].toreadonly()


def _gather(read: Callable[[int], bytes], descriptor: int, first: bytes, limit: int) -> bytes:
    """``first`` followed by whatever is already waiting on ``descriptor``, up to ``limit`` bytes."""
    pieces = [first]
    size = len(first)
    while size < limit and _ready(descriptor):
        more = read(limit - size)
        if not more:
            break
        pieces.append(more)
        size += len(more)
    return b"".join(pieces) if len(pieces) > 1 else first


def _descriptor(stream: BinaryIO) -> int | None:
    """The file descriptor behind ``stream``, or None (in-memory streams)."""
    try:
        return stream.fileno()
    except (OSError, AttributeError, ValueError):
        return None


def _ready(descriptor: int) -> bool:
    """True when reading ``descriptor`` would not block."""
    try:
        readable, _, _ = select.select([descriptor], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(readable)


def widen_pipe(descriptor: int, size: int = PIPE_BYTES) -> bool:
    """Ask Linux to give the pipe on ``descriptor`` a ``size``-byte capacity.

    A default pipe holds 64 KiB, so a reader pays a system call and a
    context switch per 64 KiB; a 1 MiB pipe roughly halves the CPU time of
    moving a stream between two processes.  Returns False (and changes
    nothing) when ``descriptor`` is not a pipe, is already that wide, or
    the system refuses (other platforms, per-user pipe limits).
    """
    try:
        if fcntl is None or not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            return False
        get_size = getattr(fcntl, "F_GETPIPE_SZ", None)  # Linux only
        set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if get_size is None or set_size is None or fcntl.fcntl(descriptor, get_size) >= size:
            return False
        fcntl.fcntl(descriptor, set_size, size)
    except (OSError, ValueError):
        return False
    return True


class Output:
    """A bounded write buffer in front of a binary stream (default: stdout).

    ``write`` collects pieces and flushes once ``flush_bytes`` are pending, so
    a tool can emit many small pieces cheaply and memory stays bounded.
    """

    def __init__(self, sink: BinaryIO | None = None, flush_bytes: int = WRITE_FLUSH_BYTES) -> None:
        self._sink = sink if sink is not None else binary_stdout()
        self._flush_bytes = flush_bytes
        self._pending: list[bytes | memoryview] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data``; flush when enough is pending.

        Pieces of ``flush_bytes`` or more go straight to the sink (no copy),
        after whatever is pending.
        """
        if not data:
            return
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if size >= self._flush_bytes:
            self.flush()
            self._sink.write(data)
            return
        if isinstance(data, memoryview):
            self._pending_bytes += data.nbytes
        else:
            self._pending_bytes += len(data)
        self._pending.append(data if isinstance(data, bytes | memoryview) else bytes(data))
        if self._pending_bytes >= self._flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write everything pending to the sink and flush it."""
        if self._pending:
            pieces = self._pending
            self._pending = []
            self._pending_bytes = 0
            self._sink.write(b"".join(pieces))
        self._sink.flush()


@contextmanager
def located(offset: int) -> Iterator[None]:
    """Give a StreamError raised without a byte offset the ``offset`` of the event in hand."""
    try:
        yield
    except StreamError as exc:
        if exc.offset is not None:
            raise
        raise StreamError(exc.reason, offset) from None


def stream_events(source: BinaryIO | None = None) -> Iterator[Event]:
    """The events of the das2 or das3 stream on ``source`` (default: stdin).

    Raises StreamError for empty input or a stream that is neither.
    """
    reader = None
    for chunk in read_chunks(source):
        if reader is None:
            reader = make_reader(chunk)
        yield from reader.feed(chunk)
    if reader is None:
        raise StreamError("empty input: expected a das2 or das3 stream", 0)
    yield from reader.close()


class ToolStream(EventStream[None]):
    """A tool's event handler: it writes das2 output through ``emit``.

    Headers and data are ignored and comments and exceptions passed on
    (das2-encoded) unless a subclass overrides them.  Setting ``done`` ends
    the handling and :func:`run_stream` stops reading.
    """

    emit: Callable[[bytes], object]

    def on_comment(self, event: Comment) -> None:
        """A comment packet: passed on."""
        self.emit(encode_comment(event.type, event.source, event.value))

    def on_exception(self, event: StreamException) -> None:
        """An exception packet: passed on."""
        self.emit(encode_exception(event.type, event.message))

    def finish(self) -> None:
        """The input ended: write what is still held."""


class _Handler(Protocol):
    """What :func:`run_stream` feeds: ``handle(events)``, ``finish()``, ``done``."""

    done: bool

    def handle(self, events: list[Event]) -> None: ...

    def finish(self) -> None: ...


def run_stream(make_stream: Callable[[Callable[[bytes], None]], _Handler],
               source: BinaryIO | None = None, sink: BinaryIO | None = None,
               threaded: bool = False) -> int:
    """Feed the das2 stream on ``source`` (stdin) to a tool's event handler; return 0.

    ``make_stream(write)`` builds the handler (a :class:`ToolStream`), which
    writes its output through ``write`` to ``sink`` (stdout).  A handler
    whose ``done`` becomes true stops the reading early.  ``threaded``:
    input is parsed on this thread while the handler works on another
    (:class:`EventPipeline`).
    """
    output = Output(sink)
    stream = make_stream(output.write)
    reader = Das2Reader()
    pipeline = EventPipeline(stream.handle) if threaded else None
    put = pipeline.put if pipeline is not None else stream.handle
    try:
        try:
            for chunk in read_views(source):
                put(reader.feed(chunk))
                if stream.done:
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


def run_pipelined(make_stream: Callable[[Callable[[bytes], None]], _Handler],
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

    def __init__(self, handle: Callable[[list[Event]], None], depth: int = 4) -> None:
        self._handle = handle
        self._queue: queue.Queue[list[Event] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="das2-events", daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        """True once ``handle`` raised (the caller should stop feeding)."""
        return self._error is not None

    def put(self, events: list[Event]) -> None:
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
