"""das2 text values: asciiN/timeN decoding and das2C-style encoding."""

from __future__ import annotations

import numpy as np
import pytest

from dasflex_core.codecs.das2_text import decode_ascii, decode_times, encode_ascii, encode_times
from dasflex_core.errors import StreamError, TimeError


def test_decode_ascii_like_c_scanf() -> None:
    fields = np.array(
        [b" 1.0e+00 ", b"-2.5\n", b"  nan ", b"  x", b"   ", b"-0.0e+00", b"118.45  ", b"1.5abc", b"7e", b"1,5"],
        dtype="S9",
    )
    values = decode_ascii(fields)
    assert values[[0, 1, 4, 5, 6, 7, 8, 9]].tolist() == [1.0, -2.5, -1e31, -0.0, 118.45, 1.5, 7.0, 1.0]
    assert np.isnan(values[2]) and values[3] == -1e31
    assert np.signbit(values[5])


def test_decode_ascii_keeps_shape() -> None:
    fields = np.array([[b" 1", b" 2"], [b" 3", b" 4"]], dtype="S3")
    assert decode_ascii(fields).tolist() == [[1.0, 2.0], [3.0, 4.0]]


@pytest.mark.parametrize(
    ("width", "value", "text"),
    [
        (9, 1.5, b" 1.5e+00 "),
        (10, -2e-10, b"-2.00e-10 "),
        (11, 3.2956152e-06, b" 3.296e-06 "),
        (14, 1.0, b" 1.000000e+00 "),
        (8, 123.0, b"  1e+02 "),
    ],
)
def test_encode_ascii_das2c_formats(width: int, value: float, text: bytes) -> None:
    assert bytes(encode_ascii(np.array([value]), width)[0]) == text


def test_encode_ascii_overflow_is_an_error() -> None:
    with pytest.raises(StreamError, match="ascii6"):
        encode_ascii(np.array([-1.5]), 6)


@pytest.mark.parametrize(
    ("width", "text"),
    [
        (20, b"2013-03-01T07:44:32 "),
        (22, b"2013-03-01T07:44:32.3 "),
        (24, b"2013-03-01T07:44:32.330 "),
        (25, b"2013-03-01T07:44:32.330  "),
        (27, b"2013-03-01T07:44:32.330000 "),
        (11, b"2013-03-01 "),
    ],
)
def test_encode_times_widths(width: int, text: bytes) -> None:
    us2000 = 415439072330000.0
    assert bytes(encode_times(np.array([us2000]), width)[0]) == text


def test_times_round_trip_and_fill() -> None:
    values = np.array([0.0, 415439072330000.0, 631152000e6 + 250e3])
    fields = encode_times(values, 24).view("S24").ravel()
    assert decode_times(fields).tolist() == values.tolist()
    assert bytes(encode_times(np.array([-1e31]), 24)[0]) == b"0001-01-01T00:00:00.000 "
    many = np.repeat(fields, 10)
    assert decode_times(many).tolist() == np.repeat(values, 10).tolist()


def test_bad_time_raises_time_error() -> None:
    with pytest.raises(TimeError):
        decode_times(np.array([b"yesterday-ish"]))
    with pytest.raises(TimeError):
        decode_times(np.array([b"2020-01-01T00:00:00 "] * 20 + [b"not a time at all!! "]))
