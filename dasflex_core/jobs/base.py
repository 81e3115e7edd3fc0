"""The names every job queue shares: job states, status records, the queue protocol.

:mod:`dasflex_core.jobs` (the factory) and both implementations,
:mod:`~dasflex_core.jobs.embedded` and :mod:`~dasflex_core.jobs.redis_queue`,
import them from here, so the package and its implementations import each
other in one direction only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dasflex_core.errors import DasFlexError, QueueUnavailableError

if TYPE_CHECKING:
    from dasflex_core.cache import BlockJob

__all__ = [
    "FAILED",
    "FAILED_RETRY_AFTER",
    "FINISHED",
    "QUEUED",
    "RUNNING",
    "Builder",
    "JobInfo",
    "JobQueue",
    "ProgressCallback",
    "QueueStatus",
    "QueueUnavailableError",
    "WaitResult",
    "public_error",
]

#: Job states, in the order a job passes through them.
QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"

#: Seconds before a failed block is queued again on demand.
FAILED_RETRY_AFTER = 600.0

#: ``progress(done, total)``: called while waiting for jobs.
ProgressCallback = Callable[[int, int], None]

#: A block builder: ``build(site, cache_dir, job, plan=..., timeout=...) -> str``.
Builder = Callable[..., str]


@dataclass(frozen=True, slots=True)
class JobInfo:
    """One job as the status page shows it: no paths, no command lines."""

    source_id: str
    level_key: str
    block_start: str
    state: str
    submitted: float | None = None
    started: float | None = None
    ended: float | None = None
    result: str = ""
    error: str = ""

    @property
    def duration(self) -> float | None:
        """Seconds the build ran (so far, while running), None before it starts."""
        if self.started is None:
            return None
        if self.ended is None:
            return max(0.0, time.time() - self.started)
        return max(0.0, self.ended - self.started)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields, with the duration."""
        return {"source": self.source_id, "level": self.level_key, "block": self.block_start,
                "state": self.state, "submitted": self.submitted, "started": self.started,
                "ended": self.ended, "duration": self.duration, "result": self.result,
                "error": self.error}


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """Counts and recent jobs of a queue."""

    mode: str
    queue: str
    available: bool = True
    queued: int = 0
    running: int = 0
    finished: int = 0
    failed: int = 0
    workers: int = 0
    recent: tuple[JobInfo, ...] = ()
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"mode": self.mode, "queue": self.queue, "available": self.available,
                "queued": self.queued, "running": self.running, "finished": self.finished,
                "failed": self.failed, "workers": self.workers, "message": self.message,
                "recent": [job.to_json() for job in self.recent]}


@dataclass(frozen=True, slots=True)
class WaitResult:
    """How the jobs waited for ended: finished, failed (key: error) or still pending."""

    finished: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    pending: int = 0

    @property
    def ok(self) -> bool:
        """True when every job finished."""
        return not self.failures and not self.pending


class JobQueue(Protocol):
    """What front ends and the CLI need of a job queue."""

    mode: str

    def submit(self, jobs: Iterable[BlockJob], *, retry_failed: bool = False) -> int:
        """Queue ``jobs``; return how many were newly queued.

        Jobs already queued or running are dropped.  Failed jobs are queued
        again only with ``retry_failed``.  Never raises for an unreachable
        queue (Redis mode logs a warning and returns 0).
        """
        ...

    def status(self, recent: int = 50) -> QueueStatus:
        """Counts and the ``recent`` most recent jobs."""
        ...

    def wait(self, jobs: Iterable[BlockJob], *, progress: ProgressCallback | None = None,
             timeout: float | None = None) -> WaitResult:
        """Block until every job finished or failed, or ``timeout`` seconds passed."""
        ...

    def check(self) -> None:
        """Raise :class:`QueueUnavailableError` unless the queue can take jobs now."""
        ...

    def close(self) -> None:
        """Stop local workers and release connections."""
        ...


_PATH = re.compile(r"""(?<![\w.:/])/(?:[^\s'"/:]+/)+([^\s'"/:]*)""")
_URL_PASSWORD = re.compile(r"(\w+://)[^/@\s]*@")


def public_error(error: BaseException | str, limit: int = 300) -> str:
    """A one-line error message fit for a status page: no paths, no passwords.

    Absolute paths keep only their last part; ``scheme://user:pw@host`` loses
    its credentials.
    """
    if isinstance(error, str):
        text = error
    elif isinstance(error, DasFlexError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    text = _URL_PASSWORD.sub(r"\1", text)
    text = _PATH.sub(lambda match: "…/" + match.group(1), text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
