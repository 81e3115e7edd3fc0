"""The tools' input path: widened pipes, gathered chunks, zero-copy data runs."""

from __future__ import annotations

import io
import os
import struct
import threading

from dasflex_core.codecs.das2_reader import Das2Reader
from dasflex_core.codecs.events import DataRun
from dasflex_core.tools.streamio import PIPE_BYTES, read_chunks, widen_pipe

STREAM_XML = b'<stream version="2.2"></stream>'
PACKET_XML = b'<packet><x type="little_endian_real8" units="us2000"/><y type="little_endian_real4" units="nT"/></packet>'


def _stream(records: int) -> bytes:
    body = b"".join(b":01:" + struct.pack("<df", index * 1e6, index / 4) for index in range(records))
    return b"[00]%06d" % len(STREAM_XML) + STREAM_XML + b"[01]%06d" % len(PACKET_XML) + PACKET_XML + body


def test_reading_a_pipe_widens_it() -> None:
    import fcntl

    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"x" * 10)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as source:
            assert b"".join(read_chunks(source)) == b"x" * 10
            assert fcntl.fcntl(source.fileno(), fcntl.F_GETPIPE_SZ) >= PIPE_BYTES
    finally:
        try:
            os.close(write_end)
        except OSError:
            pass


def test_widen_pipe_leaves_other_files_alone(tmp_path) -> None:
    path = tmp_path / "plain"
    path.write_bytes(b"abc")
    with open(path, "rb") as plain:
        assert widen_pipe(plain.fileno()) is False
        assert list(read_chunks(plain, chunk_bytes=2)) == [b"ab", b"c"]


def test_read_chunks_gathers_what_is_waiting() -> None:
    payload = bytes(range(256)) * 2048                 # 512 KiB, more than one default pipe
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as sink:
            sink.write(payload)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read_end, "rb") as source:
        chunks = list(read_chunks(source, chunk_bytes=128 * 1024))
    writer.join()
    assert b"".join(chunks) == payload
    assert all(isinstance(chunk, bytes) and len(chunk) <= 128 * 1024 for chunk in chunks)


def test_in_memory_sources_are_read_as_they_are() -> None:
    assert list(read_chunks(io.BytesIO(b"abcdef"), chunk_bytes=4)) == [b"abcd", b"ef"]


def test_a_run_inside_one_chunk_is_not_copied() -> None:
    data = _stream(50)
    reader = Das2Reader()
    events = reader.feed(data) + reader.close()
    runs = [event for event in events if isinstance(event, DataRun)]
    assert len(runs) == 1
    raw = runs[0].raw
    assert isinstance(raw, memoryview) and raw.obj is data and raw.readonly
    assert bytes(raw) == data[-50 * 16:]
    assert not runs[0].records.flags.writeable


def test_a_run_across_chunks_is_joined_and_stays_valid() -> None:
    data = _stream(50)
    reader = Das2Reader()
    middle = len(data) - 25 * 16 + 5
    first = bytearray(data[:middle])
    events = reader.feed(first)
    first[:] = b"\0" * len(first)                      # the caller reuses its buffer
    events += reader.feed(data[middle:]) + reader.close()
    runs = [event for event in events if isinstance(event, DataRun)]
    assert b"".join(bytes(run.raw) for run in runs) == data[-50 * 16:]
    x_name = runs[0].header.fields[0]
    assert [float(x) for run in runs for x in run.records[x_name]] == [i * 1e6 for i in range(50)]


def _signature(events: list) -> list[tuple]:
    return [(type(event).__name__, event.offset, bytes(event.raw)) for event in events]


def test_adjacent_write_once_views_keep_runs_whole() -> None:
    from dasflex_core.codecs.das2_reader import WriteOnceBuffer
    from dasflex_core.tools.streamio import read_views

    data = _stream(3000)                               # 48 kB of data packets
    reader = Das2Reader(max_run_bytes=20_000)
    events: list = []
    views = list(read_views(io.BytesIO(data), chunk_bytes=4099, buffer_bytes=1 << 20))
    assert all(view.readonly and isinstance(view.obj, WriteOnceBuffer) for view in views)
    for view in views:
        events += reader.feed(view)
    events += reader.close()
    whole = Das2Reader(max_run_bytes=20_000)
    assert _signature(events) == _signature(whole.feed(data) + whole.close())
    runs = [event for event in events if isinstance(event, DataRun)]
    assert len(runs) == 3 and all(isinstance(run.raw, memoryview) for run in runs)
    assert all(isinstance(run.raw.obj, WriteOnceBuffer) for run in runs)


def test_runs_across_write_once_buffers_are_joined() -> None:
    from dasflex_core.codecs.das2_reader import read_all
    from dasflex_core.tools.streamio import read_views

    data = _stream(3000)
    reader = Das2Reader()
    events: list = []
    for view in read_views(io.BytesIO(data), chunk_bytes=1000, buffer_bytes=1500):
        events += reader.feed(view)
    events += reader.close()
    assert _signature(events) == _signature(read_all(data))


def test_views_of_mutable_buffers_are_copied() -> None:
    data = bytearray(_stream(10))
    reader = Das2Reader()
    events = reader.feed(memoryview(data).toreadonly())
    data[:] = b"\0" * len(data)
    events += reader.close()
    run = next(event for event in events if isinstance(event, DataRun))
    assert bytes(run.raw) == _stream(10)[-10 * 16:]
