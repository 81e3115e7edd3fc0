"""``das2_ascii``: convert a das2 stream to a text das2 stream (das2C compatible).

The command line; the conversion is :mod:`dasflex_core.tools.text.das2`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, int_in_range, run_tool

PROGRAM = "das2_ascii"
DESCRIPTION = """\
Convert a das2 stream on stdin to a text das2 stream on stdout.

Binary time values become ISO times with millisecond resolution (time24),
4-byte reals become %13.6e (ascii14) and 8-byte reals %16.9e (ascii17).
Text values are re-printed through their own encoding."""


def build_parser() -> ToolParser:
    """The ``das2_ascii`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument(
        "-r",
        dest="digits",
        type=int_in_range(2, 18),
        metavar="N",
        help="significant digits for binary reals (2-18; default 7 for 4-byte, 10 for 8-byte)",
    )
    parser.add_argument(
        "-s",
        dest="time_decimals",
        type=int_in_range(0, 9),
        metavar="N",
        help="fractional seconds digits for binary times (0-9, default 3)",
    )
    parser.add_argument(
        "-c", dest="drop_comments", action="store_true", help="drop comments and exceptions"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_ascii``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.text.das2 import Options, convert_stdin

    return convert_stdin(Options(args.digits, args.time_decimals, args.drop_comments))


if __name__ == "__main__":
    raise SystemExit(main())
