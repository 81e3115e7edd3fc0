"""dasflex_fetch: read a remote HAPI dataset or das2/das3 source as a das2 stream.

    dasflex_fetch hapi SERVER DATASET BEGIN END [--parameters P,Q] [--format binary|csv]
                  [--max-duration P1D]
    dasflex_fetch das2 SERVER DATASET BEGIN END [--params OPTIONS] [--interval SECONDS]
    dasflex_fetch das3 FLEX_URL BEGIN END [--params OPTIONS] [--stream das2|das3]

The reader command a definition's ``remote`` block becomes
(:mod:`dasflex_core.remote.spec`); URLs and ids may be percent-encoded.  The
stream is written as it arrives.  Limits, timeouts and the User-Agent come
from the server's settings (:mod:`dasflex_core.remote.policy`).

A failure is one stderr line naming the error class for the server
(``dasflex-error: RemoteError: The remote HAPI server ... refused ...``) and
exit status 1; bad options exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dasflex_core.errors import DasFlexError, stage_error_line
from dasflex_core.tools._common import (
    EXIT_FAILURE,
    EXIT_OK,
    ToolParser,
    UsageError,
    binary_stdout,
    report_error,
    run_tool,
)

PROG = "dasflex_fetch"


def build_parser() -> ToolParser:
    """The command line: one sub-command per kind of remote."""
    parser = ToolParser(PROG, "Fetch a remote HAPI dataset or das2/das3 source as a das2 stream.")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True,
                                  parser_class=ToolParser)
    hapi = kinds.add_parser("hapi", help="a HAPI dataset", description="Fetch a HAPI dataset.")
    hapi.add_argument("server", metavar="SERVER", help="HAPI server URL, ending in /hapi")
    hapi.add_argument("dataset", metavar="DATASET", help="dataset id")
    _times(hapi)
    hapi.add_argument("--parameters", default="", metavar="P,Q",
                      help="parameters to fetch (default: all that das2 can carry)")
    hapi.add_argument("--format", choices=("binary", "csv"), default="binary",
                      help="HAPI format to ask for (default binary; csv when refused)")
    hapi.add_argument("--max-duration", default="", metavar="DURATION",
                      help="the dataset's maxRequestDuration (ISO 8601): longer ranges are split")
    das2 = kinds.add_parser("das2", help="a source of a das2 server",
                            description="Fetch a source of a das2 server.")
    das2.add_argument("server", metavar="SERVER", help="das2 server URL (answers ?server=)")
    das2.add_argument("dataset", metavar="DATASET", help="source id")
    _times(das2)
    _stream_options(das2)
    das3 = kinds.add_parser("das3", help="a das3 flex URL",
                            description="Fetch a das3 flex URL.")
    das3.add_argument("server", metavar="FLEX_URL", help="the source's flex URL")
    _times(das3)
    _stream_options(das3)
    das3.add_argument("--stream", choices=("das2", "das3"), default="das2",
                      help="stream format to ask for and write (default das2)")
    return parser


def _times(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("begin", metavar="BEGIN", help="first time")
    parser.add_argument("end", metavar="END", help="end time (excluded)")


def _stream_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", metavar="OPTIONS", help="reader options")
    parser.add_argument("--interval", default="", metavar="SECONDS",
                        help="interval between records (sources that need one)")


def fetch(args: argparse.Namespace) -> int:
    """Fetch and write the stream."""
    from dasflex_core.remote.client import RemoteClient
    from dasflex_core.remote.policy import current_policy
    from dasflex_core.remote.spec import decode_argument

    out = binary_stdout()
    policy = current_policy()
    server = decode_argument(args.server)
    client = RemoteClient(server if args.kind != "hapi" else server.rstrip("/"), policy,
                          kind={"hapi": "HAPI"}.get(args.kind, args.kind))
    client.hurry(policy.patience)  # until the first output, then the server no longer waits

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()
        client.hurry(None)

    with client:
        if args.kind == "hapi":
            from dasflex_core.remote.hapi_fetch import HapiRequest, fetch_hapi, hapi_parameters

            fetch_hapi(HapiRequest(client.url, decode_argument(args.dataset), args.begin, args.end,
                                   hapi_parameters(decode_argument(args.parameters)),
                                   args.format, decode_argument(args.max_duration)),
                       client, write)
        else:
            from dasflex_core.remote.das2_fetch import StreamRequest, fetch_stream

            fetch_stream(StreamRequest(args.kind, client.url, args.begin, args.end,
                                       decode_argument(getattr(args, "dataset", "")),
                                       args.params, args.interval,
                                       getattr(args, "stream", "das2")),
                         client, write)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; a failure is one ``dasflex-error:`` line on stderr and exit status 1."""
    return run_tool(build_parser(), argv, fetch_reporting)


def fetch_reporting(args: argparse.Namespace) -> int:
    """:func:`fetch`, reporting a failure the way the runner reads it."""
    try:
        return fetch(args)
    except UsageError:
        raise
    except DasFlexError as error:
        _write_error(error)
        return EXIT_FAILURE


def _write_error(error: DasFlexError) -> None:
    try:
        sys.stderr.write(stage_error_line(error))
        sys.stderr.flush()
    except (OSError, ValueError):
        report_error(PROG, str(error))


if __name__ == "__main__":
    sys.exit(main())
