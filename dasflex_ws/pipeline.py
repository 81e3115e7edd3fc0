"""An argv pipeline run with asyncio, for streams that may never end.

The asyncio twin of :mod:`dasflex_core.runner`: each stage runs in its own
session (process group) with the runner's clean environment, never through a
shell, stdin of one stage wired to stdout of the one before.  The caller
reads the last stage's stdout with :meth:`AsyncPipeline.read`, at its own
pace: while it does not read, the pipe fills and the reader blocks, so memory
stays bounded whatever the client's speed.  :meth:`AsyncPipeline.close`
sends SIGTERM, then SIGKILL after :data:`~dasflex_core.stages.TERM_GRACE`
seconds, to every stage's process group and reaps them all.  Read sizes,
stderr limit, stage names and failure messages are the synchronous runner's,
from :mod:`dasflex_core.stages`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping, Sequence

from dasflex_core.errors import DasFlexError
from dasflex_core.stages import (
    STDERR_LIMIT,
    STREAM_CHUNK_SIZE,
    TERM_GRACE,
    checked_stages,
    clean_environment,
    failure_of,
    signal_groups,
    start_failure,
)


class AsyncPipeline:
    """Stages started by :meth:`start`, read with :meth:`read`, ended by :meth:`close`.

    Every pipe is made here (``os.pipe``) and read through the event loop's
    pipe transports, so that closing them never waits for a stage to exit.
    """

    def __init__(self, stages: Sequence[Sequence[str]], *, cwd: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.stages = checked_stages(stages)
        self.cwd = cwd
        self.env = dict(env) if env is not None else clean_environment()
        self.processes: list[asyncio.subprocess.Process] = []
        self.stderr_heads: list[_StderrHead] = []
        self._stdout: asyncio.StreamReader | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._closed = False

    async def start(self) -> None:
        """Spawn every stage; :class:`ReaderError` (stages stopped) if one cannot start."""
        previous: int | None = None
        try:
            for argv in self.stages:
                previous = await self._spawn(argv, previous)
            assert previous is not None
            self._stdout = await self._read_output(previous)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in argv
            await self.close()
            raise start_failure(self.stages, len(self.processes)) from exc

    async def _spawn(self, argv: Sequence[str], stdin: int | None) -> int:
        """Start one stage reading ``stdin``; return the read end of its stdout."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=out_write, stderr=err_write,
                cwd=self.cwd, env=self.env, start_new_session=True, close_fds=True,
            )
        except BaseException:
            for end in (out_read, err_read):
                os.close(end)
            raise
        finally:
            for opened in (stdin, out_write, err_write):
                if opened is not None:
                    os.close(opened)
        self.processes.append(process)
        head = _StderrHead()
        self.stderr_heads.append(head)
        await self._connect(err_read, lambda: head)
        return out_read

    async def _read_output(self, descriptor: int) -> asyncio.StreamReader:
        """A stream over the last stage's stdout (reading pauses when it is full)."""
        reader = asyncio.StreamReader(limit=STREAM_CHUNK_SIZE)
        await self._connect(descriptor, lambda: asyncio.StreamReaderProtocol(reader))
        return reader

    async def _connect(self, descriptor: int,
                       factory: Callable[[], asyncio.BaseProtocol]) -> None:
        pipe = os.fdopen(descriptor, "rb", buffering=0)
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(factory, pipe)
        self._transports.append(transport)

    async def read(self, size: int = STREAM_CHUNK_SIZE) -> bytes:
        """Up to ``size`` bytes of the output; ``b""`` at its end."""
        if self._stdout is None:
            return b""
        return await self._stdout.read(size)

    async def finish(self) -> DasFlexError | None:
        """After the output ended: wait for every stage; the failure, if one failed."""
        statuses = [await process.wait() for process in self.processes]
        await asyncio.wait([head.done for head in self.stderr_heads], timeout=0.2)
        return failure_of(statuses, [bytes(head.data) for head in self.stderr_heads])

    async def close(self) -> None:
        """Stop every stage: SIGTERM, SIGKILL after the grace period; reap them all."""
        if self._closed:
            return
        self._closed = True
        for transport in self._transports:
            transport.close()
        running = [p for p in self.processes if p.returncode is None]
        signal_groups([p.pid for p in running], signal.SIGTERM)
        waiting = [asyncio.ensure_future(p.wait()) for p in running]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=TERM_GRACE)
            if late:
                signal_groups([p.pid for p in running], signal.SIGKILL)
                await asyncio.wait(late)

    def log_record(self) -> list[dict[str, object]]:
        """Each stage's argv, exit status and stderr head, for the daemon's log only."""
        return [
            {"argv": list(argv), "exit_status": process.returncode,
             "stderr": bytes(head.data).decode("utf-8", "replace")}
            for argv, process, head in zip(self.stages, self.processes, self.stderr_heads,
                                           strict=False)
        ]


class _StderrHead(asyncio.Protocol):
    """Keeps the first :data:`STDERR_LIMIT` bytes of a stage's stderr, drops the rest."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        room = STDERR_LIMIT - len(self.data)
        if room > 0:
            self.data += data[:room]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)
