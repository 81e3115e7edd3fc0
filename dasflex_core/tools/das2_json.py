"""``das2_json``: a das2 or das3 stream on stdin as one JSON document on stdout.

The document (:mod:`dasflex_core.tools.table.jsonout`) holds one table per
packet type or dataset, with per-column metadata (units, fill, title,
label, axis) and one array per record; it is written as the records
arrive.
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

PROGRAM = "das2_json"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as JSON on stdout: a "tables" list
with, per packet type, column metadata (units, fill, labels, frequencies)
and one array per record (times as ISO 8601 strings, missing values null)."""


def build_parser() -> ToolParser:
    """The ``das2_json`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_table_text_options(parser)
    add_tmpdir_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_json``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.table.jsonout import JsonWriter
    from dasflex_core.tools.table.stream import run_table_tool

    return run_table_tool(lambda emit: JsonWriter(emit, digits=args.digits,
                                                  time_digits=args.time_digits,
                                                  tmpdir=args.tmpdir))


if __name__ == "__main__":
    raise SystemExit(main())
