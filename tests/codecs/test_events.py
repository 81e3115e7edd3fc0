"""The one event dispatch, :class:`~dasflex_core.codecs.events.EventStream`."""

from __future__ import annotations

import subprocess
import sys

from dasflex_core.codecs.events import (
    Comment,
    DataRun,
    Event,
    EventStream,
    HeaderDefined,
    StreamException,
    StreamStart,
)

EVENTS: list[Event] = [
    StreamStart("2.2", None, b"[00]", 0),
    HeaderDefined(1, None, b"[01]", 10),
    DataRun(1, None, [], b"", 20),
    Comment("log:info", "test", "hello", b"[xx]", 30),
    StreamException("NoDataInInterval", "none", b"[xx]", 40),
]


class _Names(EventStream[str]):
    """Answers each event with the name of the method that got it."""

    def on_data(self, run: DataRun) -> str:
        return "data"

    def on_packet_header(self, event: HeaderDefined) -> str:
        return "packet_header"

    def on_stream_start(self, event: StreamStart) -> str:
        return "stream_start"

    def on_comment(self, event: Comment) -> str:
        return "comment"

    def on_exception(self, event: StreamException) -> str:
        return "exception"


class _UntilHeader(EventStream[None]):
    """Records what it sees and is done after the first packet header."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_stream_start(self, event: StreamStart) -> None:
        self.seen.append("start")

    def on_packet_header(self, event: HeaderDefined) -> None:
        self.seen.append("header")
        self.done = True

    def on_data(self, run: DataRun) -> None:
        self.seen.append("data")


def test_dispatch_routes_each_kind_to_its_method() -> None:
    names = [_Names().dispatch(event) for event in EVENTS]
    assert names == ["stream_start", "packet_header", "data", "comment", "exception"]


def test_methods_not_overridden_do_nothing() -> None:
    assert [EventStream[str]().dispatch(event) for event in EVENTS] == [None] * len(EVENTS)
    assert EventStream[str]().dispatch("not an event") is None  # type: ignore[arg-type]


def test_handle_stops_once_done() -> None:
    handler = _UntilHeader()
    handler.handle(EVENTS)
    handler.handle(EVENTS)
    assert handler.seen == ["start", "header"]


def test_importing_the_dispatch_does_not_import_numpy() -> None:
    probe = ("import sys\nfrom dasflex_core.codecs.events import EventStream\n"
             "print('numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
