"""What both pipeline runners share: how stages start, read, fail and stop.

Two runners start planned argv pipelines: :mod:`dasflex_core.runner`
(synchronous, for HTTP responses) and :mod:`dasflex_ws.pipeline` (asyncio,
for websocket streams that may never end).  Both take their vocabulary from
here: the stages' environment, the read sizes, how much stderr is kept, the
grace period between SIGTERM and SIGKILL, and the user-safe words that name
a stage and its failure (never its argv, paths or stderr).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence

from dasflex_core.errors import ReaderError

__all__ = [
    "CHUNK_SIZE",
    "STDERR_LIMIT",
    "STREAM_CHUNK_SIZE",
    "SYSTEM_PATH",
    "TERM_GRACE",
    "checked_stages",
    "clean_environment",
    "describe_status",
    "failure_of",
    "signal_groups",
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


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment stages run with: a PATH, UTF-8, UTC, and ``extra``."""
    interpreter_dir = os.path.dirname(sys.executable)
    environment = {
        "PATH": os.pathsep.join((interpreter_dir, *SYSTEM_PATH)),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "HOME": "/nonexistent",
    }
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


def failure_of(statuses: Sequence[int | None]) -> ReaderError | None:
    """The error for the first failed stage, or None when all succeeded.

    A stage killed by SIGPIPE before the last one is no failure: the stage
    after it stopped reading.  None is a status not known (not reaped).
    """
    count = len(statuses)
    for index, status in enumerate(statuses):
        upstream_broken_pipe = status == -signal.SIGPIPE and index < count - 1
        if status and not upstream_broken_pipe:
            return ReaderError(f"{stage_name(index, count)} failed ({describe_status(status)});"
                               " the output may be incomplete")
    return None


def signal_groups(process_ids: Iterable[int], signal_number: int) -> None:
    """Send ``signal_number`` to the process group of each id (gone groups are skipped)."""
    for process_id in process_ids:
        try:
            os.killpg(process_id, signal_number)
        except (ProcessLookupError, PermissionError):
            pass
