"""The Redis job queue: RQ on redis-py, shared by front ends and ``dasflex worker``.

Job ids are derived from :attr:`BlockJob.key`, so one block is queued once
however many front ends ask for it.  The job function,
:func:`build_block_job`, takes plain data (site dir, cache dir, job fields)
and loads the site once per worker process.  A build holds a Redis lock
(``SET NX`` with an expiry, released only by its owner) as well as the
builder's file lock, so workers on different machines never build one block
at the same time.

Front ends talk to Redis with short socket timeouts; when Redis is down,
:meth:`RedisQueue.submit` logs one warning, returns 0 and stays quiet for
:data:`RETRY_AFTER` seconds, so requests are served from the reader at full
speed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasflex_core.cache import BlockJob
from dasflex_core.cache.store import CacheIndex
from dasflex_core.errors import PipelineTimeoutError
from dasflex_core.jobs.base import (
    FAILED,
    FAILED_RETRY_AFTER,
    FINISHED,
    QUEUED,
    RUNNING,
    JobInfo,
    ProgressCallback,
    QueueStatus,
    QueueUnavailableError,
    WaitResult,
    public_error,
)
from dasflex_core.jobs.build import build_until_done, default_builder, is_built, site_planner
from dasflex_core.sources.loader import load_site

if TYPE_CHECKING:
    from dasflex_core.model import Site

LOG = logging.getLogger("dasflex.jobs")

#: Seconds to connect to Redis and to wait for one reply (front ends).
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0
#: Seconds a front end leaves Redis alone after it failed to answer.
RETRY_AFTER = 15.0
#: Seconds finished and failed jobs stay visible (a failed block is retried after that).
RESULT_TTL = 3600
FAILURE_TTL = int(FAILED_RETRY_AFTER)
#: Seconds between two looks at the jobs being waited for.
WAIT_POLL = 0.25
#: Environment variables with which ``dasflex worker --site/--cache-dir`` replace a job's paths.
WORKER_SITE_ENV = "DASFLEX_WORKER_SITE_DIR"
WORKER_CACHE_ENV = "DASFLEX_WORKER_CACHE_DIR"

_WAITING_STATES = {"queued": QUEUED, "deferred": QUEUED, "scheduled": QUEUED, "started": RUNNING,
                   "finished": FINISHED, "failed": FAILED, "stopped": FAILED, "canceled": FAILED}


def job_id(job: BlockJob, queue_name: str = "dasflex") -> str:
    """The RQ job id of ``job`` on ``queue_name``: stable, so one block is queued once."""
    digest = hashlib.sha256(f"{queue_name}\n{job.key}".encode()).hexdigest()[:40]
    return f"dasflex-block-{digest}"


def lock_name(job: BlockJob) -> str:
    """The Redis key of the lock held while ``job``'s block is built (shared by all queues)."""
    return "dasflex:block-lock:" + hashlib.sha256(job.key.encode("utf-8")).hexdigest()[:40]


def connect(url: str, *, socket_timeout: float | None = SOCKET_TIMEOUT) -> Any:
    """A redis-py client for ``url`` with short timeouts (nothing is sent yet)."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT,
                                socket_timeout=socket_timeout, socket_keepalive=True)


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions an unreachable or failing Redis raises."""
    import redis

    return (redis.exceptions.RedisError, OSError)


