"""das2_bin_avgsec: average das2 stream values over time bins.

``das2_bin_avgsec [-b BEGIN] [-r] [-s] [-p] BIN_SECONDS`` reads a das2 stream
on stdin and writes the time-averaged stream on stdout, as das2C's program
of the same name does (``research/das2c.md`` §4.1).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, add_bin_seconds, add_time_bin_arguments, run_tool

DESCRIPTION = """\
Average <y>, <yscan> and <z> values of a das2 stream over BIN_SECONDS wide
time bins, per packet ID.  Fill values are skipped; x values become bin
centres in us2000.  Waveform <yscan>s (renderer=waveform) whose offsets span
no more than a bin collapse to a single <y>."""


def build_parser() -> ToolParser:
    """The command line of das2_bin_avgsec."""
    parser = ToolParser("das2_bin_avgsec", DESCRIPTION)
    add_time_bin_arguments(parser)
    parser.add_argument("-r", dest="minmax", action="store_true",
                        help="add .min and .max planes holding each bin's range")
    parser.add_argument("-s", dest="stddev", action="store_true",
                        help="add a .stddev plane holding each bin's standard deviation")
    parser.add_argument("-p", dest="drop_progress", action="store_true",
                        help="drop taskProgress/taskSize comments")
    add_bin_seconds(parser)
    return parser


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.binning.core import BinOptions
    from dasflex_core.tools.binning.stream import bin_stdin, time_binner

    config = time_binner(
        "das2_bin_avgsec", args.bin_seconds, args.begin,
        options=BinOptions(minmax=args.minmax, stddev=args.stddev),
        drop_progress=args.drop_progress,
        max_input_planes=_plane_limit(args.minmax, args.stddev),
    )
    return bin_stdin(config)


def _plane_limit(minmax: bool, stddev: bool) -> int:
    """das2C's input plane limit so that output stays within 99 planes."""
    if minmax and stddev:
        return 24
    if minmax:
        return 33
    if stddev:
        return 49
    return 99


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_bin_avgsec; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
