"""``das2_netcdf``: a das2 or das3 stream on stdin as a NetCDF-4 file on stdout.

The file is built in a temporary directory (``-T``, else ``$TMPDIR``) with
rows appended in bounded chunks, copied to stdout when the stream ends and
removed (:mod:`dasflex_core.tools.table.netcdf`); needs netCDF4
(``pip install 'dasflex[netcdf]'``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from dasflex_core.tools.program import ToolParser, add_tmpdir_option, int_in_range, run_tool

PROGRAM = "das2_netcdf"
DESCRIPTION = """\
Write the das2 (or das3) stream on stdin as NetCDF-4 (CF) on stdout: time in
nanoseconds since 1970, spectra as 2-D variables with their frequency
coordinate, units, _FillValue and long_name attributes; one group per
further packet type."""


def build_parser() -> ToolParser:
    """The ``das2_netcdf`` command line."""
    parser = ToolParser(PROGRAM, DESCRIPTION)
    parser.add_argument("-z", "--deflate", type=int_in_range(0, 9), default=0, metavar="LEVEL",
                        help="zlib compression level of the variables (0-9, default 0: none)")
    add_tmpdir_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``das2_netcdf``; return the exit status."""
    return run_tool(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    # The family (numpy, the codecs, netCDF4) loads only when the tool runs, so
    # that --help and usage errors answer at once; without netCDF4, one line.
    from dasflex_core.tools.table.requires import require_module

    require_module("netCDF4")
    from dasflex_core.tools.table.netcdf import NetcdfWriter
    from dasflex_core.tools.table.stream import run_table_tool

    writers: list[NetcdfWriter] = []

    def make(emit: Callable[[bytes], object]) -> NetcdfWriter:
        writers.append(NetcdfWriter(emit, tmpdir=args.tmpdir, deflate=args.deflate))
        return writers[-1]

    try:
        return run_table_tool(make)
    finally:
        for writer in writers:
            writer.close()


if __name__ == "__main__":
    raise SystemExit(main())
