"""``das3_to_das2``: convert a das3 stream on stdin to a das2 stream on stdout.

The command line; the conversion is :mod:`dasflex_core.tools.convert.to_das2`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, add_text_options, run_tool

PROGRAM = "das3_to_das2"
DESCRIPTION = """\
Convert a das3 (das-basic-stream v3.0) stream on stdin to a das2 stream on
stdout.  Time series, spectrograms and waveforms convert; ragged, rank-3,
string and blob datasets have no das2 form and are reported as errors.
Comments and exceptions are carried across.  A das2 input is passed through."""


def build_parser() -> ToolParser:
    """The ``das3_to_das2`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    add_text_options(parser, "write a text das2 stream (das2_ascii encodings)", 18,
                     "binary reals")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das3_to_das2``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.convert.to_das2 import convert_stdin

    return convert_stdin(args.text, args.digits, args.time_decimals)


if __name__ == "__main__":
    raise SystemExit(main())
