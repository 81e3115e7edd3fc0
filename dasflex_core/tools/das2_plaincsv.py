"""``das2_plaincsv``: a das2 or das3 stream on stdin as plain CSV on stdout.

The layout people and pandas read directly
(:mod:`dasflex_core.tools.table.csvplain`): one header row of names and
units, ISO 8601 times ending in ``Z``, one comma-separated row per record.
``das3_csv`` keeps das2C's layout.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import (
    ToolParser,
    add_table_text_options,
    add_tmpdir_option,
    run_tool,
)

PROGRAM = "das2_plaincsv"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as plain CSV on stdout: one header
row ("time (UTC)", "name (units)", vectors and spectra as name_0..name_N-1),
ISO 8601 times with Z, one row per record, empty cells for fill values."""


def build_parser() -> ToolParser:
    """The ``das2_plaincsv`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_table_text_options(parser)
    add_tmpdir_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_plaincsv``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.table.csvplain import PlainCsvWriter
    from dasflex_core.tools.table.stream import run_table_tool

    return run_table_tool(lambda emit: PlainCsvWriter(emit, digits=args.digits,
                                                      time_digits=args.time_digits,
                                                      tmpdir=args.tmpdir))


if __name__ == "__main__":
    raise SystemExit(main())
