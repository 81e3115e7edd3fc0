"""End to end on Examples/Spectra: blocks built by the builder, read through the planned cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dasflex_core.cache.builder import build_block
from dasflex_core.cache.store import CacheIndex
from dasflex_core.codecs.das2 import read_all
from dasflex_core.codecs.events import DataRun
from dasflex_core.model import Site
from dasflex_core.planner import Plan, planner_for_site
from dasflex_core.runner import run
from dasflex_core.sources.loader import load_site
from tests.support.paths import PROJECT_DIR

SOURCE_ID = "Examples/Spectra"
DAY = {"read.time.min": "1979-03-01", "read.time.max": "1979-03-02", "bin.time.max": "3600"}


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(PROJECT_DIR / "examples" / "site")


def records(stream: bytes) -> np.ndarray:
    runs = [event.records for event in read_all(stream) if isinstance(event, DataRun)]
    assert runs, "no data records"
    return np.concatenate(runs)


def output(plan: Plan) -> np.ndarray:
    return records(b"".join(run(plan)))


def build_level(site: Site, cache_dir: Path, level: str) -> None:
    index = CacheIndex(cache_dir, site)
    planner = planner_for_site(site)
    for job in index.blocks_for(site.get(SOURCE_ID), DAY["read.time.min"],
                                DAY["read.time.max"], levels=[level]):
        assert build_block(site, cache_dir, job, plan=planner.plan_block) == "built"


def test_day_at_one_hour_from_60_s_blocks_equals_the_reader(site: Site, tmp_path: Path) -> None:
    source = site.get(SOURCE_ID)
    build_level(site, tmp_path, "00")
    through_cache = planner_for_site(site, cache_dir=tmp_path).plan(source, DAY)
    assert through_cache.cache_level == "00"
    assert through_cache.commands == ("cache_reader", "das2_bin_avgsec")
    direct = planner_for_site(site).plan(source, DAY)
    assert direct.commands == ("reader", "das2_bin_avgsec")
    got, want = output(through_cache), output(direct)
    assert len(got) == len(want) == 24
    np.testing.assert_array_equal(got["x0"], want["x0"])
    np.testing.assert_allclose(got["yscan1"], want["yscan1"], rtol=2e-6)


def test_day_at_one_hour_from_the_hourly_level(site: Site, tmp_path: Path) -> None:
    source = site.get(SOURCE_ID)
    build_level(site, tmp_path, "01")
    through_cache = planner_for_site(site, cache_dir=tmp_path).plan(source, DAY)
    assert through_cache.cache_level == "01"
    assert through_cache.commands == ("cache_reader",)
    got, want = output(through_cache), output(planner_for_site(site).plan(source, DAY))
    assert len(got) == len(want) == 24
    np.testing.assert_array_equal(got["x0"], want["x0"])
    np.testing.assert_allclose(got["yscan1"], want["yscan1"], rtol=2e-6)
