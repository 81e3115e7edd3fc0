"""das2_cache_rdr: read pre-binned das2 cache blocks for a time range.

``das2_cache_rdr [-p SECONDS] [-l KEY] DEFINITION CACHE_DIR PARAMSET RES BEGIN END``
picks the definition's coarsest cache level whose parameters match PARAMSET
and whose bin size is at most RES seconds (or the level KEY), then streams
the cache blocks that cover [BEGIN, END) as one das2 stream
(``research/das2c.md`` §4.9).  DEFINITION is a DSDF (``cacheLevel_NN``) or a
JSON definition (``cacheLevels``).  The block layout is
:mod:`dasflex_core.cache.layout` (``docs/cache.md``).  The command line; the
reading is :mod:`dasflex_core.tools.cacheread`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from dasflex_core.cache.layout import (
    block_path,
    block_start,
    blocks_between,
    level_subdir,
    next_block,
    normalise_params,
    paramset_name,
)
from dasflex_core.errors import QueryError
from dasflex_core.tools.program import ToolParser, run_tool

#: The block layout, named here too (it is the one :mod:`dasflex_core.cache` writes).
__all__ = [
    "block_path", "block_start", "blocks_between", "level_subdir", "main", "next_block",
    "normalise_params", "paramset_name",
]

PROG = "das2_cache_rdr"

DESCRIPTION = """\
Write the das2 cache blocks of PARAMSET that cover BEGIN to END as one das2
stream: the first block's stream header, each packet header once (again only
when it changes), then the data packets with BEGIN-pad <= x < END+pad in time
order.  The level read is the coarsest cacheLevel_NN of DSDF whose params
normalise to PARAMSET and whose bin size is at most RES seconds (0 or
'intrinsic' selects full resolution).  Missing blocks are skipped; when no
block has data in range, a NoDataInInterval exception is written.  The old
order DSDF CACHE_DIR PARAMSET BEGIN END RES is also accepted.  With -l KEY the
level cacheLevel_KEY is read whatever RES says (dasflex's planner names the
level it found built); DSDF may also be a JSON definition (cacheLevels)."""

_PLAIN_NUMBER = re.compile(r"\s*[0-9.]+(?:[eE][+-]?\d+)?\s*")


def build_parser() -> ToolParser:
    """The command line of das2_cache_rdr."""
    parser = ToolParser(PROG, DESCRIPTION)
    parser.add_argument("-p", "--pad", type=float, default=0.0, metavar="SECONDS",
                        help="also output records up to SECONDS outside the range")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="name each block file read on stderr")
    parser.add_argument("-l", "--level", metavar="KEY", default=None,
                        help="read the level cacheLevel_KEY (JSON: index in cacheLevels) "
                             "instead of choosing one by RES")
    parser.add_argument("dsdf", metavar="DSDF",
                        help="the data source definition file (DSDF, or a JSON definition)")
    parser.add_argument("cache_dir", metavar="CACHE_DIR", help="root of the cache")
    parser.add_argument("paramset", metavar="PARAMSET",
                        help="normalised reader parameters ('_noparam' for none)")
    parser.add_argument("third", metavar="RES", help="resolution in seconds (0: intrinsic)")
    parser.add_argument("fourth", metavar="BEGIN", help="start of the time range")
    parser.add_argument("fifth", metavar="END", help="end of the time range (exclusive)")
    return parser


def _ordered(args: argparse.Namespace) -> tuple[str, str, str]:
    """(RES, BEGIN, END), accepting the predecessor's BEGIN END RES order too."""
    if not _PLAIN_NUMBER.fullmatch(args.third) and _PLAIN_NUMBER.fullmatch(args.fifth):
        return args.fifth, args.third, args.fourth
    return args.third, args.fourth, args.fifth


def _run(args: argparse.Namespace) -> int:
    if not args.pad >= 0.0 or args.pad == float("inf"):
        raise QueryError(f"pad {args.pad} must be a finite number >= 0")
    # The family loads numpy and the codecs: imported only when the tool runs,
    # so that --help and usage errors answer at once.
    from dasflex_core.tools.cacheread.levels import CacheArguments, build_request
    from dasflex_core.tools.cacheread.merge import read_cache

    resolution, begin, end = _ordered(args)
    request = build_request(CacheArguments(args.dsdf, args.cache_dir, args.paramset, resolution,
                                           begin, end, args.pad, args.level))
    read_cache(request, verbose=args.verbose)
    return 0


def guard_positionals(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--`` after the leading options, so PARAMSET may start with ``-``."""
    arguments = list(argv)
    index = 0
    while index < len(arguments) and arguments[index] != "--":
        word = arguments[index]
        if word in ("-p", "--pad", "-l", "--level"):
            index += 2
        elif word.startswith(("-p", "--pad=", "--level=", "-v", "--verbose", "-h", "--help")):
            index += 1
        else:
            return [*arguments[:index], "--", *arguments[index:]]
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run das2_cache_rdr; return the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    return run_tool(build_parser(), guard_positionals(arguments), _run)


if __name__ == "__main__":
    raise SystemExit(main())
