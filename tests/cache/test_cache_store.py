"""The cache layout, the index (coverage, jobs), per-block locks and atomic block building."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from dasflex_core.cache import BlockJob, layout
from dasflex_core.cache.builder import block_query, build_block
from dasflex_core.cache.store import TEMP_PREFIX, CacheIndex
from dasflex_core.codecs.das2 import read_all
from dasflex_core.codecs.events import DataRun, StreamException, StreamStart
from dasflex_core.dastime import parse_us2000
from dasflex_core.errors import NotFoundError, QueryError, ReaderError
from dasflex_core.model import Site
from dasflex_core.planner import planner_for_site
from dasflex_core.sources.loader import load_site
from tests.support.cache_site import make_site
from tests.support.paths import PROJECT_DIR

SOURCE_ID = "Test/Minutes"


@pytest.fixture()
def site(tmp_path: Path) -> Site:
    return load_site(make_site(tmp_path))


@pytest.fixture()
def index(tmp_path: Path, site: Site) -> CacheIndex:
    return CacheIndex(tmp_path / "cache", site)


def build(site: Site, cache_dir: Path, target: BlockJob) -> str:
    """``build_block`` with the site's planner, as the job queues call it."""
    return build_block(site, cache_dir, target, plan=planner_for_site(site).plan_block)


def job(level: str, start: str, paramset: str = "_noparam") -> BlockJob:
    return BlockJob(SOURCE_ID, level, paramset, start)


# -- layout -----------------------------------------------------------------


def test_block_paths_follow_the_das2c_layout(tmp_path: Path) -> None:
    start = datetime(2020, 1, 2, 3, 4, 5)
    expected = {
        "yearly": "2020_bin-1h.d2s",
        "monthly": "2020/2020-01_bin-1h.d2s",
        "daily": "2020/01/2020-01-02_bin-1h.d2s",
        "hourly": "2020/01/02/2020-01-02T03_bin-1h.d2s",
        "perminute": "2020/01/02/03/2020-01-02T03-04_bin-1h.d2s",
        "persecond": "2020/01/02/03/04/2020-01-02T03-04-05_bin-1h.d2s",
    }
    for period, relative in expected.items():
        begin = layout.block_start(start, period)
        assert layout.block_path(tmp_path, "bin-1h", period, begin) == tmp_path / relative


def test_blocks_between_and_next_block_cross_years() -> None:
    begin, end = parse_us2000("2019-11-15"), parse_us2000("2020-02-01")
    assert list(layout.blocks_between(begin, end, "monthly")) == [
        datetime(2019, 11, 1), datetime(2019, 12, 1), datetime(2020, 1, 1)]
    assert layout.next_block(datetime(2019, 12, 1), "monthly") == datetime(2020, 1, 1)
    assert layout.next_block(datetime(2019, 1, 1), "yearly") == datetime(2020, 1, 1)
    assert layout.to_us2000(layout.from_us2000(begin)) == begin


def test_param_normal_form_and_level_subdirs() -> None:
    assert layout.normalise_params("") == "_noparam"
    assert layout.normalise_params("-x 1 -a") == "-a_-x_1"
    assert layout.level_subdir("1 h") == "bin-1h"
    assert layout.level_subdir("Intrinsic") == "intrinsic"


def test_rdr_uses_the_shared_layout() -> None:
    from dasflex_core.tools import das2_cache_rdr

    assert das2_cache_rdr.block_path is layout.block_path
    assert das2_cache_rdr.normalise_params is layout.normalise_params


# -- index --------------------------------------------------------------------


def test_block_file_of_each_level(index: CacheIndex, tmp_path: Path) -> None:
    root = tmp_path / "cache" / "Test" / "Minutes"
    assert index.block_file(job("00", "2020-01-02T00:00:00")) == \
        root / "_noparam/bin-60s/2020/01/2020-01-02_bin-60s.d2s"
    assert index.block_file(job("01", "2020-01-01T00:00:00")) == \
        root / "_noparam/bin-1h/2020/2020-01_bin-1h.d2s"
    assert index.block_file(job("02", "2020-01-02T05:00:00")) == \
        root / "_noparam/intrinsic/2020/01/02/2020-01-02T05_intrinsic.d2s"
    assert index.block_file(job("03", "2020-01-02T00:00:00", "fail")) == \
        root / "fail/bin-60s/2020/01/2020-01-02_bin-60s.d2s"


@pytest.mark.parametrize("bad, error", [
    (job("09", "2020-01-02T00:00:00"), NotFoundError),
    (BlockJob("Test/Nothing", "00", "_noparam", "2020-01-02T00:00:00"), NotFoundError),
    (job("00", "2020-01-02T06:00:00"), QueryError),
    (job("00", "yesterday"), QueryError),
])
def test_bad_jobs_are_refused(index: CacheIndex, bad: BlockJob, error: type[Exception]) -> None:
    with pytest.raises(error):
        index.block_file(bad)


