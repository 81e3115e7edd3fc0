"""``dasflex import-das2``: a das2 server's sources as sources of a site."""

from __future__ import annotations

import argparse

from dasflex_core.cli.import_hapi_cmd import add_import_options, report


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import-das2`` subcommand."""
    parser = subparsers.add_parser(
        "import-das2", help="relay the sources of a das2 server",
        description="Write one definition per das2 stream source of the das2 server URL (from "
                    "its ?server=list and ?server=dsdf answers) into the site, source id "
                    "PREFIX/<source id>.  Protected sources and sources that are not das2 streams "
                    "are skipped.  Running it again updates what changed and reports it.  Exit "
                    "status 1 when the server cannot be read.")
    parser.add_argument("url", metavar="URL", help="the das2 server, e.g. https://host/das2/server")
    add_import_options(parser)
    parser.add_argument("--only", default=None, metavar="REGEX",
                        help="import only the source ids this regular expression matches")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Import and print the report."""
    from dasflex_core.remote.importer import import_das2

    return report(lambda: import_das2(args.url, args.site, args.prefix, args.only), "import-das2")
