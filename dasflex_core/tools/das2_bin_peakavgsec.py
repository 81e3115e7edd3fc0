"""das2_bin_peakavgsec: time-bin averages plus the peak of each bin.

``das2_bin_peakavgsec [-b BEGIN] BIN_SECONDS``: as das2_bin_avgsec, with one
extra ``.max`` plane per data plane (``research/das2c.md`` §4.3).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools._common import ToolParser, positive_float, run_tool

DESCRIPTION = """\
Average das2 stream values over BIN_SECONDS wide time bins and add, for each
data plane P, a plane P.max with the peak value of each bin.  As in das2C
the peak never drops below 0 (an all-negative bin peaks at 0); use
--true-peak for the largest value instead.  taskProgress comments are
re-emitted at a limited rate."""


def build_parser() -> ToolParser:
    """The command line of das2_bin_peakavgsec."""
    parser = ToolParser("das2_bin_peakavgsec", DESCRIPTION)
    parser.add_argument("-b", dest="begin", metavar="BEGIN",
                        help="start bin 0 at this time instead of at the first data time")
    parser.add_argument("--true-peak", action="store_true",
                        help="peak = largest value even when negative (das2C floors it at 0)")
    parser.add_argument("bin_seconds", type=positive_float, metavar="BIN_SECONDS",
                        help="width of the time bins in seconds")
    return parser


def _run(args: argparse.Namespace) -> int:
    from dasflex_core.tools._bincore import BinOptions
    from dasflex_core.tools._binrun import bin_stdin
    from dasflex_core.tools._binstream import BinnerConfig
    from dasflex_core.tools._binunits import parse_begin

    config = BinnerConfig(
        program="das2_bin_peakavgsec",
        width=args.bin_seconds * 1.0e6,
        origin=None if args.begin is None else parse_begin(args.begin),
        options=BinOptions(peak=True, peak_from_zero=not args.true_peak),
        max_input_planes=48,
        reemit_progress=True,
    )
    return bin_stdin(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_bin_peakavgsec; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
