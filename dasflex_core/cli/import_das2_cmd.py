"""``dasflex import-das2``: a das2 server's sources as sources of a site."""

from __future__ import annotations

import argparse

from dasflex_core.cli.common import add_command, add_site_option, one_line_errors
from dasflex_core.remote.importer import import_das2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import-das2`` subcommand."""
    parser = add_command(
        subparsers, "import-das2",
        description="Write one definition per das2 stream source of the das2 server URL (from "
                    "its ?server=list and ?server=dsdf answers) into the site, source id "
                    "PREFIX/<source id>.  Protected sources and sources that are not das2 streams "
                    "are skipped.  Running it again updates what changed and reports it.  Exit "
                    "status 1 when the server cannot be read.")
    parser.add_argument("url", metavar="URL", help="the das2 server, e.g. https://host/das2/server")
    add_site_option(parser, "the site directory to write the definitions into", required=True)
    parser.add_argument("--prefix", default=None, metavar="DIR",
                        help="directory below the site for the definitions "
                             "(default: the server's host name and port)")
    parser.add_argument("--only", default=None, metavar="REGEX",
                        help="import only the source ids this regular expression matches")
    parser.set_defaults(run=run)


@one_line_errors("import-das2")
def run(args: argparse.Namespace) -> int:
    """Import and print the report."""
    for line in import_das2(args.url, args.site, args.prefix, args.only).lines():
        print(line)
    return 0