class RedisQueue:
    """An RQ queue of cache block jobs."""

    mode = "redis"

    def __init__(self, url: str, name: str = "dasflex", *, site_dir: Path, cache_dir: Path,
                 timeout: float = 3600.0, site: Site | None = None) -> None:
        self.site = site
        self.url = url
        self.name = name
        self.site_dir = Path(site_dir)
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._connection: Any = None
        self._down_until = 0.0

    @cached_property
    def index(self) -> CacheIndex:
        """The shared cache (made once: it learns every source's levels)."""
        return CacheIndex(self.cache_dir, self.site)

    def _queue(self) -> Any:
        from rq import Queue

        with self._lock:
            if self._connection is None:
                self._connection = connect(self.url)
        return Queue(self.name, connection=self._connection)

    # ------------------------------------------------------------------ submit

    def submit(self, jobs: Iterable[BlockJob], *, retry_failed: bool = False) -> int:
        """Queue the jobs not queued or running; 0 (and a warning) when Redis is down."""
        jobs = list(jobs)
        if not jobs or time.monotonic() < self._down_until:
            return 0
        try:
            return self._submit(jobs, retry_failed)
        except redis_errors() as error:
            self._down_until = time.monotonic() + RETRY_AFTER
            LOG.warning("job queue unreachable, %d cache block(s) not queued: %s", len(jobs),
                        public_error(error))
            return 0

    def _submit(self, jobs: list[BlockJob], retry_failed: bool) -> int:
        from rq.exceptions import DuplicateJobError
        from rq.job import Job

        queue = self._queue()
        ids = [job_id(job, self.name) for job in jobs]
        known = Job.fetch_many(ids, connection=queue.connection)
        added = 0
        for job, identifier, found in zip(jobs, ids, known, strict=True):
            if found is not None and not self._replaceable(found, retry_failed):
                continue
            try:
                queue.enqueue_call(build_block_job, job_id=identifier, unique=True,
                                   args=(str(self.site_dir), str(self.cache_dir), job.to_dict(),
                                         self.timeout),
                                   timeout=int(self.timeout) + 60, result_ttl=RESULT_TTL,
                                   failure_ttl=FAILURE_TTL, description=job.key,
                                   meta={"block": job.to_dict()})
            except DuplicateJobError:
                continue
            added += 1
        return added

    @staticmethod
    def _replaceable(found: Any, retry_failed: bool) -> bool:
        """Delete and re-queue a finished (block since removed) or, if asked, failed job."""
        state = _state(found)
        if state in (QUEUED, RUNNING) or (state == FAILED and not retry_failed):
            return False
        found.delete()
        return True

    # ------------------------------------------------------------------ status

    def status(self, recent: int = 50) -> QueueStatus:
        """Counts from RQ's registries and the most recent jobs; unavailable when Redis is down."""
        try:
            return self._status(recent)
        except redis_errors() as error:
            return QueueStatus(self.mode, self.name, available=False,
                               message=f"Redis is unreachable: {public_error(error)}")

    def _status(self, recent: int) -> QueueStatus:
        from rq import Worker
        from rq.job import Job

        queue = self._queue()
        started = queue.started_job_registry
        finished = queue.finished_job_registry
        failed = queue.failed_job_registry
        infos: list[JobInfo] = []
        if recent > 0:
            last = recent - 1
            ids = [*queue.get_job_ids(0, last),
                   *(identifier for identifier, _ in started.get_job_and_execution_ids(0, last)),
                   *finished.get_job_ids(0, last, desc=True),
                   *failed.get_job_ids(0, last, desc=True)]
            found = Job.fetch_many(list(dict.fromkeys(ids)), queue.connection)
            infos = sorted((job_info(job) for job in found if job is not None),
                           key=lambda info: info.ended or info.started or info.submitted or 0.0,
                           reverse=True)
        return QueueStatus(self.mode, self.name, True, queue.count, started.count,
                           finished.count, failed.count, Worker.count(queue=queue),
                           tuple(infos[:recent]))

    # ------------------------------------------------------------------ waiting

    def wait(self, jobs: Iterable[BlockJob], *, progress: ProgressCallback | None = None,
             timeout: float | None = None) -> WaitResult:
        """Poll the jobs until each finished or failed; QueueUnavailableError if Redis goes."""
        try:
            return self._wait({job_id(job, self.name): job for job in jobs}, progress, timeout)
        except redis_errors() as error:
            raise QueueUnavailableError("lost the connection to the job queue while waiting: "
                                        + public_error(error)) from None

    def _wait(self, pending: dict[str, BlockJob], progress: ProgressCallback | None,
              timeout: float | None) -> WaitResult:
        from rq.job import Job

        connection = self._queue().connection
        total = len(pending)
        finished, failures = 0, {}
        deadline = None if timeout is None else time.monotonic() + timeout
        last_done = -1
        while True:
            identifiers = list(pending)
            for identifier, found in zip(identifiers, Job.fetch_many(identifiers, connection),
                                         strict=True):
                outcome = self._outcome(pending[identifier], found)
                if outcome is None:
                    continue
                block = pending.pop(identifier)
                if outcome:
                    failures[block.key] = outcome
                else:
                    finished += 1
            done = finished + len(failures)
            if progress is not None and done != last_done:
                progress(done, total)
                last_done = done
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                return WaitResult(finished, failures, len(pending))
            time.sleep(WAIT_POLL)

    def _outcome(self, job: BlockJob, found: Any) -> str | None:
        """None while pending, "" when finished, else the failure message."""
        if found is None:
            return "" if is_built(self.index, job) else "the job was lost (expired or Redis restarted)"
        info = job_info(found)
        if info.state == FINISHED:
            return ""
        if info.state == FAILED:
            return info.error or "failed"
        return None

    def check(self) -> None:
        """Raise :class:`QueueUnavailableError` unless Redis answers."""
        try:
            self._queue().connection.ping()
        except redis_errors() as error:
            raise QueueUnavailableError(f"cannot reach the job queue: {public_error(error)}") \
                from None

    def close(self) -> None:
        """Close the connection pool."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def job_info(job: Any) -> JobInfo:
    """The status-page view of an RQ job (no paths, no arguments)."""
    block = (job.meta or {}).get("block") or {}
    state = _state(job)
    error = ""
    if state == FAILED:
        error = str((job.meta or {}).get("error") or "") or _last_line(job.exc_info)
    result = ""
    if state == FINISHED:
        value = job.return_value()
        result = value if isinstance(value, str) else ""
    return JobInfo(str(block.get("source_id", "")), str(block.get("level_key", "")),
                   str(block.get("block_start", "")), state, _stamp(job.enqueued_at),
                   _stamp(job.started_at), _stamp(job.ended_at), result, public_error(error))


def _state(job: Any) -> str:
    """The :mod:`dasflex_core.jobs` state of an RQ job."""
    status = job.get_status(refresh=False)
    return _WAITING_STATES.get(str(getattr(status, "value", status) or ""), FAILED)


def _stamp(moment: Any) -> float | None:
    return None if moment is None else float(moment.timestamp())


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------- the worker side


@lru_cache(maxsize=4)
def worker_site(site_dir: str, cache_dir: str) -> tuple[Site, Any]:
    """The site and build planner of a worker process, loaded once per process."""
    site = load_site(Path(site_dir))
    return site, site_planner(site, Path(cache_dir))


def build_block_job(site_dir: str, cache_dir: str, job: dict[str, str],
                    timeout: float = 3600.0) -> str:
    """The RQ job function: build one block under the Redis and file locks.

    ``dasflex worker --site/--cache-dir`` replace the submitter's paths (for
    machines that mount them elsewhere).  Returns "built" or "exists"; a
    failure is recorded in the job's meta as a one-line message and raised.
    """
    from rq import get_current_job

    site_dir = os.environ.get(WORKER_SITE_ENV) or site_dir
    cache_dir = os.environ.get(WORKER_CACHE_ENV) or cache_dir
    block = BlockJob.from_dict(job)
    current = get_current_job()
    try:
        site, planner = worker_site(site_dir, cache_dir)
        with block_lock(current, block, timeout):
            return build_until_done(default_builder(), site, Path(cache_dir), block,
                                    planner=planner, timeout=timeout)
    except Exception as error:
        if current is not None:
            current.meta["error"] = public_error(error)
            current.save_meta()
        raise


@contextmanager
def block_lock(current: Any, block: BlockJob, timeout: float) -> Iterator[None]:
    """Hold the Redis lock of ``block`` (waiting while another worker holds it).

    The lock expires ``timeout`` + 60 s after it was taken, so a worker that
    died does not hold it for ever; it is released only by its owner.
    """
    if current is None:
        yield
        return
    lock = current.connection.lock(lock_name(block), timeout=timeout + 60,
                                   sleep=0.1, blocking_timeout=timeout)
    if not lock.acquire():
        raise PipelineTimeoutError(f"block {block.block_start} of {block.source_id} was locked "
                                   f"by another worker for {timeout:g} s")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception as error:  # noqa: BLE001 - expired or Redis gone: the lock lapses
            LOG.warning("could not release the lock of %s: %s", block.key, public_error(error))
