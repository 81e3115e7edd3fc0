"""``dasflex check``: load every source definition of a site and report problems."""

from __future__ import annotations

import argparse

from dasflex_core.cli.common import (
    add_command,
    add_site_option,
    configured_site_dir,
    fail,
    one_line_errors,
)
from dasflex_core.sources.loader import scan_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = add_command(
        subparsers, "check",
        description="Load every DSDF and JSON source definition of a site and print each "
                    "problem (file, line or key, reason).  Exit status 1 if any.",
    )
    add_site_option(parser)
    parser.set_defaults(run=run)


@one_line_errors("check")
def run(args: argparse.Namespace) -> int:
    """Check the site; print problems to stderr or one OK line to stdout."""
    site_dir = args.site if args.site is not None else configured_site_dir()
    report = scan_site(site_dir)
    for problem in report.problems:
        fail("check", problem)
    if report.problems:
        count = len(report.problems)
        return fail("check", f"{count} problem{'s' if count > 1 else ''} in {site_dir}")
    site = report.site
    print(f"OK: {len(site)} sources, {len(site.directories)} directories in {site.root}")
    return 0
