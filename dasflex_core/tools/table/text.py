"""Vectorised text rows for the text table formats (JSON, VOTable TABLEDATA, plain CSV).

A row is a sequence of literal bytes and :class:`Cells` (one column's
values as text, ``(rows, items, width)`` bytes, NUL padded): :func:`join_rows`
lays them out in one byte matrix and drops the padding in one pass, the way
``das3_csv`` builds its rows.  Numbers use :mod:`dasflex_core.textfmt`
(printf-exact ``%.Ne``), times :func:`~dasflex_core.dastime.format_iso_fields`
(exact, from int64 nanoseconds).  By default reals keep every digit their
type holds (9 significant digits for float32, 17 for float64) and times
print to the nanosecond, so a value read back equals the value sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from dasflex_core import textfmt
from dasflex_core.dastime import format_iso_fields
from dasflex_core.tools.table.model import Batch, Column, Kind

#: Fractional-second digits of times by default (exact nanoseconds).
TIME_DIGITS = 9
#: Significant digits that round-trip each float type exactly.
EXACT_DIGITS = {4: 9, 8: 17}
#: Longest shortest-repr text of a float64 (``-1.2345678901234567e-300``) and a float32.
SHORTEST_WIDTH = 24
SHORTEST_WIDTH_32 = 16
#: Cells formatted per chunk of rows (keeps the work set small).
CELLS_PER_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class TextStyle:
    """How a format prints values.

    ``missing`` replaces missing values (fill, invalid times); with
    ``nonfinite_missing`` NaN and infinities count as missing too (JSON has
    no NaN); ``time_quote`` wraps times (JSON strings); ``zulu`` ends times
    with ``Z``; ``digits`` (significant) and ``time_digits`` override the
    exact defaults (None: the digits that round-trip the value's type, and
    :data:`TIME_DIGITS`).  With ``shortest`` (and no ``digits``) reals print as the
    shortest text that reads back to the same value (``11.26``, ``1e-07``),
    which people prefer and which costs about five times more than the
    fixed ``%.8e`` of the machine formats.
    """

    missing: bytes = b""
    nonfinite_missing: bool = False
    shortest: bool = False
    time_quote: bytes = b""
    zulu: bool = True
    digits: int | None = None
    time_digits: int | None = None
    text: Callable[[str], bytes] = lambda value: value.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Cells:
    """Text of one column: ``text`` has shape ``(rows, items, width)``; items joined by ``sep``."""

    text: np.ndarray
    sep: bytes = b""


def row_chunks(batch: Batch, cells: int = CELLS_PER_CHUNK) -> Iterator[Batch]:
    """``batch`` in slices of about ``cells`` values each."""
    per_row = max(1, sum(column.width for column in batch.table.columns))
    step = max(1, cells // per_row)
    if batch.rows <= step:
        yield batch
        return
    for start in range(0, batch.rows, step):
        stop = start + step
        yield replace(batch, values=tuple(v[start:stop] for v in batch.values),
                      missing=tuple(None if m is None else m[start:stop] for m in batch.missing))


def column_cells(column: Column, values: np.ndarray, missing: np.ndarray | None,
                 style: TextStyle, sep: bytes = b"") -> Cells:
    """The text of one column's values in ``style``."""
    rows = len(values)
    grid = values.reshape(rows, -1)
    mask = None if missing is None else missing.reshape(rows, -1)
    if column.kind is Kind.TIME:
        text = time_text(grid[:, 0], None if mask is None else mask[:, 0], style)[:, None, :]
    elif column.kind is Kind.REAL:
        text = real_text(grid, mask, style)
    elif column.kind is Kind.INTEGER:
        text = integer_text(grid, mask, style)
    else:
        text = string_text(grid, mask, style)
    return Cells(text, sep)


def real_text(values: np.ndarray, missing: np.ndarray | None, style: TextStyle) -> np.ndarray:
    """``%.{digits-1}e`` of every value (exact for the type by default), NUL padded."""
    if style.nonfinite_missing:
        finite = np.isfinite(values)
        if not finite.all():
            missing = ~finite if missing is None else missing | ~finite
    if style.shortest and style.digits is None:
        return shortest_text(values, missing, style.missing)
    digits = style.digits or EXACT_DIGITS.get(values.dtype.itemsize, 17)
    numbers = textfmt.Exponential(values, digits - 1)
    width = max(int(numbers.lengths().max(initial=1)), numbers.body_length + 1, len(style.missing))
    out = np.zeros((*values.shape, width), dtype=np.uint8)
    numbers.write(out, pad=0)
    return _with_missing(out, missing, style.missing)


