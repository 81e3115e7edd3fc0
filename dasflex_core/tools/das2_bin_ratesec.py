"""das2_bin_ratesec: packets (or bytes) per time bin, for coverage plots.

``das2_bin_ratesec [-b BEGIN] [-m] [-v UNITS] [-e] [-t TITLE] [-y LABEL] BIN_SECONDS``
(``research/das2c.md`` §4.4).  Unlike das2C, ``-m`` streams correctly, any
bin width works, and with ``-e`` empty bins are 0 (das2C: 1.0).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.dastime import parse_us2000
from dasflex_core.tools.program import ToolParser, positive_float, run_tool

DESCRIPTION = """\
Count the data packets of a das2 stream (all packet IDs together) in time
bins BIN_SECONDS wide and write one <x><y> packet type with the rate.
Without -m every bin from the first to the last is written at the end of
input (empty bins as 0); with -m bins are written as soon as they close."""

#: Volume units and their size in bytes.
VOLUME_UNITS = {"bytes": ("bytes", 1), "kb": ("kB", 1 << 10), "mb": ("MB", 1 << 20), "gb": ("GB", 1 << 30)}


def build_parser() -> ToolParser:
    """The command line of das2_bin_ratesec."""
    parser = ToolParser("das2_bin_ratesec", DESCRIPTION)
    parser.add_argument("-b", "--begin", metavar="BEGIN",
                        help="start bin 0 at this time instead of at the first data time")
    parser.add_argument("-m", "--monotonic", action="store_true",
                        help="input times never decrease: write each bin as soon as it closes")
    parser.add_argument("-v", "--vol-units", "--volume", dest="volume", metavar="UNITS",
                        type=_volume_units, help="count record bytes in bytes, kB, MB or GB")
    parser.add_argument("-e", "--events", action="store_true",
                        help="write 1.0 for bins that hold data (0.0 for empty ones)")
    parser.add_argument("-t", "--title", help="title of the output dataset")
    parser.add_argument("-y", "--ylabel", help="y label of the output dataset")
    parser.add_argument("bin_seconds", type=positive_float, metavar="BIN_SECONDS",
                        help="width of the time bins in seconds")
    return parser


def _volume_units(text: str) -> tuple[str, int]:
    try:
        return VOLUME_UNITS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown volume units '{text}', use bytes, kB, MB or GB"
        ) from None


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.binning.rate import RateConfig, rate_stdin

    volume_name, volume_bytes = args.volume if args.volume else (None, 1)
    config = RateConfig(
        width_us=args.bin_seconds * 1.0e6,
        origin=None if args.begin is None else parse_us2000(args.begin),
        monotonic=args.monotonic,
        events=args.events,
        volume_name=volume_name,
        volume_bytes=volume_bytes,
        title=args.title,
        ylabel=args.ylabel,
    )
    return rate_stdin(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_bin_ratesec; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
