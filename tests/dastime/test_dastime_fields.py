"""Vectorised time fields and epoch arrays: equal to the scalar code and to das2C."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core.dastime import (
    FILLED_TT2000,
    ILLEGAL_TT2000,
    DasTime,
    convert_times,
    format_iso,
    format_iso_fields,
    format_time_fields,
    from_tt2000,
    from_us2000,
    parse_time,
    parse_time_fields,
    parse_us2000,
    to_epoch,
    to_tt2000,
)
from dasflex_core.dastime.fields import round_half_even_scaled, time_layout
from dasflex_core.errors import TimeError

RNG_SEED = 20260101


def _reference_field(value: float, units: str, width: int) -> bytes:
    """One ``timeN`` field the way das2C prints it, with Python's printf as oracle."""
    if value == -1e31 or math.isnan(value):
        seconds = 0.0
        year, month, mday = 1, 1, 1
    else:
        t2000 = {"us2000": value * 1e-6, "t2000": value,
                 "t1970": (value - 946_684_800) * 1e6 * 1e-6}[units]
        remainder = math.fmod(t2000, 86400.0)
        days = round((t2000 - remainder) / 86400.0)
        if remainder < 0:
            remainder += 86400.0
            days -= 1
        if remainder >= 86400.0:
            remainder, days = 0.0, days + 1
        seconds = remainder
        dt = DasTime.from_ns2000(days * 86_400 * 10**9)
        year, month, mday = dt.year, dt.month, dt.mday
    clock = int(seconds)
    hour, minute = clock // 3600, clock % 3600 // 60
    in_minute = seconds - (hour * 3600 + minute * 60)
    fields, digits, pad = time_layout(width)
    parts = [f"{year:04d}", f"-{month:02d}", f"-{mday:02d}", f"T{hour:02d}", f":{minute:02d}"]
    text = "".join(parts[:min(fields, 5)])
    if fields == 6:
        text += ":" + f"{in_minute:0{digits + 3 if digits else 2}.{digits}f}"
    return (text + " " * pad).encode()


@pytest.mark.parametrize("width", [5, 7, 8, 11, 13, 14, 17, 19, 20, 21, 22, 23, 24, 25, 26,
                                   27, 28, 29, 30, 31, 34])
@pytest.mark.parametrize("units", ["us2000", "t2000", "t1970"])
def test_format_matches_printf_oracle(width: int, units: str) -> None:
    rng = np.random.default_rng(RNG_SEED + width)
    us2000 = rng.uniform(-3e15, 3e15, 400)
    us2000[:50] = np.round(us2000[:50], -3) + 500  # exact half-millisecond ties
    us2000[50:60] = [-1e31, np.nan, 0.0, -1.0, 59_999_999.9, 86_399_999_999.6,
                     -0.5, 1e-9, 31_622_399_999_999.5, 5e5]
    values = {"us2000": us2000, "t2000": us2000 / 1e6,
              "t1970": us2000 / 1e6 + 946_684_800}[units]
    values[50] = -1e31  # das2 fill is the raw value in any unit
    got = format_time_fields(values, width, units)
    assert got.dtype == np.dtype(f"S{width - 1}")
    expected = [_reference_field(float(v), units, width) for v in values]
    assert list(got) == expected


def test_format_keeps_das2c_sixty_seconds_and_fill() -> None:
    fields = format_time_fields(np.array([59_999_600.0, -1e31, np.nan]), 24)
    assert list(fields) == [b"2000-01-01T00:00:60.000", b"0001-01-01T00:00:00.000",
                            b"0001-01-01T00:00:00.000"]


def test_format_rejects_bad_width_and_years() -> None:
    with pytest.raises(TimeError):
        format_time_fields(np.zeros(1), 4)
    with pytest.raises(TimeError):
        format_time_fields(np.array([1e18]), 24)
    with pytest.raises(TimeError):
        format_time_fields(np.zeros(1), 24, "UTC")


def test_format_integer_units_and_leap_second() -> None:
    leap = to_tt2000(parse_time("2016-12-31T23:59:60.25"))
    tt = np.array([leap, leap + 10**9, FILLED_TT2000], dtype=np.int64)
    assert list(format_time_fields(tt, 25, "TT2000")) == [
        b"2016-12-31T23:59:60.250 ", b"2017-01-01T00:00:00.250 ", b"0001-01-01T00:00:00.000 "]
    ns1970 = np.array([to_epoch(parse_time("2020-02-29T12:00:00.123456789"), "ns1970")])
    assert list(format_time_fields(ns1970, 30, "ns1970")) == [b"2020-02-29T12:00:00.123456789"]


