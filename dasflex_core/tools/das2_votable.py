"""``das2_votable``: a das2 or das3 stream on stdin as a VOTable on stdout.

TABLEDATA rows are written as the records arrive; ``-b`` writes BINARY2
(base64) instead (:mod:`dasflex_core.tools.table.votable`).
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

PROGRAM = "das2_votable"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as a VOTable 1.4 on stdout: one
TABLE per packet type, times as ISO 8601 timestamps, units and UCDs on the
FIELDs, frequencies and other axes as PARAMs; TABLEDATA, or BINARY2 with -b."""


def build_parser() -> ToolParser:
    """The ``das2_votable`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-b", "--binary", action="store_true",
                        help="serialise rows as BINARY2 (base64) instead of TABLEDATA")
    add_table_text_options(parser)
    add_tmpdir_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_votable``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.table.stream import run_table_tool
    from dasflex_core.tools.table.votable import VOTableWriter

    return run_table_tool(lambda emit: VOTableWriter(emit, binary=args.binary, digits=args.digits,
                                                     time_digits=args.time_digits,
                                                     tmpdir=args.tmpdir))


if __name__ == "__main__":
    raise SystemExit(main())
