"""The embedded job queue: in-process threads build the gaps requests find."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path

import pytest

from dasflex_core.errors import ReaderError
from dasflex_core.jobs import QueueUnavailableError, make_queue, public_error
from dasflex_core.jobs.embedded import EmbeddedQueue
from dasflex_core.jobs.progress import ProgressBar, render
from dasflex_core.settings import load_settings
from dasflex_core.sources.loader import load_site
from tests.support.prometheus import parse_prometheus
from tests.support.tiny_site import (
    QUERY,
    builds,
    current_plan,
    get,
    hour_jobs,
    make_server,
)
from tests.support.wsgi import call


def test_a_request_queues_its_gaps_and_the_next_is_served_from_the_cache(
        site_dir: Path, cache_dir: Path) -> None:
    server = make_server(site_dir, cache_dir)
    first_plan = current_plan(server)
    assert first_plan.cache_level is None and len(first_plan.cache_gaps) == 3
    status, from_reader = get(server)
    assert status == 200 and from_reader.startswith(b"[00]")
    queue = server.cache["jobs"]
    assert queue.mode == "embedded"
    result = queue.wait(first_plan.cache_gaps, timeout=60)
    assert result.ok and result.finished == 3
    assert sorted(path.name for path in cache_dir.rglob("*.d2s")) == [
        f"2020-01-01T{hour:02d}_bin-60s.d2s" for hour in range(3)]
    second_plan = current_plan(server)
    assert second_plan.cache_level == "00" and not second_plan.cache_gaps
    readers_before = len(builds(site_dir))
    status, from_cache = get(server)
    assert status == 200 and from_cache == from_reader
    assert len(builds(site_dir)) == readers_before  # the reader did not run again
    server.cache["jobs"].close()


def test_no_cache_dir_means_no_queue_and_no_gaps(site_dir: Path) -> None:
    server = make_server(site_dir, None)
    assert current_plan(server).cache_gaps == ()
    assert get(server)[0] == 200
    assert "jobs" not in server.cache


def test_cache_on_demand_off_queues_nothing(site_dir: Path, cache_dir: Path) -> None:
    server = make_server(site_dir, cache_dir, cache_on_demand=False)
    assert len(current_plan(server).cache_gaps) == 3
    assert "jobs" not in server.cache


def test_a_broken_queue_never_fails_the_request(site_dir: Path, cache_dir: Path) -> None:
    server = make_server(site_dir, cache_dir)

    class Broken:
        def submit(self, jobs, **_options):
            raise RuntimeError("queue exploded")

    server.cache["jobs"] = Broken()
    status, body = get(server)
    assert status == 200 and body.startswith(b"[00]")


def test_make_queue_needs_a_cache_dir(site_dir: Path) -> None:
    settings = load_settings(environ={}, site_dir=site_dir)
    with pytest.raises(QueueUnavailableError, match="cache directory"):
        make_queue(settings, load_site(site_dir))


class GatedBuilder:
    """A builder that waits for a gate and counts its calls per block."""

    def __init__(self, fail: str = "") -> None:
        self.gate = threading.Event()
        self.calls: list[str] = []
        self.fail = fail

    def __call__(self, site, cache_dir, job, **_options) -> str:
        self.calls.append(job.key)
        self.gate.wait(30)
        if self.fail and job.block_start.startswith(self.fail):
            raise ReaderError(f"reader failed reading {cache_dir}/secret/file.dat")
        return "built"


def embedded(site_dir: Path, cache_dir: Path, builder, **options) -> EmbeddedQueue:
    return EmbeddedQueue(load_site(site_dir), cache_dir, builder=builder, **options)


def test_duplicates_of_queued_and_running_jobs_are_dropped(site_dir: Path,
                                                           cache_dir: Path) -> None:
    builder = GatedBuilder()
    queue = embedded(site_dir, cache_dir, builder, workers=2)
    assert queue.submit(hour_jobs(0, 1, 2)) == 3
    assert queue.submit(hour_jobs(0, 1, 2, 3)) == 1
    status = queue.status()
    assert status.queued + status.running == 4 and status.workers == 2
    builder.gate.set()
    assert queue.wait(hour_jobs(0, 1, 2, 3), timeout=30).ok
    assert sorted(builder.calls) == sorted(job.key for job in hour_jobs(0, 1, 2, 3))
    assert queue.status().finished == 4
    assert queue.submit(hour_jobs(0)) == 1  # finished jobs may be queued again (block removed)
    queue.close()


def test_failures_are_recorded_without_paths_and_retried_later_or_when_asked(
        site_dir: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builder = GatedBuilder(fail="2020-01-01T01")
    builder.gate.set()
    queue = embedded(site_dir, cache_dir, builder)
    queue.submit(hour_jobs(0, 1))
    result = queue.wait(hour_jobs(0, 1), timeout=30)
    assert result.finished == 1 and list(result.failures) == [hour_jobs(1)[0].key]
    message = result.failures[hour_jobs(1)[0].key]
    assert "reader failed" in message and str(cache_dir) not in message and "file.dat" in message
    status = queue.status()
    assert status.failed == 1 and status.recent[0].error == message
    assert queue.submit(hour_jobs(1)) == 0
    assert queue.submit(hour_jobs(1), retry_failed=True) == 1
    queue.wait(hour_jobs(1), timeout=30)
    monkeypatch.setattr("dasflex_core.jobs.embedded.FAILED_RETRY_AFTER", 0.0)
    assert queue.submit(hour_jobs(1)) == 1  # failed long enough ago: retried on demand
    queue.wait(hour_jobs(1), timeout=30)
    queue.close()


def test_wait_reports_progress_and_gives_up_at_its_timeout(site_dir: Path,
                                                           cache_dir: Path) -> None:
    builder = GatedBuilder()
    queue = embedded(site_dir, cache_dir, builder)
    queue.submit(hour_jobs(0, 1))
    seen: list[tuple[int, int]] = []
    started = time.monotonic()
    result = queue.wait(hour_jobs(0, 1), progress=lambda done, total: seen.append((done, total)),
                        timeout=0.3)
    assert time.monotonic() - started < 5  # the 0.3 s timeout fires (generous bound)
    assert result.pending == 2 and not result.ok and seen == [(0, 2)]
    builder.gate.set()
    result = queue.wait(hour_jobs(0, 1), progress=lambda done, total: seen.append((done, total)),
                        timeout=30)
    assert result.ok and seen[-1] == (2, 2)
    queue.close()


def test_a_full_queue_drops_further_jobs(site_dir: Path, cache_dir: Path) -> None:
    builder = GatedBuilder()
    queue = embedded(site_dir, cache_dir, builder, limit=2)
    queued = queue.submit(hour_jobs(0, 1, 2, 3, 4))
    assert 2 <= queued <= 3  # one may already be running
    builder.gate.set()
    queue.close()


def test_busy_blocks_are_waited_for(site_dir: Path, cache_dir: Path) -> None:
    answers = iter(["busy", "busy", "exists"])
    queue = embedded(site_dir, cache_dir, lambda *args, **kwargs: next(answers))
    queue.submit(hour_jobs(0))
    assert queue.wait(hour_jobs(0), timeout=30).ok
    assert queue.status().recent[0].result == "exists"
    queue.close()


def test_threads_start_on_first_submit_and_again_after_a_fork(site_dir: Path,
                                                              cache_dir: Path) -> None:
    import os

    builder = GatedBuilder()
    builder.gate.set()
    queue = embedded(site_dir, cache_dir, builder)
    assert queue.status().workers == 0
    queue.submit(hour_jobs(0))
    assert queue.wait(hour_jobs(0), timeout=30).ok
    pid = os.fork()
    if pid == 0:  # the child: the inherited pool has no threads here
        code = 0 if queue.submit(hour_jobs(1)) == 1 and queue.wait(hour_jobs(1), timeout=20).ok \
            else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    queue.close()


def test_public_error_drops_paths_and_passwords() -> None:
    text = public_error("cannot open /srv/data/secret/x.dat via redis://u:pw@host:6379/0\n  now")
    assert text == "cannot open …/x.dat via redis://host:6379/0 now"
    assert public_error(ValueError("bad")) == "ValueError: bad"
    assert len(public_error("x" * 1000)) == 300


def test_progress_bar_in_place_on_a_terminal_and_by_tenths_otherwise() -> None:
    assert render(3, 12).startswith("[" + "#" * 8 + "." * 22 + "]")
    assert render(3, 12).endswith(" 3/12 blocks  25%")
    plain = io.StringIO()
    bar = ProgressBar(stream=plain, interactive=False)
    for done in range(101):
        bar(done, 100)
    assert plain.getvalue().count("\n") == 11
    terminal = io.StringIO()
    bar = ProgressBar(stream=terminal, interactive=True)
    bar(1, 2)
    bar(2, 2)
    bar.finish()
    assert terminal.getvalue().count("\r") == 2 and terminal.getvalue().endswith("100%\n")


def test_requests_served_from_the_cache_are_counted_in_the_metrics(
        site_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    from dasflex_core.protocols.wsgi import make_wsgi_app

    settings = load_settings(environ={}, site_dir=site_dir, cache_dir=cache_dir,
                             request_log=tmp_path / "access.log")
    app = make_wsgi_app(settings)
    query = QUERY.replace("server=dataset&", "")
    status, _ = call(app, "/", f"server=dataset&{query}")
    assert status == 200
    builder = make_queue(settings, load_site(site_dir))  # the app's own queue may race it
    builder.submit(hour_jobs(0, 1, 2))
    builder.wait(hour_jobs(0, 1, 2), timeout=60)
    builder.close()
    assert len(list(cache_dir.rglob("*.d2s"))) == 3
    status, _ = call(app, "/", f"server=dataset&{query}")
    assert status == 200
    families = parse_prometheus(call(app, "/metrics")[1].decode())
    assert families["dasflex_cache_hits_total"]["samples"] == [({}, 1)]
    records = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    data = [record["pipeline"] for record in records if record["pipeline"]]
    assert [(p["cache_level"], p["cache_gaps"]) for p in data] == [(None, 3), ("00", 0)]
