"""The pipeline runner: streaming, timeouts, in-band errors, no process left behind."""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from pathlib import Path

import pytest

from dasflex_core.codecs.packets import exception_packet
from dasflex_core.errors import NoDataError, PipelineTimeoutError, ReaderError
from dasflex_core.runner import (
    HOLD_BYTES,
    PipelineRun,
    no_data_message,
    run,
    start_pipeline,
)
from dasflex_core.stages import (
    CHUNK_SIZE,
    STAGE_VARIABLE_PREFIX,
    STDERR_LIMIT,
    clean_environment,
)

PY = sys.executable


def proc_stat(pid: str) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of a process from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[2])


def all_processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, ppid, pgrp) of every process."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(entry)
            if stat is not None:
                found.append((int(entry), *stat))
    return found


def my_children() -> list[tuple[int, str]]:
    """Children (including zombies) of this test process."""
    me = os.getpid()
    return [(pid, state) for pid, state, ppid, _ in all_processes() if ppid == me]


def group_members(groups: set[int]) -> list[int]:
    """Live (non-zombie) processes in any of these process groups."""
    return [pid for pid, state, _, pgrp in all_processes() if pgrp in groups and state != "Z"]


def wait_until_gone(groups: set[int], seconds: float = 3.0) -> list[int]:
    """Members of ``groups`` still alive after waiting up to ``seconds``.

    A killed grandchild closes its pipes a moment before it turns zombie.
    """
    deadline = time.monotonic() + seconds
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.02)
    return group_members(groups)


