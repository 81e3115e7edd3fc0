"""``dasflex coverage``: where a source has data over a time range."""

from __future__ import annotations

import argparse
import json
import sys

from dasflex_core.cli.common import (
    add_command,
    add_json_option,
    add_site_option,
    add_timeout_option,
    existing_site_dir,
    one_line_errors,
    positive_timeout,
)
from dasflex_core.coverage import Coverage, compute_coverage
from dasflex_core.errors import NotFoundError
from dasflex_core.sources.loader import load_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``coverage`` subcommand."""
    parser = add_command(
        subparsers, "coverage",
        description="Run the source's reader over the range, count its packets per time bin "
                    "with das2_bin_ratesec and print the intervals holding data.",
    )
    parser.add_argument("source", metavar="SOURCE", help="source id, e.g. Examples/Spectra")
    add_site_option(parser)
    parser.add_argument("--from", dest="begin", required=True, metavar="T", help="begin time")
    parser.add_argument("--to", dest="end", required=True, metavar="T", help="end time")
    parser.add_argument("--bin", dest="bin_seconds", type=float, default=None, metavar="SECONDS",
                        help="bin width in seconds (default: about 200 bins)")
    add_json_option(parser)
    add_timeout_option(parser, "seconds the reader may run (default 120)", 120.0)
    parser.set_defaults(run=run)


@one_line_errors("coverage")
def run(args: argparse.Namespace) -> int:
    """Print the coverage; 1 on an error."""
    result = _coverage(args)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
        return 0
    for begin, end in result.intervals:
        print(f"{begin}  {end}")
    if not result.intervals:
        print(f"no data from {result.begin} to {result.end}", file=sys.stderr)
    return 0


def _coverage(args: argparse.Namespace) -> Coverage:
    timeout = positive_timeout(args.timeout)
    site_dir = existing_site_dir(args.site)
    source = load_site(site_dir).get(args.source)
    if source is None:
        raise NotFoundError(f"no data source '{args.source}' in {site_dir}")
    return compute_coverage(source, args.begin, args.end, args.bin_seconds,
                            timeout=timeout)
