"""das2_bin_avg: average das2 stream values over bins of raw x units.

``das2_bin_avg BIN_WIDTH``: like das2_bin_avgsec but the width is in the
units of ``<x>`` (no time conversion); comments and exceptions are dropped
(``research/das2c.md`` §4.2).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, positive_float, run_tool

DESCRIPTION = """\
Average <y>, <yscan> and <z> values of a das2 stream over bins BIN_WIDTH
wide in the units of <x> (which need not be time).  Bin 0 starts at the
first x value; x values become bin centres.  Comments and exceptions are
not copied."""


def build_parser() -> ToolParser:
    """The command line of das2_bin_avg."""
    parser = ToolParser("das2_bin_avg", DESCRIPTION)
    parser.add_argument("bin_width", type=positive_float, metavar="BIN_WIDTH",
                        help="width of the bins in <x> units")
    return parser


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.binning.stream import BinnerConfig, bin_stdin

    config = BinnerConfig(
        program="das2_bin_avg",
        width=args.bin_width,
        raw_x=True,
        pass_oob=False,
        edit_stream_header=False,
    )
    return bin_stdin(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_bin_avg; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
