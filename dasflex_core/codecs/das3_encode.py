"""Encoding decoded das3 records back into ``|Pd|`` data packets.

:func:`encode_records` is the inverse of the reader's decoding: a structured
array (fixed-size datasets; vectorised, one buffer for the whole run) or a
list of per-packet dicts (ragged datasets; binary runs get ``[j|N]`` tags,
text runs their ``idxTerm`` terminators, else tags).  Binary values are
written with their wire dtype, so decode -> encode reproduces binary packets
byte for byte.  Text values are written as das2C does: reals ``%.Ne``
right-aligned in ``itemBytes - 1`` plus a blank, times ISO with milliseconds.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from ..errors import StreamError
from .das3_fields import PacketField, packet_fields, record_dtype
from .das3_model import Dataset

_US2000 = np.datetime64("2000-01-01T00:00:00", "us")


def encode_records(packet_id: int, dataset: Dataset,
                   records: np.ndarray | list[dict[str, Any]]) -> bytes:
    """``|Pd|`` packets for ``records`` of ``dataset`` (decoded form)."""
    fields = packet_fields(dataset)
    wire = record_dtype(fields)
    if wire is not None and isinstance(records, np.ndarray):
        return _encode_fixed(packet_id, fields, wire, records)
    if isinstance(records, np.ndarray):
        raise StreamError(f"dataset {dataset.name!r} is ragged: give one dict per packet")
    return b"".join(_frame(packet_id, _encode_packet(fields, record)) for record in records)


def _frame(packet_id: int, payload: bytes) -> bytes:
    return b"|Pd|%d|%d|" % (packet_id, len(payload)) + payload


def _encode_fixed(packet_id: int, fields: list[PacketField], wire: np.dtype,
                  records: np.ndarray) -> bytes:
    count = len(records)
    payload = np.empty(count, dtype=wire)
    for field in fields:
        payload[field.key] = _wire_column(field, records[field.key])
    if fields[-1].items.encoding == "utf8" and count:
        payload.view(np.uint8).reshape(count, wire.itemsize)[:, -1] = ord("\n")
    prefix = np.frombuffer(b"|Pd|%d|%d|" % (packet_id, wire.itemsize), dtype=np.uint8)
    out = np.empty((count, len(prefix) + wire.itemsize), dtype=np.uint8)
    out[:, :len(prefix)] = prefix
    out[:, len(prefix):] = payload.view(np.uint8).reshape(count, wire.itemsize)
    return out.tobytes()


def _wire_column(field: PacketField, values: np.ndarray) -> np.ndarray:
    encoding = field.items.encoding
    if encoding == "utf8":
        return format_text(field, np.asarray(values))
    if encoding in ("blob", "base64"):
        items = [bytes(item) for item in np.asarray(values, dtype=object).ravel()]
        if encoding == "base64":
            items = [base64.b64encode(item) for item in items]
        base = np.dtype(f"S{field.items.item_bytes}") if encoding == "base64" \
            else np.dtype(f"V{field.items.item_bytes}")
        return np.array(items, dtype=base).reshape(np.shape(values))
    return np.asarray(values).astype(field.item_dtype, copy=False)


def format_text(field: PacketField, values: np.ndarray) -> np.ndarray:
    """Format decoded values as fixed-width utf8 items (``S<itemBytes>``)."""
    width = field.items.item_bytes or 0
    semantic = field.variable.semantic
    if semantic == "datetime":
        stamps = _US2000 + np.asarray(values, dtype=np.float64).round().astype("timedelta64[us]")
        text = np.datetime_as_string(stamps, unit="ms" if width >= 24 else "s")
        text = np.char.add(np.char.ljust(text, max(width - 1, 1)), " ")
    elif semantic == "real" and width < 10:
        text = np.array([_fit_real(float(value), width) for value in np.ravel(values)],
                        dtype="U").reshape(np.shape(values))
    elif semantic in ("real", "integer"):
        spec = f"%{width - 1}.{width - 8}e " if semantic == "real" else f"%{width - 1}d "
        source = values if semantic == "real" else np.asarray(values, dtype=np.int64)
        text = np.char.mod(spec, source)
    elif semantic == "bool":
        text = np.where(np.asarray(values) == 1, "T", np.where(np.asarray(values) == 0, "F", "*"))
        text = np.char.ljust(text.astype("U1"), width)
    else:
        text = np.char.ljust(np.asarray(values).astype("U"), width)
    encoded = np.char.encode(np.asarray(text, dtype="U"), "utf-8")
    if encoded.dtype.itemsize > width:
        raise StreamError(f"values of {field.key} do not fit in {width} bytes")
    return encoded.astype(f"S{width}")


def _fit_real(value: float, width: int) -> str:
    """A real in at most ``width - 1`` characters plus a blank (narrow fields)."""
    for precision in range(max(width - 1, 1), 0, -1):
        text = f"{value:{width - 1}.{precision}g} "
        if len(text) <= width:
            return text
    raise StreamError(f"value {value} does not fit in a {width}-byte text field")


def _encode_packet(fields: list[PacketField], record: dict[str, Any]) -> bytes:
    parts = []
    for field in fields:
        if field.key not in record:
            raise StreamError(f"record has no value for {field.key}")
        value = record[field.key]
        if field.is_fixed:
            parts.append(_wire_column(field, np.asarray(value)).tobytes())
        else:
            parts.append(_encode_level(field, value, 0))
    return b"".join(parts)


def _encode_level(field: PacketField, value: Any, depth: int) -> bytes:
    if depth == len(field.levels):
        return _encode_items(field, np.asarray(value).ravel() if _is_numeric(field) else value)
    level = field.levels[depth]
    use_terms = field.items.is_text and level.terminator is not None
    if depth == len(field.levels) - 1:
        items = _flat_items(field, value)
        body = _encode_items(field, items)
        count = len(items)
    else:
        body = b"".join(_encode_level(field, child, depth + 1) for child in value)
        count = len(value)
    if use_terms:
        assert level.terminator is not None
        return body + level.terminator
    if level.extent is not None:
        return body
    return b"[%s|%d]" % (level.letter.encode(), count) + body


def _is_numeric(field: PacketField) -> bool:
    return field.value_dtype != np.dtype(object)


def _flat_items(field: PacketField, value: Any) -> Any:
    if _is_numeric(field):
        return np.asarray(value, dtype=field.value_dtype).ravel()
    return list(np.asarray(value, dtype=object).ravel())


def _encode_items(field: PacketField, items: Any) -> bytes:
    encoding = field.items.encoding
    width = field.items.item_bytes
    if encoding not in ("utf8", "blob", "base64"):
        return np.asarray(items).astype(field.item_dtype).tobytes()
    if width is not None:
        return _wire_column(field, np.asarray(items, dtype=field.value_dtype)).tobytes()
    if encoding in ("blob", "base64"):
        chunks = [bytes(item) for item in items]
        if encoding == "base64":
            chunks = [base64.b64encode(chunk) for chunk in chunks]
        return b"".join(b"{%d}" % len(chunk) + chunk for chunk in chunks)
    separator = field.items.val_term or b" "
    return b"".join(str(item).encode() + separator for item in items)
