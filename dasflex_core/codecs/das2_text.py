"""Vectorised conversion of das2 text values (``asciiN``, ``timeN``).

Decoding takes numpy arrays of fixed-width bytes (``'S<N>'``, any shape) and
returns float64 of the same shape; encoding goes the other way and returns a
``uint8`` array of shape ``values.shape + (N,)`` holding the N-byte fields,
separator included (a blank, to be replaced by ``\\n`` at the end of a record).
Times use :mod:`dasflex_core.dastime` (das2C's parsing and printing rules).
"""

from __future__ import annotations

import re

import numpy as np

from dasflex_core.dastime import format_time_fields, parse_time_fields, parse_us2000
from dasflex_core.errors import StreamError, TimeError
from dasflex_core.textfmt import FieldOverflowError, write_exp

#: Value of an ``asciiN`` field that does not parse (das2C behaviour: fill).
UNPARSABLE_VALUE = -1e31

_NUMBER_PREFIX = re.compile(
    rb"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)(?:inity)?)", re.I
)


def decode_ascii(fields: np.ndarray) -> np.ndarray:
    """``asciiN`` fields -> float64; a field that does not parse becomes -1e31.

    numpy's bytes -> float cast (as fast here as any vectorised scanner);
    fields it rejects are scanned like C's ``%lf`` (leading number, else fill).
    """
    try:
        return fields.astype(np.float64)
    except ValueError:
        flat = [_scan_number(item) for item in fields.ravel().tolist()]
        return np.array(flat, dtype=np.float64).reshape(fields.shape)


def _scan_number(text: bytes) -> float:
    """A C ``%lf`` scan: the longest leading number, else the fill value."""
    match = _NUMBER_PREFIX.match(text)
    return float(match.group(1)) if match else UNPARSABLE_VALUE


#: Below this many values, times are parsed one by one (less fixed overhead).
_FEW_TIMES = 8


def decode_times(fields: np.ndarray) -> np.ndarray:
    """``timeN`` fields -> us2000 float64 (raises TimeError on a bad time)."""
    if fields.size <= _FEW_TIMES:
        values = [parse_us2000(item.strip(b" \t\r\n\0")) for item in fields.ravel().tolist()]
        return np.array(values, dtype=np.float64).reshape(fields.shape)
    return np.asarray(parse_time_fields(fields), dtype=np.float64)


def encode_ascii(values: np.ndarray, width: int) -> np.ndarray:
    """Format reals as das2C does for ``asciiN``: ``%{N-1}.{N-8}e`` plus a blank."""
    values = np.asarray(values, dtype=np.float64)
    precision = max(width - 8, 0)
    out = np.full(values.shape + (width,), ord(" "), dtype=np.uint8)

    try:
        write_exp(out[..., : width - 1], values, precision)
    except FieldOverflowError as exc:
        raise StreamError(f"value does not fit an ascii{width} field: {exc}") from None
    return out


def encode_times(values: np.ndarray, width: int) -> np.ndarray:
    """Format us2000 times for ``timeN`` as das2C does (fill prints as year 0001)."""
    values = np.asarray(values, dtype=np.float64)
    try:
        text = format_time_fields(values.ravel(), width)
    except TimeError as exc:
        raise StreamError(f"cannot write time{width} values: {exc}") from None
    out = np.full(values.shape + (width,), ord(" "), dtype=np.uint8)
    _copy_text(out, text.reshape(values.shape), width, "time")
    return out


def _copy_text(out: np.ndarray, text: np.ndarray, width: int, kind: str) -> None:
    """Copy ``S`` strings of exactly ``width - 1`` characters into ``out``."""
    lengths = np.char.str_len(text)
    if lengths.size and (lengths != width - 1).any():
        bad = text.ravel()[np.flatnonzero(lengths.ravel() != width - 1)[0]]
        raise StreamError(f"value {bad!r} does not fit a {kind}{width} field")
    if text.size:
        chars = np.frombuffer(text.astype(f"S{width - 1}").tobytes(), dtype=np.uint8)
        out[..., : width - 1] = chars.reshape(text.shape + (width - 1,))
