"""das2_bin_peakavgsec: time-bin averages plus the peak of each bin.

``das2_bin_peakavgsec [-b BEGIN] BIN_SECONDS``: as das2_bin_avgsec, with one
extra ``.max`` plane per data plane (``research/das2c.md`` §4.3).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, add_bin_seconds, add_time_bin_arguments, run_tool

DESCRIPTION = """\
Average das2 stream values over BIN_SECONDS wide time bins and add, for each
data plane P, a plane P.max with the peak value of each bin.  As in das2C
the peak never drops below 0 (an all-negative bin peaks at 0); use
--true-peak for the largest value instead.  taskProgress comments are
re-emitted at a limited rate."""


def build_parser() -> ToolParser:
    """The command line of das2_bin_peakavgsec."""
    parser = ToolParser("das2_bin_peakavgsec", DESCRIPTION)
    add_time_bin_arguments(parser)
    parser.add_argument("--true-peak", action="store_true",
                        help="peak = largest value even when negative (das2C floors it at 0)")
    add_bin_seconds(parser)
    return parser


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.binning.core import BinOptions
    from dasflex_core.tools.binning.stream import bin_stdin, time_binner

    config = time_binner(
        "das2_bin_peakavgsec", args.bin_seconds, args.begin,
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