def test_index_without_site_learns_levels_from_blocks_for(tmp_path: Path, site: Site) -> None:
    bare = CacheIndex(tmp_path / "cache")
    first = job("00", "2020-01-02T00:00:00")
    with pytest.raises(NotFoundError):
        bare.block_file(first)
    bare.blocks_for(site.get(SOURCE_ID), "2020-01-02", "2020-01-03", levels=["00"])
    assert bare.block_file(first).name == "2020-01-02_bin-60s.d2s"


def test_blocks_for_lists_every_level_and_coverage(index: CacheIndex, site: Site) -> None:
    source = site.get(SOURCE_ID)
    jobs = index.blocks_for(source, "2020-01-30T12:00", "2020-02-01T01:00")
    by_level = {key: [j.block_start for j in jobs if j.level_key == key] for key in ("00", "01", "02")}
    assert by_level["00"] == ["2020-01-30T00:00:00", "2020-01-31T00:00:00", "2020-02-01T00:00:00"]
    assert by_level["01"] == ["2020-01-01T00:00:00", "2020-02-01T00:00:00"]
    assert len(by_level["02"]) == 12 + 24 + 1
    assert all(j.paramset == "_noparam" for j in jobs)
    assert index.missing(jobs) == jobs
    built = jobs[0]
    path = index.block_file(built)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert index.is_built(built)
    assert index.missing(jobs) == jobs[1:]


def test_blocks_for_filters_levels_and_paramsets(index: CacheIndex, site: Site) -> None:
    source = site.get(SOURCE_ID)
    jobs = index.blocks_for(source, "2020-01-02", "2020-01-03", levels=["01"])
    assert [(j.level_key, j.block_start) for j in jobs] == [("01", "2020-01-01T00:00:00")]
    fails = index.blocks_for(source, "2020-01-02", "2020-01-03", paramset="fail")
    assert [(j.level_key, j.paramset) for j in fails] == [("03", "fail")]
    options = index.blocks_for(source, "2020-01-02", "2020-01-03", paramset="-a -x 1")
    assert [(j.level_key, j.paramset) for j in options] == [("06", "-a_-x_1")]
    with pytest.raises(QueryError, match="no cache level '7'"):
        index.blocks_for(source, "2020-01-02", "2020-01-03", levels=["7"])
    with pytest.raises(QueryError, match="empty"):
        index.blocks_for(source, "2020-01-03", "2020-01-02")


# -- locks --------------------------------------------------------------------

LOCK_HOLDER = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from dasflex_core.cache import BlockJob
    from dasflex_core.cache.store import CacheIndex
    from dasflex_core.sources.loader import load_site
    site = load_site(sys.argv[1])
    index = CacheIndex(Path(sys.argv[2]), site)
    with index.lock(BlockJob("Test/Minutes", "00", "_noparam", "2020-01-02T00:00:00")) as held:
        print("held" if held else "refused", flush=True)
        if held:
            time.sleep(30)
""")


def test_lock_refuses_a_second_process(index: CacheIndex, tmp_path: Path, site: Site) -> None:
    target = job("00", "2020-01-02T00:00:00")
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(site.root), str(index.cache_dir)],
                              stdout=subprocess.PIPE, text=True, cwd=PROJECT_DIR)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with index.lock(target) as held:
            assert held is False
        assert build(site, index.cache_dir, target) == "busy"
        assert not index.is_built(target)
    finally:
        holder.kill()
        holder.wait()
    with index.lock(target) as held:
        assert held is True
        with index.lock(target) as again:
            assert again is False


# -- building -----------------------------------------------------------------


def block_records(path: Path) -> np.ndarray:
    runs = [e.records for e in read_all(path.read_bytes()) if isinstance(e, DataRun)]
    return np.concatenate(runs) if runs else np.empty(0)


def test_build_writes_a_reduced_block_once(index: CacheIndex, site: Site) -> None:
    target = job("01", "2020-02-01T00:00:00")
    assert build(site, index.cache_dir, target) == "built"
    path = index.block_file(target)
    records = block_records(path)
    assert len(records) == 29 * 24
    hours = (records["x0"] - parse_us2000("2020-02-01")) / 3.6e9
    np.testing.assert_allclose(hours, np.arange(29 * 24) + 0.5)
    np.testing.assert_allclose(records["y1"], records["x0"] / 3.6e9, rtol=1e-12, atol=0.01)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert build(site, index.cache_dir, target) == "exists"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_intrinsic_level_keeps_every_record(index: CacheIndex, site: Site) -> None:
    target = job("02", "2020-01-05T07:00:00")
    assert block_query(index.level_of(target), target).get("bin.time.max") is None
    assert build(site, index.cache_dir, target) == "built"
    records = block_records(index.block_file(target))
    assert len(records) == 60
    assert records["x0"][0] == parse_us2000("2020-01-05T07:00")


def test_no_data_still_writes_an_empty_block(index: CacheIndex, site: Site) -> None:
    target = job("05", "2020-01-05T00:00:00", "empty")
    assert build(site, index.cache_dir, target) == "built"
    events = read_all(index.block_file(target).read_bytes())
    assert isinstance(events[0], StreamStart)
    # The runner turns a quick "no data" answer into an empty stream; a slow one is kept as is.
    assert all(isinstance(e, StreamException) and e.type == "NoDataInInterval" for e in events[1:])


def test_failing_reader_leaves_nothing(index: CacheIndex, site: Site) -> None:
    target = job("03", "2020-01-05T00:00:00", "fail")
    with pytest.raises(ReaderError):
        build(site, index.cache_dir, target)
    path = index.block_file(target)
    assert not path.exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_wrong_paramset_is_refused(index: CacheIndex, site: Site) -> None:
    with pytest.raises(QueryError, match="is for parameters"):
        build(site, index.cache_dir, job("00", "2020-01-05T00:00:00", "fail"))


BUILDER = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from dasflex_core.cache import BlockJob
    from dasflex_core.cache.builder import build_block
    from dasflex_core.sources.loader import load_site
    job = BlockJob("Test/Minutes", "04", "slow", "2020-01-05T00:00:00")
    from dasflex_core.planner import planner_for_site
    site = load_site(sys.argv[1])
    print(build_block(site, Path(sys.argv[2]), job, plan=planner_for_site(site).plan_block))
""")


