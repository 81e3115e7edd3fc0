"""The vectorised printf formatters must equal C/Python ``%`` formatting exactly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dasflex_core import textfmt

EDGE_VALUES = [
    0.0, -0.0, 1.0, -1.0, 0.5, 1.25, 2.5, 0.125, 9.9999999, 9.5, 99.5, 0.95,
    1e-31, -1e31, 1e22, 1e23, 1e100, -1e-100, 1e-310, 5e-324,
    1.7976931348623157e308, 2.2250738585072014e-308, 123456789.0, 0.1, 0.3,
]


def _rows(matrix: np.ndarray) -> list[str]:
    return [bytes(row).decode("ascii") for row in matrix.reshape(-1, matrix.shape[-1])]


def _python_exp(values: np.ndarray, precision: int, width: int) -> list[str]:
    return [f"{value:{width}.{precision}e}" for value in values.astype(np.float64).ravel().tolist()]


@pytest.mark.parametrize("precision", [0, 1, 2, 3, 6, 9, 14, 16, 17])
def test_exp_matches_python_on_edge_and_random_values(precision: int) -> None:
    rng = np.random.default_rng(precision)
    random = rng.standard_normal(5000) * 10.0 ** rng.integers(-40, 40, 5000)
    values = np.concatenate([EDGE_VALUES, random])
    matrix = textfmt.format_exp(values, precision, 13)
    assert _rows(matrix) == _python_exp(values, precision, matrix.shape[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40),
       st.integers(min_value=0, max_value=17))
def test_exp_matches_python_for_any_double(values: list[float], precision: int) -> None:
    array = np.array(values)
    matrix = textfmt.format_exp(array, precision)
    assert _rows(matrix) == _python_exp(array, precision, matrix.shape[1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=40),
       st.integers(min_value=1, max_value=9))
def test_float32_values_print_like_c_promotes_them(values: list[float], precision: int) -> None:
    array = np.array(values, dtype=np.float32)
    matrix = textfmt.format_exp(array, precision, 16)
    assert _rows(matrix) == _python_exp(array, precision, matrix.shape[1])


def test_exact_rounding_ties_round_half_even_on_the_binary_value() -> None:
    values = np.array([0.125, 0.375, 2.5, 1.0000005, 1.0000015, 0.15])
    assert _rows(textfmt.format_exp(values, 1)) == _python_exp(values, 1, 7)
    assert textfmt.format_exp_ragged(np.array([0.125]), 1)[0].tobytes().strip() == b"1.2e-01"


def test_nan_and_infinities_print_like_glibc() -> None:
    negative_nan = np.copysign(np.nan, -1.0)
    values = np.array([np.nan, negative_nan, np.inf, -np.inf])
    assert _rows(textfmt.format_exp(values, 6, 13)) == [
        "          nan", "         -nan", "          inf", "         -inf"
    ]


def test_ragged_lengths_exclude_padding() -> None:
    matrix, lengths = textfmt.format_exp_ragged(np.array([1.0, -1.0, 1e-100]), 3)
    texts = [bytes(row[row.size - n:]).decode() for row, n in zip(matrix, lengths, strict=True)]
    assert texts == ["1.000e+00", "-1.000e+00", "1.000e-100"]


def test_write_exp_fills_strided_views_of_records() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    record = np.full((2, 3, 11), ord("|"), dtype=np.uint8)
    textfmt.write_exp(record[..., :10], values, 3)
    assert bytes(record[1, 2]).decode() == " 2.500e+00|"
    assert bytes(record[0, 0]).decode() == "-2.500e+00|"


def test_too_narrow_field_is_an_error() -> None:
    with pytest.raises(textfmt.FieldOverflowError):
        textfmt.write_exp(np.empty((1, 9), dtype=np.uint8), np.array([-1.0]), 3)
    with pytest.raises(textfmt.FieldOverflowError):
        textfmt.write_exp(np.empty((1, 9), dtype=np.uint8), np.array([1e-100]), 3)


@pytest.mark.parametrize("precision", [0, 1, 3, 6, 9])
@pytest.mark.parametrize("zero_pad", [False, True])
def test_fixed_matches_python(precision: int, zero_pad: bool) -> None:
    rng = np.random.default_rng(precision)
    values = np.concatenate([[0.5, 1.5, 2.5, -0.0, 59.9996, 0.0005, -3.25], rng.uniform(-1e4, 1e4, 2000)])
    width = 16
    matrix = textfmt.format_fixed(values, precision, width, zero_pad)
    flag = "0" if zero_pad else ""
    assert _rows(matrix) == [f"{v:{flag}{width}.{precision}f}" for v in values.tolist()]


def _iso(us2000: float, decimals: int) -> str:
    moment = dt.datetime(2000, 1, 1) + dt.timedelta(microseconds=us2000)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if decimals:
        text += "." + f"{moment.microsecond:06d}"[:decimals]
    return text


def test_write_time_prints_iso_milliseconds() -> None:
    us = np.array([0.0, 415_352_672_330_000.0, -1_000_000.0, 86_399_999_000.0])
    out = np.empty((4, 23), dtype=np.uint8)
    textfmt.write_time(out, us, 3)
    assert _rows(out) == [_iso(v, 3) for v in us.tolist()]


def test_write_time_carries_rounded_seconds_into_the_next_day() -> None:
    out = np.empty((1, 23), dtype=np.uint8)
    textfmt.write_time(out, np.array([86_399_999_600.0]), 3)
    assert _rows(out) == ["2000-01-02T00:00:00.000"]


def test_write_time_follows_das2c_width_table_and_units() -> None:
    out = np.empty((2, 24), dtype=np.uint8)
    fill = np.array([False, True])
    textfmt.write_time(out, np.array([0.5, 0.0]), None, fill, units="t2000")
    assert _rows(out) == ["2000-01-01T00:00:00.500 ", "0001-01-01T00:00:00.000 "]
    short = np.empty((1, 10), dtype=np.uint8)
    textfmt.write_time(short, np.array([1.99]), None, units="mj1958")
    assert _rows(short) == ["1958-01-02"]


def test_time_layout_rejects_fields_too_small_for_a_year() -> None:
    with pytest.raises(ValueError):
        textfmt.time_layout(3)
    assert textfmt.time_layout(26) == (26, 6)
