"""``das3_text``: re-encode a das3 stream with text (utf8) values, as das2C does.

The command line; the conversion is :mod:`dasflex_core.tools.text.das3`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, int_in_range, run_tool

PROGRAM = "das3_text"
DESCRIPTION = """\
Convert a das3 stream on stdin to a das3 stream with text values on stdout.

4-byte reals print with 6 significant digits, 8-byte reals with 15, times as
ISO-8601 UTC with milliseconds, integers in decimal and blobs as base64."""


def build_parser() -> ToolParser:
    """The ``das3_text`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 17), metavar="N",
                        help="significant digits of reals (default 6 for 4-byte, 15 for 8-byte)")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), default=3,
                        metavar="N", help="fractional seconds digits of times (default 3)")
    parser.add_argument("-c", dest="drop_comments", action="store_true",
                        help="drop comments and exceptions")
    parser.add_argument("-n", dest="numeric_times", action="store_true",
                        help="keep epoch times as numbers")
    parser.add_argument("-f", dest="flatten", action="store_true",
                        help="pass embedded (mime) blobs through as bytes")
    parser.add_argument("-3", dest="upconvert", action="store_true",
                        help="up-convert a das2 input to das3 first")
    parser.add_argument("infile", nargs="?", help="input file (default: stdin)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das3_text``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.text.das3 import Options, convert_file

    options = Options(args.digits, args.time_decimals, args.drop_comments, args.numeric_times,
                      args.flatten, args.upconvert)
    return convert_file(options, args.infile)


if __name__ == "__main__":
    raise SystemExit(main())
