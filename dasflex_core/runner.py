"""Run a planned pipeline of argv commands and stream its stdout.

Each stage is ``Popen(argv, stdin=<previous stdout>, stdout=PIPE,
stderr=PIPE)`` in a session (process group) of its own, with a clean
environment and never a shell.  :class:`PipelineRun` is an iterator of stdout
chunks read in bounded memory:

* nothing is yielded before the pipeline's first byte, so a front-end may
  still choose a status: a failure up to then raises
  :class:`~dasflex_core.errors.ReaderError` (or
  :class:`~dasflex_core.errors.NoDataError` when the whole output is a stream
  header plus a "no data" exception), a silent pipeline raises
  :class:`~dasflex_core.errors.PipelineTimeoutError`; a stage that fails
  after naming its error on stderr (``dasflex-error: CLASS: message``, see
  :func:`~dasflex_core.stages.reported_error`) raises that error instead;
* after the first byte, a failing stage or the total timeout ends the stream
  with one in-band exception packet (das2 or das3, as planned) whose message
  names no command line, path or stderr text; for formats without such
  packets (``error_format`` None) the error is raised instead, so that the
  front-end aborts the connection;
* :meth:`PipelineRun.close` (also run when the consumer stops iterating)
  sends SIGTERM then SIGKILL to every stage's process group and reaps every
  child.

Each stage's exit status and the head of its stderr are kept in
:attr:`PipelineRun.results` for the request log.
"""

from __future__ import annotations

import fcntl
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Protocol, TypedDict, Unpack

from dasflex_core.codecs.packets import exception_packet
from dasflex_core.errors import (
    NO_DATA_TYPES,
    DasFlexError,
    NoDataError,
    PipelineTimeoutError,
)
from dasflex_core.stages import (
    CHUNK_SIZE,
    STDERR_LIMIT,
    TERM_GRACE,
    checked_stages,
    clean_environment,
    failure_of,
    signal_groups,
    start_failure,
)

__all__ = ["PipelineRun", "RunOptions", "StageResult", "clean_environment", "run",
           "start_pipeline"]

#: Output held back (at most this many bytes) to recognise a "no data" stream.
HOLD_BYTES = 4096
#: Seconds output is held back after its first byte, at most.
HOLD_SECONDS = 0.2
#: Longest wait between checks that the stages are still alive.
POLL_SECONDS = 0.5


