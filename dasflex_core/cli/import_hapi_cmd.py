"""``dasflex import-hapi``: a HAPI server's datasets as sources of a site."""

from __future__ import annotations

import argparse

from dasflex_core.cli.common import add_command, add_site_option, one_line_errors
from dasflex_core.remote.importer import import_hapi


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import-hapi`` subcommand."""
    parser = add_command(
        subparsers, "import-hapi",
        description="Write one definition per dataset of the HAPI server URL into the site "
                    "(source id PREFIX/<dataset id>; see docs/federation.md for how ids map to "
                    "file names).  Running it again updates the definitions it wrote, keeps keys "
                    "added to them by hand, removes datasets the server no longer lists and "
                    "reports every change.  Exit status 1 when the server cannot be read.")
    parser.add_argument("url", metavar="URL", help="the HAPI server, e.g. https://host/hapi")
    add_site_option(parser, "the site directory to write the definitions into", required=True)
    parser.add_argument("--prefix", default=None, metavar="DIR",
                        help="directory below the site for the definitions "
                             "(default: the server's host name and port)")
    parser.add_argument("--only", default=None, metavar="REGEX",
                        help="import only the dataset ids this regular expression matches")
    parser.set_defaults(run=run)


@one_line_errors("import-hapi")
def run(args: argparse.Namespace) -> int:
    """Import and print the report."""
    for line in import_hapi(args.url, args.site, args.prefix, args.only).lines():
        print(line)
    return 0
