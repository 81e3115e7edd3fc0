"""das2_histo: histograms of the values in a das2 stream.

``das2_histo [-b|--frac-below] [-a|--frac-above]`` (``research/das2c.md``
§4.10): for every data plane of every packet type, one output packet type
with x = the distinct values seen and y (or a yscan, one column per item) =
how often each occurred, or the cumulative fraction at/below or at/above.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, run_tool

DESCRIPTION = """\
Replace the data of a das2 stream by histograms: for each data plane, the
sorted distinct values become x and the number of times each occurred (per
yscan item) becomes the data.  Values equal to the fill (0 unless the plane
sets its own) are not counted.  Output is written at the end of input (or
when a packet ID is re-defined)."""


def build_parser() -> ToolParser:
    """The command line of das2_histo."""
    parser = ToolParser("das2_histo", DESCRIPTION)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("-b", "--frac-below", action="store_true",
                      help="output the cumulative fraction of values at or below x")
    mode.add_argument("-a", "--frac-above", action="store_true",
                      help="output the cumulative fraction of values at or above x")
    return parser


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.binning.histo import HistoConfig, histo_stdin

    mode = "below" if args.frac_below else "above" if args.frac_above else "counts"
    return histo_stdin(HistoConfig(mode))


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_histo; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
