"""``das2_png``: a quick-look PNG of the das2 (or das3) stream on stdin.

The command line; the drawing is :mod:`dasflex_core.tools.png.builder`.  A
stream without data (or with only a ``NoDataInInterval`` exception) gives a
"No data" image and exit status 0; empty input is an error.  Options
``-w``/``--width`` and ``-H``/``--height`` (also ``-h``, as the command table
passes it; ``--help`` is help) set the size in pixels.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, int_in_range, run_tool

PROGRAM = "das2_png"
DESCRIPTION = """\
Draw a quick-look PNG of the das2 (or das3) stream on stdin: line plots for
<y> planes, spectrograms for <yscan> planes, a UTC time axis.  Memory stays
bounded: values are binned to one column per pixel while reading."""
DEFAULT_WIDTH = 800
DEFAULT_HEIGHT = 600
SMALLEST_SIDE = 64
LARGEST_SIDE = 8192


class _PngParser(ToolParser):
    """A ToolParser without ``-h`` for help: here ``-h`` is the height."""

    def __init__(self) -> None:
        argparse.ArgumentParser.__init__(
            self, prog=PROGRAM, description=DESCRIPTION, add_help=False,
            formatter_class=argparse.RawDescriptionHelpFormatter)
        self.add_argument("--help", action="help", help="show this help message and exit")


def build_parser() -> ToolParser:
    """The ``das2_png`` command line (``-h`` is the height; ``--help`` is help)."""
    parser = _PngParser()
    side = int_in_range(SMALLEST_SIDE, LARGEST_SIDE)
    parser.add_argument("-w", "--width", type=side, default=DEFAULT_WIDTH, metavar="PIXELS",
                        help=f"image width (default {DEFAULT_WIDTH})")
    parser.add_argument("-H", "-h", "--height", dest="height", type=side,
                        default=DEFAULT_HEIGHT, metavar="PIXELS",
                        help=f"image height (default {DEFAULT_HEIGHT})")
    parser.add_argument("--title", help="title (default: the stream's title property)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_png``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.png.builder import draw_png

    return draw_png(args.width, args.height, args.title)


if __name__ == "__main__":
    raise SystemExit(main())
