"""One pipeline vocabulary: the synchronous and the asyncio runner say the same things."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from dasflex_core.errors import (
    DasFlexError,
    OutOfRangeError,
    ParameterError,
    ReaderError,
    RemoteBusyError,
    RemoteError,
    TooLargeError,
)
from dasflex_core.runner import start_pipeline
from dasflex_core.stages import (
    STAGE_ERRORS,
    STAGE_VARIABLE_PREFIX,
    checked_stages,
    clean_environment,
    describe_status,
    failure_of,
    reported_error,
    stage_error_line,
    stage_name,
    start_failure,
)
from dasflex_ws.pipeline import AsyncPipeline

PY = sys.executable


def test_stage_names_and_statuses_name_no_argv() -> None:
    assert stage_name(0, 3) == "The data reader"
    assert stage_name(2, 3) == "Processing stage 3 of 3"
    assert describe_status(-9) == "stopped by signal 9"
    assert describe_status(4) == "exit status 4"


def test_first_real_failure_is_blamed() -> None:
    assert failure_of([0, 0]) is None
    assert failure_of([None, 0]) is None  # a stage not reaped is no failure
    upstream_pipe = failure_of([-signal.SIGPIPE, 3])
    assert upstream_pipe is not None
    assert upstream_pipe.message == ("Processing stage 2 of 2 failed (exit status 3);"
                                     " the output may be incomplete")
    last_pipe = failure_of([0, -signal.SIGPIPE])
    assert last_pipe is not None and "stage 2 of 2" in last_pipe.message


def test_start_failure_names_the_program_only() -> None:
    error = start_failure([["/secret/dir/reader", "--key=value"], ["tool"]], 0)
    assert error.message == "The data reader (reader) could not be started"
    assert "/secret" not in error.message and "value" not in error.message


def test_empty_pipelines_are_refused() -> None:
    for stages in ([], [[]], [["ok"], []]):
        with pytest.raises(ReaderError, match="no command to run"):
            checked_stages(stages)
    assert checked_stages([["a", "b"]]) == (("a", "b"),)


def test_clean_environment_puts_the_interpreter_first() -> None:
    environment = clean_environment({"EXTRA": "1"})
    assert environment["PATH"].split(":")[0] == sys.executable.rsplit("/", 1)[0]
    assert environment["TZ"] == "UTC" and environment["EXTRA"] == "1"


def test_clean_environment_hands_the_stage_variables_down(monkeypatch) -> None:
    monkeypatch.setenv(f"{STAGE_VARIABLE_PREFIX}POLICY", "{}")
    monkeypatch.setenv("DASFLEX_SECRET_KEY", "x")
    environment = clean_environment()
    assert environment[f"{STAGE_VARIABLE_PREFIX}POLICY"] == "{}"
    assert "DASFLEX_SECRET_KEY" not in environment


@pytest.mark.parametrize("error", [
    RemoteError("The remote HAPI server h.example.org:8080 refused\nthe request"),
    RemoteBusyError("busy"), OutOfRangeError("before the data"),
    ParameterError("refuses the parameters x"), TooLargeError("too long"),
])
def test_a_stage_names_its_error_in_one_line(error: DasFlexError) -> None:
    line = stage_error_line(error)
    assert line.count("\n") == 1 and line.startswith(f"dasflex-error: {type(error).__name__}: ")
    found = reported_error(b"a warning\n" + line.encode())
    assert type(found) is type(error) and found.message == " ".join(error.message.split())
    assert set(STAGE_ERRORS) == {"RemoteError", "RemoteBusyError", "OutOfRangeError",
                                 "ParameterError", "TooLargeError"}


def test_only_known_errors_are_read_back() -> None:
    assert stage_error_line(ReaderError("x")) == "dasflex-error: RemoteError: x\n"
    assert reported_error(b"dasflex-error: SystemExit: x\n") is None
    assert reported_error(b"dasflex-error: RemoteError:\n") is None
    assert reported_error(b"no line\n") is None


def test_a_failed_stage_fails_with_the_error_it_named() -> None:
    named = b"dasflex-error: OutOfRangeError: before the data\n"
    failure = failure_of([1, 0], [named, b""])
    assert isinstance(failure, OutOfRangeError) and failure.status == 400
    assert failure_of([0, 0], [named, b""]) is None  # a stage that succeeded failed at nothing
    assert isinstance(failure_of([1], [b"plain text\n"]), ReaderError)


def _sync_failure(stages: list[list[str]]) -> tuple[str, str]:
    with pytest.raises(DasFlexError) as caught:
        b"".join(start_pipeline(stages, error_format=None))
    return type(caught.value).__name__, caught.value.message


async def _async_failure(stages: list[list[str]]) -> tuple[str, str]:
    pipeline = AsyncPipeline(stages)
    try:
        await pipeline.start()
        while await pipeline.read():
            pass
        failure = await pipeline.finish()
    except DasFlexError as error:
        return type(error).__name__, error.message
    finally:
        await pipeline.close()
    assert failure is not None
    return type(failure).__name__, failure.message


@pytest.mark.parametrize("stages", [
    [[PY, "-c", "import sys; sys.exit(3)"]],
    [[PY, "-c", "print(1)"], [PY, "-c", "import sys; sys.stdin.read(); sys.exit(5)"]],
    [["/nonexistent/reader-program"]],
    [[PY, "-c", "import sys; sys.stderr.write('dasflex-error: RemoteError: host x down\\n');"
                " sys.exit(1)"]],
], ids=["reader fails", "second stage fails", "reader missing", "reader names its error"])
def test_both_runners_word_a_failure_alike(stages: list[list[str]]) -> None:
    synchronous = _sync_failure(stages)
    assert asyncio.run(_async_failure(stages)) == synchronous
    assert "/nonexistent" not in synchronous[1]
    if "dasflex-error" in str(stages):
        assert synchronous == ("RemoteError", "host x down")