class PlanLike(Protocol):
    """What :func:`run` needs from a :class:`~dasflex_core.planner.Plan` (read only)."""

    @property
    def stages(self) -> tuple[tuple[str, ...], ...]: ...

    @property
    def error_format(self) -> str | None: ...

    @property
    def cwd(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class StageResult:
    """How one stage ended: for the request log, never for the client."""

    argv: tuple[str, ...]
    exit_status: int | None
    stderr: bytes
    stderr_bytes: int

    @property
    def failed(self) -> bool:
        """True when the stage exited non-zero or was killed."""
        return self.exit_status != 0


class RunOptions(TypedDict, total=False):
    """The keyword options of :func:`run` (see :class:`PipelineRun`)."""

    env: Mapping[str, str] | None
    first_byte_timeout: float
    total_timeout: float
    chunk_size: int
    stderr_limit: int


class PipelineOptions(RunOptions, total=False):
    """The keyword options of :func:`start_pipeline` (see :class:`PipelineRun`)."""

    cwd: str | None
    error_format: str | None


def run(plan: PlanLike, **options: Unpack[RunOptions]) -> PipelineRun:
    """Start ``plan``'s stages; see :class:`PipelineRun` for the options."""
    return start_pipeline(plan.stages, cwd=plan.cwd, error_format=plan.error_format, **options)


def start_pipeline(stages: Sequence[Sequence[str]],
                   **options: Unpack[PipelineOptions]) -> PipelineRun:
    """Start ``stages`` as a pipeline and return the running pipeline."""
    pipeline = PipelineRun(stages, **options)
    pipeline.start()
    return pipeline


class PipelineRun:
    """A running argv pipeline; iterate over it for its stdout chunks.

    Parameters
    ----------
    stages
        One argv sequence per stage, reader first.
    cwd
        Directory every stage runs in (None: the current one).
    env
        The stages' environment (default :func:`clean_environment`).
    error_format
        ``das2``, ``das3`` or None: the in-band exception packet written
        when a stage fails after the first byte (None: the error is raised).
    first_byte_timeout, total_timeout
        Seconds until the first byte, and for the whole run.
    """

    def __init__(
        self,
        stages: Sequence[Sequence[str]],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        error_format: str | None = "das2",
        first_byte_timeout: float = 60.0,
        total_timeout: float = 3600.0,
        chunk_size: int = CHUNK_SIZE,
        stderr_limit: int = STDERR_LIMIT,
    ) -> None:
        self.stages = checked_stages(stages)
        self.cwd = cwd
        self.env = dict(env) if env is not None else clean_environment()
        self.error_format = error_format
        self.first_byte_timeout = first_byte_timeout
        self.total_timeout = total_timeout
        self.chunk_size = chunk_size
        self.stderr_limit = stderr_limit
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stderr: dict[int, bytearray] = {}
        self._stderr_bytes: dict[int, int] = {}
        self._statuses: dict[int, int | None] = {}
        self._selector: selectors.BaseSelector | None = None
        self._started_at = 0.0
        self._generator: Iterator[bytes] | None = None
        self._first_byte_at: float | None = None
        self.bytes_out = 0
        #: Once output has started, stdout is handed to ``splice_sink(fd, limit)``
        #: (bytes moved, 0 at EOF) instead of being read; see ``http.Response.zero_copy``.
        self.splice_sink: Callable[[int, int], int] | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Spawn every stage; on failure stop those already started."""
        if self._processes:
            return
        self._started_at = time.monotonic()
        self._selector = selectors.DefaultSelector()
        previous: IO[bytes] | None = None
        try:
            for index, argv in enumerate(self.stages):
                previous = self._spawn(index, argv, previous)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in argv
            self.close()
            raise start_failure(self.stages, len(self._processes)) from exc
        assert previous is not None
        _widen_pipe(previous, self.chunk_size)
        self._selector.register(previous, selectors.EVENT_READ, "stdout")
        self._generator = self._stream()

    def _spawn(self, index: int, argv: Sequence[str], stdin: IO[bytes] | None) -> IO[bytes]:
        """Start one stage reading ``stdin``; return its stdout."""
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            if stdin is not None:
                stdin.close()
        self._processes.append(process)
        assert process.stdout is not None and process.stderr is not None
        assert self._selector is not None
        self._stderr[index] = bytearray()
        self._stderr_bytes[index] = 0
        self._selector.register(process.stderr, selectors.EVENT_READ, index)
        return process.stdout

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._generator is None:
            if self._processes:
                raise StopIteration
            self.start()
        assert self._generator is not None
        return next(self._generator)

    def __del__(self) -> None:
        # A pipeline dropped before its first iteration still stops its stages.
        try:
            self._terminate()
        except Exception:  # nothing sensible is left to do during garbage collection
            pass

    def __enter__(self) -> PipelineRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream: kill every stage's process group and reap them all."""
        generator, self._generator = self._generator, None
        if generator is not None and hasattr(generator, "close"):
            generator.close()
        self._terminate()

    @property
    def results(self) -> tuple[StageResult, ...]:
        """Each started stage's exit status (None if not reaped) and stderr head."""
        return tuple(
            StageResult(
                self.stages[index],
                self._statuses.get(index),
                bytes(self._stderr.get(index, b"")),
                self._stderr_bytes.get(index, 0),
            )
            for index in range(len(self._processes))
        )

    def log_record(self) -> list[dict[str, object]]:
        """Each stage's argv, exit status and stderr head, for the request log only."""
        return [
            {
                "argv": list(result.argv),
                "exit_status": result.exit_status,
                "stderr": result.stderr.decode("utf-8", "replace"),
                "stderr_bytes": result.stderr_bytes,
            }
            for result in self.results
        ]

    # -- streaming ---------------------------------------------------------

    def _stream(self) -> Iterator[bytes]:
        """Yield stdout chunks; end with an exception packet on late failure."""
        held = bytearray()
        try:
            for chunk in self._read_stdout():
                if not self.bytes_out:
                    held += chunk
                    if not self._release_held(held):
                        continue
                    chunk, held = bytes(held), bytearray()
                if chunk:
                    self.bytes_out += len(chunk)
                    yield chunk
            self._finish()
            failure = self._failure()
            if not self.bytes_out:
                _raise_unstarted(failure, bytes(held))
                if held:
                    self.bytes_out += len(held)
                    yield bytes(held)
            elif failure is not None:
                yield from self._late_failure(failure)
        except PipelineTimeoutError as exc:
            if not self.bytes_out:
                raise
            yield from self._late_failure(exc)
        finally:
            self._terminate()

    def _late_failure(self, error: DasFlexError) -> Iterator[bytes]:
        """End a started stream: an exception packet, or re-raise when none fits.

        Formats without in-band exceptions (CSV, HAPI, images) cannot say that
        they are cut short; the error is raised so the front-end aborts the
        connection instead of ending it cleanly.
        """
        packet = self._exception_packet(error)
        if not packet:
            raise error
        yield packet

    def _release_held(self, held: bytearray) -> bool:
        """True when the held head of the output may now be yielded."""
        if not held:
            return False
        if self._first_byte_at is None:
            self._first_byte_at = time.monotonic()
        waited = time.monotonic() - self._first_byte_at
        return len(held) >= HOLD_BYTES or waited >= HOLD_SECONDS

    def _read_stdout(self) -> Iterator[bytes]:
        """Yield stdout chunks until EOF (b"" when a wait ends), draining stderr."""
        assert self._selector is not None
        while True:
            events = self._selector.select(self._wait_time())
            self._check_deadlines()
            if not events:
                if self._all_exited():
                    # Every stage is gone but a background child holds stdout.
                    self._kill_groups(signal.SIGKILL)
                yield b""
                continue
            for key, _ in events:
                if key.data == "stdout" and self.splice_sink is not None and self.bytes_out:
                    moved = self.splice_sink(key.fd, self.chunk_size)
                    if not moved:
                        self._selector.unregister(key.fileobj)
                        return
                    self.bytes_out += moved
                    continue
                data = os.read(key.fd, self.chunk_size)
                if key.data == "stdout":
                    if not data:
                        self._selector.unregister(key.fileobj)
                        return
                    yield data
                else:
                    self._keep_stderr(key.data, key.fd, data)

    def _wait_time(self) -> float:
        """Seconds until the next deadline (first byte, holding, or total)."""
        elapsed = time.monotonic() - self._started_at
        remaining = self.total_timeout - elapsed
        if self._first_byte_at is None:
            remaining = min(remaining, self.first_byte_timeout - elapsed)
        if not self.bytes_out:
            remaining = min(remaining, HOLD_SECONDS)
        return max(0.0, min(remaining, POLL_SECONDS))

    def _check_deadlines(self) -> None:
        """Raise PipelineTimeoutError when a deadline has passed."""
        elapsed = time.monotonic() - self._started_at
        if elapsed >= self.total_timeout:
            raise PipelineTimeoutError(
                f"The data pipeline did not finish within {self.total_timeout:g} s"
            )
        if self._first_byte_at is None and elapsed >= self.first_byte_timeout:
            raise PipelineTimeoutError(
                f"The data reader wrote nothing within {self.first_byte_timeout:g} s"
            )

    def _keep_stderr(self, index: int, fd: int, data: bytes) -> None:
        """Keep the head of stage ``index``'s stderr (read from ``fd``); stop watching at EOF."""
        assert self._selector is not None
        if not data:
            self._selector.unregister(fd)
            return
        self._stderr_bytes[index] += len(data)
        room = self.stderr_limit - len(self._stderr[index])
        if room > 0:
            self._stderr[index] += data[:room]

    def _finish(self) -> None:
        """After stdout EOF: wait for every stage within the total timeout."""
        assert self._selector is not None
        while not self._all_exited():
            self._check_deadlines()
            if not self._selector.get_map():
                time.sleep(0.001)
                continue
            for key, _ in self._selector.select(0.02):
                self._keep_stderr(key.data, key.fd, os.read(key.fd, self.chunk_size))
        self._kill_groups(signal.SIGKILL)
        self._drain_stderr()
        self._reap()

    def _drain_stderr(self) -> None:
        """Read what is left on stderr pipes without waiting for stragglers."""
        assert self._selector is not None
        deadline = time.monotonic() + 0.2
        while self._selector.get_map() and time.monotonic() < deadline:
            events = self._selector.select(0.05)
            for key, _ in events:
                self._keep_stderr(key.data, key.fd, os.read(key.fd, self.chunk_size))

    def _failure(self) -> DasFlexError | None:
        """The error for the first failed stage (as it named it), or None when all succeeded."""
        indexes = range(len(self._processes))
        return failure_of([self._statuses.get(index) for index in indexes],
                          [bytes(self._stderr.get(index, b"")) for index in indexes])

    def _exception_packet(self, error: DasFlexError) -> bytes:
        """The in-band exception packet for ``error`` in the stream's format."""
        if self.error_format == "das3":
            return exception_packet("das3", error.das3_type, error.message)
        if self.error_format == "das2":
            return exception_packet("das2", error.das2_type, error.message)
        return b""

    # -- process control ---------------------------------------------------

    def _all_exited(self) -> bool:
        """True when every stage has exited (checked without reaping)."""
        for process in self._processes:
            if process.returncode is not None:
                continue
            try:
                info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                continue
            if info is None:
                return False
        return True

    def _kill_groups(self, signal_number: int) -> None:
        """Signal the process group of every stage not yet reaped."""
        signal_groups([process.pid for process in self._processes if process.returncode is None],
                      signal_number)

    def _reap(self) -> None:
        """Wait for every stage and record its exit status."""
        for index, process in enumerate(self._processes):
            self._statuses[index] = process.wait()

    def _terminate(self) -> None:
        """SIGTERM every group, SIGKILL after a grace period, reap, close pipes."""
        if not self._processes or len(self._statuses) == len(self._processes):
            self._close_pipes()
            return
        self._kill_groups(signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE
        while not self._all_exited() and time.monotonic() < deadline:
            time.sleep(0.005)
        self._kill_groups(signal.SIGKILL)
        self._reap()
        self._close_pipes()

    def _close_pipes(self) -> None:
        """Close our ends of every pipe and the selector."""
        for process in self._processes:
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._selector is not None:
            self._selector.close()
            self._selector = None


def _widen_pipe(pipe: IO[bytes], size: int) -> None:
    """Grow the output pipe to ``size`` bytes (Linux) so large streams need fewer wake-ups."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return
    try:
        fcntl.fcntl(pipe.fileno(), set_size, size)
    except OSError:  # above /proc/sys/fs/pipe-max-size or not a pipe: keep the default
        pass


def _raise_unstarted(failure: DasFlexError | None, head: bytes) -> None:
    """Raise the error for output that was never yielded, if there is one."""
    message = no_data_message(head) if head else None
    if message is not None:
        raise NoDataError(message)
    if failure is not None:
        raise failure


_DAS2_PACKET = re.compile(rb"\[(\d\d|xx|XX)\](\d{6})")
_DAS3_PACKET = re.compile(rb"\|([A-Z][a-zA-Z])\|(\d*)\|(\d+)\|")
_EXCEPTION_TYPE = re.compile(rb"""<exception\b[^>]*\btype\s*=\s*["']([^"']*)["']""")
_EXCEPTION_MESSAGE = re.compile(rb"""\bmessage\s*=\s*["']([^"']*)["']""")
_EXCEPTION_TEXT = re.compile(rb"<exception\b[^>]*>([^<]*)</exception>")


def no_data_message(stream: bytes) -> str | None:
    """The message when ``stream`` holds only headers and a "no data" exception.

    Examples
    --------
    >>> no_data_message(b'[xx]000052<exception type="NoDataInInterval" message="none" />')
    'none'
    """
    payloads = _das2_payloads(stream) if stream[:1] == b"[" else _das3_payloads(stream)
    if payloads is None:
        return None
    for payload in payloads:
        found = _EXCEPTION_TYPE.search(payload)
        if found and found.group(1).decode("utf-8", "replace") in NO_DATA_TYPES:
            text = _EXCEPTION_MESSAGE.search(payload) or _EXCEPTION_TEXT.search(payload)
            message = text.group(1).decode("utf-8", "replace").strip() if text else ""
            return _unescape(message) or "No data in the requested interval"
    return None


def _das2_payloads(stream: bytes) -> list[bytes] | None:
    """Out-of-band payloads of a das2 stream made only of headers; else None."""
    payloads: list[bytes] = []
    position = 0
    while position < len(stream):
        match = _DAS2_PACKET.match(stream, position)
        if match is None:
            return None
        end = match.end() + int(match.group(2))
        if match.group(1).lower() == b"xx":
            payloads.append(stream[match.end():end])
        position = end
    return payloads


def _das3_payloads(stream: bytes) -> list[bytes] | None:
    """Exception payloads of a das3 stream holding no data packet; else None."""
    payloads: list[bytes] = []
    position = 0
    while position < len(stream):
        match = _DAS3_PACKET.match(stream, position)
        if match is None or match.group(1)[:1] == b"P":
            return None
        end = match.end() + int(match.group(3))
        if match.group(1)[:1] == b"E":
            payloads.append(stream[match.end():end])
        position = end
    return payloads


def _unescape(text: str) -> str:
    """Undo the five XML entities."""
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")
