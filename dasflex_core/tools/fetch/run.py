"""``dasflex_fetch``'s work: fetch one remote source over a time range onto stdout.

:func:`run_fetch` takes a :class:`FetchRequest` (the tool's command line,
:mod:`dasflex_core.tools.dasflex_fetch`, arguments still percent-encoded as
:mod:`dasflex_core.sources.remote` wrote them), opens a
:class:`~dasflex_core.remote.client.RemoteClient` under the policy the server
handed down (:func:`~dasflex_core.remote.policy.current_policy`) and writes
the stream as it arrives: HAPI data converted to das2
(:mod:`~dasflex_core.remote.hapi_fetch`), das2 and das3 streams passed
through (:mod:`~dasflex_core.remote.das2_fetch`).

Until the first output, waits and retries end within the policy's patience,
so that the fetch says what went wrong before the server gives up on it.  A
failure is one stderr line naming its error for the runner
(:func:`~dasflex_core.stages.stage_error_line`) and exit status 1.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from dasflex_core.errors import DasFlexError
from dasflex_core.remote.client import RemoteClient
from dasflex_core.remote.das2_fetch import StreamRequest, fetch_stream
from dasflex_core.remote.hapi_fetch import HapiRequest, fetch_hapi, hapi_parameters
from dasflex_core.remote.policy import current_policy
from dasflex_core.sources.remote import decode_argument
from dasflex_core.stages import stage_error_line
from dasflex_core.tools.program import EXIT_FAILURE, EXIT_OK, report_error
from dasflex_core.tools.streamio import binary_stdout

#: How messages name each kind of remote server.
KIND_NAMES = {"hapi": "HAPI", "das2": "das2", "das3": "das3"}


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One fetch, as the command line gives it (URLs and ids percent-encoded)."""

    kind: str
    server: str
    begin: str
    end: str
    dataset: str = ""
    #: HAPI: the definition's parameters, and the client's (reader options), which win.
    parameters: str = ""
    client_parameters: str = ""
    format: str = "binary"
    max_duration: str = ""
    #: das2 and das3: reader options and the interval between records.
    params: str = ""
    interval: str = ""
    stream: str = "das2"


def run_fetch(request: FetchRequest) -> int:
    """Fetch ``request`` onto stdout; the exit status (a failure named on stderr)."""
    try:
        fetch(request)
    except DasFlexError as error:
        _report(error)
        return EXIT_FAILURE
    return EXIT_OK


def fetch(request: FetchRequest) -> None:
    """Write ``request``'s stream to stdout as it arrives (DasFlexError when it fails)."""
    out = binary_stdout()
    policy = current_policy()
    server = decode_argument(request.server)
    client = RemoteClient(server.rstrip("/") if request.kind == "hapi" else server, policy,
                          kind=KIND_NAMES.get(request.kind, request.kind))
    client.hurry(policy.patience)  # until the first output, then the server no longer waits

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()
        client.hurry(None)

    with client:
        if request.kind == "hapi":
            fetch_hapi(_hapi_request(request, client.url), client, write)
        else:
            fetch_stream(_stream_request(request, client.url), client, write)


def _hapi_request(request: FetchRequest, server: str) -> HapiRequest:
    chosen = hapi_parameters(decode_argument(request.client_parameters))
    parameters = chosen or hapi_parameters(decode_argument(request.parameters))
    return HapiRequest(server, decode_argument(request.dataset), request.begin, request.end,
                       parameters, request.format, decode_argument(request.max_duration),
                       client_parameters=bool(chosen))


def _stream_request(request: FetchRequest, server: str) -> StreamRequest:
    return StreamRequest(request.kind, server, request.begin, request.end,
                         decode_argument(request.dataset), request.params, request.interval,
                         request.stream)


def _report(error: DasFlexError) -> None:
    """Name ``error`` on stderr the way the runner reads it (else the tools' one line)."""
    try:
        sys.stderr.write(stage_error_line(error))
        sys.stderr.flush()
    except (OSError, ValueError):
        report_error("dasflex_fetch", str(error))
