"""``dasflex worker``'s own parts against a real redis-server: its RQ command channel."""

from __future__ import annotations

import threading
import time
from typing import Any

from rq import Queue, Worker
from rq.command import send_shutdown_command

from dasflex_core.jobs.redis_queue import connect
from dasflex_core.jobs.worker import COMMAND_POLL, worker_class
from tests.support.processes import start_dasflex
from tests.support.servers import RedisServer

#: Seconds within which a stopping worker must be done with its command channel.
#: RQ's own teardown could wait 60 s (its pub/sub thread's read timeout).
STOP_BOUND = 2 * COMMAND_POLL


def test_a_worker_stops_listening_for_commands_at_once(redis_server: RedisServer) -> None:
    """Each stop ends the listener promptly: the unsubscribe reply never restarts its wait.

    RQ unsubscribed before it stopped its pub/sub thread; when the thread read
    the confirmation first (about one stop in four here, more under load), the
    worker hung 60 s after "done, quitting".
    """
    connection = connect(redis_server.url)
    worker = worker_class()([Queue("commands", connection=connection)], connection=connection)
    channel = worker.pubsub_channel_name
    for attempt in range(30):
        worker.subscribe()
        listener = worker.command_listener
        deadline = time.monotonic() + STOP_BOUND
        while connection.pubsub_numsub(channel)[0][1] != 1:  # the server has the subscription
            assert time.monotonic() < deadline, "the worker never subscribed"
            time.sleep(0.01)
        stopping = threading.Thread(target=worker.unsubscribe, daemon=True)
        stopping.start()
        stopping.join(STOP_BOUND)
        assert not stopping.is_alive(), f"stop {attempt} still waits after {STOP_BOUND:g} s"
        assert not listener.is_alive() and worker.command_listener is None
        assert connection.pubsub_numsub(channel)[0][1] == 0
    connection.close()


def test_a_worker_obeys_rqs_shutdown_command(redis_server: RedisServer) -> None:
    """``rq.command.send_shutdown_command`` reaches a waiting worker, which exits cleanly.

    The command is sent once RQ reports the worker idle: before its loop RQ
    has not yet installed its signal handlers, and the command's SIGINT
    would interrupt it (exit 130).
    """
    connection = connect(redis_server.url)
    worker = start_dasflex("worker", "--redis", redis_server.url, "--name", "commanded")
    try:
        deadline = time.monotonic() + 60
        while worker_state(connection, "commanded") != "idle":
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker never waited for jobs"
            time.sleep(0.05)
        assert connection.pubsub_numsub("rq:pubsub:commanded")[0][1] == 1
        send_shutdown_command(connection, "commanded")
        _, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, stderr
    assert "Received shutdown command" in stderr and "Traceback" not in stderr
    connection.close()


def worker_state(connection: Any, name: str) -> str | None:
    """The state RQ records for the worker called ``name`` (None before it registered)."""
    found = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=connection)
    return None if found is None else found.get_state()
