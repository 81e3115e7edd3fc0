"""das3 streams decoded into flat columns, for comparing records in the das3 tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from dasflex_core.codecs.das3 import Dataset, read_all
from dasflex_core.codecs.das3_fields import packet_fields
from dasflex_core.codecs.events import DataRun

#: UTC dates (as us2000) from which another leap second applies, after 2000.
_LEAP_STARTS_US2000 = np.array([189_388_800, 284_083_200, 394_416_000, 489_024_000,
                                536_544_000], dtype=np.float64) * 1e6
_TT2000_ZERO_US2000 = 43_135.816e6


def to_us2000(values: np.ndarray, units: str) -> np.ndarray:
    """Convert a time column to us2000 (test-only, covers the vectors' units)."""
    values = np.asarray(values, dtype=np.float64)
    if units == "us2000":
        return values
    if units == "t1970":
        return (values - 946_684_800.0) * 1e6
    if units == "TT2000":
        first = values / 1e3 + _TT2000_ZERO_US2000
        leaps = np.searchsorted(_LEAP_STARTS_US2000, first, side="right")
        return first - leaps * 1e6
    raise AssertionError(f"no test conversion for {units}")


def flatten(value: Any) -> list[Any]:
    """All leaf values of a decoded field value, in order."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flatten(item)]
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "US":
        return [item for item in array.ravel().tolist()]
    return array.ravel().tolist()


def columns(data: bytes, chunk_size: int | None = None) -> dict[str, list[Any]]:
    """Every packet field of every dataset as one flat list, times as us2000."""
    out: dict[str, list[Any]] = {}
    for event in read_all(data, chunk_size):
        if not isinstance(event, DataRun):
            continue
        if not isinstance(event.header, Dataset):  # a das2 <packet> in das3 framing
            for name in event.records.dtype.names:
                out.setdefault(f"{event.packet_id}/{name}", []).extend(
                    event.records[name].ravel().tolist())
            continue
        for field in packet_fields(event.header):
            rows = event.records
            if isinstance(rows, np.ndarray):
                values = [leaf for row in rows[field.key] for leaf in flatten(row)]
            else:
                values = [leaf for row in rows for leaf in flatten(row[field.key])]
            if field.variable.semantic == "datetime":
                values = to_us2000(np.array(values), field.value_units).tolist()
            out.setdefault(f"{event.packet_id}/{field.key}", []).extend(values)
    return out