def shortest_text(values: np.ndarray, missing: np.ndarray | None, missing_text: bytes) -> np.ndarray:
    """The shortest round-trip text of each float (numpy's repr), NUL padded."""
    width = max(SHORTEST_WIDTH if values.dtype.itemsize > 4 else SHORTEST_WIDTH_32,
                len(missing_text))
    text = np.ascontiguousarray(values).astype(f"S{width}")
    out = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(*values.shape, width).copy()
    return _with_missing(out, missing, missing_text)


def integer_text(values: np.ndarray, missing: np.ndarray | None, style: TextStyle) -> np.ndarray:
    """Decimal integers, NUL padded."""
    text = values.astype(np.int64).astype("S20")
    width = max(text.dtype.itemsize, len(style.missing), 1)
    out = np.frombuffer(text.astype(f"S{width}").tobytes(), dtype=np.uint8)
    return _with_missing(out.reshape(*values.shape, width).copy(), missing, style.missing)


def string_text(values: np.ndarray, missing: np.ndarray | None, style: TextStyle) -> np.ndarray:
    """Strings encoded by ``style.text`` (quoting and escaping are the format's), NUL padded."""
    encoded = [style.text(str(value)) for value in values.ravel().tolist()]
    width = max([len(item) for item in encoded] + [len(style.missing), 1])
    out = np.frombuffer(b"".join(item.ljust(width, b"\0") for item in encoded), dtype=np.uint8)
    return _with_missing(out.reshape(*values.shape, width).copy(), missing, style.missing)


def time_text(ns1970: np.ndarray, missing: np.ndarray | None, style: TextStyle) -> np.ndarray:
    """ISO 8601 times (``Z`` with ``style.zulu``), quoted by ``style.time_quote``."""
    safe = ns1970 if missing is None else np.where(missing, 0, ns1970)
    digits = TIME_DIGITS if style.time_digits is None else style.time_digits
    iso = format_iso_fields(safe, digits, "ns1970", zulu=style.zulu)
    quote = style.time_quote
    body = iso.dtype.itemsize
    width = max(body + 2 * len(quote), len(style.missing))
    out = np.zeros((len(ns1970), width), dtype=np.uint8)
    out[:, len(quote):len(quote) + body] = np.frombuffer(iso.tobytes(), dtype=np.uint8).reshape(-1, body)
    if quote:
        out[:, : len(quote)] = np.frombuffer(quote, dtype=np.uint8)
        out[:, len(quote) + body: body + 2 * len(quote)] = np.frombuffer(quote, dtype=np.uint8)
    return _with_missing(out, missing, style.missing)


def _with_missing(out: np.ndarray, missing: np.ndarray | None, text: bytes) -> np.ndarray:
    """``out`` with the cells of ``missing`` values replaced by ``text``."""
    if missing is None or not missing.any():
        return out
    replacement = np.zeros(out.shape[-1], dtype=np.uint8)
    replacement[: len(text)] = np.frombuffer(text, dtype=np.uint8)
    out[missing] = replacement
    return out


def join_rows(count: int, parts: Sequence[bytes | Cells]) -> bytes:
    """``count`` rows made of literal bytes and :class:`Cells`, padding removed."""
    if count == 0:
        return b""
    total = 0
    for part in parts:
        if isinstance(part, Cells):
            items, width = part.text.shape[1], part.text.shape[2]
            total += items * (width + len(part.sep))
        else:
            total += len(part)
    out = np.zeros((count, total), dtype=np.uint8)
    offset = 0
    for part in parts:
        if isinstance(part, Cells):
            offset = _put_cells(out, offset, part)
        elif part:
            out[:, offset:offset + len(part)] = np.frombuffer(part, dtype=np.uint8)
            offset += len(part)
    return out.tobytes().replace(b"\0", b"")


def _put_cells(out: np.ndarray, offset: int, cells: Cells) -> int:
    """Write ``cells`` (items separated by ``sep``) at column ``offset``; return the next one."""
    count, items, width = cells.text.shape
    sep = len(cells.sep)
    slot = width + sep
    total = out.shape[1]
    region = np.lib.stride_tricks.as_strided(out[:, offset:], (count, items, slot),
                                             (total, slot, 1), writeable=True)
    region[..., :width] = cells.text
    if sep:
        region[..., width:] = np.frombuffer(cells.sep, dtype=np.uint8)
        end = offset + items * slot
        out[:, end - sep:end] = 0
    return offset + items * slot