@pytest.mark.parametrize("digits", [1, 2, 3, 6, 9])
def test_rounding_matches_printf_on_ties(digits: int) -> None:
    rng = np.random.default_rng(RNG_SEED + digits)
    values = np.concatenate([
        (rng.integers(0, 60 * 10**digits, 500) + 0.5) / 10**digits,
        rng.uniform(0, 60, 500),
        np.array([0.125, 0.375, 2.5, 0.0005, 59.9995, 1.0005]),
    ])
    scaled = round_half_even_scaled(values, digits)
    expected = [int(f"{v:.{digits}f}".replace(".", "")) for v in values]
    assert scaled.tolist() == expected


# ---------------------------------------------------------------------------
# Parsing

def _random_texts(rng: np.random.Generator, count: int) -> list[str]:
    texts = []
    for us2000 in rng.uniform(-3e15, 3e15, count):
        base = format_time_fields(np.array([us2000]), 31)[0].decode().rstrip()
        texts.append(base[: rng.integers(10, 31)].rstrip(".:T-"))
    return texts


@pytest.mark.parametrize("layout", ["ymd", "ymd-blank-Z", "doy", "mixed"])
def test_vector_parse_equals_scalar(layout: str) -> None:
    rng = np.random.default_rng(RNG_SEED)
    texts = _random_texts(rng, 300)
    if layout == "ymd-blank-Z":
        texts = [text.replace("T", " ") + "Z" if "T" in text else text for text in texts]
    elif layout == "doy":
        texts = [_to_ordinal(text) for text in texts]
    elif layout == "mixed":
        texts = texts[:100] + [_to_ordinal(t) for t in texts[100:200]] + \
            ["2001-13-01", "2016-12-31T24:00", "2001/02/03 12:00", "feb 21 1960", "2017Z"]
    width = max(len(text) for text in texts) + 2
    fields = np.array([(text + "\n").ljust(width).encode() for text in texts], dtype=f"S{width}")
    if layout != "mixed":  # one layout for all rows: only the fast path runs
        texts = [texts[0]] * 20 + texts
        fields = np.concatenate([np.repeat(fields[:1], 20), fields])
    expected = np.array([parse_us2000(text) for text in texts])
    got = parse_time_fields(fields)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


def _to_ordinal(text: str) -> str:
    dt = parse_time(text)
    return f"{dt.year:04d}-{dt.yday:03d}" + text[10:]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789-:T .Z", min_size=1, max_size=26), min_size=1,
                max_size=5))
def test_vector_parse_agrees_with_scalar_on_noise(texts: list[str]) -> None:
    fields = np.array([text.encode() for text in texts], dtype="S26")
    try:
        expected = [parse_us2000(field.decode()) for field in fields]
    except TimeError:
        with pytest.raises(TimeError):
            parse_time_fields(fields)
        return
    np.testing.assert_array_equal(parse_time_fields(fields), expected)


def test_parse_fields_errors_name_the_row() -> None:
    fields = np.array([b"2001-01-01T00:00:00", b"2001-01-01T00:00:00", b"2001-02-30T00:00:00"])
    with pytest.raises(TimeError, match=r"field 2.*2001-02-30"):
        parse_time_fields(fields)
    with pytest.raises(TypeError):
        parse_time_fields(np.zeros(3))


def test_parse_fields_shapes_unicode_and_empty() -> None:
    fields = np.array([["2001-01-01", "2001-032"], ["2001-01-01T00:00:01", "2001-01-02"]])
    got = parse_time_fields(fields)
    assert got.shape == (2, 2)
    assert got[0, 1] == parse_us2000("2001-02-01")
    assert parse_time_fields(np.array([], dtype="S10")).shape == (0,)


def test_parse_fields_round_trip_of_formatted_nanoseconds() -> None:
    rng = np.random.default_rng(RNG_SEED)
    ns = rng.integers(-2**62, 2**62, 1000)
    text = format_time_fields(ns, 30, "ns1970")
    back = parse_time_fields(text)
    np.testing.assert_array_equal(back, convert_times(ns, "ns1970", "us2000"))


# ---------------------------------------------------------------------------
# Epoch arrays

def test_convert_times_between_float_units() -> None:
    us2000 = np.array([0.0, 1.5e6, -86_400e6])
    np.testing.assert_array_equal(convert_times(us2000, "us2000", "t2000"), [0.0, 1.5, -86400.0])
    np.testing.assert_array_equal(convert_times(us2000, "us2000", "t1970"),
                                  [946_684_800.0, 946_684_801.5, 946_598_400.0])
    np.testing.assert_allclose(convert_times(us2000, "us2000", "mj1958"),
                               [15340.0, 15340 + 1.5 / 86400, 15339.0])
    assert convert_times(946_684_800.0, "t1970", "us2000") == 0.0
    with pytest.raises(TimeError):
        convert_times(us2000, "us2000", "UTC")


