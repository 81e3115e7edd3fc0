"""``dasflex verify``: run every source's example ranges through every output it offers."""

from __future__ import annotations

import argparse
import sys

from dasflex_core.cli.common import (
    add_command,
    add_site_option,
    add_timeout_option,
    existing_site_dir,
    fail,
    one_line_errors,
    positive_timeout,
)
from dasflex_core.sources.loader import load_site
from dasflex_core.verify import Check, format_table, verify_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    parser = add_command(
        subparsers, "verify",
        description="Plan and run each example range of each source in every output it "
                    "advertises (das2, das3, CSV and, for HAPI sources, HAPI csv/binary/json), "
                    "validate each stream and print a table.  Exit status 1 on any failure.",
    )
    parser.add_argument("sources", nargs="*", metavar="SOURCE",
                        help="source ids to verify (default: every source of the site)")
    add_site_option(parser)
    parser.add_argument("--first", action="store_true",
                        help="only the first example range of each source")
    parser.add_argument("--no-hapi", action="store_true", help="skip the HAPI outputs")
    add_timeout_option(parser, "seconds each pipeline may run (default 120)", 120.0)
    parser.add_argument("--jobs", type=int, default=2, metavar="N",
                        help="example ranges verified at once (default 2)")
    parser.add_argument("--quiet", action="store_true", help="print only failed rows")
    parser.set_defaults(run=run)


@one_line_errors("verify")
def run(args: argparse.Namespace) -> int:
    """Verify the site; print the table; 1 if anything failed, else 0."""
    checks = _verify(args)
    if not checks:
        return fail("verify", "no data source to verify")
    shown = [check for check in checks if check.failed] if args.quiet else checks
    if shown:
        print(format_table(shown))
    failures = sum(check.failed for check in checks)
    passed = sum(check.status == "ok" for check in checks)
    print(f"{passed} passed, {failures} failed", file=sys.stderr if failures else sys.stdout)
    return 1 if failures else 0


def _verify(args: argparse.Namespace) -> list[Check]:
    timeout = positive_timeout(args.timeout)
    site = load_site(existing_site_dir(args.site))
    return verify_site(site, args.sources, first_only=args.first, hapi=not args.no_hapi,
                       timeout=timeout, jobs=args.jobs)
