"""Plumbing shared by the stream tools (``das2_ascii``, ``das3_csv``, the binners, ...).

A tool is a ``main(argv=None) -> int`` that builds a :class:`ToolParser`,
then hands its work to :func:`run_tool`, which turns every failure into one
clear stderr line and a non-zero exit status::

    def main(argv=None):
        parser = ToolParser("das2_ascii", "Convert a das2 stream to text.")
        parser.add_argument("-r", type=int_in_range(2, 18), ...)
        return run_tool(parser, argv, convert)

    def convert(args):
        out = Output()
        for chunk in read_chunks():
            out.write(...)
        out.flush()

Input is read in bounded chunks from binary stdin (:func:`read_chunks`);
output is collected in a bounded buffer and written to binary stdout
(:class:`Output`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO, NoReturn

from dasflex_core.errors import DasFlexError, QueryError, StreamError

#: Exit status for success.
EXIT_OK = 0
#: Exit status for a bad stream or a failure while processing it.
EXIT_FAILURE = 1
#: Exit status for bad command line options.
EXIT_USAGE = 2
#: Exit status after an interrupt (128 + SIGINT).
EXIT_INTERRUPTED = 130

#: Bytes read from stdin per chunk.
READ_CHUNK_BYTES = 1 << 20
#: Output is flushed to stdout once this many bytes are pending.
WRITE_FLUSH_BYTES = 1 << 20
#: Size of each write-once buffer :func:`read_views` reads into.
VIEW_BUFFER_BYTES = 8 << 20
#: Capacity asked for the input pipe (Linux caps it at /proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


class UsageError(QueryError):
    """A command line option or argument is invalid."""


class ToolParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError`.

    argparse normally prints the usage and exits; tools instead report one
    line (``PROG: error: MESSAGE``) through :func:`run_tool`.
    """

    def __init__(self, prog: str, description: str, epilog: str | None = None) -> None:
        super().__init__(
            prog=prog,
            description=description,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage and exiting."""
        raise UsageError(message)


def int_in_range(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"{value} is out of range, expected {minimum} to {maximum}"
            )
        return value

    return parse


def positive_float(text: str) -> float:
    """An argparse ``type`` accepting a finite number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (value > 0.0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number greater than 0")
    return value


def add_time_bin_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``-b BEGIN`` option of the time binners (the positional BIN_SECONDS
    is added by :func:`add_bin_seconds`, after the tool's own options)."""
    parser.add_argument("-b", dest="begin", metavar="BEGIN",
                        help="start bin 0 at this time instead of at the first data time")


def add_bin_seconds(parser: argparse.ArgumentParser) -> None:
    """The positional BIN_SECONDS of the time binners."""
    parser.add_argument("bin_seconds", type=positive_float, metavar="BIN_SECONDS",
                        help="width of the time bins in seconds")


def report_error(prog: str, message: str) -> None:
    """Write ``PROG: error: MESSAGE`` as one line to stderr."""
    _report(prog, "error", message)


def report_warning(prog: str, message: str) -> None:
    """Write ``PROG: warning: MESSAGE`` as one line to stderr."""
    _report(prog, "warning", message)


def _report(prog: str, level: str, message: str) -> None:
    one_line = " ".join(str(message).split())
    try:
        sys.stderr.write(f"{prog}: {level}: {one_line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def run_tool(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    work: Callable[[argparse.Namespace], int | None],
) -> int:
    """Parse ``argv`` and run ``work(args)``; return the exit status.

    Bad options give exit 2, a :class:`DasFlexError` (bad stream, ...) exit 1,
    each with one stderr line; a closed stdout (``head``) ends quietly with 0.
    Any other exception is an internal error: one stderr line and exit 1
    (set ``DASFLEX_TRACEBACK=1`` to see the traceback instead).
    """
    prog = parser.prog
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        report_error(prog, f"{exc} (try '{prog} --help')")
        return EXIT_USAGE
    try:
        return int(work(args) or EXIT_OK)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except DasFlexError as exc:
        report_error(prog, str(exc))
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
    except MemoryError:
        report_error(prog, "out of memory")
        return EXIT_FAILURE
    except OSError as exc:
        report_error(prog, f"I/O error: {exc.strerror or exc}")
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        if os.environ.get("DASFLEX_TRACEBACK"):
            raise
        report_error(prog, f"internal error ({type(exc).__name__}): {exc}")
        return EXIT_FAILURE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the exit-time flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


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
    from dasflex_core.codecs.das2_reader import write_once_view

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
    import select

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
    import stat

    try:
        if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            return False
        import fcntl

        get_size = getattr(fcntl, "F_GETPIPE_SZ", None)  # Linux only
        set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if get_size is None or set_size is None or fcntl.fcntl(descriptor, get_size) >= size:
            return False
        fcntl.fcntl(descriptor, set_size, size)
    except (OSError, ValueError, ImportError):
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
