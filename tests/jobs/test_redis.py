"""Redis mode against a real redis-server: separate worker processes, outages, locks."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from dasflex_core.errors import PipelineTimeoutError
from dasflex_core.jobs.redis_queue import RedisQueue, block_lock, connect, lock_name
from dasflex_core.sources.loader import load_site
from tests.support.processes import dasflex, dasflex_env, start_dasflex
from tests.support.servers import RedisServer, dasflex_serve, free_port
from tests.support.tiny_site import (
    QUERY,
    SOURCE_ID,
    builds,
    current_plan,
    get,
    hour_jobs,
    make_server,
)

pytestmark = pytest.mark.system  # a real redis-server, worker processes, gunicorn


def redis_queue(url: str, site_dir: Path, cache_dir: Path, name: str = "dasflex") -> RedisQueue:
    return RedisQueue(url, name, site_dir=site_dir, cache_dir=cache_dir,
                      site=load_site(site_dir))


def build_args(site_dir: Path, cache_dir: Path, url: str, end: str = "2020-01-01T04:00",
               *extra: str) -> list[str]:
    return ["cache", "build", SOURCE_ID, "--from", "2020-01-01", "--to", end,
            "--site", str(site_dir), "--cache-dir", str(cache_dir), "--redis", url, *extra]


def block_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.d2s"))


def records_in(path: Path) -> int:
    from dasflex_core.codecs.das2_reader import read_all
    from dasflex_core.codecs.events import DataRun

    return sum(event.count for event in read_all(path.read_bytes()) if isinstance(event, DataRun))


def test_worker_builds_jobs_queued_by_cache_build(redis_server: RedisServer, site_dir: Path,
                                                  cache_dir: Path) -> None:
    queued = dasflex(*build_args(site_dir, cache_dir, redis_server.url), "--no-wait")
    assert queued.returncode == 0, queued.stderr
    assert "queued 4 jobs" in queued.stderr
    queue = redis_queue(redis_server.url, site_dir, cache_dir)
    assert queue.status().queued == 4
    again = dasflex(*build_args(site_dir, cache_dir, redis_server.url), "--no-wait")
    assert "queued 0 jobs" in again.stderr  # one job per block
    worker = dasflex("worker", "--redis", redis_server.url, "--burst")
    assert worker.returncode == 0, worker.stderr
    assert [path.name[:13] for path in block_files(cache_dir)] == [
        f"2020-01-01T{hour:02d}" for hour in range(4)]
    assert all(records_in(path) == 60 for path in block_files(cache_dir))
    status = queue.status()
    assert (status.queued, status.running, status.finished) == (0, 0, 4)
    assert {job.state for job in status.recent} == {"finished"}
    assert all(job.duration is not None and job.result == "built" for job in status.recent)
    assert queue.status(recent=0).recent == () and len(queue.status(recent=2).recent) == 2
    done = dasflex(*build_args(site_dir, cache_dir, redis_server.url))
    assert done.returncode == 0 and "4 already built, 0 to build" in done.stderr
    queue.close()


def test_requests_queue_their_gaps_for_a_worker(redis_server: RedisServer, site_dir: Path,
                                                cache_dir: Path) -> None:
    server = make_server(site_dir, cache_dir, redis_url=redis_server.url)
    status, from_reader = get(server)
    assert status == 200 and from_reader.startswith(b"[00]")
    queue = server.cache["jobs"]
    assert queue.mode == "redis" and queue.status().queued == 3
    get(server)
    assert queue.status().queued == 3  # asked again: still one job per block
    worker = dasflex("worker", "--redis", redis_server.url, "--burst", "--site", str(site_dir),
                     "--cache-dir", str(cache_dir))
    assert worker.returncode == 0, worker.stderr
    assert current_plan(server).cache_level == "00"
    assert get(server) == (200, from_reader)
    queue.close()


def test_settings_come_from_the_environment(redis_server: RedisServer, site_dir: Path,
                                            cache_dir: Path) -> None:
    environment = {"DASFLEX_REDIS_URL": redis_server.url, "DASFLEX_CACHE_DIR": str(cache_dir),
                   "DASFLEX_SITE_DIR": str(site_dir), "DASFLEX_JOB_QUEUE": "envqueue"}
    queued = dasflex("cache", "build", SOURCE_ID, "--from", "2020-01-01T00:00", "--to",
                     "2020-01-01T02:00", "--no-wait", **environment)
    assert queued.returncode == 0, queued.stderr
    assert redis_queue(redis_server.url, site_dir, cache_dir, "envqueue").status().queued == 2
    worker = dasflex("worker", "--burst", **environment)
    assert worker.returncode == 0, worker.stderr
    assert len(block_files(cache_dir)) == 2
    status = dasflex("cache", "status", **environment)
    assert status.returncode == 0
    assert "level 00 (60 s, hourly): 2 blocks" in status.stdout
    assert "queue 'envqueue' (Redis, up): 0 queued" in status.stdout


def test_cache_build_waits_for_a_running_worker_and_reports_failures(
        redis_server: RedisServer, site_dir: Path, cache_dir: Path) -> None:
    (site_dir / "fail").write_text("2020-01-01T02")
    worker = start_dasflex("worker", "--redis", redis_server.url)
    try:
        built = dasflex(*build_args(site_dir, cache_dir, redis_server.url))
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert built.returncode == 1, built.stderr
    failures = [line for line in built.stderr.splitlines() if "failed:" in line]
    assert len(failures) == 1 and "2020-01-01T02:00:00" in failures[0]
    assert "/secret/path" not in built.stderr and "Traceback" not in built.stderr
    assert "100%" in built.stderr and "3 built, 1 failed" in built.stderr
    assert worker.returncode == 0 and "Traceback" not in stderr
    assert len(block_files(cache_dir)) == 3


def test_two_workers_never_build_one_block_at_the_same_time(
        redis_server: RedisServer, site_dir: Path, cache_dir: Path) -> None:
    """Two queues (two front-end setups) hold the same four blocks; three workers race."""
    (site_dir / "delay").write_text("0.2")
    end = "2020-01-01T04:00"
    for name in ("dasflex", "other"):
        queued = dasflex(*build_args(site_dir, cache_dir, redis_server.url, end), "--no-wait",
                         DASFLEX_JOB_QUEUE=name)
        assert "queued 4 jobs" in queued.stderr, queued.stderr
    workers = [start_dasflex("worker", "--redis", redis_server.url, "--burst", "--queue", name)
               for name in ("dasflex", "other", "dasflex")]
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr
    starts = [row for row in builds(site_dir) if row[0] == "start"]
    assert sorted(row[1] for row in starts) == [f"2020-01-01T{hour:02d}:00:00"
                                                for hour in range(4)]  # each block built once
    assert len({row[3] for row in starts}) >= 2  # more than one worker did build
    for name in ("dasflex", "other"):
        assert redis_queue(redis_server.url, site_dir, cache_dir, name).status().finished == 4
    assert all(records_in(path) == 60 for path in block_files(cache_dir))


def test_the_redis_block_lock_excludes_a_second_holder(redis_server: RedisServer) -> None:
    connection = connect(redis_server.url)
    current = SimpleNamespace(connection=connection, origin="locks")
    block = hour_jobs(0)[0]
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with block_lock(current, block, timeout=30):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(10)
    assert connection.exists(lock_name(block))
    with pytest.raises(PipelineTimeoutError, match="locked by another worker"):
        with block_lock(current, block, timeout=0.3):
            pass
    release.set()
    holder.join(10)
    assert not connection.exists(lock_name(block))
    with block_lock(current, block, timeout=5):
        assert connection.ttl(lock_name(block)) > 30
    connection.close()


def test_an_unreachable_redis_never_delays_a_request(site_dir: Path, cache_dir: Path) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    queue = redis_queue(url, site_dir, cache_dir)
    started = time.monotonic()
    assert queue.submit(hour_jobs(0, 1)) == 0
    assert queue.submit(hour_jobs(0, 1)) == 0
    assert time.monotonic() - started < 3  # the behaviour: no wait on a dead Redis (generous)
    status = queue.status()
    assert not status.available and "hunter2" not in status.message
    server = make_server(site_dir, cache_dir, redis_url=url)
    status_code, body = get(server)
    assert status_code == 200 and body.startswith(b"[00]")


def test_commands_fail_clearly_without_redis(site_dir: Path, cache_dir: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    worker = dasflex("worker", "--redis", url, "--burst", timeout=30)
    assert worker.returncode == 1 and worker.stderr.startswith("dasflex worker: cannot reach")
    assert len(worker.stderr.strip().splitlines()) == 1
    no_url = dasflex("worker", "--burst")
    assert no_url.returncode == 2 and "--redis" in no_url.stderr
    build = dasflex(*build_args(site_dir, cache_dir, url))
    assert build.returncode == 2 and "cannot reach the job queue" in build.stderr
    assert "Traceback" not in worker.stderr + no_url.stderr + build.stderr


def test_killing_redis_mid_run(tmp_path: Path, site_dir: Path, cache_dir: Path) -> None:
    """Requests are still served, no block is partial, and the worker stops with one line."""
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        (site_dir / "delay").write_text("0.4")
        queued = dasflex(*build_args(site_dir, cache_dir, redis_server.url, "2020-01-01T08:00"),
                         "--no-wait")
        assert queued.returncode == 0, queued.stderr
        worker = start_dasflex("worker", "--redis", redis_server.url, "--outage", "2")
        deadline = time.monotonic() + 30
        while not any(row[0] == "end" for row in builds(site_dir)):
            assert time.monotonic() < deadline, "the worker built nothing"
            time.sleep(0.05)
        redis_server.stop()
        server = make_server(site_dir, cache_dir, redis_url=redis_server.url)
        started = time.monotonic()
        status, body = get(server, "server=dataset&dataset=Tests/Tiny"
                                   "&start_time=2020-01-01T10:00&end_time=2020-01-01T11:00"
                                   "&resolution=60")
        assert status == 200 and body.startswith(b"[00]")
        assert time.monotonic() - started < 10  # the behaviour: the outage delays no request
        _, stderr = worker.communicate(timeout=60)
    finally:
        redis_server.stop()
    assert worker.returncode == 1
    lines = [line for line in stderr.splitlines() if line.startswith("dasflex worker:")]
    assert len(lines) == 1 and "Redis" in lines[0], stderr
    assert "Traceback" not in stderr
    files = block_files(cache_dir)
    assert 1 <= len(files) < 8
    assert all(records_in(path) == 60 for path in files)


def test_two_front_ends_and_a_worker_share_one_queue_and_one_cache(
        redis_server: RedisServer, site_dir: Path, cache_dir: Path) -> None:
    """Two gunicorn servers (two "machines") and a worker, as docs/cache.md deploys them."""
    import urllib.request


    options = ("--site", str(site_dir), "--cache-dir", str(cache_dir),
               "--redis", redis_server.url, "--workers", "1")
    worker = start_dasflex("worker", "--redis", redis_server.url, "--site", str(site_dir),
                           "--cache-dir", str(cache_dir))
    try:
        with dasflex_serve(*options, env=dasflex_env()) as first, \
                dasflex_serve(*options, env=dasflex_env()) as second:
            def fetch(base: str) -> bytes:
                with urllib.request.urlopen(f"{base}/?{QUERY}", timeout=60) as reply:
                    return reply.read()

            from_reader = fetch(first)
            assert from_reader.startswith(b"[00]")
            deadline = time.monotonic() + 60
            while len(block_files(cache_dir)) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [path.name[:13] for path in block_files(cache_dir)] == [
                f"2020-01-01T{hour:02d}" for hour in range(3)]
            reader_runs = len(builds(site_dir))
            assert fetch(second) == from_reader
            assert len(builds(site_dir)) == reader_runs  # the second machine read the cache
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
