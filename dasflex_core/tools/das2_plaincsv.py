"""``das2_plaincsv``: a das2 or das3 stream on stdin as plain CSV on stdout.

The layout people and pandas read directly
(:mod:`dasflex_core.tools.table.csvplain`): one header row of names and
units, ISO 8601 times ending in ``Z``, one comma-separated row per record.
``das3_csv`` keeps das2C's layout.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools._common import ToolParser, run_tool
from dasflex_core.tools.table.options import add_text_arguments, add_tmpdir_argument

PROGRAM = "das2_plaincsv"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as plain CSV on stdout: one header
row ("time (UTC)", "name (units)", vectors and spectra as name_0..name_N-1),
ISO 8601 times with Z, one row per record, empty cells for fill values."""


def build_parser() -> ToolParser:
    """The ``das2_plaincsv`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_text_arguments(parser)
    add_tmpdir_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_plaincsv``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools.table.csvplain import PlainCsvWriter
    from dasflex_core.tools.table.stream import run_table_tool

    return run_table_tool(lambda emit: PlainCsvWriter(emit, digits=args.digits,
                                                      time_digits=args.time_digits,
                                                      tmpdir=args.tmpdir))


if __name__ == "__main__":
    raise SystemExit(main())
