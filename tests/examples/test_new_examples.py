"""The das3-native and daily-file examples: readers, planning and serving over HTTP."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dasflex_core.codecs.das2 import read_all as read_das2
from dasflex_core.codecs.das3 import read_all as read_das3
from dasflex_core.codecs.events import DataRun, StreamException
from dasflex_core.planner import plan
from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

EXAMPLES = PROJECT_DIR / "examples"
READERS = EXAMPLES / "readers"
DAY_US = 86400e6
US2000_2021_06_01 = float((np.datetime64("2021-06-01", "us") - np.datetime64("2000-01-01", "us")).astype(np.int64))


def run_reader(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(READERS / name), *args], capture_output=True,
                          timeout=60, cwd="/")


def data_runs(events: list) -> list[DataRun]:
    return [event for event in events if isinstance(event, DataRun)]


def run_times(run: DataRun) -> np.ndarray:
    """The first field of a run (the time column) as float us2000."""
    return np.asarray(run.records[run.records.dtype.names[0]], dtype=np.float64)


@pytest.fixture(scope="module")
def site():
    return load_site(EXAMPLES / "site")


def test_das3_reader_writes_a_valid_das3_stream():
    done = run_reader("das3native_reader.py", "2020-01-01", "2020-01-01T01:00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"|Sx||")
    runs = data_runs(read_das3(done.stdout))
    assert sum(run.count for run in runs) == 1800
    assert runs[0].header.name == "mag"
    assert done.stdout == run_reader("das3native_reader.py", "2020-01-01", "2020-01-01T01:00").stdout


def test_das3_reader_reports_an_empty_range_in_band():
    done = run_reader("das3native_reader.py", "2020-01-01", "2020-01-01")
    assert done.returncode == 0
    events = read_das3(done.stdout)
    assert isinstance(events[-1], StreamException) and events[-1].type == "NoMatchingData"


@pytest.mark.parametrize("reader", ["das3native_reader.py", "daily_reader.py"])
def test_bad_arguments_exit_2_with_one_line(reader):
    done = run_reader(reader, "yesterday", "2020-01-01")
    assert done.returncode == 2 and done.stdout == b""
    assert len(done.stderr.decode().strip().splitlines()) == 1


def test_daily_reader_reads_only_the_days_in_range():
    done = run_reader("daily_reader.py", "2021-06-02T22:00", "2021-06-03T02:00")
    assert done.returncode == 0, done.stderr
    times = np.concatenate([run_times(run) for run in data_runs(read_das2(done.stdout))])
    start = US2000_2021_06_01 + DAY_US + 22 * 3600e6
    assert times[0] == start and times[-1] == start + 4 * 3600e6 - 1200e6
    assert np.all(np.diff(times) == 1200e6)


def test_daily_reader_gap_day_gives_no_data():
    done = run_reader("daily_reader.py", "2021-06-04", "2021-06-05")
    assert done.returncode == 0
    events = read_das2(done.stdout)
    assert isinstance(events[-1], StreamException) and events[-1].type == "NoDataInInterval"


def test_daily_files_are_small_and_one_per_day():
    files = sorted((EXAMPLES / "data" / "daily").rglob("*.csv"))
    assert [f.stem for f in files] == ["2021-06-01", "2021-06-02", "2021-06-03", "2021-06-05"]
    assert all(f.parent.name == f.stem[:4] and f.stat().st_size < 4096 for f in files)


def test_das3_source_plans_native_and_converted(site):
    source = site.get("Examples/Das3Native")
    query = {"read.time.min": "2020-01-01", "read.time.max": "2020-01-01T01:00"}
    native = plan(source, {**query, "format.version": "3"}, "flex")
    assert len(native.stages) == 1 and native.mime == "application/vnd.das.stream"
    legacy = plan(source, {**query, "format.version": "2"}, "flex")
    assert legacy.stages[-1][0] == "das3_to_das2"


@pytest.fixture(scope="module")
def client():
    from dasflex_core.settings import load_settings
    from dasflex_flask import create_app

    settings = load_settings(environ={}, site_dir=EXAMPLES / "site", first_byte_timeout=30.0,
                             total_timeout=60.0)
    with create_app(settings).test_client() as test_client:
        yield test_client


def test_das3_source_served_over_http(client):
    reply = client.get("/source/examples/das3native/flex?read.time.min=2020-01-01"
                       "&read.time.max=2020-01-01T00:10&format.version=3")
    assert reply.status_code == 200
    assert sum(run.count for run in data_runs(read_das3(reply.data))) == 600
    legacy = client.get("/?server=dataset&dataset=Examples/Das3Native&start_time=2020-01-01"
                        "&end_time=2020-01-01T00:10")
    assert legacy.status_code == 200 and legacy.data.startswith(b"[00]")
    assert sum(run.count for run in data_runs(read_das2(legacy.data))) == 600


def test_daily_source_served_over_http(client):
    reply = client.get("/source/examples/daily/flex?read.time.min=2021-06-01"
                       "&read.time.max=2021-06-03&format.type=csv")
    assert reply.status_code == 200
    rows = [line for line in reply.data.decode().splitlines() if '"values";2021-06-0' in line]
    assert len(rows) == 144


@pytest.mark.system  # runs the example readers through pipelines
def test_verify_passes_on_both_examples(site):
    from dasflex_core.verify import verify_site

    checks = verify_site(site, ["Examples/Das3Native", "Examples/Daily"], first_only=True)
    assert checks and all(check.status == "ok" for check in checks), [c for c in checks if c.failed]
