"""``dasflex check``: load every source definition of a site and report problems."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dasflex_core.commands import builtin_commands
from dasflex_core.commands.requirements import unavailable_outputs
from dasflex_core.sources.model import Site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="validate a site's source definitions",
        description="Load every DSDF and JSON source definition of a site and print each "
                    "problem (file, line or key, reason).  Exit status 1 if any.  Output "
                    "formats that are off because a Python module is missing are listed "
                    "(not an error).",
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
    for line in formats_off(site):
        print(line)
    return 0


def formats_off(site: Site) -> list[str]:
    """One line per output format this installation cannot make, with the reason."""
    table = builtin_commands()
    if site.commands is not None:
        table = table.merged(site.commands)
    return [output.message for output in unavailable_outputs(table)]
