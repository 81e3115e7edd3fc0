"""``dasflex import-hapi``: a HAPI server's datasets as sources of a site."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dasflex_core.remote.importer import ImportReport


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``import-hapi`` subcommand."""
    parser = subparsers.add_parser(
        "import-hapi", help="relay the datasets of a HAPI server",
        description="Write one definition per dataset of the HAPI server URL into the site "
                    "(source id PREFIX/<dataset id>; see docs/federation.md for how ids map to "
                    "file names).  Running it again updates the definitions it wrote, keeps keys "
                    "added to them by hand, removes datasets the server no longer lists and "
                    "reports every change.  Exit status 1 when the server cannot be read.")
    parser.add_argument("url", metavar="URL", help="the HAPI server, e.g. https://host/hapi")
    add_import_options(parser)
    parser.add_argument("--only", default=None, metavar="REGEX",
                        help="import only the dataset ids this regular expression matches")
    parser.set_defaults(run=run)


def add_import_options(parser: argparse.ArgumentParser) -> None:
    """``--site`` and ``--prefix``, shared with ``import-das2``."""
    parser.add_argument("--site", type=Path, required=True, metavar="SITE",
                        help="the site directory to write the definitions into")
    parser.add_argument("--prefix", default=None, metavar="DIR",
                        help="directory below the site for the definitions "
                             "(default: the server's host name and port)")


def run(args: argparse.Namespace) -> int:
    """Import and print the report."""
    from dasflex_core.remote.importer import import_hapi

    return report(lambda: import_hapi(args.url, args.site, args.prefix, args.only), "import-hapi")


def report(work: Callable[[], ImportReport], name: str) -> int:
    """Run an import, print its report lines; 1 (one stderr line) when it fails."""
    from dasflex_core.errors import DasFlexError

    try:
        result = work()
    except DasFlexError as error:
        print(f"dasflex {name}: {error}", file=sys.stderr)
        return 1
    for line in result.lines():
        print(line)
    return 0
