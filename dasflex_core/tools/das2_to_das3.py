"""``das2_to_das3``: convert a das2 stream on stdin to a das3 stream on stdout.

The command line; the conversion is :mod:`dasflex_core.tools.convert.to_das3`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, add_text_options, run_tool

PROGRAM = "das2_to_das3"
DESCRIPTION = """\
Convert a das2 stream on stdin to a das3 (das-basic-stream v3.0) stream on
stdout.  Binary values keep their encoding; text values stay text.  Comments
and exceptions are carried across.  A das3 input is passed through."""


def build_parser() -> ToolParser:
    """The ``das2_to_das3`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_text_options(parser, "write values as text (utf8) instead of binary", 17, "reals")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_to_das3``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.convert.to_das3 import convert_stdin

    return convert_stdin(args.text, args.digits, args.time_decimals)


if __name__ == "__main__":
    raise SystemExit(main())
