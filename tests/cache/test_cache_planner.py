"""The planner and the cache: levels as cheap readers, coverage, gaps, limits, ``dasflex plan``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dasflex_core.cache import BlockJob
from dasflex_core.cache import choice as cache_choice
from dasflex_core.cache.store import CacheIndex
from dasflex_core.cli import main as cli_main
from dasflex_core.dastime import parse_us2000
from dasflex_core.model import Site, SourceDef
from dasflex_core.planner import Planner, planner_for_site
from dasflex_core.sources.loader import load_site
from tests.support.cache_site import make_site

SOURCE_ID = "Test/Minutes"
#: 2020-06-01 as Unix seconds: every block of the test source has ended.
LATER = 1590969600.0


@pytest.fixture()
def site(tmp_path: Path) -> Site:
    return load_site(make_site(tmp_path))


@pytest.fixture()
def source(site: Site) -> SourceDef:
    found = site.get(SOURCE_ID)
    assert found is not None
    return found


@pytest.fixture()
def index(tmp_path: Path, site: Site) -> CacheIndex:
    return CacheIndex(tmp_path / "cache", site)


@pytest.fixture()
def cached(site: Site, index: CacheIndex) -> Planner:
    return Planner(planner_for_site(site).table, cache=index, now=lambda: LATER)


def query(begin: str, end: str, resolution: str | None = None, **extra: str) -> dict[str, str]:
    values = {"read.time.min": begin, "read.time.max": end, **extra}
    if resolution is not None:
        values["bin.time.max"] = resolution
    return values


def build(index: CacheIndex, source: SourceDef, begin: str, end: str, level: str,
          paramset: str = "_noparam") -> list[BlockJob]:
    """Mark the level's blocks of [begin, end) built (empty files: the planner only looks)."""
    jobs = index.blocks_for(source, begin, end, levels=[level], paramset=paramset)
    for job in jobs:
        path = index.block_file(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return jobs


def test_no_cache_no_change(site: Site, source: SourceDef) -> None:
    plain = planner_for_site(site).plan(source, query("2020-01-02", "2020-01-03", "3600"))
    assert plain.commands == ("reader", "das2_bin_avgsec")
    assert plain.cache_level is None and plain.cache_gaps == ()
    assert "cache" not in plain.to_json()


def test_gap_plans_the_reader_and_lists_the_coarsest_levels_blocks(cached: Planner,
                                                                   source: SourceDef) -> None:
    result = cached.plan(source, query("2020-01-30", "2020-02-02", "3600"))
    assert result.commands == ("reader", "das2_bin_avgsec")
    assert result.cache_level is None
    assert [(j.level_key, j.block_start) for j in result.cache_gaps] == [
        ("01", "2020-01-01T00:00:00"), ("01", "2020-02-01T00:00:00")]
    assert result.to_json()["cache"] == {"level": None, "gaps": 2}


def test_covered_request_reads_the_cache_without_reducer(cached: Planner, index: CacheIndex,
                                                         source: SourceDef) -> None:
    build(index, source, "2020-01-30", "2020-02-02", "01")
    result = cached.plan(source, query("2020-01-30", "2020-02-02", "3600"))
    assert result.commands == ("cache_reader",)
    assert result.stages == ((
        "das2_cache_rdr", "-l", "01", source.definition_path, str(index.source_dir(SOURCE_ID)),
        "_noparam", "3600", "2020-01-30T00:00:00", "2020-02-02T00:00:00"),)
    assert result.cache_level == "01" and result.cache_gaps == ()
    assert result.to_json()["cache"] == {"level": "01", "gaps": 0}
    assert result.cwd == source.reader.cwd


def test_coarser_request_reduces_after_the_cache(cached: Planner, index: CacheIndex,
                                                 source: SourceDef) -> None:
    build(index, source, "2020-01-01", "2020-02-01", "01")
    result = cached.plan(source, query("2020-01-03", "2020-01-09", "7200", **{"format.type": "csv"}))
    assert result.commands == ("cache_reader", "das2_bin_avgsec", "das3_csv")
    assert result.stages[1] == ("das2_bin_avgsec", "-b", "2020-01-03T00:00:00", "7200")
    das3 = cached.plan(source, query("2020-01-03", "2020-01-09", "3600", **{"format.version": "3"}))
    assert das3.commands == ("cache_reader", "das2_to_das3")


def test_finer_built_level_serves_while_the_coarsest_has_gaps(cached: Planner, index: CacheIndex,
                                                              source: SourceDef) -> None:
    build(index, source, "2020-01-02", "2020-01-04", "00")
    result = cached.plan(source, query("2020-01-02", "2020-01-04", "3600"))
    assert result.cache_level == "00"
    assert result.commands == ("cache_reader", "das2_bin_avgsec")
    assert result.stages[0][2] == "00" and result.stages[0][6] == "60"
    assert [(j.level_key, j.block_start) for j in result.cache_gaps] == [
        ("01", "2020-01-01T00:00:00")]


def test_resolution_picks_the_coarsest_fitting_level(cached: Planner, index: CacheIndex,
                                                     source: SourceDef) -> None:
    request = query("2020-01-02T05:00", "2020-01-02T07:00", "59")
    gaps = cached.plan(source, request).cache_gaps
    assert {j.level_key for j in gaps} == {"02"} and len(gaps) == 2
    build(index, source, "2020-01-02T05:00", "2020-01-02T07:00", "02")
    intrinsic = cached.plan(source, request)
    assert intrinsic.cache_level == "02"
    assert intrinsic.stages[0][6] == "0"
    assert intrinsic.commands == ("cache_reader", "das2_bin_avgsec")


def test_reader_params_select_matching_levels(cached: Planner, index: CacheIndex,
                                              source: SourceDef) -> None:
    build(index, source, "2020-01-01", "2020-02-01", "01")
    failing = cached.plan(source, query("2020-01-02", "2020-01-03", "3600", **{"read.opts": "fail"}))
    assert failing.commands[0] == "reader" and failing.cache_level is None
    assert [(j.level_key, j.paramset) for j in failing.cache_gaps] == [("03", "fail")]
    build(index, source, "2020-01-02", "2020-01-03", "03", "fail")
    served = cached.plan(source, query("2020-01-02", "2020-01-03", "3600", **{"read.opts": "fail"}))
    assert served.cache_level == "03"
    assert served.stages[0][5] == "fail"
    slow = cached.plan(source, query("2020-01-02", "2020-01-03", "3600", **{"read.opts": "slow"}))
    assert [j.level_key for j in slow.cache_gaps] == ["04"]
    both = cached.plan(source, query("2020-01-02", "2020-01-03", "3600",
                                     **{"read.opts": "slow fail"}))
    assert both.cache_gaps == () and "cache" not in both.to_json()


def test_requests_that_cannot_use_the_cache(cached: Planner, index: CacheIndex,
                                            source: SourceDef) -> None:
    build(index, source, "2020-01-01", "2020-02-01", "01")
    build(index, source, "2020-01-02", "2020-01-03", "00")
    unreduced = cached.plan(source, query("2020-01-02", "2020-01-03"))
    zero = cached.plan(source, query("2020-01-02", "2020-01-03", "0"))
    spectra = cached.plan(source, query("2020-01-02", "2020-01-03", "3600", **{"dft.length": "64"}))
    outside = cached.plan(source, query("2021-01-02", "2021-01-03", "3600"))
    skipped = cached.plan(source, query("2020-01-02", "2020-01-03", "3600"), use_cache=False)
    for result in (unreduced, zero, spectra, outside, skipped):
        assert result.commands[0] == "reader"
        assert result.cache_level is None and result.cache_gaps == ()


def test_gaps_stop_at_the_valid_range(cached: Planner, source: SourceDef) -> None:
    result = cached.plan(source, query("2019-12-30", "2020-03-05", "60"))
    starts = [j.block_start[:10] for j in result.cache_gaps]
    assert starts[0] == "2020-01-01" and starts[-1] == "2020-02-29"
    assert len(starts) == 31 + 29


def test_blocks_ending_in_the_future_are_never_gaps_nor_read(site: Site, index: CacheIndex,
                                                             source: SourceDef) -> None:
    now = (parse_us2000("2020-01-10T12:00") / 1e6) + 946684800.0
    early = Planner(planner_for_site(site).table, cache=index, now=lambda: now)
    request = query("2020-01-08", "2020-01-12", "60")
    assert [j.block_start[:10] for j in early.plan(source, request).cache_gaps] == [
        "2020-01-08", "2020-01-09"]
    build(index, source, "2020-01-08", "2020-01-10", "00")
    result = early.plan(source, request)
    assert result.commands[0] == "reader" and result.cache_gaps == ()
    assert early.plan(source, query("2020-01-08", "2020-01-10", "60")).cache_level == "00"


def test_gap_count_is_capped(cached: Planner, source: SourceDef,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_choice, "MAX_CACHE_GAPS", 5)
    result = cached.plan(source, query("2020-01-01", "2020-02-01", "60"))
    assert [j.block_start[:10] for j in result.cache_gaps] == [
        "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05"]


def test_too_many_blocks_to_check_is_no_cache(cached: Planner, index: CacheIndex,
                                              source: SourceDef,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build(index, source, "2020-01-02", "2020-01-05", "00")
    monkeypatch.setattr(cache_choice, "MAX_CACHE_BLOCKS", 2)
    result = cached.plan(source, query("2020-01-02", "2020-01-05", "60"))
    assert result.commands[0] == "reader" and result.cache_gaps == ()


def test_planner_for_site_merges_the_site_commands(tmp_path: Path) -> None:
    root = make_site(tmp_path)
    (root / "_commands.json").write_text(json.dumps({"commands": {"my_csv": {
        "role": "formatter", "template": "my_csv", "input": "das2/2.2/binary",
        "output": "csv", "cost": 0.1}}}))
    site = load_site(root)
    assert site.commands is not None
    result = planner_for_site(site).plan(site.get(SOURCE_ID), query(
        "2020-01-02", "2020-01-03", **{"format.type": "csv"}))
    assert result.commands == ("reader", "my_csv")
    assert planner_for_site(site).cache is None
    assert planner_for_site(site, cache_dir=tmp_path / "c").cache is not None


def test_bad_site_command_table_is_a_site_problem(tmp_path: Path) -> None:
    from dasflex_core.errors import DefinitionError

    root = make_site(tmp_path)
    (root / "_commands.json").write_text("{not json")
    with pytest.raises(DefinitionError, match="_commands.json"):
        load_site(root)


def test_dasflex_plan_shows_the_cache(site: Site, index: CacheIndex, source: SourceDef,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--site", str(site.root), "--cache-dir", str(index.cache_dir), SOURCE_ID,
            "read.time.min=2020-01-02", "read.time.max=2020-01-03", "bin.time.max=3600"]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out)["cache"] == {"level": None, "gaps": 1}
    build(index, source, "2020-01-02", "2020-01-03", "01")
    assert cli_main(args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["cache"] == {"level": "01", "gaps": 0}
    assert shown["stages"][0][:3] == ["das2_cache_rdr", "-l", "01"]


def test_dasflex_plan_without_cache_dir_shows_no_cache(site: Site,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASFLEX_CONFIG", raising=False)
    args = ["plan", "--site", str(site.root), SOURCE_ID, "read.time.min=2020-01-02",
            "read.time.max=2020-01-03", "bin.time.max=3600"]
    assert cli_main(args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["stages"][0][0] == sys.executable
    assert shown.get("cache", {}).get("level") is None
