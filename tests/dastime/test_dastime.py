"""dastime: das2C parsetime conformance, HAPI forms, epochs, TT2000 and formatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.dastime import (
    ILLEGAL_TT2000,
    DasTime,
    format_iso,
    format_prtime,
    from_epoch,
    from_tt2000,
    from_us2000,
    parse_time,
    parse_us2000,
    to_epoch,
    to_tt2000,
    to_us2000,
)
from dasflex_core.errors import TimeError

#: Rows of parsetime.tsv where dasflex deliberately differs from das2C, with our
#: expected (date-time, us2000) or None for "rejected", and why.
DEVIATIONS = {
    "2001-01-01T24:00:00": ("2001-01-02T00:00:00.000000000", 31708800000000.0,
                            "HAPI: hour 24 is the next midnight"),
    "2001": ("2001-01-01T00:00:00.000000000", 31622400000000.0,
             "HAPI: a bare year is January 1"),
    "2001-01-01t12:00": ("2001-01-01T12:00:00.000000000", 31665600000000.0,
                         "lower-case t separates date and time (das2C: midnight)"),
    "2001-01-01T23:59:75.5": (None, None, "seconds >= 62 rejected"),
    "2001-01-01T12:30:15.25:10": (None, None, "text after the fractional seconds"),
    "-2001-01-01": (None, None, "leading '-' (das2C: 01:00)"),
    "2001--01-01": (None, None, "doubled '-' (das2C: 01:00)"),
    "2001-01-01T-1:00": (None, None, "negative hour (das2C: 01:00)"),
}
#: das2C splits the binary64 seconds into ms/us/ns by truncation and loses 1 ns
#: when the decimal is not representable; dasflex keeps exact nanoseconds.
TT2000_TRUNCATION = {"2001-01-01T12:34:56.789012", "2013-03-01T07:44:32.330"}


def _table(conformance_dir: Path) -> list[list[str]]:
    lines = (conformance_dir / "time" / "parsetime.tsv").read_text().splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def _columns(dt: DasTime) -> list[str]:
    whole, frac = divmod(dt.nanos, 10**9)
    return [
        f"{dt.year:04d}-{dt.month:02d}-{dt.mday:02d}",
        f"{dt.yday:03d}",
        f"{dt.hour:02d}:{dt.minute:02d}:{whole:02d}.{frac:09d}",
        f"{to_us2000(dt):.3f}",
        f"{to_epoch(dt, 't1970'):.6f}",
        str(to_tt2000(dt)),
        format_prtime(dt, 3, "iso"),
    ]


@pytest.mark.conformance
def test_parsetime_table_matches_every_column(conformance_dir: Path) -> None:
    rows = _table(conformance_dir)
    assert len(rows) == 113
    checked = 0
    for row in rows:
        text, expected = row[0], row[1:]
        if text in DEVIATIONS:
            continue
        if expected[0] == "ERROR":
            with pytest.raises(TimeError):
                parse_time(text)
            continue
        got = _columns(parse_time(text))
        if text in TT2000_TRUNCATION:
            assert int(got[5]) == int(expected[5]) + 1, text
            got[5] = expected[5]
        assert got == expected[:7], text
        checked += 1
    assert checked > 80


@pytest.mark.conformance
def test_documented_deviations_are_in_the_table_and_behave(conformance_dir: Path) -> None:
    inputs = {row[0] for row in _table(conformance_dir)}
    assert set(DEVIATIONS) <= inputs
    assert TT2000_TRUNCATION <= inputs
    for text, (iso, us2000, _why) in DEVIATIONS.items():
        if iso is None:
            with pytest.raises(TimeError):
                parse_time(text)
        else:
            parsed = parse_time(text)
            assert str(parsed.normalized()) == iso
            assert to_us2000(parsed) == us2000


@pytest.mark.parametrize(("text", "iso"), [
    ("2017Z", "2017-01-01T00:00:00.000000000"),
    ("2017-01Z", "2017-01-01T00:00:00.000000000"),
    ("2017-01-15Z", "2017-01-15T00:00:00.000000000"),
    ("2017-015Z", "2017-01-15T00:00:00.000000000"),
    ("2017-01-15T23Z", "2017-01-15T23:00:00.000000000"),
    ("2017-01-15T23:00Z", "2017-01-15T23:00:00.000000000"),
    ("2017-015T23:01:02.5Z", "2017-01-15T23:01:02.500000000"),
    ("2017-01-15T23:01:02.123456789123Z", "2017-01-15T23:01:02.123456789"),
    ("2017-01-15T23:01:02.1234567895Z", "2017-01-15T23:01:02.123456790"),
    ("2016-366", "2016-12-31T00:00:00.000000000"),
    ("2016-12-31T24:00", "2017-01-01T00:00:00.000000000"),
    ("2016-12-31T24:00:00.000Z", "2017-01-01T00:00:00.000000000"),
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60.000000000"),
])
def test_hapi_restricted_iso_forms(text: str, iso: str) -> None:
    assert str(parse_time(text)) == iso


@pytest.mark.parametrize("text", [
    "2017-366", "2017-02-29", "2017-01-15T24:30", "2017-01-15T25:00", "2017-W01",
    "20170115", "2017-01-15T12:00:00+01:00", "2017-01-15T12:00:00Z extra", "", "   ",
    "2017-01-15T12:00Zulu", "12abc 2017-01-01", "1e3-01-01", "x" * 81,
])
def test_invalid_times_are_rejected_with_a_reason(text: str) -> None:
    with pytest.raises(TimeError) as info:
        parse_time(text)
    assert str(info.value)
    assert "\n" not in str(info.value)


def test_error_message_names_the_input_and_reason() -> None:
    with pytest.raises(TimeError, match=r"2001-02-30.*day 30"):
        parse_time("2001-02-30")


def test_month_names_and_orders() -> None:
    assert str(parse_time("1960 FEB 21 12:00")) == "1960-02-21T12:00:00.000000000"
    assert str(parse_time("sept 3 1999")) == "1999-09-03T00:00:00.000000000"
    with pytest.raises(TimeError, match="month"):
        parse_time("1999 ju 3")


def test_missing_year_is_the_current_year() -> None:
    from datetime import UTC, datetime

    assert parse_time("jan 5").year == datetime.now(UTC).year


def test_bytes_input_and_surrounding_blanks() -> None:
    assert parse_time(b" 2001-01-01T00:00:01\n") == parse_time("2001-01-01T00:00:01")


def test_dastime_is_immutable_and_validates() -> None:
    dt = DasTime.from_parts(2004, 2, 29, 23, 59, 59_500_000_000)
    assert dt.yday == 60 and dt.second == 59.5
    with pytest.raises(AttributeError):
        dt.year = 2005  # type: ignore[misc]
    with pytest.raises(TimeError):
        DasTime.from_parts(2005, 2, 29)
    assert parse_time("2001-01-01T23:59:59") < parse_time("2001-01-01T23:59:60.5") \
        < parse_time("2001-01-02")


def test_epoch_conversions_of_known_instants() -> None:
    dt = parse_time("1970-01-01")
    assert to_epoch(dt, "t1970") == 0.0
    assert to_epoch(dt, "ns1970") == 0
    assert to_epoch(parse_time("1958-01-01"), "mj1958") == 0.0
    assert to_epoch(parse_time("2000-01-01T00:00:01"), "t2000") == 1.0
    assert to_epoch(parse_time("2000-01-01T12:00:00"), "TT2000") == 64_184_000_000
    assert from_epoch(1.5, "t2000") == parse_time("2000-01-01T00:00:01.5")
    assert from_epoch(86_400 * 1e9, "ns1970") == parse_time("1970-01-02")
    with pytest.raises(TimeError):
        to_epoch(dt, "UTC")


def test_tt2000_leap_seconds() -> None:
    before = to_tt2000(parse_time("2016-12-31T23:59:59"))
    leap = to_tt2000(parse_time("2016-12-31T23:59:60"))
    after = to_tt2000(parse_time("2017-01-01T00:00:00"))
    assert (leap - before, after - leap) == (10**9, 10**9)
    assert str(from_tt2000(leap + 500_000_000)) == "2016-12-31T23:59:60.500000000"
    # No leap second at the end of 2001: second 60 is the next midnight.
    assert to_tt2000(parse_time("2001-12-31T23:59:60")) == to_tt2000(parse_time("2002-01-01"))
    assert to_tt2000(parse_time("1700-01-01")) == ILLEGAL_TT2000
    with pytest.raises(TimeError):
        from_tt2000(ILLEGAL_TT2000)


def test_tt2000_of_the_drift_era_round_trips() -> None:
    for text in ("1960-02-21T12:00:00", "1965-06-30T01:02:03.25", "1971-12-31T23:59:59"):
        dt = parse_time(text)
        assert from_tt2000(to_tt2000(dt)) == dt


def test_format_iso_rounds_and_carries() -> None:
    assert format_iso(parse_time("2001-12-31T23:59:59.9996"), 3) == "2002-01-01T00:00:00.000"
    assert format_iso(parse_time("2001-032T01:02:03.25"), 1, ordinal=True, zulu=True) == \
        "2001-032T01:02:03.3Z"
    assert format_iso(parse_time("2016-12-31T23:59:60.9996"), 3) == "2016-12-31T23:59:60.999"
    assert format_iso(31622400000000.0, 0) == "2001-01-01T00:00:00"
    with pytest.raises(TimeError):
        format_iso(0.0, 10)


def test_format_prtime_styles_truncate() -> None:
    dt = parse_time("2013-03-01T07:44:32.330")
    assert format_prtime(dt) == "2013-03-01 (060) 07:44:32"
    assert format_prtime(dt, 3, "ordinal") == "2013-060T07:44:32.329"
    assert format_prtime(dt, 2, "iso") == "2013-03-01T07:44:32.32"  # truncated binary64
    with pytest.raises(TimeError):
        format_prtime(dt, 3, "fancy")


# ---------------------------------------------------------------------------
# Property-based round trips

_NS_1708 = -9_117_000_000_000_000_000  # inside 1708
_NS_2291 = 9_150_000_000_000_000_000   # inside 2291


@st.composite
def _times(draw: st.DrawFn) -> DasTime:
    ns2000 = draw(st.integers(min_value=-63_000_000_000 * 10**9, max_value=250_000_000_000 * 10**9))
    return DasTime.from_ns2000(ns2000)


@settings(max_examples=300, deadline=None)
@given(_times())
def test_iso_format_then_parse_is_identity(dt: DasTime) -> None:
    assert parse_time(format_iso(dt, 9)) == dt
    assert parse_time(format_iso(dt, 9, ordinal=True, zulu=True)) == dt
    assert parse_time(str(dt).replace("T", " ")) == dt


@settings(max_examples=300, deadline=None)
@given(_times(), st.integers(min_value=0, max_value=9))
def test_rounded_iso_is_within_half_a_unit(dt: DasTime, digits: int) -> None:
    back = parse_time(format_iso(dt, digits))
    assert abs(back.ns2000 - dt.ns2000) <= 10 ** (9 - digits) // 2


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=_NS_1708, max_value=_NS_2291))
def test_tt2000_to_calendar_and_back_is_identity(tt2000: int) -> None:
    assert to_tt2000(from_tt2000(tt2000)) == tt2000


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["1972-06-30", "1998-12-31", "2005-12-31", "2016-12-31"]),
       st.integers(min_value=0, max_value=3 * 10**9 - 1))
def test_tt2000_across_leap_seconds(day: str, offset_ns: int) -> None:
    start = to_tt2000(parse_time(f"{day}T23:59:59"))
    label = from_tt2000(start + offset_ns)
    assert to_tt2000(label) == start + offset_ns
    if 10**9 <= offset_ns < 2 * 10**9:
        assert (label.hour, label.minute, label.nanos // 10**9) == (23, 59, 60)
    # us2000 has no leap second: the leap second folds onto the next midnight,
    # so the second after it repeats the same us2000 values.
    start_ns = parse_time(f"{day}T23:59:59").ns2000
    expected_ns = start_ns + (offset_ns if offset_ns < 2 * 10**9 else offset_ns - 10**9)
    assert label.ns2000 == expected_ns
    assert to_us2000(label) == parse_us2000(str(DasTime.from_ns2000(expected_ns)))


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-9e15, max_value=9e15, allow_nan=False))
def test_us2000_to_calendar_and_back(us2000: float) -> None:
    back = to_us2000(from_us2000(us2000))
    assert abs(back - us2000) <= 0.0005 + abs(us2000) * 2.3e-16
