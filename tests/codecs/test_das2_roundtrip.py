"""Property-based round trips: random das2 streams written, read back in random chunks."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dasflex_core.codecs.das2 import (
    Das2Reader,
    Das2Writer,
    PacketHeader,
    Plane,
    Properties,
    StreamHeader,
    parse_encoding,
)
from dasflex_core.codecs.events import Comment, DataRun, Event, HeaderDefined, StreamException
from dasflex_core.errors import StreamError

BINARY = ["sun_real8", "little_endian_real8", "sun_real4", "little_endian_real4", "double", "float"]
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=60
)
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)


@st.composite
def planes(draw: st.DrawFn) -> tuple[Plane, ...]:
    result = []
    if draw(st.booleans()):
        encoding = draw(st.sampled_from([*BINARY, "time24", "time30", "time20"]))
        result.append(Plane("x", parse_encoding(encoding), units="us2000"))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["y", "z", "yscan"]))
        encoding = draw(st.sampled_from([*BINARY, "ascii10", "ascii14", "ascii24"]))
        props = Properties()
        if draw(st.booleans()):
            props.set("fill", draw(st.floats(-1e3, 1e3)))
        nitems = draw(st.integers(1, 5)) if kind == "yscan" else 1
        result.append(
            Plane(kind, parse_encoding(encoding), name=draw(NAMES), units="V", nitems=nitems,
                  zunits="V" if kind == "yscan" else "", properties=props)
        )
    return tuple(result)


@st.composite
def records_for(draw: st.DrawFn, header: PacketHeader) -> np.ndarray:
    count = draw(st.integers(1, 6))
    records = np.zeros(count, dtype=header.record_dtype)
    for name, plane in zip(header.fields, header.planes, strict=True):
        shape = (count, plane.nitems) if plane.kind == "yscan" else (count,)
        if plane.encoding.kind == "time":
            values = draw(st.lists(st.integers(-3_000_000_000, 3_000_000_000), min_size=count, max_size=count))
            column = np.array(values, dtype=np.float64) * 1e6
        else:
            finite = _value_strategy(plane)
            column = np.array(draw(st.lists(finite, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
        records[name] = column.reshape(shape)
    return records


def _value_strategy(plane: Plane) -> st.SearchStrategy[float]:
    if plane.encoding.is_text:
        return st.floats(-1e90, 1e90).filter(lambda value: value == 0 or abs(value) > 1e-90)
    return st.floats(allow_nan=False, allow_infinity=False, width=32 if plane.width == 4 else 64)


@dataclass
class Action:
    kind: str
    packet_id: int = 0
    header: PacketHeader | None = None
    records: np.ndarray | None = None
    texts: tuple[str, ...] = ()


@st.composite
def streams(draw: st.DrawFn) -> list[Action]:
    actions: list[Action] = []
    defined: dict[int, PacketHeader] = {}
    for _ in range(draw(st.integers(1, 12))):
        choice = draw(st.sampled_from(["header", "data", "data", "comment", "exception"]))
        if choice == "header" or not defined and choice == "data":
            packet_id = draw(st.integers(1, 99))
            header = PacketHeader(packet_id, draw(planes()), group=draw(st.none() | NAMES))
            defined[packet_id] = header
            actions.append(Action("header", packet_id, header))
        elif choice == "data":
            packet_id = draw(st.sampled_from(sorted(defined)))
            actions.append(Action("data", packet_id, defined[packet_id], draw(records_for(defined[packet_id]))))
        elif choice == "comment":
            actions.append(Action("comment", texts=(draw(NAMES), draw(NAMES), draw(TEXT))))
        else:
            actions.append(Action("exception", texts=(draw(NAMES), draw(TEXT))))
    return actions


def write(actions: list[Action]) -> bytes:
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    stream = StreamHeader()
    stream.properties.set("title", "random")
    writer.write_stream_header(stream)
    for action in actions:
        if action.kind == "header":
            assert action.header is not None
            writer.write_packet_header(action.header)
        elif action.kind == "data":
            assert action.header is not None and action.records is not None
            writer.write_records(action.header, action.records)
        elif action.kind == "comment":
            writer.write_comment(*action.texts)
        else:
            writer.write_exception(*action.texts)
    return out.getvalue()


def expected_runs(actions: list[Action]) -> list[tuple[int, int]]:
    """(packet id, record count) of each DataRun: consecutive same-id data merge."""
    runs: list[tuple[int, int]] = []
    previous: Action | None = None
    for action in actions:
        if action.kind == "data":
            assert action.records is not None
            if previous is not None and previous.kind == "data" and previous.header is action.header:
                runs[-1] = (action.packet_id, runs[-1][1] + len(action.records))
            else:
                runs.append((action.packet_id, len(action.records)))
        previous = action
    return runs


def read_chunked(data: bytes, cuts: list[int]) -> list[Event]:
    reader = Das2Reader()
    events: list[Event] = []
    start = 0
    for cut in sorted(cut % (len(data) + 1) for cut in cuts):
        events += reader.feed(data[start:cut])
        start = cut
    events += reader.feed(data[start:])
    return events + reader.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=streams(), cuts=st.lists(st.integers(0, 10**6), max_size=8))
def test_random_streams_round_trip(actions: list[Action], cuts: list[int]) -> None:
    data = write(actions)
    events = read_chunked(data, cuts)
    assert b"".join(bytes(event.raw) for event in events) == data
    runs = [event for event in events if isinstance(event, DataRun)]
    assert [(run.packet_id, run.count) for run in runs] == expected_runs(actions)
    headers = [event for event in events if isinstance(event, HeaderDefined)]
    assert [event.packet_id for event in headers] == [a.packet_id for a in actions if a.kind == "header"]
    comments = [(event.type, event.source, event.value) for event in events if isinstance(event, Comment)]
    assert comments == [a.texts for a in actions if a.kind == "comment"]
    exceptions = [(event.type, event.message) for event in events if isinstance(event, StreamException)]
    assert exceptions == [a.texts for a in actions if a.kind == "exception"]
    _check_values(runs, actions)
    out = io.BytesIO()
    writer = Das2Writer(out.write)
    for event in events:
        if isinstance(event, DataRun):
            writer.write_run(event)
        else:
            writer.write_event(event)
    assert out.getvalue() == data


def _tolerance(plane: Plane) -> dict[str, float]:
    """How close a value must come back: exact for reals, printed precision for text."""
    width = plane.encoding.width
    if plane.encoding.kind == "ascii":
        return {"rtol": 0.6 * 10.0 ** -(width - 8), "atol": 0.0}
    if plane.encoding.kind == "time":
        decimals = {20: 0, 24: 3, 30: 9}[width]
        return {"rtol": 0.0, "atol": max(0.5 * 10.0 ** (6 - decimals), 1.0)}
    return {"rtol": 0.0, "atol": 0.0}


def _check_values(runs: list[DataRun], actions: list[Action]) -> None:
    back_rows = [(run.header, row) for run in runs for row in run.records]
    sent_rows = [
        (action.header, row)
        for action in actions
        if action.kind == "data" and action.records is not None
        for row in action.records
    ]
    assert len(back_rows) == len(sent_rows)
    for (header, back), (sent_header, sent) in zip(back_rows, sent_rows, strict=True):
        assert header is not None and sent_header is not None
        assert header.fields == sent_header.fields
        for name, plane in zip(header.fields, header.planes, strict=True):
            assert back.dtype[name] == sent.dtype[name]
            np.testing.assert_allclose(
                np.asarray(back[name], dtype=np.float64),
                np.asarray(sent[name], dtype=np.float64),
                **_tolerance(plane),
            )


@settings(max_examples=150, deadline=None)
@given(
    actions=streams(),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 10**6),
)
def test_corrupted_streams_fail_cleanly(actions: list[Action], edits: list[tuple[int, int]], cut: int) -> None:
    """Any corruption either still parses or raises StreamError, never anything else."""
    data = bytearray(write(actions))
    for position, value in edits:
        data[position % len(data)] = value
    corrupted = bytes(data[: max(1, cut % (len(data) + 1))])
    try:
        read_chunked(corrupted, [cut // 3])
    except StreamError:
        pass
