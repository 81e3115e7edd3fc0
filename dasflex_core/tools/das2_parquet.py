"""``das2_parquet``: a das2 or das3 stream on stdin as an Apache Parquet file on stdout.

Row groups are written as the records arrive
(:mod:`dasflex_core.tools.table.parquet`); needs pyarrow
(``pip install 'dasflex[parquet]'``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dasflex_core.tools.program import ToolParser, run_tool

PROGRAM = "das2_parquet"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as Apache Parquet on stdout: time as
timestamp[ns, UTC], vectors and spectra as fixed-size lists, units, fill
values, labels and frequencies as field metadata; row groups of about 16 MB."""
#: Compression codecs offered on the command line.
CODECS = ("zstd", "snappy", "gzip", "none")


def build_parser() -> ToolParser:
    """The ``das2_parquet`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-c", "--compression", choices=CODECS, default="zstd",
                        help="column chunk compression (default zstd)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_parquet``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family (numpy, the codecs, pyarrow) loads only when the tool runs, so
    # that --help and usage errors answer at once; without pyarrow, one line.
    from dasflex_core.tools.table.requires import require_module

    require_module("pyarrow")
    from dasflex_core.tools.table.parquet import ParquetWriter
    from dasflex_core.tools.table.stream import run_table_tool

    return run_table_tool(lambda emit: ParquetWriter(emit, compression=args.compression))


if __name__ == "__main__":
    raise SystemExit(main())
