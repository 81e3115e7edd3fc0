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

from typing import TYPE_CHECKING

from dasflex_core.errors import QueueUnavailableError
from dasflex_core.jobs.base import (
    Builder,
    JobInfo,
    JobQueue,
    ProgressCallback,
    QueueStatus,
    WaitResult,
    public_error,
)
from dasflex_core.jobs.embedded import EmbeddedQueue
from dasflex_core.jobs.redis_queue import RedisQueue

if TYPE_CHECKING:
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
        return RedisQueue(settings.redis_url, settings.job_queue, site_dir=settings.site_dir,
                          cache_dir=settings.cache_dir, timeout=settings.job_timeout, site=site)
    return EmbeddedQueue(site, settings.cache_dir, workers=settings.job_workers,
                         limit=settings.job_queue_limit, timeout=settings.job_timeout,
                         builder=builder)