def test_convert_times_tt2000_matches_scalar() -> None:
    rng = np.random.default_rng(RNG_SEED)
    us2000 = np.round(rng.uniform(-2.5e15, 2.5e15, 2000))
    tt = convert_times(us2000, "us2000", "TT2000")
    assert tt.dtype == np.int64
    assert tt.tolist() == [to_tt2000(from_us2000(value)) for value in us2000]
    back = convert_times(tt, "TT2000", "us2000")
    np.testing.assert_array_equal(back, us2000)
    assert [str(from_tt2000(value)) for value in tt[:50]] == \
        [str(from_us2000(value)) for value in us2000[:50]]


def test_convert_times_fill_and_range() -> None:
    tt = convert_times(np.array([np.nan, -1e31, 0.0]), "us2000", "TT2000")
    assert tt.tolist()[:2] == [FILLED_TT2000, FILLED_TT2000]
    back = convert_times(np.array([ILLEGAL_TT2000, FILLED_TT2000, 0]), "TT2000", "t2000")
    assert np.isnan(back[:2]).all() and back[2] == pytest.approx(43135.816)
    ns = convert_times(np.array([0.0]), "t2000", "ns1970")
    assert ns.tolist() == [946_684_800 * 10**9]


@pytest.mark.conformance
def test_format_matches_das2c_output(conformance_dir: Path) -> None:
    """x values of das2C fixtures printed by das2_ascii, byte for byte."""
    from dasflex_core.codecs.das2 import Das2Reader
    from dasflex_core.codecs.events import DataRun

    checked = 0
    for name in ("das2_ascii_input1.d2s", "syn_epochs.d2s", "cassini_rpws_wfrm_sample.d2s"):
        reader = Das2Reader()
        events = list(reader.feed((conformance_dir / "das2" / name).read_bytes()))
        events += list(reader.close() or [])
        per_packet: dict[int, list] = {}
        for event in events:
            if isinstance(event, DataRun):
                per_packet.setdefault(event.packet_id, []).append(
                    (event.records["x0"].astype(np.float64), event.header.planes[0].units))
        expected_text = (conformance_dir / "das2" / f"{name}.ascii.expected").read_bytes()
        for packet_id, runs in per_packet.items():
            header = re.search(rb"\[%02d\]\d{6}<packet>.*?<x [^>]*type=\"time(\d+)\"" % packet_id,
                               expected_text, re.S)
            width = int(header.group(1))
            expected = re.findall(rb":%02d:(.{%d})" % (packet_id, width - 1), expected_text)
            values = np.concatenate([run[0] for run in runs])
            got = format_time_fields(values, width, runs[0][1])
            assert list(got) == expected, (name, packet_id)
            checked += len(expected)
    assert checked > 1000


# ---------------------------------------------------------------------------
# Vectorised ISO 8601

@pytest.mark.parametrize("digits", [0, 1, 3, 6, 9])
@pytest.mark.parametrize(("ordinal", "zulu"), [(False, False), (True, True)])
def test_iso_fields_equal_scalar_format_iso(digits: int, ordinal: bool, zulu: bool) -> None:
    rng = np.random.default_rng(RNG_SEED + digits)
    us2000 = np.concatenate([rng.uniform(-6e16, 2.4e17, 300),
                             [59_999_999.9996, -0.4, 31_708_799_999_999.6, 0.0]])
    got = format_iso_fields(us2000, digits, ordinal=ordinal, zulu=zulu)
    expected = [format_iso(float(v), digits, ordinal=ordinal, zulu=zulu).encode()
                for v in us2000]
    assert list(got) == expected


def test_iso_fields_of_tt2000_show_the_leap_second() -> None:
    rng = np.random.default_rng(RNG_SEED)
    leap = to_tt2000(parse_time("2016-12-31T23:59:60"))
    tt = np.concatenate([leap + rng.integers(0, 10**9, 50), rng.integers(-2**62, 2**62, 200)])
    got = format_iso_fields(tt, 9, "TT2000")
    assert list(got) == [format_iso(from_tt2000(int(v)), 9).encode() for v in tt]
    assert got[0].startswith(b"2016-12-31T23:59:60.")


def test_iso_fields_reject_fill() -> None:
    with pytest.raises(TimeError, match="no ISO"):
        format_iso_fields(np.array([0.0, np.nan]))
    with pytest.raises(TimeError):
        format_iso_fields(np.array([0.0]), 10)
