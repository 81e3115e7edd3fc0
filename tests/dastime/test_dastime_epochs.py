"""The time package as the one owner of epoch offsets, and the modules that ask it."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from dasflex_core import dastime
from dasflex_core.auth import ended_before
from dasflex_core.cache.store import unix_to_us2000
from dasflex_core.dastime import SECONDS_1970_TO_2000, convert_times, us2000_from_das2
from dasflex_core.dastime.core import (
    DAYS_1958_TO_2000,
    DAYS_1970_TO_2000,
    NS_1958_TO_2000,
    NS_1970_TO_2000,
    SECONDS_PER_DAY,
    SECONDS_PER_EPOCH_UNIT,
)
from dasflex_core.dastime.hapi import HapiTime, parse_hapi_time, to_hapi_time
from dasflex_core.textfmt import t2000_seconds

EPOCH_1958 = datetime(1958, 1, 1, tzinfo=UTC)
EPOCH_1970 = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)


def test_offsets_are_the_calendar_distances() -> None:
    assert SECONDS_1970_TO_2000 == (EPOCH_2000 - EPOCH_1970).total_seconds() == 946_684_800
    assert DAYS_1970_TO_2000 == (EPOCH_2000 - EPOCH_1970).days
    assert DAYS_1958_TO_2000 == (EPOCH_2000 - EPOCH_1958).days
    assert NS_1970_TO_2000 == SECONDS_1970_TO_2000 * 10**9
    assert NS_1958_TO_2000 == DAYS_1958_TO_2000 * SECONDS_PER_DAY * 10**9
    assert dastime.SECONDS_1970_TO_2000 is SECONDS_1970_TO_2000


@pytest.mark.parametrize("units", sorted(SECONDS_PER_EPOCH_UNIT))
def test_seconds_per_epoch_unit_matches_the_conversions(units: str) -> None:
    start = convert_times(np.array([0.0]), "t2000", units)[0]
    ticks = 1000
    origin, later = convert_times(np.array([start, start + ticks]), units, "t2000")
    assert later - origin == pytest.approx(ticks * SECONDS_PER_EPOCH_UNIT[units], rel=1e-6)


@pytest.mark.parametrize(("value", "units"), [
    (1_500_000.0, "us2000"), (1_500_000.0, "UTC"), (1_500_000.0, ""),
    (1.5, "t2000"), (SECONDS_1970_TO_2000 + 1.5, "t1970"), (SECONDS_1970_TO_2000 + 1.5, "T1970"),
    (DAYS_1958_TO_2000 + 1.5 / 86_400, "mj1958"), ((SECONDS_1970_TO_2000 + 1.5) * 1e9, "ns1970"),
])
def test_us2000_from_das2(value: float, units: str) -> None:
    assert us2000_from_das2(np.array([value]), units)[0] == pytest.approx(1_500_000.0, abs=0.1)


def test_us2000_from_das2_agrees_with_convert_times_on_float_units() -> None:
    values = np.array([-1e9, 0.0, 12345.678, 7e8])
    for units in ("t2000", "t1970", "mj1958"):
        assert np.array_equal(us2000_from_das2(values, units), convert_times(values, units, "us2000"))


def test_us2000_from_das2_refuses_other_units() -> None:
    with pytest.raises(ValueError, match="not a time-point unit"):
        us2000_from_das2(np.zeros(1), "Hz")


def test_textfmt_counts_from_the_same_epoch() -> None:
    seconds = t2000_seconds(np.array([SECONDS_1970_TO_2000 + 2.0]), "t1970")
    assert seconds.tolist() == [2.0]
    assert t2000_seconds(np.array([DAYS_1958_TO_2000 + 1.0]), "mj1958").tolist() == [86_400.0]
    assert t2000_seconds(np.array([NS_1970_TO_2000 + 3e9]), "ns1970").tolist() == [3.0]


def test_cache_and_auth_count_unix_time_from_the_same_epoch() -> None:
    assert unix_to_us2000(SECONDS_1970_TO_2000 + 1.0) == 1e6
    now = SECONDS_1970_TO_2000 + 10 * SECONDS_PER_DAY  # 2000-01-11 in Unix seconds
    assert ended_before("2000-01-01", "10d", now=now)
    assert not ended_before("2000-01-01T00:00:01", "10d", now=now)


def test_hapi_times_use_the_calendar_of_dastime() -> None:
    moment = parse_hapi_time("2017-060T12:00:00.5Z")
    assert moment.ns2000 == dastime.parse_time("2017-03-01T12:00:00.5").ns2000
    assert moment.iso(1) == "2017-03-01T12:00:00.5Z"
    assert HapiTime(parse_hapi_time("0999-12-31").ns2000).iso(0) == "0999-12-31T00:00:00Z"
    assert to_hapi_time("2017-03-01 12:00") == parse_hapi_time("2017-03-01T12:00")
    assert to_hapi_time("2017 Mar 1") == parse_hapi_time("2017-03-01")
    assert to_hapi_time("not a time") is None


def test_now_is_the_wall_clock() -> None:
    now = to_hapi_time("now")
    assert now is not None
    wall = (datetime.now(UTC) - EPOCH_2000).total_seconds()
    assert abs(now.ns2000 / 1e9 - wall) < 60
