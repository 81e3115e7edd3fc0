"""``dasflex worker``'s loop: an RQ worker on the block queue that gives up on a lost Redis.

RQ's own worker retries an unreachable Redis for ever.  :class:`BlockWorker`
does so for ``outage_limit`` seconds only, then stops and
:func:`run_worker` reports it in one line, so a supervisor (systemd) can
restart it and an operator sees why.  Its :class:`CommandListener` reads
RQ's command channel and stops at once when the worker does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from dasflex_core.jobs.base import QueueUnavailableError, public_error
from dasflex_core.jobs.redis_queue import (
    WORKER_CACHE_ENV,
    WORKER_SITE_ENV,
    connect,
    redis_errors,
    worker_site,
)

LOG = logging.getLogger("dasflex.jobs")

#: Seconds of a blocking dequeue before the worker looks at Redis again (RQ: worker_ttl - 15).
DEQUEUE_TIMEOUT = 5
#: Longest wait of the command listener for one message (and so for its stop, at worst).
COMMAND_POLL = 5.0
#: Seconds the command listener waits before reading again after a failed read.
COMMAND_RETRY = 2.0


class CommandListener(threading.Thread):
    """Reads a worker's RQ command channel (shutdown, stop-job) until :meth:`stop`.

    RQ reads it with redis-py's ``PubSubWorkerThread`` and, on its way out,
    unsubscribes before it stops that thread.  When the thread reads the
    unsubscribe confirmation before it is told to stop (likely on a busy
    machine), it waits up to 60 s for a new subscription, and the worker
    cannot exit meanwhile (redis-py joins the thread).  :meth:`stop` tells
    this listener to stop first, so the confirmation is its last read.
    """

    def __init__(self, pubsub: Any) -> None:
        super().__init__(name="dasflex-worker-commands", daemon=True)
        self.pubsub = pubsub
        self._stopping = threading.Event()

    def run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self.pubsub.get_message(ignore_subscribe_messages=True, timeout=COMMAND_POLL)
                failing = False
            except Exception as error:  # noqa: BLE001 - a thread of its own: log, retry
                if not failing and not self._stopping.is_set():
                    LOG.warning("worker command channel: %s", public_error(error))
                failing = True
                self._stopping.wait(COMMAND_RETRY)

    def stop(self) -> None:
        """Stop reading, unsubscribe (the confirmation ends the read), close the connection."""
        self._stopping.set()
        try:
            self.pubsub.unsubscribe()
        except redis_errors():
            pass  # Redis is gone: the read ends on its own within COMMAND_POLL
        self.join(COMMAND_POLL + COMMAND_RETRY)
        self.pubsub.close()


def worker_class() -> type[Any]:
    """RQ's worker running jobs in its own process, with a bounded patience for a lost Redis.

    Jobs run in the worker process (no fork per job), so the site and
    planner are loaded once per process; the builds themselves run as
    subprocesses with their own timeouts.
    """
    import redis
    from rq import SimpleWorker
    from rq.exceptions import StopRequested

    class BlockWorker(SimpleWorker):
        """An RQ worker that stops after ``outage_limit`` seconds without Redis."""

        outage_limit = 60.0
        outage_since: float | None = None
        lost_redis = False
        command_listener: CommandListener | None = None

        def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
            try:
                answer = super().heartbeat(*args, **kwargs)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                self._note_outage()
                raise
            self.outage_since = None
            return answer

        def handle_exception(self, job: Any, *exc_info: Any) -> None:
            """Log a failed block in one line (the job's meta holds the message)."""
            from rq.worker.base import call_exception_handlers

            error = exc_info[1] if len(exc_info) > 1 else None
            self.log.error("cache block %s failed: %s", job.description,
                           public_error(error or "unknown error"))
            call_exception_handlers(self._exc_handlers, job, *exc_info)

        def subscribe(self) -> None:
            """Read this worker's command channel with a :class:`CommandListener`."""
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.command_listener = CommandListener(self.pubsub)
            self.command_listener.start()

        def unsubscribe(self) -> None:
            listener, self.command_listener = self.command_listener, None
            if listener is not None:
                listener.stop()

        def _note_outage(self) -> None:
            now = time.monotonic()
            if self.outage_since is None:
                self.outage_since = now
            if now - self.outage_since >= self.outage_limit:
                self.lost_redis = True
                raise StopRequested()

    return BlockWorker


def run_worker(url: str, queue_name: str, *, burst: bool = False, site_dir: Path | None = None,
               cache_dir: Path | None = None, outage_limit: float = 60.0,
               name: str | None = None) -> int:
    """Work on ``queue_name`` until stopped (or, with ``burst``, until it is empty).

    ``site_dir`` and ``cache_dir`` replace the paths each job carries.
    Raises :class:`QueueUnavailableError` when Redis cannot be reached at
    start or is lost for ``outage_limit`` seconds; returns 0 otherwise.
    """
    from rq import Queue

    if site_dir is not None:
        os.environ[WORKER_SITE_ENV] = str(site_dir)
    if cache_dir is not None:
        os.environ[WORKER_CACHE_ENV] = str(cache_dir)
    if site_dir is not None and cache_dir is not None:
        _preload(site_dir, cache_dir)
    one_line_logging()
    connection = connect(url, socket_timeout=DEQUEUE_TIMEOUT + 10)
    worker: Any = None
    try:
        connection.ping()
        worker = worker_class()([Queue(queue_name, connection=connection)],
                                connection=connection, name=name,
                                worker_ttl=DEQUEUE_TIMEOUT + 15)
        worker.outage_limit = outage_limit
        worker.work(burst=burst, logging_level="INFO")
    except redis_errors() as error:
        if worker is None:
            raise QueueUnavailableError(f"cannot reach Redis: {public_error(error)}") from None
        raise QueueUnavailableError(f"lost Redis: {public_error(error)}") from None
    if worker.lost_redis:
        raise QueueUnavailableError(f"lost Redis for {outage_limit:g} s; stopping")
    return 0


class OneLineFormatter(logging.Formatter):
    """``time message: error`` on one line; never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {public_error(record.exc_info[1])}"
        return " ".join(text.split())


def one_line_logging() -> None:
    """Send RQ's and dasflex's job logs to stderr, one line per record."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter())
    for name in ("rq", "dasflex.jobs"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)


def _preload(site_dir: Path, cache_dir: Path) -> None:
    """Load the site before forking work horses, so each job starts with it loaded."""
    try:
        worker_site(str(site_dir), str(cache_dir))
    except Exception as error:  # noqa: BLE001 - the jobs report it properly
        LOG.warning("cannot preload the site: %s", public_error(error))
