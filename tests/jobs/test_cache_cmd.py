"""``dasflex cache build`` / ``status`` without Redis: progress, exit statuses, messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import dasflex
from tests.support.tiny_site import SOURCE_ID, builds

pytestmark = pytest.mark.system  # runs `dasflex cache build` as processes


def build(site_dir: Path, cache_dir: Path | None, *extra: str, **variables: str):
    argv = ["cache", "build", SOURCE_ID, "--from", "2020-01-01T00:00", "--to",
            "2020-01-01T05:00", "--site", str(site_dir), *extra]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir)]
    return dasflex(*argv, **variables)


def test_builds_in_process_with_a_progress_bar(site_dir: Path, cache_dir: Path) -> None:
    done = build(site_dir, cache_dir, "--workers", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "Tests/Tiny: 5 blocks, 0 already built, 5 to build"
    bars = [line for line in lines if line.startswith("[")]
    assert bars[0].endswith("0/5 blocks   0%") and bars[-1].endswith("5/5 blocks 100%")
    assert len(bars) == len(set(bars)) <= 11
    assert lines[-1] == "5 built, 0 failed, 0 pending"
    assert len(list(cache_dir.rglob("*.d2s"))) == 5
    again = build(site_dir, cache_dir)
    assert again.returncode == 0 and "5 already built, 0 to build" in again.stderr
    assert len([row for row in builds(site_dir) if row[0] == "start"]) == 5


def test_levels_and_the_environment_choose_what_and_where(site_dir: Path, cache_dir: Path) -> None:
    done = build(site_dir, None, "--levels", "00", DASFLEX_CACHE_DIR=str(cache_dir))
    assert done.returncode == 0, done.stderr
    assert len(list(cache_dir.rglob("*.d2s"))) == 5
    status = dasflex("cache", "status", "--site", str(site_dir), DASFLEX_CACHE_DIR=str(cache_dir))
    assert status.returncode == 0
    assert status.stdout.splitlines() == [
        "Tests/Tiny  level 00 (60 s, hourly): 5 blocks",
        "queue: embedded (each server process builds its own blocks)"]
    report = dasflex("cache", "status", "--json", "--site", str(site_dir), "--cache-dir",
                     str(cache_dir))
    assert '"blocks": 5' in report.stdout


def test_failed_blocks_exit_1_with_one_line_each(site_dir: Path, cache_dir: Path) -> None:
    (site_dir / "fail").write_text("2020-01-01T0")
    done = build(site_dir, cache_dir)
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if " failed: " in line]
    assert len(failures) == 5
    assert all(line.startswith("dasflex cache: block Tests/Tiny|00|") for line in failures)
    assert "Traceback" not in done.stderr
    assert not list(cache_dir.rglob("*.d2s"))


def test_usage_errors_exit_2_with_one_line(site_dir: Path, cache_dir: Path) -> None:
    cases = [
        (build(site_dir, None), "no cache directory"),
        (build(site_dir, cache_dir, "--no-wait"), "--no-wait needs a shared queue"),
        (build(site_dir, cache_dir, "--levels", "99"), "no cache level '99'"),
        (dasflex("cache", "build", "Tests/Nope", "--from", "2020-01-01", "--to", "2020-01-02",
                 "--site", str(site_dir), "--cache-dir", str(cache_dir)), "no data source"),
        (dasflex("cache", "build", SOURCE_ID, "--from", "2020-01-02", "--to", "2020-01-01",
                 "--site", str(site_dir), "--cache-dir", str(cache_dir)), "empty"),
        (build(site_dir, cache_dir, "--redis", "http://x"), "redis_url"),
    ]
    for done, expected in cases:
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("dasflex cache: ") and expected in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    bare = dasflex("cache")
    assert bare.returncode == 2 and "build" in bare.stderr
