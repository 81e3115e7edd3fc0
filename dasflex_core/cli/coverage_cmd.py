"""``dasflex coverage``: where a source has data over a time range."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dasflex_core.coverage import Coverage


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``coverage`` subcommand."""
    parser = subparsers.add_parser(
        "coverage",
        help="find the intervals where a source has data",
        description="Run the source's reader over the range, count its packets per time bin "
                    "with das2_bin_ratesec and print the intervals holding data.",
    )
    parser.add_argument("source", metavar="SOURCE", help="source id, e.g. Examples/Spectra")
    parser.add_argument("--site", type=Path, default=None, metavar="DIR",
                        help="site directory (default: the configured site)")
    parser.add_argument("--from", dest="begin", required=True, metavar="T", help="begin time")
    parser.add_argument("--to", dest="end", required=True, metavar="T", help="end time")
    parser.add_argument("--bin", dest="bin_seconds", type=float, default=None, metavar="SECONDS",
                        help="bin width in seconds (default: about 200 bins)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="seconds the reader may run (default 120)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the coverage; 1 on an error."""
    from dasflex_core.errors import DasFlexError

    try:
        result = _coverage(args)
    except DasFlexError as error:
        print(f"dasflex coverage: {error}", file=sys.stderr)
        return 1
    if args.json:
        import json

        print(json.dumps(result.to_json(), indent=1))
        return 0
    for begin, end in result.intervals:
        print(f"{begin}  {end}")
    if not result.intervals:
        print(f"no data from {result.begin} to {result.end}", file=sys.stderr)
    return 0


def _coverage(args: argparse.Namespace) -> Coverage:
    from dasflex_core.cli._site import existing_site_dir
    from dasflex_core.coverage import compute_coverage
    from dasflex_core.errors import NotFoundError, QueryError
    from dasflex_core.sources.loader import load_site

    if args.timeout <= 0:
        raise QueryError("--timeout must be positive")
    site_dir = existing_site_dir(args.site)
    source = load_site(site_dir).get(args.source)
    if source is None:
        raise NotFoundError(f"no data source '{args.source}' in {site_dir}")
    return compute_coverage(source, args.begin, args.end, args.bin_seconds,
                            timeout=args.timeout)
