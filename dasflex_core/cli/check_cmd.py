"""``dasflex check``: load every source definition of a site and report problems."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="validate a site's source definitions",
        description="Load every DSDF and JSON source definition of a site and print each "
                    "problem (file, line or key, reason).  Exit status 1 if any.",
    )
    parser.add_argument("--site", type=Path, default=None, metavar="DIR",
                        help="site directory (default: the configured site, i.e. the bundled examples)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the site; print problems to stderr or one OK line to stdout."""
    from dasflex_core.cli._site import configured_site_dir
    from dasflex_core.errors import DasFlexError
    from dasflex_core.sources.loader import scan_site

    try:
        site_dir = args.site if args.site is not None else configured_site_dir()
    except DasFlexError as exc:
        print(f"dasflex check: {exc}", file=sys.stderr)
        return 1
    report = scan_site(site_dir)
    for problem in report.problems:
        print(f"dasflex check: {problem}", file=sys.stderr)
    if report.problems:
        count = len(report.problems)
        print(f"dasflex check: {count} problem{'s' if count > 1 else ''} in {site_dir}", file=sys.stderr)
        return 1
    site = report.site
    print(f"OK: {len(site)} sources, {len(site.directories)} directories in {site.root}")
    return 0
