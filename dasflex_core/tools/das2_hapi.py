"""das2_hapi: a das2 stream as HAPI CSV rows and/or a HAPI 1.1 info header.

``das2_hapi [-d DSDF] [-i] [-n] [-p ID] [-b BEGIN] [-e END] [PARAM ...]``
(``research/das2c.md`` §4.8).  ``-i -n`` ends with status 0 (das2C: 100).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.dastime import parse_us2000
from dasflex_core.tools.program import ToolParser, UsageError, int_in_range, run_tool

DESCRIPTION = """\
Write the packets of one das2 packet type (the first seen, or -p ID) as HAPI
CSV: the time, then every value, fill as NaN, CRLF line ends.  -i writes the
HAPI 1.1 info header first (as '# ' comment lines when data follow); -n
writes only the header.  PARAMs (names, comma lists allowed; unnamed planes
are Y_n / YSCAN_n) select the planes to write."""


def build_parser() -> ToolParser:
    """The command line of das2_hapi."""
    parser = ToolParser("das2_hapi", DESCRIPTION)
    parser.add_argument("-d", dest="dsdf", metavar="DSDF",
                        help="DSDF giving description, dates and contact for the header")
    parser.add_argument("-i", "--info", action="store_true", help="write the HAPI info header")
    parser.add_argument("-n", "--no-data", action="store_true", help="write the header only")
    parser.add_argument("-p", dest="packet_id", metavar="ID", type=int_in_range(1, 99),
                        help="convert packets of this ID instead of the first type seen")
    parser.add_argument("-b", dest="begin", metavar="BEGIN", help="drop records before BEGIN")
    parser.add_argument("-e", dest="end", metavar="END", help="stop at the first record at or after END")
    parser.add_argument("parameters", nargs="*", metavar="PARAM", help="planes to write")
    return parser


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.hapi.stream import HapiConfig, hapi_stdin, read_dsdf

    names: list[str] = []
    for item in args.parameters:
        for name in item.split(","):
            if name.startswith("-"):
                raise UsageError(f"'{name}' is not a legal das2 plane name")
            if name:
                names.append(name)
    config = HapiConfig(
        info=args.info,
        data=not args.no_data,
        packet_id=args.packet_id,
        begin=None if args.begin is None else parse_us2000(args.begin),
        end=None if args.end is None else parse_us2000(args.end),
        parameters=tuple(names),
        dsdf=read_dsdf(args.dsdf) if args.dsdf else {},
    )
    return hapi_stdin(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_hapi; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
