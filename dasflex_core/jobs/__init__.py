"""Job queues that build cache blocks: embedded (in-process threads) or Redis (RQ).

One small interface, :class:`JobQueue`, with two implementations:

* :class:`~dasflex_core.jobs.embedded.EmbeddedQueue`: worker threads in this
  process, started lazily on the first submit (so after gunicorn forks); one
  machine, no Redis.
* :class:`~dasflex_core.jobs.redis_queue.RedisQueue`: an RQ queue on Redis,
  shared by several front ends and ``dasflex worker`` processes on several
  machines that mount one cache directory.

:func:`make_queue` picks one from the settings (``redis_url`` empty:
embedded).  Submitting never raises into a request: an unreachable Redis is
logged and the request is served from the reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dasflex_core.errors import DasFlexError, QueueUnavailableError

if TYPE_CHECKING:
    from dasflex_core.cache import BlockJob
    from dasflex_core.model import Site
    from dasflex_core.settings import Settings

__all__ = [
    "JobInfo",
    "JobQueue",
    "ProgressCallback",
    "QueueStatus",
    "QueueUnavailableError",
    "WaitResult",
    "make_queue",
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
            import time

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


def make_queue(settings: Settings, site: Site, *, builder: Builder | None = None) -> JobQueue:
    """The queue the settings choose: Redis when ``redis_url`` is set, else embedded.

    ``builder`` replaces :func:`dasflex_core.cache.builder.build_block` in the
    embedded queue (tests).  Raises :class:`QueueUnavailableError` when no
    ``cache_dir`` is configured.
    """
    if settings.cache_dir is None:
        raise QueueUnavailableError("no cache directory is configured "
                                    "(set DASFLEX_CACHE_DIR or use --cache-dir)")
    if settings.redis_url:
        from dasflex_core.jobs.redis_queue import RedisQueue

        return RedisQueue(settings.redis_url, settings.job_queue, site_dir=settings.site_dir,
                          cache_dir=settings.cache_dir, timeout=settings.job_timeout, site=site)
    from dasflex_core.jobs.embedded import EmbeddedQueue

    return EmbeddedQueue(site, settings.cache_dir, workers=settings.job_workers,
                         limit=settings.job_queue_limit, timeout=settings.job_timeout,
                         builder=builder)


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