def test_killed_builder_leaves_only_a_temporary_file(index: CacheIndex, site: Site) -> None:
    target = job("04", "2020-01-05T00:00:00", "slow")
    path = index.block_file(target)
    builder = subprocess.Popen([sys.executable, "-c", BUILDER, str(site.root), str(index.cache_dir)],
                               cwd=PROJECT_DIR, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        temporaries: list[Path] = []
        while time.monotonic() < deadline and not any(p.stat().st_size for p in temporaries):
            time.sleep(0.05)
            temporaries = [p for p in path.parent.glob(f"{TEMP_PREFIX}*")] \
                if path.parent.is_dir() else []
        assert temporaries and temporaries[0].stat().st_size > 0
    finally:
        os.killpg(builder.pid, signal.SIGKILL)
        builder.wait()
    assert not path.exists()
    assert not index.is_built(target)
    assert not list(path.parent.rglob("*.d2s"))  # a partial file never looks like a block
    done = subprocess.run(
        [sys.executable, "-m", "dasflex_core.tools.das2_cache_rdr", "-l", "04",
         site.get(SOURCE_ID).definition_path, str(index.source_dir(SOURCE_ID)), "slow", "0",
         "2020-01-05", "2020-01-06"], capture_output=True, timeout=60, check=True, cwd=PROJECT_DIR)
    assert not any(isinstance(e, DataRun) for e in read_all(done.stdout))


def test_blocks_that_have_not_ended_are_not_listed_nor_built(tmp_path: Path) -> None:
    from dasflex_core.model import CacheLevel, SourceDef

    source = SourceDef("Live/Feed", "live", "/x/Feed.dsdf",
                       cache_levels=(CacheLevel("00", 60.0, "60 s", "daily"),))
    now = parse_us2000("2020-01-10T12:00") / 1e6 + 946684800.0
    index = CacheIndex(tmp_path / "cache", now=lambda: now)
    jobs = index.blocks_for(source, "2020-01-08", "2020-01-12")
    assert [j.block_start[:10] for j in jobs] == ["2020-01-08", "2020-01-09"]
    live = Site(tmp_path, {"Live/Feed": source})
    with pytest.raises(QueryError, match="has not ended yet"):
        build(live, tmp_path / "cache", BlockJob("Live/Feed", "00", "_noparam",
                                                 "2999-01-01T00:00:00"))


def test_blocks_for_clips_to_the_valid_range(index: CacheIndex, site: Site) -> None:
    jobs = index.blocks_for(site.get(SOURCE_ID), "2019-12-30", "2020-03-05", levels=["01"])
    assert [j.block_start[:7] for j in jobs] == ["2020-01", "2020-02"]
    assert index.blocks_for(site.get(SOURCE_ID), "2021-01-01", "2021-02-01") == []


def test_stale_temporaries_are_removed(index: CacheIndex) -> None:
    folder = index.cache_dir / "Test" / "Minutes" / "_noparam"
    folder.mkdir(parents=True)
    old, fresh = folder / f"{TEMP_PREFIX}a-x.d2s", folder / f"{TEMP_PREFIX}b-x.d2s"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert index.remove_stale_temporaries(older_than=3600) == [old]
    assert not old.exists() and fresh.exists()
