"""``das3_csv`` (also ``das2_csv``): das2 or das3 streams to delimited text.

The command line; the conversion is :mod:`dasflex_core.tools.text.csv`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, UsageError, int_in_range, run_tool

PROGRAM = "das3_csv"
DESCRIPTION = """\
Convert a das2 or das3 stream on stdin to delimited text (CSV) on stdout.

Each dataset gets three header rows (variable ids, units, labels) and one
row per record.  Rows start with the dataset id and a "header", "values"
or "property" cell."""


def build_parser(prog: str = PROGRAM) -> ToolParser:
    """The ``das3_csv`` command line."""
    parser = ToolParser(prog, DESCRIPTION)
    parser.add_argument("-d", dest="delimiter", default=";", metavar="DELIM",
                        help="cell delimiter, taken literally (default ';', at most 11 bytes)")
    parser.add_argument("-r", dest="digits", type=int_in_range(2, 18), default=7, metavar="N",
                        help="digits after the decimal point of reals (%%.Ne, 2-18, default 7)")
    parser.add_argument("-s", dest="time_decimals", type=int_in_range(0, 9), default=3,
                        metavar="N", help="fractional seconds digits of times (0-9, default 3)")
    parser.add_argument("-n", "--no-headers", dest="headers", action="store_false",
                        help="no header rows and no row-type column")
    parser.add_argument("-i", "--no-ids", "--no-id", dest="ids", action="store_false",
                        help="no dataset id column")
    parser.add_argument("-p", "--props", dest="properties", action="store_true",
                        help="add property rows before the headers")
    parser.add_argument("-l", "--log", dest="log", default="info", metavar="LEVEL",
                        help="accepted for das2C compatibility")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das3_csv``; return the exit status."""
    prog = "das2_csv" if sys.argv and sys.argv[0].endswith("das2_csv") else PROGRAM
    return run_tool(build_parser(prog), argv, _run)


def _delimiter(text: str) -> bytes:
    """The ``-d`` delimiter as bytes (1 to 11)."""
    delimiter = text.encode("utf-8")
    if not delimiter or len(delimiter) > 11:
        raise UsageError("the delimiter (-d) must be 1 to 11 bytes")
    return delimiter


def _run(args: argparse.Namespace) -> int:
    delimiter = _delimiter(args.delimiter)
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.text.csv import CsvOptions, convert_stdin

    return convert_stdin(CsvOptions(delimiter, args.digits, args.time_decimals, args.headers,
                                    args.ids, args.properties and args.headers))


if __name__ == "__main__":
    sys.exit(main())
