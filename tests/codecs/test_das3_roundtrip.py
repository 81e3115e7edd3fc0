"""Property-based round trips: random fixed-size das3 datasets written then read."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dasflex_core.codecs.das3 import (
    Das3Writer,
    Dataset,
    Dimension,
    PacketItems,
    StreamHeader3,
    Variable,
    packet_fields,
    read_all,
)
from dasflex_core.codecs.das3_fields import value_dtype
from dasflex_core.codecs.events import DataRun

ENCODINGS = [("byte", 1), ("ubyte", 1), ("BEint", 2), ("LEint", 4), ("LEint", 8),
             ("BEuint", 4), ("LEuint", 2), ("BEreal", 4), ("LEreal", 8), ("BEreal", 8)]


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    rank = draw(st.integers(1, 3))
    extents = tuple(draw(st.integers(1, 4)) for _ in range(rank - 1))
    time = Variable("real", "s", ("*",) + ("-",) * (rank - 1),
                    PacketItems(1, 8, "LEreal"))
    dims = [Dimension("coord", "time", (time,), name="time")]
    for number in range(draw(st.integers(1, 3))):
        encoding, width = draw(st.sampled_from(ENCODINGS))
        depends = tuple(draw(st.booleans()) for _ in extents)
        shape = tuple(extent for extent, used in zip(extents, depends, strict=True) if used)
        components = draw(st.sampled_from([0, 0, 2, 3]))
        count = math.prod(shape) * max(components, 1)
        index = ("*",) + tuple(str(extent) if used else "-"
                               for extent, used in zip(extents, depends, strict=True))
        order = ";".join(str(number) for number in range(components)) if components else None
        variable = Variable("real", "V", index, PacketItems(count, width, encoding),
                            components=components, system="cartesian" if components else None,
                            sysorder=order)
        dims.append(Dimension("data", "E", (variable,), name=f"d{number}"))
    return Dataset("random", rank, (None,) + extents, tuple(dims))


def _random_records(dataset: Dataset, count: int, seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    fields = packet_fields(dataset)
    records = np.zeros(count, dtype=value_dtype(fields))
    for field in fields:
        kind = field.value_dtype
        shape = (count,) + (field.shape or ())
        if kind.kind == "f":
            records[field.key] = generator.normal(0, 1e3, shape)
        else:
            native = kind.newbyteorder("=")
            info = np.iinfo(native)
            records[field.key] = generator.integers(info.min, info.max, shape, dtype=native,
                                                    endpoint=True)
    return records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets(), count=st.integers(0, 40), seed=st.integers(0, 2**31),
       chunk=st.sampled_from([None, 1, 5, 64]))
def test_random_fixed_datasets_round_trip(dataset: Dataset, count: int, seed: int,
                                          chunk: int | None) -> None:
    records = _random_records(dataset, count, seed)
    out: list[bytes] = []
    writer = Das3Writer(out.append)
    writer.write_stream_header(StreamHeader3())
    writer.write_dataset(7, dataset)
    writer.write_records(7, records)
    data = b"".join(out)
    events = read_all(data, chunk)
    assert events[1].header == dataset
    runs = [event for event in events if isinstance(event, DataRun)]
    assert sum(run.count for run in runs) == count
    if count:
        decoded = np.concatenate([np.asarray(run.records) for run in runs])
        for name in records.dtype.names:
            np.testing.assert_array_equal(decoded[name], records[name])
    rewritten: list[bytes] = []
    again = Das3Writer(rewritten.append)
    for event in events:
        if isinstance(event, DataRun):
            again.write_records(event.packet_id, event.records)
        else:
            again.write_event(event)
    assert b"".join(rewritten) == data
