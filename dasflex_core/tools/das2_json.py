"""``das2_json``: a das2 or das3 stream on stdin as one JSON document on stdout.

The document (:mod:`dasflex_core.tools.table.jsonout`) holds one table per
packet type or dataset, with per-column metadata (units, fill, title,
label, axis) and one array per record; it is written as the records
arrive.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools._common import ToolParser, run_tool
from dasflex_core.tools.table.options import add_text_arguments, add_tmpdir_argument

PROGRAM = "das2_json"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as JSON on stdout: a "tables" list
with, per packet type, column metadata (units, fill, labels, frequencies)
and one array per record (times as ISO 8601 strings, missing values null)."""


def build_parser() -> ToolParser:
    """The ``das2_json`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_text_arguments(parser)
    add_tmpdir_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_json``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools.table.jsonout import JsonWriter
    from dasflex_core.tools.table.stream import run_table_tool

    return run_table_tool(lambda emit: JsonWriter(emit, digits=args.digits,
                                                  time_digits=args.time_digits,
                                                  tmpdir=args.tmpdir))


if __name__ == "__main__":
    raise SystemExit(main())