def resident_bytes() -> int:
    """This process's resident set size."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def python(code: str) -> list[str]:
    return [PY, "-c", code]


def das2_no_data(message: str = "No data in the interval") -> bytes:
    header = b'<stream version="2.2"></stream>\n'
    exception = f'<exception type="NoDataInInterval" message="{message}" />\n'.encode()
    return b"[00]%06d" % len(header) + header + b"[xx]%06d" % len(exception) + exception


@pytest.fixture(autouse=True)
def no_leftover_children():
    """No child this test started outlives it (session servers of other tests are older)."""
    before = {pid for pid, _state in my_children()}

    def new_children() -> list[tuple[int, str]]:
        return [child for child in my_children() if child[0] not in before]

    yield
    deadline = time.monotonic() + 2
    while new_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert new_children() == []


def test_pipeline_streams_stdout() -> None:
    pipeline = start_pipeline([["printf", "hello world"], ["tr", "a-z", "A-Z"]])
    assert b"".join(pipeline) == b"HELLO WORLD"
    assert [r.exit_status for r in pipeline.results] == [0, 0]
    assert not any(r.failed for r in pipeline.results)


def test_run_takes_a_plan(tmp_path: Path) -> None:
    from dasflex_core.planner import Plan

    plan = Plan(stages=(("pwd",),), mime="text/plain", disposition="inline", filename="x",
                error_format=None, source_id="A", cwd=str(tmp_path))
    assert b"".join(run(plan)).strip() == str(tmp_path).encode()


def test_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith(STAGE_VARIABLE_PREFIX)]:
        monkeypatch.delenv(name)  # handed down on purpose (test_stages.py); an app sets them
    output = b"".join(start_pipeline([["env"]], env=clean_environment({"EXTRA": "1"})))
    names = {line.split(b"=", 1)[0] for line in output.splitlines()}
    assert names == {b"PATH", b"LANG", b"LC_ALL", b"TZ", b"HOME", b"EXTRA"}
    assert b"".join(start_pipeline([["sh", "-c", "echo ${SECRET_TOKEN:-absent}"]])) == b"absent\n"


def test_large_stream_in_bounded_memory() -> None:
    total = 300 * 1024 * 1024
    code = (f"import sys\nb = bytes(1 << 20)\nfor _ in range({total >> 20}):\n"
            "    sys.stdout.buffer.write(b)\n")
    before = resident_bytes()
    received = 0
    largest = 0
    peak = before
    for number, chunk in enumerate(start_pipeline([python(code), ["cat"]])):
        received += len(chunk)
        largest = max(largest, len(chunk))
        if number % 64 == 0:
            peak = max(peak, resident_bytes())
    assert received == total
    assert largest <= max(CHUNK_SIZE, HOLD_BYTES + CHUNK_SIZE)
    assert peak - before < 32 * 1024 * 1024  # far less than the 300 MB streamed


def test_nothing_is_yielded_before_the_first_byte() -> None:
    pipeline = start_pipeline([["sh", "-c", "sleep 0.3; printf x"]])
    start = time.monotonic()
    assert next(pipeline) == b"x"
    # The wait is the behaviour: nothing comes out before the reader's first byte (a lower
    # bound, so a busy machine cannot make it fail).
    assert time.monotonic() - start >= 0.25
    assert list(pipeline) == []


def test_small_output_is_held_then_released() -> None:
    pipeline = start_pipeline([["sh", "-c", "printf head; sleep 5"]], total_timeout=10)
    start = time.monotonic()
    assert next(pipeline) == b"head"
    # The timing is the behaviour: the held bytes are released before the 5 s stage ends.
    assert time.monotonic() - start < 2
    pipeline.close()


def test_failure_before_first_byte_raises_reader_error() -> None:
    pipeline = start_pipeline([["sh", "-c", "echo secret-path /etc/x >&2; exit 3"], ["cat"]])
    with pytest.raises(ReaderError) as caught:
        next(pipeline)
    message = str(caught.value)
    assert message == "The data reader failed (exit status 3); the output may be incomplete"
    assert pipeline.results[0].exit_status == 3
    assert pipeline.results[0].stderr == b"secret-path /etc/x\n"


def test_failure_of_a_later_stage_before_first_byte() -> None:
    pipeline = start_pipeline([["printf", "abc"], ["sh", "-c", "cat >/dev/null; exit 4"]])
    with pytest.raises(ReaderError, match="Processing stage 2 of 2 failed \\(exit status 4\\)"):
        list(pipeline)


def test_small_output_then_failure_is_an_error_not_data() -> None:
    pipeline = start_pipeline([["sh", "-c", "printf '[00]000002<>'; exit 1"]])
    with pytest.raises(ReaderError):
        list(pipeline)


def test_in_band_das2_exception_after_first_byte() -> None:
    code = ("import sys, time\nsys.stdout.buffer.write(b'x' * 10000)\nsys.stdout.flush()\n"
            "time.sleep(0.4)\nsys.stderr.write('Traceback: /secret/path\\n')\nsys.exit(2)\n")
    chunks = list(start_pipeline([python(code), ["cat"]], error_format="das2"))
    body = b"".join(chunks[:-1])
    assert body == b"x" * 10000
    packet = chunks[-1]
    assert packet.startswith(b"[xx]") and int(packet[4:10]) == len(packet) - 10
    assert b'type="ServerError"' in packet
    for leak in (b"secret", b"Traceback", b"python", PY.encode(), b"cat"):
        assert leak not in packet


def test_in_band_das3_exception_after_first_byte() -> None:
    chunks = list(start_pipeline(
        [["sh", "-c", f"head -c {HOLD_BYTES + 10} /dev/zero; sleep 0.3; exit 5"]],
        error_format="das3"))
    assert chunks[-1].startswith(b"|Ex||")
    assert b"exit status 5" in chunks[-1]
    assert b"".join(chunks[:-1]) == bytes(HOLD_BYTES + 10)


def test_failure_after_first_byte_without_packet_format_raises() -> None:
    pipeline = start_pipeline([["sh", "-c", f"head -c {HOLD_BYTES * 2} /dev/zero; exit 6"]],
                              error_format=None)
    received = b""
    with pytest.raises(ReaderError, match="exit status 6"):
        for chunk in pipeline:
            received += chunk
    assert received == bytes(HOLD_BYTES * 2)


def test_no_data_stream_raises_no_data_error(tmp_path: Path) -> None:
    stream = tmp_path / "nodata.d2s"
    stream.write_bytes(das2_no_data("Nothing between 2001 &amp; 2002"))
    with pytest.raises(NoDataError, match="Nothing between 2001 & 2002"):
        list(start_pipeline([["cat", str(stream)]]))


def test_no_data_das3_and_data_streams() -> None:
    header = b"<stream/>"
    exception = b'<exception type="NoMatchingData">empty here</exception>'
    das3 = b"|Sx||%d|" % len(header) + header + b"|Ex||%d|" % len(exception) + exception
    assert no_data_message(das3) == "empty here"
    with_data = das3 + b"|Pd|1|4|abcd"
    assert no_data_message(with_data) is None
    assert no_data_message(das2_no_data() + b":01:1234") is None
    assert no_data_message(b"random bytes") is None
    other = b'<exception type="ServerError" message="x" />'
    assert no_data_message(b"[xx]%06d" % len(other) + other) is None


def test_first_byte_timeout() -> None:
    pipeline = start_pipeline([["sleep", "30"], ["cat"]], first_byte_timeout=0.4)
    start = time.monotonic()
    with pytest.raises(PipelineTimeoutError, match="wrote nothing within 0.4 s"):
        next(pipeline)
    # The timeout firing is the behaviour: generous bound (0.4 s timeout, 30 s reader).
    assert time.monotonic() - start < 3
    assert all(r.exit_status is not None and r.exit_status < 0 for r in pipeline.results)


def test_first_byte_timeout_despite_chatter_on_stderr() -> None:
    pipeline = start_pipeline([["sh", "-c", "while true; do echo progress >&2; sleep 0.01; done"]],
                              first_byte_timeout=0.5)
    with pytest.raises(PipelineTimeoutError):
        next(pipeline)
    assert pipeline.results[0].stderr.startswith(b"progress\n")


def test_total_timeout_after_first_byte_gives_in_band_exception() -> None:
    pipeline = start_pipeline([["sh", "-c", "printf data; sleep 30"]], total_timeout=0.6)
    start = time.monotonic()
    chunks = list(pipeline)
    # The timeout firing is the behaviour: generous bound (0.6 s timeout, 30 s reader).
    assert time.monotonic() - start < 3
    assert chunks[0] == b"data"
    assert b"did not finish within 0.6 s" in chunks[-1]
    assert chunks[-1].startswith(b"[xx]")


def test_total_timeout_before_first_byte() -> None:
    pipeline = start_pipeline([["sleep", "30"]], first_byte_timeout=10, total_timeout=0.3)
    with pytest.raises(PipelineTimeoutError, match="did not finish"):
        list(pipeline)


def test_stderr_is_captured_and_bounded() -> None:
    code = "import sys\nsys.stderr.write('e' * 1000000)\nsys.stdout.write('ok')\n"
    pipeline = start_pipeline([python(code)])
    assert b"".join(pipeline) == b"ok"
    result = pipeline.results[0]
    assert result.stderr == b"e" * STDERR_LIMIT
    assert result.stderr_bytes == 1000000
    record = pipeline.log_record()[0]
    assert record["exit_status"] == 0 and record["stderr_bytes"] == 1000000
    assert record["stderr"] == "e" * STDERR_LIMIT and record["argv"] == python(code)


def test_upstream_broken_pipe_is_not_a_failure() -> None:
    pipeline = start_pipeline([["yes"], ["head", "-c", "10"]])
    assert b"".join(pipeline) == b"y\n" * 5
    assert pipeline.results[1].exit_status == 0


@pytest.mark.parametrize("stages", [[["no_such_program_x"]],
                                    [["printf", "x"], ["no_such_program_x"]]])
def test_missing_program(stages: list[list[str]]) -> None:
    with pytest.raises(ReaderError, match=r"\(no_such_program_x\) could not be started"):
        start_pipeline(stages)


def test_argv_with_a_nul_byte_is_refused() -> None:
    with pytest.raises(ReaderError, match="could not be started"):
        start_pipeline([["printf", "x"], ["echo", "a\x00b"]])


def test_missing_working_directory() -> None:
    with pytest.raises(ReaderError, match="could not be started"):
        start_pipeline([["true"]], cwd="/no/such/directory")


def test_empty_pipeline() -> None:
    with pytest.raises(ReaderError, match="no command"):
        PipelineRun([])
    with pytest.raises(ReaderError, match="no command"):
        PipelineRun([[]])


def test_iterating_starts_an_unstarted_pipeline() -> None:
    with PipelineRun([["printf", "z"]]) as pipeline:
        assert list(pipeline) == [b"z"]
        assert list(pipeline) == []


def test_close_kills_every_process_group_and_grandchildren() -> None:
    pipeline = start_pipeline([["sh", "-c", "sleep 60 & sleep 60 & yes"], ["cat"]])
    assert next(pipeline)
    groups = {p.pid for p in pipeline._processes}
    assert len(group_members(groups)) >= 4
    start = time.monotonic()
    pipeline.close()
    # close() kills at once rather than waiting for the 60 s sleeps: a generous bound.
    assert time.monotonic() - start < 2
    assert wait_until_gone(groups) == []
    assert all(r.exit_status is not None for r in pipeline.results)


def test_stubborn_stage_is_killed() -> None:
    code = ("import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('x' * 10000, flush=True)\ntime.sleep(60)\n")
    pipeline = start_pipeline([python(code)])
    assert next(pipeline)
    pipeline.close()
    assert pipeline.results[0].exit_status == -9


def test_dropping_the_iterator_stops_the_pipeline() -> None:
    pipeline = start_pipeline([["yes"]])
    group = pipeline._processes[0].pid
    assert next(pipeline)
    del pipeline
    gc.collect()
    assert group_members({group}) == []


def test_dropping_an_unread_pipeline_stops_it() -> None:
    pipeline = start_pipeline([["sleep", "60"], ["cat"]])
    groups = {p.pid for p in pipeline._processes}
    del pipeline
    gc.collect()
    assert group_members(groups) == []


def test_finished_pipeline_leaves_no_background_process() -> None:
    pipeline = start_pipeline([["sh", "-c", "sleep 60 & echo done"]])
    group = pipeline._processes[0].pid
    start = time.monotonic()
    assert b"".join(pipeline) == b"done\n"
    # The stream ends when the stage exits, not when its 60 s background child does.
    assert time.monotonic() - start < 5
    assert wait_until_gone({group}) == []


@pytest.mark.system  # a stress test: 500 pipelines of processes
def test_five_hundred_aborted_runs_leave_nothing_behind() -> None:
    older = {pid for pid, _state in my_children()}  # e.g. another module's session server
    groups: set[int] = set()
    for number in range(500):
        stages = [["yes"], ["cat"]] if number % 2 else [["sh", "-c", "sleep 60 & yes"]]
        pipeline = start_pipeline(stages)
        groups.update(p.pid for p in pipeline._processes)
        next(pipeline)
        pipeline.close()
    assert [child for child in my_children() if child[0] not in older] == []
    assert wait_until_gone(groups) == []


def test_exception_packets_are_framed_and_escaped() -> None:
    for fmt, frame in (("das2", b"[xx]"), ("das3", b"|Ex|")):
        packet = exception_packet(fmt, "ServerError", 'a <b> & "c"')
        assert packet.startswith(frame)
        assert b"&lt;b&gt; &amp;" in packet
