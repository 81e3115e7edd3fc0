"""``das2_cdf``: write a das2 (or das3) stream on stdin as a CDF file on stdout.

The command line; the writing is :mod:`dasflex_core.tools.cdf.convert`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, add_tmpdir_option, run_tool

PROGRAM = "das2_cdf"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as an ISTP-style CDF file on stdout.
Times become CDF_TIME_TT2000 (Epoch); <y> planes time series and <yscan>
planes spectrograms with their yTags as DEPEND_1."""


def _global_setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not '{text}'")
    return name.strip(), value


def build_parser() -> ToolParser:
    """The ``das2_cdf`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-g", "--global", dest="globals", type=_global_setting, action="append",
                        default=[], metavar="NAME=VALUE",
                        help="set (or override) a global attribute; may be repeated")
    add_tmpdir_option(parser, "the temporary CDF file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_cdf``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.cdf.convert import write_cdf

    return write_cdf(dict(args.globals), args.tmpdir)


if __name__ == "__main__":
    raise SystemExit(main())
