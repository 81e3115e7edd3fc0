"""das2_psd: power spectral densities of das2 time series and waveforms.

``das2_psd [-d] [-c DATUM] [-n] [-j BREAK] LENGTH SLIDE_DENOMINATOR``
(``research/das2c.md`` §4.5): Hann-windowed one-sided PSDs of LENGTH points,
the window advancing by LENGTH/SLIDE_DENOMINATOR points.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, UsageError, run_tool

DESCRIPTION = """\
Transform a das2 stream into power spectral densities.  <x><yscan> packets
(waveform blocks with evenly spaced time offsets) are transformed within each
packet; <x><y> packets are accumulated until LENGTH points with a steady
cadence are held.  Output: <x><yscan> packets of LENGTH/2+1 frequencies in
units of value**2/Hz."""


def build_parser() -> ToolParser:
    """The command line of das2_psd."""
    parser = ToolParser("das2_psd", DESCRIPTION)
    parser.add_argument("-d", "--keep-dc", action="store_true",
                        help="keep the DC component (do not subtract each window's mean)")
    parser.add_argument("-c", "--cadence", metavar="DATUM", type=_datum,
                        help='set the output xTagWidth, e.g. "10 s"')
    parser.add_argument("-n", "--no-skip", action="store_true",
                        help="fail on packet types that cannot be transformed instead of skipping them")
    parser.add_argument("-j", "--max-jitter", metavar="BREAK", type=_fraction, default=0.01,
                        help="largest cadence jitter fraction of <x><y> data (default 0.01)")
    parser.add_argument("-x", "--trans-x", action="store_true",
                        help="transform <yscan> packets over x (not implemented, as in das2C)")
    parser.add_argument("length", type=_dft_length, metavar="LENGTH",
                        help="DFT length: an even number >= 16")
    parser.add_argument("slide", type=int, metavar="SLIDE_DENOMINATOR",
                        help="the window advances LENGTH/SLIDE_DENOMINATOR points (1 = no overlap)")
    return parser


def _dft_length(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 16 or value % 2:
        raise argparse.ArgumentTypeError(f"DFT length {value} must be an even number >= 16")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"jitter limit {text} must be greater than 0")
    return value


def _datum(text: str) -> tuple[float, str]:
    number, _, units = text.strip().partition(" ")
    try:
        return float(number), units.strip()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a datum like '10 s'") from None


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.psd.stream import PsdConfig, psd_stdin

    if args.trans_x:
        raise UsageError("-x (transform <yscan> packets over x) is not implemented")
    if not 1 <= args.slide < args.length:
        raise UsageError(f"SLIDE_DENOMINATOR must be 1 to {args.length - 1}, not {args.slide}")
    config = PsdConfig(
        length=args.length, slide=args.slide, keep_dc=args.keep_dc, cadence=args.cadence,
        no_skip=args.no_skip, jitter=args.max_jitter,
    )
    return psd_stdin(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_psd; return the exit status."""
    return run_tool(build_parser(), argv, _run)


if __name__ == "__main__":
    raise SystemExit(main())
