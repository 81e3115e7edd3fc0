"""The websocket daemon: planned pipelines streamed as binary websocket messages.

One :class:`Daemon` serves one loaded site.  For each connection:

1. the upgrade request is checked and planned in a worker thread
   (:func:`dasflex_ws.routing.prepare_stream`); a failure refuses the
   upgrade with the error's HTTP status and a das3 exception body;
2. the pipeline starts and each chunk of its stdout is sent as one binary
   message (not aligned to packets).  Sending waits while the socket's write
   buffer is full, and the pipe is not read meanwhile (backpressure);
3. messages from the client are read and discarded; when the client leaves,
   the pipeline is killed at once;
4. the end of the output closes the connection normally (1000).  A failing
   stage ends the stream with a das2/das3 exception packet (a stream header
   first if nothing was sent yet) and close code 1011 whose reason is the
   same one-line message.

SIGINT and SIGTERM stop accepting connections, kill every pipeline and close
the open connections with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.typing import Subprotocol

from dasflex_core.errors import DasFlexError, DefinitionError, PipelineTimeoutError
from dasflex_core.http import error_response, inband_error
from dasflex_core.protocols import Server
from dasflex_core.requestlog import request_logger, websocket_record
from dasflex_ws import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PREFIX, routing
from dasflex_ws.pipeline import AsyncPipeline

if TYPE_CHECKING:
    from dasflex_core.model import Site
    from dasflex_core.settings import Settings

LOG = logging.getLogger("dasflex.ws")

#: Close codes: normal end, daemon stopping, stream failed.
CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_FAILED = 1000, 1001, 1011
#: Longest close reason, in UTF-8 bytes (RFC 6455 allows 123).
MAX_REASON = 123
#: Largest message accepted from a client (they are discarded anyway).
MAX_CLIENT_MESSAGE = 65536
#: Seconds to wait for a client's closing handshake.
CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Listener:
    """Where the daemon listens and which path prefix it strips."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    prefix: str = DEFAULT_PREFIX
    pid_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None


class Daemon:
    """The websocket front end over one :class:`~dasflex_core.protocols.Server`."""

    def __init__(self, server: Server, prefix: str = DEFAULT_PREFIX) -> None:
        self.server = server
        self.prefix = prefix
        self.pipelines: set[AsyncPipeline] = set()
        self.stopping = False
        self.request_logger = request_logger(server.settings)

    # -- handshake ---------------------------------------------------------

    async def process_request(self, connection: ServerConnection,
                              request: WsRequest) -> WsResponse | None:
        """Check and plan the stream before the upgrade; refuse it on any error."""
        offered = routing.offered_subprotocols(request.headers.get_all("Sec-WebSocket-Protocol"))
        try:
            core_request = routing.build_request(
                request.path, _header_dict(request.headers), _peer(connection, request.headers))
            setup = await asyncio.to_thread(routing.prepare_stream, self.server, core_request,
                                            offered, self.prefix)
        except Exception as error:  # noqa: BLE001 - every failure refuses the upgrade
            return _refusal(connection, request.path, error)
        connection.dasflex_setup = setup  # type: ignore[attr-defined]
        return None

    @staticmethod
    def select_subprotocol(connection: ServerConnection,
                           offered: Sequence[Subprotocol]) -> Subprotocol | None:
        """The subprotocol chosen when the request was checked."""
        setup = getattr(connection, "dasflex_setup", None)
        chosen = setup.subprotocol if setup is not None else None
        return Subprotocol(chosen) if chosen is not None else None

    # -- streaming ---------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        """Stream the planned pipeline until it ends or the client leaves."""
        setup: routing.StreamSetup = connection.dasflex_setup  # type: ignore[attr-defined]
        plan = setup.plan
        pipeline = AsyncPipeline(plan.stages, cwd=plan.cwd)
        self.pipelines.add(pipeline)
        started, session = time.monotonic(), _Session(connection, plan.error_format)
        LOG.info("%s: streaming %s", session.peer, setup.source_id)
        pump = asyncio.create_task(self._pump(session, pipeline))
        watch = asyncio.create_task(_discard_messages(connection))
        try:
            await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watch):
                task.cancel()
            await pipeline.close()
            self.pipelines.discard(pipeline)
            LOG.info("%s: closed after %.1f s, %d bytes, code %s; stages %s", session.peer,
                     time.monotonic() - started, session.bytes_sent, connection.close_code,
                     pipeline.log_record())
            self.request_logger.finish(websocket_record(
                session.peer, connection.request, setup, pipeline, session.bytes_sent,
                connection.close_code, time.monotonic() - started))

    async def _pump(self, session: _Session, pipeline: AsyncPipeline) -> None:
        """Copy the output to the client; end the connection as the pipeline ends."""
        try:
            await pipeline.start()
            await session.send(await self._first_chunk(pipeline))
            while chunk := await pipeline.read():
                await session.send(chunk)
            failure = await pipeline.finish()
            if failure is not None:
                raise failure
        except ConnectionClosed:
            return
        except DasFlexError as error:
            await pipeline.close()  # the reader is gone before the client hears why
            if self.stopping:
                await session.connection.close(CLOSE_GOING_AWAY, "the server is shutting down")
            else:
                await session.fail(error)
            return
        await session.connection.close(CLOSE_NORMAL, "end of stream")

    async def _first_chunk(self, pipeline: AsyncPipeline) -> bytes:
        timeout = self.server.settings.first_byte_timeout
        try:
            return await asyncio.wait_for(pipeline.read(), timeout)
        except TimeoutError:
            raise PipelineTimeoutError(f"The data reader wrote nothing within {timeout:g} s") from None

    async def stop_streams(self) -> None:
        """Kill every running pipeline (the daemon is stopping)."""
        self.stopping = True
        await asyncio.gather(*(pipeline.close() for pipeline in list(self.pipelines)))


