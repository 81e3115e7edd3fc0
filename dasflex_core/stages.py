"""What both pipeline runners share: how stages start, read, fail and stop.

Two runners start planned argv pipelines: :mod:`dasflex_core.runner`
(synchronous, for HTTP responses) and :mod:`dasflex_ws.pipeline` (asyncio,
for websocket streams that may never end).  Both take their vocabulary from
here: the stages' environment, the read sizes, how much stderr is kept, the
grace period between SIGTERM and SIGKILL, and the user-safe words that name
a stage and its failure (never its argv, paths or stderr).

A stage may name its own failure: one stderr line
``dasflex-error: CLASS: message`` (:func:`stage_error_line`) for one of the
:data:`STAGE_ERRORS` (a remote server that failed, a range outside the
data...).  When that stage fails, the runners raise that error, with its
status, instead of the generic "stage failed" (:func:`failure_of`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from dasflex_core.errors import (
    DasFlexError,
    OutOfRangeError,
    ParameterError,
    ReaderError,
    RemoteBusyError,
    RemoteError,
    TooLargeError,
)

__all__ = [
    "CHUNK_SIZE",
    "STAGE_ERRORS",
    "STAGE_ERROR_PREFIX",
    "STAGE_VARIABLE_PREFIX",
    "STDERR_LIMIT",
    "STREAM_CHUNK_SIZE",
    "SYSTEM_PATH",
    "TERM_GRACE",
    "checked_stages",
    "clean_environment",
    "describe_status",
    "failure_of",
    "reported_error",
    "signal_groups",
    "stage_error_line",
    "stage_name",
    "start_failure",
]

#: Bytes the synchronous runner reads from a pipe at a time (and its largest chunk).
CHUNK_SIZE = 1 << 20
#: Bytes the asyncio runner reads at a time (one websocket message at most).
STREAM_CHUNK_SIZE = 65536
#: Bytes of each stage's stderr kept for the log.
STDERR_LIMIT = 16384
#: Seconds between SIGTERM and SIGKILL.
TERM_GRACE = 0.5
#: Directories searched for commands after the interpreter's own.
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
#: Variables of the server's environment with this prefix are passed to every stage
#: (e.g. the remote-fetch policy, :mod:`dasflex_core.remote.policy`).
STAGE_VARIABLE_PREFIX = "DASFLEX_STAGE_"
#: How a stage names its error on stderr: ``dasflex-error: CLASS: message``.
STAGE_ERROR_PREFIX = "dasflex-error:"
#: The errors a stage may name this way (by class name).
STAGE_ERRORS: Mapping[str, type[DasFlexError]] = MappingProxyType({
    cls.__name__: cls
    for cls in (RemoteError, RemoteBusyError, OutOfRangeError, ParameterError, TooLargeError)
})


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment stages run with: a PATH, UTF-8, UTC, the server's
    ``DASFLEX_STAGE_*`` variables, and ``extra``."""
    interpreter_dir = os.path.dirname(sys.executable)
    environment = {
        "PATH": os.pathsep.join((interpreter_dir, *SYSTEM_PATH)),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "HOME": "/nonexistent",
    }
    environment.update((name, value) for name, value in os.environ.items()
                       if name.startswith(STAGE_VARIABLE_PREFIX))
    environment.update(extra or {})
    return environment


def checked_stages(stages: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """``stages`` as tuples; :class:`ReaderError` when there is no command to run."""
    if not stages or not all(stages):
        raise ReaderError("The pipeline has no command to run")
    return tuple(tuple(argv) for argv in stages)


def stage_name(index: int, count: int) -> str:
    """A user-safe name of a stage: its role and position, never its argv."""
    if index == 0:
        return "The data reader"
    return f"Processing stage {index + 1} of {count}"


def describe_status(status: int) -> str:
    """An exit status in words."""
    if status < 0:
        return f"stopped by signal {-status}"
    return f"exit status {status}"


def start_failure(stages: Sequence[Sequence[str]], index: int) -> ReaderError:
    """The error for stage ``index`` that could not be started (names the program only)."""
    name = os.path.basename(stages[index][0])
    return ReaderError(f"{stage_name(index, len(stages))} ({name}) could not be started")


def failure_of(statuses: Sequence[int | None],
               stderrs: Sequence[bytes] = ()) -> DasFlexError | None:
    """The error for the first failed stage, or None when all succeeded.

    A stage killed by SIGPIPE before the last one is no failure: the stage
    after it stopped reading.  None is a status not known (not reaped).  A
    failed stage that named its error in its stderr (``stderrs[index]``,
    :func:`reported_error`) fails with that error.
    """
    count = len(statuses)
    for index, status in enumerate(statuses):
        upstream_broken_pipe = status == -signal.SIGPIPE and index < count - 1
        if status and not upstream_broken_pipe:
            reported = reported_error(stderrs[index]) if index < len(stderrs) else None
            return reported or ReaderError(
                f"{stage_name(index, count)} failed ({describe_status(status)});"
                " the output may be incomplete")
    return None


def stage_error_line(error: DasFlexError) -> str:
    """The stderr line a stage writes to name ``error`` (one line, newline ended).

    Errors that are not :data:`STAGE_ERRORS` are named as a :class:`RemoteError`.

    >>> stage_error_line(RemoteError("remote host example.org refused the connection"))
    'dasflex-error: RemoteError: remote host example.org refused the connection\\n'
    """
    name = type(error).__name__
    if name not in STAGE_ERRORS:
        name = RemoteError.__name__
    return f"{STAGE_ERROR_PREFIX} {name}: {' '.join(error.message.split())}\n"


def reported_error(stderr: bytes) -> DasFlexError | None:
    """The error a stage named in ``stderr`` (its last such line), or None.

    >>> reported_error(b"dasflex-error: OutOfRangeError: before the data\\n").status
    400
    """
    found: DasFlexError | None = None
    for line in stderr.decode("utf-8", "replace").splitlines():
        if not line.startswith(STAGE_ERROR_PREFIX):
            continue
        name, _, message = line[len(STAGE_ERROR_PREFIX):].strip().partition(": ")
        cls = STAGE_ERRORS.get(name)
        if cls is not None and message:
            found = cls(message)
    return found


def signal_groups(process_ids: Iterable[int], signal_number: int) -> None:
    """Send ``signal_number`` to the process group of each id (gone groups are skipped)."""
    for process_id in process_ids:
        try:
            os.killpg(process_id, signal_number)
        except (ProcessLookupError, PermissionError):
            pass
