"""Per-packet decoding of das3 data packets whose layout varies.

Datasets with ragged indexes (``*`` after index 0), variable item counts
(``numItems="*"``) or variable-width items (``itemBytes="*"``) are decoded one
packet at a time by :func:`decode_packet`, which returns a dict keyed by
field key.  A fixed-size field gives a numpy array of its per-record shape; a
ragged field gives nested Python lists (one list per ragged index level)
whose innermost entries are numpy arrays (shape ``(n,)``, or ``(n,
components)`` for vectors).  Variable-width strings and blobs are object
arrays of ``str``/``bytes``.

Run boundaries come from binary count tags ``[j|N]``, from ``idxTerm``
terminators (an outer terminator also closes inner runs), or, for the last
variable of a packet with a single ragged level, from the packet end.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import numpy as np

from ..errors import StreamError
from .das3_fields import PacketField, decode_text, decode_text_items

_RUN_TAG = re.compile(rb"\[([a-z])\|(\d{1,10})\]")
_BLOB_LENGTH = re.compile(rb"\{(\d{1,10})\}")
_WHITESPACE = b" \t\r\n\0"


class _Cursor:
    """A read position in one packet payload."""

    __slots__ = ("data", "pos", "offset")

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.pos = 0
        self.offset = offset

    def error(self, message: str) -> StreamError:
        return StreamError(message, self.offset + self.pos)

    @property
    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def at_any(self, stops: tuple[bytes, ...]) -> bool:
        return self.pos < len(self.data) and self.data[self.pos:self.pos + 1] in stops

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise self.error(f"data packet too short: needs {size} more bytes")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def run_tag(self, letter: str) -> int | None:
        match = _RUN_TAG.match(self.data, self.pos)
        if match is None:
            return None
        if match.group(1).decode() != letter:
            return None
        self.pos = match.end()
        return int(match.group(2))

    def skip_blanks(self, stops: tuple[bytes, ...]) -> None:
        data = self.data
        while self.pos < len(data) and data[self.pos] in _WHITESPACE and \
                data[self.pos:self.pos + 1] not in stops:
            self.pos += 1

    def find_first(self, targets: tuple[bytes, ...]) -> int:
        found = [self.data.find(target, self.pos) for target in targets]
        found = [where for where in found if where >= 0]
        return min(found) if found else len(self.data)


def decode_packets(fields: list[PacketField], payloads: list[bytes],
                   offsets: list[int]) -> list[dict[str, Any]]:
    """Decode several packets; fixed-width text fields are decoded in one batch."""
    records = [decode_packet(fields, payload, offset, decode_text_now=False)
               for payload, offset in zip(payloads, offsets, strict=True)]
    for field in fields:
        if field.is_fixed and field.items.encoding == "utf8" and records:
            values = decode_text(field, np.stack([record[field.key] for record in records]))
            for record, value in zip(records, values, strict=True):
                record[field.key] = value
    return records


def decode_packet(fields: list[PacketField], payload: bytes, offset: int = 0,
                  decode_text_now: bool = True) -> dict[str, Any]:
    """Decode one data packet payload into ``{field key: values}``.

    With ``decode_text_now`` False, fixed-width utf8 fields stay raw ``S<N>``
    arrays (for :func:`decode_packets` to convert in bulk).
    """
    cursor = _Cursor(payload, offset)
    values: dict[str, Any] = {}
    for number, field in enumerate(fields):
        last = number == len(fields) - 1
        if field.is_fixed:
            values[field.key] = _read_fixed(field, cursor, decode_text_now)
        else:
            values[field.key] = _read_level(field, cursor, 0, (), last)
    if payload[cursor.pos:].strip(_WHITESPACE):
        raise cursor.error(f"{len(payload) - cursor.pos} unexpected bytes at the end of "
                           "a data packet")
    return values


def _read_fixed(field: PacketField, cursor: _Cursor, decode_text_now: bool) -> np.ndarray:
    assert field.wire_dtype is not None
    raw = np.frombuffer(cursor.take(field.wire_dtype.itemsize), dtype=field.wire_dtype.base)
    raw = raw.reshape(field.shape or ())
    if field.items.encoding == "utf8" and decode_text_now:
        return decode_text(field, raw)
    return raw


def _read_level(field: PacketField, cursor: _Cursor, depth: int,
                enclosing: tuple[bytes, ...], last: bool) -> Any:
    levels = field.levels
    if depth == len(levels):
        return _read_items(field, cursor, field.items.num_items, enclosing, last and depth == 0)
    level = levels[depth]
    own = (level.terminator,) if level.terminator else ()
    stops = own + enclosing
    count = cursor.run_tag(level.letter)
    tagged = count is not None
    if count is None:
        count = level.extent
    if depth == len(levels) - 1:
        wire_count = count if tagged or count is None else count * field.components
        if wire_count is None and not stops and not (last and depth == 0):
            raise cursor.error(f"cannot find the end of ragged run {level.letter!r} of "
                               f"{field.key}: no count tag and no idxTerm")
        result: Any = _read_items(field, cursor, wire_count, stops, last and depth == 0)
        if field.components > 1 and isinstance(result, np.ndarray):
            if result.size % field.components:
                raise cursor.error(f"ragged vector run of {field.key} is not a whole number "
                                   "of vectors")
            result = result.reshape(-1, field.components)
    else:
        result = _read_children(field, cursor, depth, count, stops, last)
    if own and not tagged:
        _close_run(field, cursor, level.terminator, enclosing, level.letter)
    return result


def _read_children(field: PacketField, cursor: _Cursor, depth: int, count: int | None,
                   stops: tuple[bytes, ...], last: bool) -> list[Any]:
    children = []
    if count is not None:
        for _ in range(count):
            if stops and (cursor.at_any(stops) or cursor.at_end):
                raise cursor.error(f"partial run in {field.key}: expected {count} sub-runs")
            children.append(_read_level(field, cursor, depth + 1, stops, last))
        return children
    if not stops:
        raise cursor.error(f"cannot find the end of ragged run "
                           f"{field.levels[depth].letter!r} of {field.key}: "
                           "no count tag and no idxTerm")
    while not cursor.at_end and not cursor.at_any(stops):
        children.append(_read_level(field, cursor, depth + 1, stops, last))
    return children


def _close_run(field: PacketField, cursor: _Cursor, term: bytes | None,
               enclosing: tuple[bytes, ...], letter: str) -> None:
    if cursor.at_any((term,) if term else ()):
        cursor.pos += 1
    elif not (cursor.at_end or cursor.at_any(enclosing)):
        raise cursor.error(f"missing terminator {term!r} after run {letter!r} of {field.key}")


def _read_items(field: PacketField, cursor: _Cursor, count: int | None,
                stops: tuple[bytes, ...], to_end: bool) -> np.ndarray:
    if field.items.item_bytes is not None:
        return _read_fixed_width(field, cursor, count, stops, to_end)
    if field.items.encoding in ("blob", "base64"):
        return _read_blobs(field, cursor, count, stops)
    return decode_text_items(field, _read_text_tokens(field, cursor, count, stops))


def _read_fixed_width(field: PacketField, cursor: _Cursor, count: int | None,
                      stops: tuple[bytes, ...], to_end: bool) -> np.ndarray:
    width = field.items.item_bytes
    assert width is not None
    if count is None and not stops:
        remaining = len(cursor.data) - cursor.pos
        if not to_end or remaining % width:
            raise cursor.error(f"{remaining} bytes left is not a whole number of "
                               f"{width}-byte items of {field.key}")
        count = remaining // width
    if count is not None:
        raw = cursor.take(count * width)
    else:
        start = cursor.pos
        while not cursor.at_end and not cursor.at_any(stops):
            cursor.take(width)
        raw = cursor.data[start:cursor.pos]
    return _decode_fixed_items(field, raw)


def _decode_fixed_items(field: PacketField, raw: bytes) -> np.ndarray:
    encoding = field.items.encoding
    width = field.items.item_bytes or 1
    if encoding == "utf8":
        return decode_text(field, np.frombuffer(raw, dtype=f"S{width}"))
    if encoding in ("blob", "base64"):
        chunks = [raw[pos:pos + width] for pos in range(0, len(raw), width)]
        if encoding == "base64":
            chunks = [_unbase64(chunk) for chunk in chunks]
        return np.array(chunks + [None], dtype=object)[:-1]
    return np.frombuffer(raw, dtype=field.item_dtype)


def _read_blobs(field: PacketField, cursor: _Cursor, count: int | None,
                stops: tuple[bytes, ...]) -> np.ndarray:
    blobs: list[bytes] = []
    while (len(blobs) < count) if count is not None else \
            not (cursor.at_end or cursor.at_any(stops)):
        match = _BLOB_LENGTH.match(cursor.data, cursor.pos)
        if match is None:
            raise cursor.error(f"expected a {{N}} length before a blob item of {field.key}")
        cursor.pos = match.end()
        chunk = cursor.take(int(match.group(1)))
        blobs.append(_unbase64(chunk) if field.items.encoding == "base64" else chunk)
    return np.array(blobs + [None], dtype=object)[:-1]


def _unbase64(chunk: bytes) -> bytes:
    try:
        return base64.b64decode(chunk, validate=False)
    except binascii.Error:
        raise StreamError("invalid base64 item in a data packet") from None


def _read_text_tokens(field: PacketField, cursor: _Cursor, count: int | None,
                      stops: tuple[bytes, ...]) -> list[bytes]:
    val_term = field.items.val_term
    tokens: list[bytes] = []
    while count is None or len(tokens) < count:
        if val_term is None:
            cursor.skip_blanks(stops)
        if cursor.at_end or cursor.at_any(stops):
            if count is not None:
                raise cursor.error(f"expected {count} items of {field.key}, "
                                   f"found {len(tokens)}")
            break
        token = _next_token(cursor, val_term, stops)
        if token is not None:
            tokens.append(token)
    return tokens


def _next_token(cursor: _Cursor, val_term: bytes | None,
                stops: tuple[bytes, ...]) -> bytes | None:
    """The next item; None for blank text closed by a run terminator."""
    if val_term is None:
        end = cursor.find_first(tuple(bytes([char]) for char in _WHITESPACE) + stops)
        token = cursor.data[cursor.pos:end]
        cursor.pos = end
        return token
    end = cursor.find_first((val_term,) + stops)
    token = cursor.data[cursor.pos:end]
    cursor.pos = end
    if cursor.at_any((val_term,)):
        cursor.pos += 1
        return token
    return token if token.strip(_WHITESPACE) else None
