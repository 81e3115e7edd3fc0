"""``dasflex import``: turn a predecessor dasFlex site into a dasflex site."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasflex_core.cli.common import add_command, one_line_errors
from dasflex_core.migrate import import_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import`` subcommand."""
    parser = add_command(
        subparsers, "import",
        description="Copy and normalise the DSDF files of an old dasFlex site, write a settings "
                    "file from its dasflex.conf, carry over users, groups, peers and custom "
                    "commands, check the result and report what could not be carried over.  "
                    "Exit status 1 when the new site has problems.")
    parser.add_argument("old_site", type=Path, metavar="OLD_SITE_DIR",
                        help="the old site (dasflex.conf, etc/, datasets/ or DSDF files)")
    parser.add_argument("new_site", type=Path, metavar="NEW_SITE_DIR",
                        help="directory to create (must be empty unless --force)")
    parser.add_argument("--force", action="store_true",
                        help="write into NEW_SITE_DIR even when it is not empty")
    parser.set_defaults(run=run)


@one_line_errors("import")
def run(args: argparse.Namespace) -> int:
    """Import the site and print the report."""
    report = import_site(args.old_site, args.new_site, overwrite=args.force)
    for line in report.lines():
        print(line)
    if report.ok:
        print(f"serve it with: dasflex serve --config {args.new_site / 'dasflex.toml'}")
    return 0 if report.ok else 1
