"""The embedded job queue: worker threads in this process, no Redis, one machine.

Threads start on the first :meth:`EmbeddedQueue.submit`, so a queue made
before gunicorn forks gets fresh threads in each worker process.  Jobs are
de-duplicated by :attr:`BlockJob.key`; the queue is bounded and a full queue
drops further jobs with a warning.  Several processes sharing one cache
directory are kept apart by the builder's per-block file lock.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dasflex_core.cache.store import CacheIndex
from dasflex_core.jobs.base import (
    FAILED,
    FAILED_RETRY_AFTER,
    FINISHED,
    QUEUED,
    RUNNING,
    Builder,
    JobInfo,
    ProgressCallback,
    QueueStatus,
    WaitResult,
    public_error,
)
from dasflex_core.jobs.build import build_until_done, default_builder, is_built, site_planner

if TYPE_CHECKING:
    from dasflex_core.cache import BlockJob
    from dasflex_core.model import Site

LOG = logging.getLogger("dasflex.jobs")

#: Finished and failed jobs remembered for the status page and waiters.
HISTORY = 2000


@dataclass
class _Pool:
    """The threads and queue of one process (replaced after a fork)."""

    pid: int
    jobs: queue.Queue[BlockJob | None]
    threads: list[threading.Thread]


class EmbeddedQueue:
    """In-process worker threads building cache blocks."""

    mode = "embedded"

    def __init__(self, site: Site, cache_dir: Path, *, workers: int = 1, limit: int = 10000,
                 timeout: float = 3600.0, builder: Builder | None = None,
                 name: str = "embedded") -> None:
        self.site = site
        self.cache_dir = Path(cache_dir)
        self.workers = max(1, int(workers))
        self.limit = max(1, int(limit))
        self.timeout = timeout
        self.name = name
        self._builder = builder
        self._records: OrderedDict[str, JobInfo] = OrderedDict()
        self._changed = threading.Condition()
        self._pool: _Pool | None = None

    # ------------------------------------------------------------------ submit

    def submit(self, jobs: Iterable[BlockJob], *, retry_failed: bool = False) -> int:
        """Queue the jobs not already queued or running; return how many were queued."""
        pool = self._running_pool()
        added = 0
        with self._changed:
            for job in jobs:
                if not self._may_queue(self._records.get(job.key), retry_failed):
                    continue
                try:
                    pool.jobs.put_nowait(job)
                except queue.Full:
                    LOG.warning("embedded job queue full (%d jobs): dropping further jobs",
                                self.limit)
                    break
                self._remember(JobInfo(job.source_id, job.level_key, job.block_start, QUEUED,
                                       submitted=time.time()), job.key)
                added += 1
        return added

    @staticmethod
    def _may_queue(known: JobInfo | None, retry_failed: bool) -> bool:
        """Not queued or running; failed only when asked or :data:`FAILED_RETRY_AFTER` ago."""
        if known is None or known.state == FINISHED:
            return True
        if known.state == FAILED:
            return retry_failed or time.time() - (known.ended or 0.0) >= FAILED_RETRY_AFTER
        return False

    def _running_pool(self) -> _Pool:
        """This process's threads, started on first use (again after a fork)."""
        with self._changed:
            pool = self._pool
            if pool is not None and pool.pid == os.getpid():
                return pool
            if pool is not None:  # inherited over a fork: its threads do not exist here
                self._forget_unfinished()
            jobs: queue.Queue[BlockJob | None] = queue.Queue(maxsize=self.limit)
            threads = [threading.Thread(target=self._work, args=(jobs,), daemon=True,
                                        name=f"dasflex-jobs-{index}")
                       for index in range(self.workers)]
            self._pool = pool = _Pool(os.getpid(), jobs, threads)
        for thread in threads:
            thread.start()
        return pool

    def _forget_unfinished(self) -> None:
        for key in [key for key, info in self._records.items()
                    if info.state in (QUEUED, RUNNING)]:
            del self._records[key]

    def _remember(self, info: JobInfo, key: str) -> None:
        """Store ``info`` (caller holds the condition) and wake waiters."""
        self._records[key] = info
        self._records.move_to_end(key)
        while len(self._records) > HISTORY + self.limit:
            oldest = next(iter(self._records))
            if self._records[oldest].state in (QUEUED, RUNNING):
                break
            del self._records[oldest]
        self._changed.notify_all()

    # ------------------------------------------------------------------ workers

    def _work(self, jobs: queue.Queue[BlockJob | None]) -> None:
        planner: Any = None
        while True:
            job = jobs.get()
            if job is None:
                return
            if planner is None:
                planner = self._planner()
            self._run(job, planner)

    def _planner(self) -> Any:
        try:
            return site_planner(self.site, self.cache_dir)
        except Exception:  # noqa: BLE001 - build_until_done makes one per block then
            LOG.warning("cannot make the build planner; one is made per block",
                        exc_info=True)
            return None

    def _run(self, job: BlockJob, planner: Any) -> None:
        self._update(job, state=RUNNING, started=time.time())
        try:
            builder = self._builder or default_builder()
            outcome = build_until_done(builder, self.site, self.cache_dir, job,
                                       planner=planner, timeout=self.timeout)
        except Exception as error:  # noqa: BLE001 - recorded, never kills the thread
            message = public_error(error)
            LOG.warning("cache block %s failed: %s", job.key, message)
            self._update(job, state=FAILED, ended=time.time(), error=message)
            return
        self._update(job, state=FINISHED, ended=time.time(), result=outcome)

    def _update(self, job: BlockJob, **changes: Any) -> None:
        with self._changed:
            known = self._records.get(job.key) or JobInfo(job.source_id, job.level_key,
                                                          job.block_start, QUEUED)
            self._remember(replace(known, **changes), job.key)

    # ------------------------------------------------------------------ status and waiting

    def status(self, recent: int = 50) -> QueueStatus:
        """Counts of the remembered jobs and the most recent ones, newest first."""
        with self._changed:
            records = list(self._records.values())
            pool = self._pool
        counts = {state: sum(1 for info in records if info.state == state)
                  for state in (QUEUED, RUNNING, FINISHED, FAILED)}
        alive = 0 if pool is None or pool.pid != os.getpid() else sum(
            1 for thread in pool.threads if thread.is_alive())
        newest = sorted(records, key=_latest_time, reverse=True)[:max(0, recent)]
        return QueueStatus(self.mode, self.name, True, counts[QUEUED], counts[RUNNING],
                           counts[FINISHED], counts[FAILED], alive, tuple(newest))

    def wait(self, jobs: Iterable[BlockJob], *, progress: ProgressCallback | None = None,
             timeout: float | None = None) -> WaitResult:
        """Block until each job finished or failed (jobs never submitted count by their block)."""
        keys = {job.key: job for job in jobs}
        deadline = None if timeout is None else time.monotonic() + timeout
        last_done = -1
        while True:
            with self._changed:
                finished, failures, pending = self._outcomes(keys)
                done = finished + len(failures)
                if progress is not None and done != last_done:
                    progress(done, len(keys))
                    last_done = done
                if not pending:
                    return WaitResult(finished, failures, 0)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return WaitResult(finished, failures, len(pending))
                self._changed.wait(0.5 if left is None else min(0.5, left))

    def _outcomes(self, keys: dict[str, BlockJob]) -> tuple[int, dict[str, str], list[str]]:
        finished, failures, pending = 0, {}, []
        for key, job in keys.items():
            info = self._records.get(key)
            if info is None:
                if is_built(self.index, job):
                    finished += 1
                else:
                    failures[key] = "not queued (queue full or forgotten)"
            elif info.state == FINISHED:
                finished += 1
            elif info.state == FAILED:
                failures[key] = info.error
            else:
                pending.append(key)
        return finished, failures, pending

    @cached_property
    def index(self) -> CacheIndex:
        """The cache these jobs fill (made once: it learns every source's levels)."""
        return CacheIndex(self.cache_dir, self.site)

    def check(self) -> None:
        """Always ready: the workers are threads of this process."""

    def close(self) -> None:
        """Stop this process's threads after the jobs already queued."""
        with self._changed:
            pool, self._pool = self._pool, None
        if pool is None or pool.pid != os.getpid():
            return
        for _thread in pool.threads:
            pool.jobs.put(None)
        for thread in pool.threads:
            thread.join(timeout=self.timeout)


def _latest_time(info: JobInfo) -> float:
    return info.ended or info.started or info.submitted or 0.0