class _Session:
    """One connection's sending side: counts bytes, ends streams with errors."""

    def __init__(self, connection: ServerConnection, error_format: str | None) -> None:
        self.connection = connection
        self.error_format = error_format or ""
        self.bytes_sent = 0
        self.peer = _peer(connection, connection.request.headers if connection.request else None)

    async def send(self, chunk: bytes) -> None:
        if chunk:
            await self.connection.send(chunk)
            self.bytes_sent += len(chunk)

    async def fail(self, error: DasFlexError) -> None:
        """Send the error in the stream's format (if it has one), then close with 1011."""
        if self.error_format in ("das2", "das3"):
            if self.bytes_sent:
                packet = inband_error(error, self.error_format)
            else:
                body = error_response(error, self.error_format).body
                packet = body if isinstance(body, bytes) else b"".join(body)
            try:
                await self.send(packet)
            except ConnectionClosed:
                return
        LOG.warning("%s: stream failed: %s", self.peer, error)
        await self.connection.close(CLOSE_FAILED, close_reason(error.message))


def close_reason(message: str) -> str:
    """``message`` cut to fit a close frame (at most 123 UTF-8 bytes)."""
    data = message.encode("utf-8")
    if len(data) <= MAX_REASON:
        return message
    return data[: MAX_REASON - 3].decode("utf-8", "ignore") + "..."


async def _discard_messages(connection: ServerConnection) -> None:
    """Read (and drop) client messages until the connection closes."""
    try:
        async for _ in connection:
            pass
    except ConnectionClosed:
        pass


def _refusal(connection: ServerConnection, path: str, error: BaseException) -> WsResponse:
    status, headers, body = routing.rejection(error)
    peer = _peer(connection, connection.request.headers if connection.request else None)
    if not isinstance(error, DasFlexError):
        LOG.error("%s: internal error for %s", peer, path[:200], exc_info=error)
    else:
        LOG.info("%s: refused %s: %d %s", peer, path[:200], status, error)

    return WsResponse(status, HTTPStatus(status).phrase, Headers(headers), body)


def _header_dict(headers: Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.raw_items()}


def _peer(connection: ServerConnection, headers: Headers | None) -> str:
    """The client's address: the last ``X-Forwarded-For`` entry, else the socket's."""
    forwarded = headers.get("X-Forwarded-For", "") if headers is not None else ""
    if forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    address = connection.remote_address
    return str(address[0]) if address else "unknown"


# -- running the daemon -------------------------------------------------------

async def serve_site(server: Server, listener: Listener,
                     ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; ``ready`` gets the ``ws://`` URL once listening."""
    daemon = Daemon(server, listener.prefix)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    tls = tls_context(listener)
    async with serve(daemon.handle, listener.host, listener.port, ssl=tls,
                     process_request=daemon.process_request,
                     select_subprotocol=daemon.select_subprotocol,
                     max_size=MAX_CLIENT_MESSAGE, close_timeout=CLOSE_TIMEOUT, compression=None,
                     server_header="dasflex") as websocket_server:
        _write_pid_file(listener.pid_file)
        try:
            if ready is not None:
                ready(_url(websocket_server, listener.prefix, "wss" if tls else "ws"))
            await stop.wait()
            LOG.info("stopping: %d streams running", len(daemon.pipelines))
            await daemon.stop_streams()
        finally:
            _remove_pid_file(listener.pid_file)
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(number)


def run_daemon(settings: Settings, site: Site, listener: Listener,
               ready: Callable[[str], None] | None = None) -> int:
    """Run the daemon in this thread until it is stopped; return the exit status."""
    asyncio.run(serve_site(Server(settings, site), listener, ready))
    return 0


def tls_context(listener: Listener) -> ssl.SSLContext | None:
    """The server's TLS context (None without a certificate); a clear error if unusable."""
    if listener.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(listener.tls_cert, listener.tls_key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
        raise DefinitionError(str(listener.tls_cert), None,
                              f"cannot load the TLS certificate and key ({reason})") from None
    return context


def _url(websocket_server: Any, prefix: str, scheme: str) -> str:
    host, port = websocket_server.sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{prefix.rstrip('/')}/"


def _write_pid_file(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.write_text(f"{os.getpid()}\n", encoding="ascii")
    except OSError as error:
        raise DefinitionError(str(path), None, f"cannot write the pid file ({error.strerror})") from None


def _remove_pid_file(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
