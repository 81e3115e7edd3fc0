"""One pipeline vocabulary: the synchronous and the asyncio runner say the same things."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from dasflex_core.errors import ReaderError
from dasflex_core.runner import start_pipeline
from dasflex_core.stages import (
    checked_stages,
    clean_environment,
    describe_status,
    failure_of,
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


def _sync_failure(stages: list[list[str]]) -> str:
    with pytest.raises(ReaderError) as caught:
        b"".join(start_pipeline(stages, error_format=None))
    return caught.value.message


async def _async_failure(stages: list[list[str]]) -> str:
    pipeline = AsyncPipeline(stages)
    try:
        await pipeline.start()
        while await pipeline.read():
            pass
        failure = await pipeline.finish()
    except ReaderError as error:
        return error.message
    finally:
        await pipeline.close()
    assert failure is not None
    return failure.message


@pytest.mark.parametrize("stages", [
    [[PY, "-c", "import sys; sys.exit(3)"]],
    [[PY, "-c", "print(1)"], [PY, "-c", "import sys; sys.stdin.read(); sys.exit(5)"]],
    [["/nonexistent/reader-program"]],
], ids=["reader fails", "second stage fails", "reader missing"])
def test_both_runners_word_a_failure_alike(stages: list[list[str]]) -> None:
    synchronous = _sync_failure(stages)
    assert asyncio.run(_async_failure(stages)) == synchronous
    assert "/nonexistent" not in synchronous
