"""``dasflex_fetch``: read a remote HAPI dataset or das2/das3 source as a das2 stream.

    dasflex_fetch hapi SERVER DATASET BEGIN END [--parameters P,Q] [--client-parameters P,Q]
                  [--format binary|csv] [--max-duration P1D]
    dasflex_fetch das2 SERVER DATASET BEGIN END [--params OPTIONS] [--interval SECONDS]
    dasflex_fetch das3 FLEX_URL BEGIN END [--params OPTIONS] [--stream das2|das3]

The reader command a definition's ``remote`` block becomes
(:mod:`dasflex_core.sources.remote`); URLs and ids may be percent-encoded.
The command line; the fetch is :mod:`dasflex_core.tools.fetch.run`, over the
library :mod:`dasflex_core.remote`.

A failure is one stderr line naming the error class for the server
(``dasflex-error: RemoteError: The remote HAPI server ... refused ...``) and
exit status 1; bad options exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, run_tool

PROGRAM = "dasflex_fetch"
DESCRIPTION = "Fetch a remote HAPI dataset or das2/das3 source as a das2 stream."


def build_parser() -> ToolParser:
    """The command line: one sub-command per kind of remote."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True,
                                  parser_class=ToolParser)
    hapi = kinds.add_parser("hapi", help="a HAPI dataset", description="Fetch a HAPI dataset.")
    hapi.add_argument("server", metavar="SERVER", help="HAPI server URL, ending in /hapi")
    hapi.add_argument("dataset", metavar="DATASET", help="dataset id")
    _add_times(hapi)
    hapi.add_argument("--parameters", default="", metavar="P,Q",
                      help="parameters to fetch (default: all that das2 can carry)")
    hapi.add_argument("--client-parameters", default="", metavar="P,Q",
                      help="parameters the client asked for (win over --parameters; the remote "
                           "refusing them is the client's error)")
    hapi.add_argument("--format", choices=("binary", "csv"), default="binary",
                      help="HAPI format to ask for (default binary; csv when refused)")
    hapi.add_argument("--max-duration", default="", metavar="DURATION",
                      help="the dataset's maxRequestDuration (ISO 8601): longer ranges are split")
    das2 = kinds.add_parser("das2", help="a source of a das2 server",
                            description="Fetch a source of a das2 server.")
    das2.add_argument("server", metavar="SERVER", help="das2 server URL (answers ?server=)")
    das2.add_argument("dataset", metavar="DATASET", help="source id")
    _add_times(das2)
    _add_stream_options(das2)
    das3 = kinds.add_parser("das3", help="a das3 flex URL", description="Fetch a das3 flex URL.")
    das3.add_argument("server", metavar="FLEX_URL", help="the source's flex URL")
    _add_times(das3)
    _add_stream_options(das3)
    das3.add_argument("--stream", choices=("das2", "das3"), default="das2",
                      help="stream format to ask for and write (default das2)")
    return parser


def _add_times(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("begin", metavar="BEGIN", help="first time")
    parser.add_argument("end", metavar="END", help="end time (excluded)")


def _add_stream_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", metavar="OPTIONS", help="reader options")
    parser.add_argument("--interval", default="", metavar="SECONDS",
                        help="interval between records (sources that need one)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dasflex_fetch``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The fetch loads the HTTP client, numpy and the codecs: imported only
    # when the tool runs, so that --help and usage errors answer at once.
    from dasflex_core.tools.fetch.run import FetchRequest, run_fetch

    options = {name: value for name, value in vars(args).items()
               if name in FetchRequest.__dataclass_fields__}
    return run_fetch(FetchRequest(**options))


if __name__ == "__main__":
    raise SystemExit(main())
